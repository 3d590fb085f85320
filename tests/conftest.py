from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from triage.engine import Engine
from triage.load import KnowledgeBase
from triage.model import Report

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


_ENGINE: list[Engine] = []


def fixture_expectations() -> list[tuple[Path, str, dict[str, Any]]]:
    """(folder, log file name, expectation) for every fixture of tests/corpus and tests/logs, in a stable order."""
    out = []
    for expected in sorted([TESTS / "corpus" / "expected.json", *(TESTS / "logs").rglob("expected.json")]):
        if not expected.is_file():
            continue
        for name, spec in json.loads(expected.read_text(encoding="utf-8")).items():
            out.append((expected.parent, name, spec))
    return out


def shared_engine() -> Engine:
    """One Engine for the whole test session (built without a cache: tests never touch the user's)."""
    if not _ENGINE:
        _ENGINE.append(Engine.build())
    return _ENGINE[0]


@pytest.fixture(scope="session")
def engine() -> Engine:
    return shared_engine()


@pytest.fixture(scope="session")
def kb(engine: Engine) -> KnowledgeBase:
    return engine.kb


@pytest.fixture
def corpus_dir() -> Path:
    return TESTS / "corpus"


DEMO_ENTRY = '''+++
id = "demo-crash"
title = "Demo crash"
summary = "A demo."
root_cause = "Because."
references = ["https://github.com/o/r/issues/1"]
remedies = ["Fix it."]
+++
Body.
'''


def write_demo_kb(root: Path, signatures: str, sets: str | None = None, entry: str = DEMO_ENTRY) -> Path:
    """A one-entry KB folder (`demo-crash`) under `root`, for tests of the loader and the matcher on data they write."""
    for sub in ("kb", "signatures", "tables"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "kb" / "demo-crash.md").write_text(entry, encoding="utf-8")
    (root / "signatures" / "demo-crash.toml").write_text(signatures, encoding="utf-8")
    if sets is not None:
        (root / "tables" / "gate-sets.toml").write_text(sets, encoding="utf-8")
    return root


def analyse(raw: bytes | str, engine: object = None, **kw: object) -> Report:
    """The pipeline on the shared session Engine (or the Engine/KB given), as tests call it."""
    if engine is None:
        engine = shared_engine()
    elif isinstance(engine, KnowledgeBase):
        engine = Engine(engine)
    assert isinstance(engine, Engine)
    return engine.analyse(raw, **kw)  # type: ignore[arg-type]


def imported_by_cli_run(argv: Sequence[str], packages: Sequence[str]) -> list[str]:
    """Which of `packages` (top-level names) a plain `triage` run imports, in a fresh interpreter: the KB cache is
    warmed first and the packages are evicted, so only what the run itself imports counts."""
    names = tuple(sorted(packages))
    code = (
        "import sys, io, contextlib\n"
        "from triage.cli import main\n"
        "from triage.engine import Engine\n"
        "from triage.load import default_cache_dir\n"
        "Engine.build(cache_dir=default_cache_dir())\n"  # warm the cache: the run after it is the normal path
        f"for m in [k for k in sys.modules if k.split('.')[0] in {names!r}]:\n"
        "    del sys.modules[m]\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    main({list(argv)!r})\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({names!r})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    imported = ast.literal_eval(out.stdout.strip() or "None")
    assert isinstance(imported, list), out.stdout + out.stderr
    return imported
