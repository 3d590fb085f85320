"""The Discord bot's 👍/👎 feedback, kept in SQLite and exported as a corpus.

Stdlib only and no discord import: `triage feedback export` runs on the CLI
path. A judged answer becomes a test case (CONTRACT.md §4): 👍 expects the
entry the bot gave, 👎 forbids it, so `triage eval DIR` catches regressions
and the wrong answers show up as forbidden hits until a signature is fixed.

Logs are stored as posted and redacted on export: redaction runs about 1 MB/s
and holds the GIL, which the bot cannot afford per message; the export, run
offline, can. A user's deleted message takes its stored log with it.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
import zlib
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from .redact import redact_text

__all__ = ["FeedbackStore", "Judgement", "default_db_path", "export_corpus"]

SCHEMA_VERSION = 1
NO_MATCH = ""  # kb_id stored when the bot answered with key lines only
_SCHEMA = """
CREATE TABLE IF NOT EXISTS replies (
    reply_id   INTEGER PRIMARY KEY,  -- the bot's message id: the buttons sit on it
    channel_id INTEGER NOT NULL,
    message_id INTEGER,              -- the user's message (NULL for slash commands)
    kb_id      TEXT NOT NULL,        -- top match, '' for no match
    log_name   TEXT NOT NULL,
    log_z      BLOB NOT NULL,        -- the log as posted, zlib-compressed (redacted on export)
    created    REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS votes (
    reply_id INTEGER NOT NULL REFERENCES replies(reply_id) ON DELETE CASCADE,
    user_id  INTEGER NOT NULL,
    vote     INTEGER NOT NULL CHECK (vote IN (-1, 1)),
    kb_id    TEXT NOT NULL,          -- the answer judged (an edit may change the reply's)
    created  REAL NOT NULL,
    PRIMARY KEY (reply_id, user_id)
);
"""
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def default_db_path() -> Path:
    """TRIAGE_FEEDBACK_DB, else the user data dir (platformdirs when installed)."""
    env = os.environ.get("TRIAGE_FEEDBACK_DB")
    if env:
        return Path(env).expanduser()
    try:
        from platformdirs import user_data_path
    except ImportError:
        return Path.home() / ".local" / "share" / "triage" / "feedback.sqlite3"
    return user_data_path("triage", appauthor=False) / "feedback.sqlite3"


@dataclass(frozen=True, slots=True)
class Judgement:
    """One judged reply: the net vote over every user who clicked."""

    reply_id: int
    kb_id: str
    log_name: str
    log: str
    score: int


class FeedbackStore:
    """One SQLite file; each call opens its own connection, so threads never share one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(_SCHEMA)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=10)) as db:
            db.execute("PRAGMA foreign_keys = ON")
            with db:  # commit on success, roll back on error
                yield db

    def record_reply(self, reply_id: int, channel_id: int, message_id: int | None, kb_id: str, log_name: str, log: str) -> None:
        """Remember what a reply answered, so a later click (even after a restart) has its log.
        Replacing a reply (the user edited the log) drops the votes on the old answer."""
        with self._db() as db:
            db.execute("DELETE FROM votes WHERE reply_id = ? AND kb_id != ?", (reply_id, kb_id))
            db.execute(
                "INSERT INTO replies (reply_id, channel_id, message_id, kb_id, log_name, log_z, created) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(reply_id) DO UPDATE SET kb_id = excluded.kb_id, log_name = excluded.log_name, log_z = excluded.log_z",
                (reply_id, channel_id, message_id, kb_id, log_name, zlib.compress(log.encode("utf-8")), time.time()),
            )

    def record_vote(self, reply_id: int, user_id: int, vote: int) -> str | None:
        """Store (or change) one user's vote; the judged kb_id, or None for an unknown reply."""
        if vote not in (-1, 1):
            raise ValueError(f"vote must be -1 or 1, got {vote!r}")
        with self._db() as db:
            row = db.execute("SELECT kb_id FROM replies WHERE reply_id = ?", (reply_id,)).fetchone()
            if row is None:
                return None
            db.execute(
                "INSERT INTO votes (reply_id, user_id, vote, kb_id, created) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(reply_id, user_id) DO UPDATE SET vote = excluded.vote, kb_id = excluded.kb_id, created = excluded.created",
                (reply_id, user_id, vote, row[0], time.time()),
            )
            return str(row[0])

    def forget_reply(self, reply_id: int) -> None:
        """The user deleted their message: their log goes too."""
        with self._db() as db:
            db.execute("DELETE FROM votes WHERE reply_id = ?", (reply_id,))
            db.execute("DELETE FROM replies WHERE reply_id = ?", (reply_id,))

    def votes(self, reply_id: int) -> dict[int, int]:
        with self._db() as db:
            return dict(db.execute("SELECT user_id, vote FROM votes WHERE reply_id = ?", (reply_id,)).fetchall())

    def judgements(self) -> list[Judgement]:
        """Replies with a non-zero net vote, oldest first."""
        with self._db() as db:
            rows = db.execute(
                "SELECT r.reply_id, r.kb_id, r.log_name, r.log_z, SUM(v.vote) FROM replies r JOIN votes v USING (reply_id) "
                "GROUP BY r.reply_id HAVING SUM(v.vote) != 0 ORDER BY r.created, r.reply_id"
            ).fetchall()
        return [Judgement(int(rid), str(kb), str(name), zlib.decompress(blob).decode("utf-8"), int(score)) for rid, kb, name, blob, score in rows]


def _expectation(j: Judgement) -> dict[str, list[str]] | None:
    if j.score > 0:
        return {"expect": [j.kb_id], "forbid": []} if j.kb_id else {"expect": [], "forbid": ["*"]}
    if j.kb_id:
        return {"expect": [], "forbid": [j.kb_id]}
    return None  # 👎 on "nothing matched": right, but we don't know the answer yet


def export_corpus(db: Path, out: Path) -> int:
    """Write each judged log as `<kb-id>__discord-<reply id>.log` plus expected.json
    (merged into one already there); return how many logs were written."""
    store = FeedbackStore(db)
    out.mkdir(parents=True, exist_ok=True)
    expected_path = out / "expected.json"
    expected: dict[str, dict[str, list[str]]] = {}
    if expected_path.is_file():
        expected = json.loads(expected_path.read_text(encoding="utf-8"))
    written = 0
    for j in store.judgements():
        rule = _expectation(j)
        if rule is None:
            continue
        stem = _SAFE_NAME.sub("-", f"{j.kb_id or 'no-match'}__discord-{j.reply_id}")
        name = f"{stem}.log"
        text, _ = redact_text(j.log)  # exported corpora get shared and committed
        (out / name).write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        expected[name] = rule
        written += 1
    expected_path.write_text(json.dumps(expected, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return written
