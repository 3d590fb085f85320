from __future__ import annotations

from pathlib import Path

import pytest

from triage.engine import Engine
from triage.load import KnowledgeBase
from triage.model import Report

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


_ENGINE: list[Engine] = []


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


def analyse(raw: bytes | str, engine: object = None, **kw: object) -> Report:
    """The pipeline on the shared session Engine (or the Engine/KB given), as tests call it."""
    if engine is None:
        engine = shared_engine()
    elif isinstance(engine, KnowledgeBase):
        engine = Engine(engine)
    assert isinstance(engine, Engine)
    return engine.analyse(raw, **kw)  # type: ignore[arg-type]
