"""The README's Action workflows work as pasted: valid YAML, a real `uses:` ref, declared inputs,
and an actions/checkout step before the action whenever `kb-path` reads the repository's files."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent.parent


def _section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## GitHub Action:")
    return text[start : text.index("\n## ", start + 1)]


def _snippets() -> list[tuple[str, dict[str, Any]]]:
    blocks = re.findall(r"^```yaml\n(.*?)^```$", _section(), re.S | re.M)
    assert len(blocks) >= 2, "expected the plain snippet and the kb-path snippet"
    return [(b, yaml.safe_load(b)) for b in blocks]


def _action_steps(data: dict[str, Any]) -> list[list[dict[str, Any]]]:
    return [job["steps"] for job in data["jobs"].values()]


def test_readme_workflows_parse_and_use_declared_inputs() -> None:
    inputs = set(yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))["inputs"])
    seen_kb_path = seen_plain = False
    for raw, data in _snippets():
        for steps in _action_steps(data):
            names = [str(s.get("uses", "")) for s in steps]
            ours = [i for i, n in enumerate(names) if n.startswith("OWNER/triage@")]
            assert ours, names
            assert all(names[i] == "OWNER/triage@v1" for i in ours)
            for i in ours:
                given = set((steps[i].get("with") or {}))
                commented = set(re.findall(r"^\s*#\s*([a-z-]+):", raw, re.M)) & (inputs | {"kb-path", "kb-url", "duplicate-label"})
                assert given | commented <= inputs, (given | commented) - inputs
                if "kb-path" in given:
                    seen_kb_path = True
                    assert any(n.startswith("actions/checkout@") for n in names[:i]), "kb-path needs a checkout first"
                else:
                    seen_plain = True
            for step in steps:
                assert "${{" not in str(step.get("run", ""))
    assert seen_kb_path and seen_plain


def test_readme_names_the_ref_and_the_release_workflow() -> None:
    section = _section()
    assert "OWNER/triage@v1" in section and "`uses: ./`" in section
    assert ".github/workflows/release.yml" in section and (ROOT / ".github" / "workflows" / "release.yml").is_file()
    assert 'in:comments "triage-fp:<id>"' in section  # the duplicate search is documented
