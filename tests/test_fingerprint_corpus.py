"""The grouping corpus (tests/grouping): real duplicates must share a fingerprint, other bugs must not."""

from __future__ import annotations

from pathlib import Path

import pytest

from triage.engine import Engine
from triage.errors import DataErrors
from triage.fingerprint_eval import format_grouping, grouping_score, load_groups

CORPUS = Path(__file__).parent / "grouping"

# Same assert condition at the same site, hit by different triggers: no log line tells these apart
# (tests/grouping/README.md). Any other merged hard negative is a regression.
KNOWN_MERGED_HARD = {
    ("hn-canrepeat-kcpp-2124.log", "hn-canrepeat-ollama-12821.log"),
    ("hn-getrows-llamacpp-10157.log", "hn-getrows-llamacpp-23585.log"),
    ("hn-vkincontig-llamacpp-12956.log", "hn-vkincontig-llamacpp-13778.log"),
    ("hn-getrows-kcpp-1652.log", "hn-getrows-llamacpp-23263.log"),  # holdout/
}


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.build()


@pytest.fixture(scope="module", params=["tuned", "holdout"])
def score(request: pytest.FixtureRequest, engine: Engine):  # type: ignore[no-untyped-def]
    """tests/grouping (the rules were tuned on it) and tests/grouping/holdout (collected after tuning)."""
    corpus = CORPUS if request.param == "tuned" else CORPUS / "holdout"
    reports = {p.name: engine.analyse(p.read_bytes()) for p in sorted(corpus.glob("*.log"))}
    result = grouping_score(corpus, reports)
    assert result is not None
    return result


def test_same_bug_pairs_share_a_specific_fingerprint(score) -> None:  # type: ignore[no-untyped-def]
    assert score.recall >= 0.8, format_grouping(score)


def test_different_bugs_rarely_share_one(score) -> None:  # type: ignore[no-untyped-def]
    # the target is < 1 % of different-bug pairs; the holdout is small (72 pairs), so there every merge
    # must be one of the known same-site hard negatives instead
    if score.diff_pairs >= 500:
        assert score.false_merge_rate < 0.01, format_grouping(score)
    assert {tuple(sorted(p)) for p in score.merged} <= KNOWN_MERGED_HARD, format_grouping(score)


def test_no_new_hard_negative_merges(score) -> None:  # type: ignore[no-untyped-def]
    merged = {tuple(sorted(p)) for p in score.merged_hard}
    assert merged <= KNOWN_MERGED_HARD, format_grouping(score)


@pytest.mark.parametrize("corpus", [CORPUS, CORPUS / "holdout"])
def test_every_corpus_log_is_listed_with_a_source(corpus: Path) -> None:
    logs = {p.name for p in corpus.glob("*.log")}
    rows = (corpus / "SOURCES.tsv").read_text(encoding="utf-8").splitlines()[1:]
    sourced = {row.split("\t")[0] for row in rows}
    assert logs == sourced
    assert all("https://github.com/" in row for row in rows)
    groups = load_groups(corpus)
    assert groups is not None and len(groups[0]) >= (10 if corpus == CORPUS else 4)


def test_score_report_names_the_pairs(score) -> None:  # type: ignore[no-untyped-def]
    text = format_grouping(score)
    assert "same-bug pairs sharing a specific fingerprint" in text
    assert "merged (hard negative): hn-getrows-" in text


def test_no_groups_json_means_no_score(tmp_path: Path) -> None:
    assert grouping_score(tmp_path, {}) is None


def test_malformed_groups_json_names_file_and_field(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_text("x", encoding="utf-8")
    (tmp_path / "groups.json").write_text('{"groups": {"g": ["a.log", "missing.log"]}, "hard_negatives": [["a.log"]]}',
                                          encoding="utf-8")
    with pytest.raises(DataErrors) as err:
        load_groups(tmp_path)
    text = str(err.value)
    assert "groups.json: groups.g: no file missing.log" in text
    assert "groups.json: hard_negatives" in text
