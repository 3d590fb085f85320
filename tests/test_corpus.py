"""Real logs from public trackers: expected ids found, forbidden ids never reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import analyse, fixture_expectations, shared_engine as default_kb

TESTS = Path(__file__).resolve().parent


_CASES = fixture_expectations()


@pytest.mark.parametrize(("directory", "name", "spec"), _CASES, ids=[f"{c[0].name}/{c[1]}" for c in _CASES])
def test_real_log(directory: Path, name: str, spec: dict[str, object]) -> None:
    report = analyse((directory / name).read_bytes(), default_kb(), redact=False)
    found = [m.kb_id for m in report.matches]
    for kb_id in spec.get("expect", []):  # type: ignore[union-attr]
        assert kb_id in found, f"expected {kb_id}, got {found}"
    for kb_id in spec.get("known_miss", []):  # type: ignore[union-attr]
        # A known miss stays honest: once the engine finds it, the marker must become an expectation.
        assert kb_id not in found, f"known_miss {kb_id} is found now: move it to expect"
        assert spec.get("why"), "a known_miss needs its reason in 'why'"
    for kb_id in spec.get("not_confident", []):  # type: ignore[union-attr]
        assert kb_id not in [m.kb_id for m in report.confident], f"{kb_id} may be at most 'possible' here"
    forbid = spec.get("forbid", [])
    if "*" in forbid:  # type: ignore[operator]
        assert not found, f"nothing may match, got {found}"
    else:
        assert not set(found) & set(forbid), f"forbidden {set(found) & set(forbid)}"  # type: ignore[arg-type]
    if "completeness" in spec:
        assert not report.confident, [m.kb_id for m in report.confident]
        assert report.completeness.verdict != "complete", report.completeness
        assert report.followup, "a log without a cause must get a follow-up request"


def test_followup_names_the_right_product_nine_in_ten() -> None:
    """Issue 8: the follow-up request is for the right product on at least 9 in 10 cause-less logs."""
    rows = [(d, n, s) for d, n, s in _CASES if "completeness" in s and "product" in s]
    if not rows:
        pytest.skip("no incomplete-log fixtures")
    right = sum(analyse((d / n).read_bytes(), default_kb(), redact=False).facts.product == s["product"] for d, n, s in rows)
    assert right / len(rows) >= 0.9, f"{right}/{len(rows)}"


def test_shared_corpus_top1(kb: object) -> None:
    """Every expected id of the shared corpus is the first answer, not just somewhere in the list."""
    wrong, checked = [], 0
    for directory, name, spec in _CASES:
        if directory != TESTS / "corpus" or not spec["expect"]:
            continue
        checked += 1
        report = analyse((directory / name).read_bytes(), default_kb(), redact=False)
        if not report.matches or report.matches[0].kb_id not in spec["expect"]:
            wrong.append((name, [m.kb_id for m in report.matches]))
    assert checked >= 10, "the shared corpus copy in tests/corpus is missing"
    assert not wrong
