"""triage.feedback: reply ids, votes with their (redacted) logs and fingerprint counts in
SQLite, pruned after the retention, exported as a corpus that `triage eval` reads."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

from triage.cli import main as cli_main
from triage.feedback import DAY, FeedbackStore, default_db_path, export_corpus

CORPUS = Path(__file__).resolve().parent / "corpus"
LOG = (CORPUS / "cuda-arch-mismatch__llamacpp4215-cuda-error-209-no-kernel-image.log").read_text(encoding="utf-8").replace("/home/user/", "/home/alice/")
HF = "hf_" + "aBcDeFgHiJkLmNoPqRsTuVwXyZ012345"
SECRET_LOG = LOG + f"HF_TOKEN={HF} loaded from /home/alice/.cache\n"


def test_votes_are_stored_per_user_and_can_change(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    store.record_reply(1, 10, 100, "cuda-arch-mismatch", "code block")
    assert store.record_vote(1, 7, 1, LOG) == "cuda-arch-mismatch"
    assert store.record_vote(1, 8, -1) == "cuda-arch-mismatch"  # the log is stored already
    assert store.record_vote(1, 7, -1) == "cuda-arch-mismatch"
    assert store.votes(1) == {7: -1, 8: -1}
    assert store.record_vote(999, 7, 1) is None
    with pytest.raises(ValueError, match="vote must be -1 or 1"):
        store.record_vote(1, 7, 2)


def test_a_changed_answer_drops_votes_on_the_old_one(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    store.record_reply(1, 10, 100, "cuda-oom", "a.log")
    store.record_vote(1, 7, -1, "x")
    store.record_reply(1, 10, 100, "cuda-oom", "a.log")  # the same answer again: the vote stays
    assert store.votes(1) == {7: -1}
    store.record_reply(1, 10, 100, "cuda-arch-mismatch", "a.log")
    assert store.votes(1) == {} and store.stored_log(1) is None


def test_forget_reply_removes_log_and_votes(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    store.record_reply(1, 10, 100, "cuda-oom", "a.log")
    store.record_vote(1, 7, 1, "x")
    store.forget_reply(1)
    assert store.votes(1) == {}
    assert store.judgements() == [] and store.stored_log(1) is None and store.replies_to(100) == []


def test_export_writes_a_corpus_that_triage_eval_reads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "fb.sqlite3"
    store = FeedbackStore(db)
    store.record_reply(1, 10, 100, "cuda-arch-mismatch", "code block")
    store.record_vote(1, 7, 1, LOG)
    store.record_reply(2, 10, 101, "cuda-oom", "b.log")  # a wrong answer, voted down
    store.record_vote(2, 7, -1, LOG)
    store.record_reply(3, 10, 102, "", "c.log")  # "no match" confirmed
    store.record_vote(3, 7, 1, "nothing to see\n")
    store.record_reply(4, 10, 103, "", "d.log")  # "no match" rejected: answer unknown, skipped
    store.record_vote(4, 7, -1, "unknown\n")
    store.record_reply(5, 10, 104, "cuda-oom", "e.log")  # net zero: skipped
    store.record_vote(5, 7, 1, "tie\n")
    store.record_vote(5, 8, -1)
    store.record_reply(6, 10, 105, "cuda-oom", "f.log")  # answered, never judged: nothing to export
    out = tmp_path / "corpus"
    assert export_corpus(db, out) == 3
    expected = json.loads((out / "expected.json").read_text(encoding="utf-8"))
    assert expected == {
        "cuda-arch-mismatch__discord-1.log": {"expect": ["cuda-arch-mismatch"], "forbid": []},
        "cuda-oom__discord-2.log": {"expect": [], "forbid": ["cuda-oom"]},
        "no-match__discord-3.log": {"expect": [], "forbid": ["*"]},
    }
    exported = (out / "cuda-arch-mismatch__discord-1.log").read_text(encoding="utf-8")
    assert exported == LOG.replace("/home/alice/", "/home/<user>/")  # stored redacted
    capsys.readouterr()
    assert cli_main(["eval", str(out), "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["cases"] == 3
    assert result["forbidden_hits"] == []
    assert result["per_id"]["cuda-arch-mismatch"]["found"] == 1


def test_export_through_the_cli_and_merge_into_an_existing_corpus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "fb.sqlite3"
    store = FeedbackStore(db)
    store.record_reply(1, 10, 100, "cuda-arch-mismatch", "code block")
    store.record_vote(1, 7, 1, LOG)
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


def test_a_log_is_stored_only_when_voted_on_and_redacted_before_it_is_written(tmp_path: Path) -> None:
    db = tmp_path / "fb.sqlite3"
    store = FeedbackStore(db)
    store.record_reply(1, 10, 100, "cuda-arch-mismatch", "code block")
    assert store.stored_log(1) is None and not store.has_log(1)
    assert store.record_vote(1, 7, 1) is None  # no log given, none stored: the vote is useless, so not kept
    assert store.votes(1) == {}
    assert store.record_vote(1, 7, 1, SECRET_LOG) == "cuda-arch-mismatch"
    stored = store.stored_log(1)
    assert stored is not None and "no kernel image" in stored
    assert HF not in stored and "alice" not in stored
    with sqlite3.connect(db) as raw:  # what is on disk, not what the API returns
        (blob,) = raw.execute("SELECT log_z FROM logs").fetchone()
    on_disk = zlib.decompress(blob).decode("utf-8")
    assert HF not in on_disk and "alice" not in on_disk
    assert store.record_vote(1, 8, -1, "a different text") == "cuda-arch-mismatch"
    assert store.stored_log(1) == stored  # the first vote's log stays


def test_replies_are_found_by_the_users_message(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    store.record_reply(2, 10, 100, "cuda-oom", "code block")  # "Triage this log" on the message
    store.record_reply(1, 10, 100, "cuda-oom", "a.log", passive=True)  # the bot's own answer to it
    store.record_reply(3, 11, None, "", "text")  # /triage text: no user message
    assert [(r.reply_id, r.passive) for r in store.replies_to(100)] == [(1, True), (2, False)]  # the one that follows edits first
    ref = store.reply(3)
    assert ref is not None and (ref.channel_id, ref.message_id, ref.log_name) == (11, None, "text")


def test_prune_forgets_what_is_older_than_the_retention(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    now = time.time()
    for reply_id in (1, 2, 3):
        store.record_reply(reply_id, 10, 100 + reply_id, "cuda-oom", "a.log")
    store.record_vote(2, 7, 1, LOG)
    store.record_fingerprint(5, 101, "v2-old", "old crash", "", "ollama", "0.5.1", now=now - 100 * DAY)
    store.record_fingerprint(5, 102, "v2-new", "new crash", "", "ollama", "0.5.1", now=now)
    with sqlite3.connect(tmp_path / "fb.sqlite3") as raw:  # age replies 1 and 2 and the stored log by 100 days
        raw.execute("UPDATE replies SET created = ? WHERE reply_id IN (1, 2)", (now - 100 * DAY,))
        raw.execute("UPDATE logs SET stored = ?", (now - 100 * DAY,))
    assert store.prune(90, now=now) == 4  # the log, replies 1 and 2 (and the vote with them), the old fingerprint
    assert store.reply(1) is None and store.reply(2) is None and store.reply(3) is not None
    assert store.judgements() == [] and store.votes(2) == {}
    assert [t.fingerprint for t in store.trending(5, 0)] == ["v2-new"]
    assert store.prune(90, now=now) == 0


def test_a_judged_log_lives_for_the_retention_after_the_vote(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    store.record_reply(1, 10, 100, "cuda-oom", "a.log")
    with sqlite3.connect(tmp_path / "fb.sqlite3") as raw:
        raw.execute("UPDATE replies SET created = ?", (time.time() - 80 * DAY,))
    store.record_vote(1, 7, 1, LOG)  # voted 80 days after the answer
    store.prune(30)
    assert store.stored_log(1) is not None and len(store.judgements()) == 1


def test_fingerprints_are_counted_per_server_once_per_message(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    now = time.time()
    store.record_fingerprint(5, 1, "v2-a", "GGML_ASSERT(x) in ggml.c", "", "ollama", "0.5.1", now=now - 3 * DAY)
    store.record_fingerprint(5, 2, "v2-a", "GGML_ASSERT(x) in ggml.c", "", "ollama", "0.5.2", now=now - DAY)
    store.record_fingerprint(5, 3, "v2-a", "GGML_ASSERT(x) in ggml.c", "", "koboldcpp", "1.62", now=now)
    store.record_fingerprint(5, 3, "v2-a", "GGML_ASSERT(x) in ggml.c", "", "koboldcpp", "1.62", now=now)  # an edit: same message
    store.record_fingerprint(5, 4, "v2-b", "CUDA error: out of memory", "cuda-oom", "llama.cpp", "b4567", now=now)
    store.record_fingerprint(6, 5, "v2-b", "CUDA error: out of memory", "cuda-oom", "llama.cpp", "b4567", now=now)  # another server
    store.record_fingerprint(5, 6, "v2-c", "old", "", "", "", now=now - 30 * DAY)
    assert store.fingerprint_count(5, "v2-a", now - 7 * DAY) == 3
    assert store.fingerprint_count(5, "v2-a", now - 2 * DAY) == 2
    trends = store.trending(5, now - 7 * DAY)
    assert [(t.fingerprint, t.count) for t in trends] == [("v2-a", 3), ("v2-b", 1)]
    a, b = trends
    assert a.kb_ids == () and a.versions == (("ollama", ("0.5.1", "0.5.2")), ("koboldcpp", ("1.62",)))
    assert b.kb_ids == ("cuda-oom",) and b.text == "CUDA error: out of memory"
    assert store.trending(5, now - 7 * DAY, limit=1) == [a]


def test_a_schema_1_database_keeps_only_judged_logs_redacted(tmp_path: Path) -> None:
    db = tmp_path / "fb.sqlite3"
    with sqlite3.connect(db) as raw:
        raw.executescript("""
            CREATE TABLE replies (reply_id INTEGER PRIMARY KEY, channel_id INTEGER NOT NULL, message_id INTEGER,
                kb_id TEXT NOT NULL, log_name TEXT NOT NULL, log_z BLOB NOT NULL, created REAL NOT NULL);
            CREATE TABLE votes (reply_id INTEGER NOT NULL REFERENCES replies(reply_id) ON DELETE CASCADE,
                user_id INTEGER NOT NULL, vote INTEGER NOT NULL CHECK (vote IN (-1, 1)), kb_id TEXT NOT NULL,
                created REAL NOT NULL, PRIMARY KEY (reply_id, user_id));
            PRAGMA user_version = 1;
        """)
        for reply_id in (1, 2):
            raw.execute("INSERT INTO replies VALUES (?, 10, ?, 'cuda-arch-mismatch', 'a.log', ?, ?)",
                        (reply_id, 100 + reply_id, zlib.compress(SECRET_LOG.encode()), time.time()))
        raw.execute("INSERT INTO votes VALUES (1, 7, 1, 'cuda-arch-mismatch', ?)", (time.time(),))
    store = FeedbackStore(db)
    (judged,) = store.judgements()
    assert judged.reply_id == 1 and HF not in judged.log and "alice" not in judged.log
    assert store.stored_log(2) is None and store.reply(2) is not None  # answered, never judged: ids only
    assert [r.passive for r in store.replies_to(101)] == [True]
    assert store.votes(1) == {7: 1}
    with sqlite3.connect(db) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == 2
        columns = [row[1] for row in raw.execute("PRAGMA table_info(replies)")]
    assert "log_z" not in columns
    store.forget_reply(1)  # the foreign keys survived the migration
    assert store.votes(1) == {} and store.stored_log(1) is None
