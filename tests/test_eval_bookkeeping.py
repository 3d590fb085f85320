"""`triage eval`: known misses count as misses, precision per signature, clear messages, parallel == serial."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from conftest import fixture_expectations
import triage.eval as ev
from triage.errors import InputError
from triage.eval import evaluate, format_eval
from triage.load import load_kb

TESTS = Path(__file__).resolve().parent
KB = load_kb()
_FIXTURES = fixture_expectations()


def _corpus(tmp_path: Path, cases: dict[str, tuple[str, dict[str, object]]]) -> Path:
    spec = {}
    for name, (source, expectation) in cases.items():
        shutil.copy(TESTS / source, tmp_path / name)
        spec[name] = expectation
    (tmp_path / "expected.json").write_text(json.dumps(spec), encoding="utf-8")
    return tmp_path


def _first_log(folder: str) -> str:
    """The first (by name) fixture of tests/logs/<folder> that expects the id the folder is named after."""
    name = min(n for d, n, s in _FIXTURES if d == TESTS / "logs" / folder and folder in s.get("expect", []))
    return f"logs/{folder}/{name}"


def test_known_miss_counts_as_a_miss_and_is_listed_with_its_reason(tmp_path: Path) -> None:
    oom = _first_log("cuda-oom")
    corpus = _corpus(tmp_path, {
        "a.log": (oom, {"expect": ["cuda-oom"]}),
        "b.log": (oom, {"expect": [], "known_miss": ["vulkan-device-lost"], "why": "crafted: not in this log"}),
    })
    result = evaluate(corpus, KB, jobs=1)
    assert result.recall == 0.5
    assert result.missed == []
    assert result.known_misses == [f"{corpus.name}/b.log: vulkan-device-lost: crafted: not in this log"]
    text = format_eval(result)
    assert "known misses (counted as misses in recall): 1" in text and "1 known misses counted" in text


def test_known_miss_that_is_found_says_so(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path, {"a.log": (_first_log("cuda-oom"), {"known_miss": ["cuda-oom"], "why": "was missed"})})
    result = evaluate(corpus, KB, jobs=1)
    assert result.recall == 1.0 and result.known_misses == []
    assert result.known_found and "move it from known_miss to expect" in result.known_found[0]


def test_known_miss_needs_a_reason(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path, {"a.log": (_first_log("cuda-oom"), {"known_miss": ["cuda-oom"]})})
    with pytest.raises(InputError, match=r"a\.log\.why"):
        evaluate(corpus, KB, jobs=1)


def test_known_miss_may_not_also_be_expected(tmp_path: Path) -> None:
    """An id in both lists would be scored twice (round 40's collectors did this once): a clear error instead."""
    corpus = _corpus(tmp_path, {"a.log": (_first_log("cuda-oom"),
                                          {"expect": ["cuda-oom"], "known_miss": ["cuda-oom"], "why": "was missed"})})
    with pytest.raises(InputError, match=r"a\.log\.known_miss: cuda-oom is also in 'expect'"):
        evaluate(corpus, KB, jobs=1)


def test_bad_expectation_names_file_and_field(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path, {"a.log": (_first_log("cuda-oom"), {"expect": "cuda-oom"})})
    with pytest.raises(InputError, match=r"expected\.json: a\.log\.expect: must be a list of KB ids"):
        evaluate(corpus, KB, jobs=1)


def test_precision_counts_right_and_wrong_hits(tmp_path: Path) -> None:
    oom = _first_log("cuda-oom")
    corpus = _corpus(tmp_path, {
        "right.log": (oom, {"expect": ["cuda-oom"]}),
        "forbidden.log": (oom, {"expect": [], "forbid": ["cuda-oom"]}),
        "other.log": (oom, {"expect": ["vulkan-device-lost"]}),
        "neutral.log": (oom, {"expect": []}),
    })
    result = evaluate(corpus, KB, jobs=1)
    sigs = {s for s, (good, bad) in result.precision.items() if good}
    assert sigs
    for sid in sigs:
        assert result.precision[sid] == (1, 2)
        assert result.signature_hits[sid] == 4
    assert len(result.forbidden) == 1
    assert "precision 0.33 (1/3)" in format_eval(result, KB)


def test_directory_without_expected_json_explains_the_format(tmp_path: Path) -> None:
    (tmp_path / "x.log").write_text("hello\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        evaluate(tmp_path, KB)
    message = str(info.value)
    assert "CONTRACT" not in message
    assert "found 1 *.log file(s) but no expected.json" in message
    assert '{"crash.log": {"expect": ["cuda-oom"], "forbid": []}}' in message


def test_unlisted_logs_are_reported(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path, {"a.log": (_first_log("cuda-oom"), {"expect": ["cuda-oom"]})})
    (corpus / "stray.log").write_text("nothing\n", encoding="utf-8")
    result = evaluate(corpus, KB, jobs=1)
    assert result.unlisted == [f"{corpus.name}/stray.log"]


def _comparable(result: ev.EvalResult) -> dict[str, object]:
    data = result.as_dict()
    data.pop("slowest_signatures")
    return data


def test_parallel_results_equal_serial(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ev, "PARALLEL_MIN_CASES", 2)
    for folder in ("port-already-in-use", "rocm-unsupported-gfx"):
        serial = evaluate(TESTS / "logs" / folder, KB, jobs=1)
        parallel = evaluate(TESTS / "logs" / folder, KB, jobs=2)
        assert serial.cases > 2
        assert _comparable(serial) == _comparable(parallel)
        assert len(parallel.durations) == serial.cases


def test_not_confident_counts_a_confident_answer_as_forbidden(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path, {"a.log": (_first_log("cuda-oom"), {"expect": [], "not_confident": ["cuda-oom"]})})
    result = evaluate(corpus, KB, jobs=1)
    assert result.forbidden == [f"{corpus.name}/a.log: cuda-oom answered confidently (at most 'possible' allowed)"]
    assert result.confident_unnamed == [f"{corpus.name}/a.log: cuda-oom"]


def test_grouping_score_is_called_when_the_corpus_has_groups(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}

    class FakeGrouping:
        @staticmethod
        def grouping_score(corpus_dir: Path, reports: dict[str, object]) -> object:
            seen["reports"] = sorted(reports)
            return {"pairs": 1}

        @staticmethod
        def format_grouping(score: object) -> str:
            return f"score {score}"

    import triage.fingerprint_eval as grouping

    monkeypatch.setattr(grouping, "grouping_score", FakeGrouping.grouping_score)
    monkeypatch.setattr(grouping, "format_grouping", FakeGrouping.format_grouping)
    corpus = _corpus(tmp_path, {"a.log": (_first_log("cuda-oom"), {"expect": ["cuda-oom"]})})
    without = evaluate(corpus, KB, jobs=1)
    assert without.grouping == [] and "reports" not in seen
    (corpus / "groups.json").write_text("{}", encoding="utf-8")
    result = evaluate(corpus, KB, jobs=1)
    assert seen["reports"] == ["a.log"]
    assert result.grouping == [f"{corpus.name}: score {{'pairs': 1}}"]


def test_progress_bar_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert ev._progress(10) is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forked workers are Linux-only")
def test_a_dead_worker_costs_its_logs_not_a_hang(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker killed mid-batch (out of memory, a crash in native code): its logs are listed as unreadable."""
    parent, real = os.getpid(), ev._work

    def fragile(job: tuple[str, bool]) -> ev.Outcome:
        if os.getpid() != parent:
            os._exit(9)
        return real(job)

    monkeypatch.setattr(ev, "PARALLEL_MIN_CASES", 2)
    monkeypatch.setattr(ev, "_work", fragile)
    folder = TESTS / "logs" / "port-already-in-use"
    serial = evaluate(folder, KB, jobs=1)
    parallel = evaluate(folder, KB, jobs=2)
    lost = [u for u in parallel.unreadable if "ended early (exit code 9)" in u]
    assert lost and parallel.cases + len(lost) == serial.cases


def test_without_fork_workers_are_spawned_only_when_the_kb_dirs_are_known(monkeypatch: pytest.MonkeyPatch) -> None:
    """macOS and Windows: a spawned worker rebuilds the Engine from the KB dirs and the cache; without the
    dirs (a library caller's own KB) it could not, so the run stays in this process."""
    import multiprocessing

    folder = TESTS / "logs" / "port-already-in-use"
    serial = evaluate(folder, KB, jobs=1)
    monkeypatch.setattr(ev, "PARALLEL_MIN_CASES", 2)
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    here: list[str] = []
    real = ev._work

    def counted(job: tuple[str, bool]) -> ev.Outcome:  # this process only: a spawned worker imports the real one
        here.append(job[0])
        return real(job)

    monkeypatch.setattr(ev, "_work", counted)
    spawned = evaluate(folder, KB, jobs=2, kb_dirs=[])
    assert _comparable(spawned) == _comparable(serial)
    assert 0 < len(here) < serial.cases, "the spawned worker analysed the batches it was handed first"

    def refuse(*args: object) -> None:
        raise AssertionError("a worker process was started")

    monkeypatch.setattr(multiprocessing, "get_context", refuse)
    assert _comparable(evaluate(folder, KB, jobs=2)) == _comparable(serial)
