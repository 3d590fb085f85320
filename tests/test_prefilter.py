"""The prefilter backends must agree exactly; results must not depend on Hyperscan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import shared_engine
from triage.engine import Engine
from triage.normalize import normalize
from triage.prefilter import available_backends, make_prefilter

TESTS = Path(__file__).resolve().parent
LOGS = sorted(TESTS.glob("corpus/*.log")) + sorted(TESTS.glob("logs/**/*.log"))
BACKENDS = available_backends()


def test_pure_python_backends_are_always_available() -> None:
    assert {"python", "ahocorasick"} <= set(BACKENDS)


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "python"])
def test_same_offsets_as_plain_find(backend: str) -> None:
    keywords = shared_engine().index.keywords
    reference = make_prefilter(keywords, "python")
    other = make_prefilter(keywords, backend)
    for path in LOGS:
        log = normalize(path.read_bytes())
        assert other.scan(log) == reference.scan(log), path.name


def test_case_insensitive_and_overlapping() -> None:
    log = normalize(b"CUDA Error: ABORTED\nabortedaborted")
    for backend in BACKENDS:
        pf = make_prefilter([b"aborted", b"cuda error", b"error"], backend)
        assert pf.scan(log) == [[12, 20, 27], [0], [5]], backend


_ENGINES: dict[str, Engine] = {}


def _summary(path: Path, backend: str) -> str:
    if backend not in _ENGINES:
        _ENGINES[backend] = Engine(shared_engine().kb, prefilter=backend)
    report = _ENGINES[backend].analyse(path.read_bytes(), redact=False)
    return json.dumps([(m.kb_id, m.confidence, [e.line for e in m.evidence]) for m in report.matches]) + json.dumps(
        report.facts.as_dict(), sort_keys=True
    )


@pytest.mark.skipif("hyperscan" not in BACKENDS, reason="hyperscan has no wheel for this platform")
def test_reports_identical_with_and_without_hyperscan() -> None:
    for path in LOGS:
        assert _summary(path, "hyperscan") == _summary(path, "ahocorasick") == _summary(path, "python"), path.name
