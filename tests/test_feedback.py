"""triage.feedback: votes in SQLite, exported as a corpus that `triage eval` reads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from triage.cli import main as cli_main
from triage.feedback import FeedbackStore, default_db_path, export_corpus

CORPUS = Path(__file__).resolve().parent / "corpus"
LOG = (CORPUS / "cuda-arch-mismatch__llamacpp4215-cuda-error-209-no-kernel-image.log").read_text(encoding="utf-8")


def test_votes_are_stored_per_user_and_can_change(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    store.record_reply(1, 10, 100, "cuda-arch-mismatch", "code block", LOG)
    assert store.record_vote(1, 7, 1) == "cuda-arch-mismatch"
    assert store.record_vote(1, 8, -1) == "cuda-arch-mismatch"
    assert store.record_vote(1, 7, -1) == "cuda-arch-mismatch"
    assert store.votes(1) == {7: -1, 8: -1}
    assert store.record_vote(999, 7, 1) is None
    with pytest.raises(ValueError, match="vote must be -1 or 1"):
        store.record_vote(1, 7, 2)


def test_a_changed_answer_drops_votes_on_the_old_one(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    store.record_reply(1, 10, 100, "cuda-oom", "a.log", "x")
    store.record_vote(1, 7, -1)
    store.record_reply(1, 10, 100, "cuda-arch-mismatch", "a.log", LOG)
    assert store.votes(1) == {}


def test_forget_reply_removes_log_and_votes(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    store.record_reply(1, 10, 100, "cuda-oom", "a.log", "x")
    store.record_vote(1, 7, 1)
    store.forget_reply(1)
    assert store.votes(1) == {}
    assert store.judgements() == []


def test_export_writes_a_corpus_that_triage_eval_reads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "fb.sqlite3"
    store = FeedbackStore(db)
    store.record_reply(1, 10, 100, "cuda-arch-mismatch", "code block", LOG)
    store.record_vote(1, 7, 1)
    store.record_reply(2, 10, 101, "cuda-oom", "b.log", LOG)  # a wrong answer, voted down
    store.record_vote(2, 7, -1)
    store.record_reply(3, 10, 102, "", "c.log", "nothing to see\n")  # "no match" confirmed
    store.record_vote(3, 7, 1)
    store.record_reply(4, 10, 103, "", "d.log", "unknown\n")  # "no match" rejected: answer unknown, skipped
    store.record_vote(4, 7, -1)
    store.record_reply(5, 10, 104, "cuda-oom", "e.log", "tie\n")  # net zero: skipped
    store.record_vote(5, 7, 1)
    store.record_vote(5, 8, -1)
    out = tmp_path / "corpus"
    assert export_corpus(db, out) == 3
    expected = json.loads((out / "expected.json").read_text(encoding="utf-8"))
    assert expected == {
        "cuda-arch-mismatch__discord-1.log": {"expect": ["cuda-arch-mismatch"], "forbid": []},
        "cuda-oom__discord-2.log": {"expect": [], "forbid": ["cuda-oom"]},
        "no-match__discord-3.log": {"expect": [], "forbid": ["*"]},
    }
    exported = (out / "cuda-arch-mismatch__discord-1.log").read_text(encoding="utf-8")
    assert exported == LOG.replace("/home/user/", "/home/<user>/")  # redacted on the way out
    capsys.readouterr()
    assert cli_main(["eval", str(out), "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["cases"] == 3
    assert result["forbidden_hits"] == []
    assert result["per_id"]["cuda-arch-mismatch"]["found"] == 1


def test_export_through_the_cli_and_merge_into_an_existing_corpus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "fb.sqlite3"
    store = FeedbackStore(db)
    store.record_reply(1, 10, 100, "cuda-arch-mismatch", "code block", LOG)
    store.record_vote(1, 7, 1)
    out = tmp_path / "corpus"
    out.mkdir()
    (out / "expected.json").write_text('{"old.log": {"expect": [], "forbid": ["*"]}}', encoding="utf-8")
    (out / "old.log").write_text("hello\n", encoding="utf-8")
    assert cli_main(["feedback", "export", str(out), "--db", str(db)]) == 0
    assert "wrote 1 judged logs" in capsys.readouterr().out
    assert set(json.loads((out / "expected.json").read_text(encoding="utf-8"))) == {"old.log", "cuda-arch-mismatch__discord-1.log"}


def test_default_db_path_honours_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TRIAGE_FEEDBACK_DB", str(tmp_path / "x.sqlite3"))
    assert default_db_path() == tmp_path / "x.sqlite3"
    monkeypatch.delenv("TRIAGE_FEEDBACK_DB")
    assert default_db_path().name == "feedback.sqlite3"


def test_feedback_module_does_not_import_discord() -> None:
    code = "import sys, triage.feedback, triage.cli; assert 'discord' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
