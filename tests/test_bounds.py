"""Work per log is bounded by counts, so hostile input cannot stall triage and the answer never depends on the
clock (issue 11, item 4). Speed itself is measured in bench/bench.py; these tests check the bounds hold and the
real error is still found."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

import triage.match as match
from conftest import TESTS, shared_engine
from triage.engine import Engine
from triage.render import report_dict

METAL = (TESTS.parent / "examples" / "koboldcpp-metal-ggml-common-h.log").read_text(encoding="utf-8")
GENEROUS = 20.0  # seconds: only a catastrophe (the old 34 s) fails this; the figures are in bench/bench.py


def _stuffed_line(width: int) -> str:
    """One line holding every keyword of every signature, fact rule and key-line rule."""
    words = " ".join(sorted({k.decode("utf-8", "replace") for k in shared_engine().index.keywords}))
    return (words * (width // len(words) + 1))[:width]


@pytest.mark.parametrize(
    "make",
    [
        lambda i: f"{i} GPU name: Apple" + " " * 8100 + "x",  # the fact rule that took 34 s per 1.6 MB
        lambda i: "-m " + "a" * 8100 + " from " + "b" * 100,
        lambda i: "ggml_vulkan: 0 = " + "(driver " * 1000,
        lambda i: f"Device {i}: " + "NVIDIA " * 1200,
    ],
    ids=["metal-device-name", "model-path", "vulkan-device", "cuda-device"],
)
def test_crafted_fact_lines_are_cheap(make: object) -> None:
    data = "\n".join(make(i) for i in range(200)).encode()  # type: ignore[operator]
    start = time.perf_counter()
    report = shared_engine().analyse(data)
    assert time.perf_counter() - start < GENEROUS
    assert not any("timed out" in t for t in report.diagnostics["timeouts"])


@pytest.mark.parametrize("width", [8000, 2000, 300])
def test_a_real_error_behind_keyword_stuffing_is_found_the_same_way_every_run(width: int) -> None:
    line = _stuffed_line(width)
    data = ("\n".join(f"{i} {line}" for i in range(2_000_000 // width)) + "\n" + METAL).encode()
    engine = shared_engine()
    start = time.perf_counter()
    first = engine.analyse(data)
    assert time.perf_counter() - start < GENEROUS
    second = engine.analyse(data)
    assert "metal-init-failed" in [m.kb_id for m in first.matches]
    assert json.dumps(report_dict(first), sort_keys=True) == json.dumps(report_dict(second), sort_keys=True)
    assert first.diagnostics["searched_chars"] <= match.WORK_BUDGET + 8192  # one line's pre-check past the line
    assert report_dict(first)["diagnostics"]["timeouts"] >= 1  # the JSON says the budget cut the search short


def test_the_model_path_is_not_cut_inside_a_word() -> None:
    report = shared_engine().analyse("llama_model_load: loading model from './models/7B/ggml-model-q8_0.gguf'\n")
    assert report.facts.model_file == "./models/7B/ggml-model-q8_0.gguf"
    kobold = shared_engine().analyse("./koboldcpp-linux-x64-1.58 silicon-maid-7b.Q5_K_M.gguf --usecublas\n")
    assert kobold.facts.model_file == "silicon-maid-7b.Q5_K_M.gguf"


def test_literal_shortcuts_never_change_an_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Required-literal pre-checks only skip searches that could not match: every fixture, with and without."""
    logs = sorted(TESTS.glob("corpus/*.log")) + sorted(TESTS.glob("logs/*/*.log"))[::3]
    fast = shared_engine()
    monkeypatch.setattr(match, "required_literals", lambda pattern: None)
    slow = Engine(fast.kb)
    for path in logs:
        data = path.read_bytes()
        a, b = fast.analyse(data, redact=False), slow.analyse(data, redact=False)
        assert [(m.kb_id, m.confidence, [e.line for e in m.evidence]) for m in a.matches] == [
            (m.kb_id, m.confidence, [e.line for e in m.evidence]) for m in b.matches
        ], path.name


def test_every_fixture_stays_far_inside_the_work_budget() -> None:
    engine = shared_engine()
    worst = max(
        (engine.analyse(p.read_bytes(), redact=False).diagnostics["searched_chars"], p.name)
        for p in sorted(Path(TESTS).glob("**/*.log"))
    )
    assert worst[0] < match.WORK_BUDGET // 10, worst
