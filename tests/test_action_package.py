"""The Action installs triage from its checkout (`pip install <action path>`): a wheel, not the
checkout itself. Every data folder the engine reads from `triage.load.builtin_dir()` must then be
inside the wheel (hatch's force-include into `triage/_data/`), or `Engine.build()` fails on the
runner although every test run from the checkout passes."""

from __future__ import annotations

import sys
from pathlib import Path

from triage.load import layout

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


def test_every_builtin_data_folder_is_packaged_in_the_wheel() -> None:
    found = layout(ROOT)
    folders = {p.name for p in found if p.is_dir()}
    if (ROOT / "fingerprints").is_dir():  # triage.fingerprint_rules reads builtin_dir() / "fingerprints"
        folders.add("fingerprints")
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    included = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"].get("force-include", {})
    missing = sorted(f for f in folders if included.get(f) != f"triage/_data/{f}")
    assert not missing, f"pyproject.toml [tool.hatch.build.targets.wheel.force-include] lacks: {missing}"
