"""The release workflow moves the major tag (`v1`) to each published release, so `@v1` exists.

The workflow is parsed with PyYAML and its `run:` script is executed with bash in a scratch git
repository whose `origin` is a local bare repository (no network), as the runner would after
actions/checkout: HEAD at the release's commit, TAG from the event.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "release.yml"


def _workflow() -> dict[Any, Any]:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_release_workflow_shape() -> None:
    data = _workflow()
    on = data.get("on", data.get(True))  # YAML 1.1 reads a bare `on` key as true
    assert on == {"release": {"types": ["published"]}}
    [job] = data["jobs"].values()
    assert job["permissions"] == {"contents": "write"}
    assert any(str(s.get("uses", "")).startswith("actions/checkout@") for s in job["steps"])
    [step] = [s for s in job["steps"] if "run" in s]
    assert step["shell"] == "bash" and "${{" not in step["run"]
    assert "git tag -f" in step["run"] and "git push -f origin" in step["run"]


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.invalid", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


def _run_step(work: Path, tag: str) -> subprocess.CompletedProcess[str]:
    [step] = [s for j in _workflow()["jobs"].values() for s in j["steps"] if "run" in s]
    script = work.parent / "step.sh"
    script.write_text(step["run"], encoding="utf-8")
    env = {**os.environ, "TAG": tag, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], cwd=work, env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, Path]:
    origin = tmp_path / "origin.git"
    work = tmp_path / "work"
    _git(tmp_path, "init", "-q", "--bare", str(origin))
    _git(tmp_path, "init", "-q", str(work))
    _git(work, "remote", "add", "origin", str(origin))
    for n in (1, 2):
        (work / "f").write_text(str(n), encoding="utf-8")
        _git(work, "add", "f")
        _git(work, "commit", "-q", "-m", f"c{n}")
        _git(work, "tag", f"v1.{n}.0")
    _git(work, "tag", "v1", "v1.1.0")
    _git(work, "push", "-q", "origin", "HEAD:refs/heads/main", "--tags")
    return origin, work


def test_publishing_v1_2_0_moves_v1_to_it(repo: tuple[Path, Path]) -> None:
    origin, work = repo
    assert _git(origin, "rev-parse", "v1^{commit}") == _git(work, "rev-parse", "v1.1.0^{commit}")
    done = _run_step(work, "v1.2.0")
    assert done.returncode == 0, done.stdout + done.stderr
    assert _git(origin, "rev-parse", "v1^{commit}") == _git(work, "rev-parse", "v1.2.0^{commit}")


@pytest.mark.parametrize("tag", ["nightly-2024-05-01", "v1", "1.2.0"])
def test_other_tags_move_nothing(repo: tuple[Path, Path], tag: str) -> None:
    origin, work = repo
    before = _git(origin, "rev-parse", "v1^{commit}")
    done = _run_step(work, tag)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "::notice::" in done.stdout
    assert _git(origin, "rev-parse", "v1^{commit}") == before
