"""action.yml as GitHub's runner reads and runs it, against the local REST stand-in.

The file is parsed with PyYAML (GitHub cannot load an action whose metadata is not YAML), checked
the way the runner validates composite actions, and then its steps are executed in order:

- `run:` steps with `bash --noprofile --norc -eo pipefail <script>`, the runner's `shell: bash`;
- each step's `env:` with its `${{ }}` expressions resolved as the runner would (`inputs.*` from
  the workflow's `with:` and the defaults, `github.*`, `runner.*`, `steps.<id>.outputs.*`);
- a fresh GITHUB_OUTPUT and GITHUB_STEP_SUMMARY file per step, GITHUB_EVENT_PATH, GITHUB_WORKSPACE.

Composite steps get no `INPUT_<NAME>` variables from the runner (actions/runner#665), so none are
set here: every input must reach the script through the step's `env:`, which is what the action
does. Steps that `uses:` another action (actions/setup-python) are skipped, and this venv's
Python stands in for the one setup-python would provide; that Python already imports triage from
this checkout, so the install step takes its no-download branch and the test stays offline.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]
from pytest_httpserver import HTTPServer

from test_github_action import CUDA_LOG, MARKER, REPO, TOKEN, FakeGitHub, _event, _fenced

ROOT = Path(__file__).resolve().parent.parent
ACTION_FILE = ROOT / "action.yml"
_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_PATH = re.compile(r"(inputs|github|runner|steps|env)((?:\.[A-Za-z_][\w-]*)+)")


def _action() -> dict[str, Any]:
    data = yaml.safe_load(ACTION_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict), "action.yml must be a mapping"
    return data


def test_action_yml_is_valid_composite_metadata() -> None:
    data = _action()
    assert isinstance(data.get("name"), str) and data["name"]
    assert isinstance(data.get("description"), str) and data["description"]
    assert data["runs"]["using"] == "composite"
    inputs: dict[str, Any] = data["inputs"]
    for name, spec in inputs.items():
        assert isinstance(spec, dict) and isinstance(spec.get("description"), str) and spec["description"].strip(), name
        assert "default" not in spec or isinstance(spec["default"], str), f"{name}: defaults are strings"
    for name, spec in data["outputs"].items():
        assert spec.get("description") and "${{ steps." in spec.get("value", ""), name
    ids: list[str] = []
    passed: set[str] = set()
    for step in data["runs"]["steps"]:
        assert ("run" in step) != ("uses" in step), step
        if "run" in step:
            assert step.get("shell"), f"a composite run step needs shell: {step.get('name')}"
            assert "${{" not in step["run"], f"no expression may reach a script: {step.get('name')}"
        for key, value in [*(step.get("env") or {}).items(), *(step.get("with") or {}).items()]:
            for expr in _EXPR.findall(str(value)):
                m = _PATH.fullmatch(expr)
                assert m, f"unexpected expression {expr!r}"
                parts = m.group(2).lstrip(".").split(".")
                if m.group(1) == "inputs":
                    assert parts[0] in inputs, f"unknown input {parts[0]!r}"
                    passed.add(parts[0])
                    # The name the entry point reads: INPUT_<NAME>, upper-cased, `-` as `_`.
                    expected = "GITHUB_TOKEN" if parts[0] == "github-token" else "INPUT_" + parts[0].upper().replace("-", "_")
                    assert key == expected, f"input {parts[0]!r} is passed as {key}, not {expected}"
                if m.group(1) == "steps":
                    assert parts[0] in ids, f"steps.{parts[0]} is used before (or without) that step"
        if step.get("id"):
            ids.append(step["id"])
    assert passed == set(inputs), f"inputs never passed to a step: {sorted(set(inputs) - passed)}"


def _lookup(expr: str, contexts: dict[str, Any]) -> str:
    m = _PATH.fullmatch(expr)
    assert m, f"the test does not model the expression {expr!r}"
    value: Any = contexts[m.group(1)]
    for part in m.group(2).lstrip(".").split("."):
        value = value.get(part, "") if isinstance(value, dict) else ""  # the runner gives "" for a missing output
    return str(value)


def _resolve(value: Any, contexts: dict[str, Any]) -> str:
    return _EXPR.sub(lambda m: _lookup(m.group(1), contexts), str(value))


def _read_outputs(path: Path) -> dict[str, str]:
    """A GITHUB_OUTPUT file: `name=value` lines and `name<<DELIMITER` blocks."""
    out: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            end = lines.index(delim, i + 1)
            out[name] = "\n".join(lines[i + 1 : end])
            i = end + 1
            continue
        name, _, value = line.partition("=")
        out[name] = value
        i += 1
    return out


class Composite:
    """Runs action.yml's steps as the runner does, one workflow job at a time."""

    def __init__(self, gh: FakeGitHub, tmp: Path, cache: Path) -> None:
        self.gh = gh
        self.tmp = tmp
        self.cache = cache
        self.workspace = tmp / "workspace"
        self.workspace.mkdir()
        self.runner_temp = tmp / "runner-temp"
        self.runner_temp.mkdir()
        self.logs: list[str] = []
        self.summaries: list[str] = []

    def __call__(self, event_name: str, payload: dict[str, Any], with_: dict[str, str] | None = None) -> dict[str, str]:
        data = _action()
        event = self.tmp / f"event-{len(self.logs)}.json"
        event.write_text(json.dumps(payload), encoding="utf-8")
        github = {
            "token": TOKEN,
            "action_path": str(ROOT),
            "workspace": str(self.workspace),
            "event_name": event_name,
            "event_path": str(event),
            "repository": REPO,
            "api_url": self.gh.url,
        }
        contexts: dict[str, Any] = {"github": github, "runner": {"temp": str(self.runner_temp), "os": "Linux"}, "steps": {}, "env": {}}
        inputs = {name: _resolve(spec.get("default", ""), contexts) for name, spec in data["inputs"].items()}
        for name, value in (with_ or {}).items():
            assert name in inputs, f"the workflow passes an input the action does not declare: {name}"
            inputs[name] = value
        contexts["inputs"] = inputs
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_", "TRIAGE_", "RUNNER_"))}
        base = {
            **keep,
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": event_name,
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_API_URL": self.gh.url,
            "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_ACTION_PATH": str(ROOT),
            "RUNNER_TEMP": str(self.runner_temp),
            # The workflow's own `env:`: test knobs the entry point documents.
            "TRIAGE_ATTACHMENT_HOSTS": "localhost",
            "TRIAGE_BACKOFF_BASE": "0.001",
            "TRIAGE_CACHE_DIR": str(self.cache),
        }
        for n, step in enumerate(data["runs"]["steps"]):
            if "uses" in step:
                # Skipped: actions/setup-python. Its output is this venv's Python.
                assert str(step["uses"]).startswith("actions/setup-python@"), step["uses"]
                contexts["steps"][step["id"]] = {"outputs": {"python-path": sys.executable}}
                continue
            assert step["shell"] == "bash"
            output = self.tmp / f"output-{len(self.logs)}-{n}"
            summary = self.tmp / f"summary-{len(self.logs)}-{n}"
            env = {**base, "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)}
            env.update({k: _resolve(v, contexts) for k, v in (step.get("env") or {}).items()})
            script = self.tmp / f"step-{n}.sh"
            script.write_text(step["run"], encoding="utf-8")
            done = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                env=env, cwd=self.workspace, capture_output=True, text=True, timeout=300,
            )
            self.logs.append(f"--- {step.get('name')} ---\n{done.stdout}{done.stderr}")
            assert done.returncode == 0, "\n".join(self.logs)
            if summary.exists():
                self.summaries.append(summary.read_text(encoding="utf-8"))
            if step.get("id"):
                contexts["steps"][step["id"]] = {"outputs": _read_outputs(output)}
        return {name: _resolve(spec["value"], contexts) for name, spec in data["outputs"].items()}


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One start-up cache for the module's runs, as a runner keeps one per job."""
    return tmp_path_factory.mktemp("triage-cache")


