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


# --- keywords with letters beyond ASCII ----------------------------------------------------------------------

CYRILLIC_SIG = """[[signature]]
id = "demo-file-missing-ru"
kb = "demo-crash"
description = "d"
keywords = ["не удается найти указанный файл"]
regex = '''(?i)не удается найти указанный файл'''
weight = 0.9
[signature.examples]
match = ['''Не удается найти указанный файл.''']
no_match = ['''Не удается открыть файл.''']
"""


def test_keyword_forms_cover_the_cases_a_log_prints() -> None:
    from triage.validate import keyword_forms

    assert keyword_forms("Out Of Memory") == (b"out of memory",)  # ASCII: the scan is caseless already
    forms = {f.decode() for f in keyword_forms("не удается")}
    assert forms == {"не удается", "Не удается", "НЕ УДАЕТСЯ"}


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_lower_case_cyrillic_keyword_finds_the_sentence_that_starts_with_it(tmp_path: Path, backend: str) -> None:
    """The log is scanned ASCII-lowercased, so `Не` and `не` differ byte for byte: the keyword's other forms are
    looked for too (a localized Windows message starts with a capital)."""
    from conftest import write_demo_kb
    from triage.load import load_kb

    kb = load_kb([write_demo_kb(tmp_path, CYRILLIC_SIG)], builtin=False, use_cache=False)
    engine = Engine(kb, prefilter=backend)
    for line in ("Не удается найти указанный файл.", "НЕ УДАЕТСЯ НАЙТИ УКАЗАННЫЙ ФАЙЛ", "ошибка: не удается найти указанный файл"):
        assert "demo-crash" in {m.kb_id for m in engine.analyse(f"CreateFile C:\\m\\x.gguf: {line}\n").matches}, line
