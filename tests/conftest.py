from __future__ import annotations

from pathlib import Path

import pytest

from triage.analyse import default_kb
from triage.load import KnowledgeBase

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return default_kb()


@pytest.fixture
def corpus_dir() -> Path:
    return TESTS / "corpus"