@pytest.fixture
def composite(httpserver: HTTPServer, tmp_path: Path, cache_dir: Path) -> tuple[FakeGitHub, Composite]:
    gh = FakeGitHub(httpserver)
    return gh, Composite(gh, tmp_path, cache_dir)


def test_composite_steps_label_the_issue_and_keep_one_comment(composite: tuple[FakeGitHub, Composite]) -> None:
    gh, run = composite
    gh.issue["body"] = _fenced(CUDA_LOG)
    outputs = run("issues", _event(gh), {"label-prefix": "crash:"})
    log = "\n".join(run.logs)
    # An editable install takes the offline branch of the install step; a regular install (as in CI, `pip install
    # ".[test]"`) imports triage from site-packages, so the step installs this checkout into a fresh venv instead.
    assert "using the Python that already imports triage" in log or "Install triage from the action's checkout" in log
    assert "crash:cuda-arch-mismatch" in gh.label_names()
    assert "backend:cuda" in gh.label_names()
    [comment] = gh.comments
    assert comment["user"]["login"] == "github-actions[bot]"
    assert comment["body"].startswith(MARKER + "\n### Known problem: The CUDA build has no code")
    assert outputs["kb-ids"] == "cuda-arch-mismatch"
    assert outputs["matched"] == "true"
    assert "crash:cuda-arch-mismatch" in outputs["labels"].split(",")
    assert outputs["comment-url"] == comment["html_url"]
    assert any("cuda-arch-mismatch" in s for s in run.summaries)
    assert TOKEN not in log

    # The reporter edits the issue: the same run again changes nothing and never posts twice.
    gh.calls.clear()
    again = run("issues", _event(gh, "edited"), {"label-prefix": "crash:"})
    assert [c for c in gh.calls if c[0] != "GET"] == []
    assert len(gh.comments) == 1 and again["comment-url"] == ""


def test_composite_steps_on_an_issue_without_a_log(composite: tuple[FakeGitHub, Composite]) -> None:
    gh, run = composite
    gh.issue["body"] = "Please add a dark mode."
    outputs = run("issues", _event(gh))
    assert gh.comments == [] and gh.label_names() == []
    assert outputs["matched"] == "false" and outputs["kb-ids"] == ""


def test_composite_steps_pass_a_bad_input_as_a_failed_step(composite: tuple[FakeGitHub, Composite]) -> None:
    gh, run = composite
    gh.issue["body"] = _fenced(CUDA_LOG)
    with pytest.raises(AssertionError) as err:
        run("issues", _event(gh), {"min-confidence": "high"})
    assert "::error::input 'min-confidence'" in str(err.value)
    assert gh.comments == []


def test_composite_dry_run_passes_every_input_through(composite: tuple[FakeGitHub, Composite]) -> None:
    gh, run = composite
    gh.issue["body"] = _fenced(CUDA_LOG)
    run("issues", _event(gh), {"dry-run": "true", "kb-url": "https://triage.example.org/", "label-prefix": "crash:", "fact-labels": "false"})
    log = "\n".join(run.logs)
    assert [c for c in gh.calls if c[0] != "GET"] == []  # a dry run reads, never writes
    assert f"POST /repos/{REPO}/issues/{gh.number}/comments" in log
    assert "[knowledge base page](https://triage.example.org/kb/cuda-arch-mismatch/)" in log
    assert '"labels": ["crash:cuda-arch-mismatch"]' in log  # the prefix, and no backend:/os: labels


def test_composite_kb_path_is_read_from_the_workspace(composite: tuple[FakeGitHub, Composite]) -> None:
    gh, run = composite
    kb = run.workspace / ".triage"
    (kb / "signatures").mkdir(parents=True)
    (kb / "kb").mkdir()
    (kb / "signatures" / "broken.toml").write_text("[[signature]]\nid = 'x'\nregex = '''(unclosed'''\n", encoding="utf-8")
    gh.issue["body"] = _fenced(CUDA_LOG)
    with pytest.raises(AssertionError) as err:
        run("issues", _event(gh), {"kb-path": ".triage"})
    assert "::error::input 'kb-path' holds invalid data" in str(err.value) and "broken.toml" in str(err.value)
    assert gh.comments == []
