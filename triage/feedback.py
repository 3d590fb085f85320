"""The Discord bot's memory in SQLite: which reply answers which message, the
👍/👎 votes with the logs they judged, and crash fingerprints per server.

Stdlib only and no discord import: `triage feedback export` runs on the CLI
path. A judged answer becomes a test case (CONTRACT.md §4): 👍 expects the
entry the bot gave, 👎 forbids it, so `triage eval DIR` catches regressions
and the wrong answers show up as forbidden hits until a signature is fixed.

What is kept, and for how long (privacy first):
- `replies`: ids only (reply, channel, the user's message, the answer's KB id),
  so deleting a message deletes its reply even after a restart.
- `logs`: a log is stored only when someone votes on its reply, and it is
  redacted before it is written. Nothing else needs the text.
- `fingerprints`: one row per reported crash (fingerprint, KB id, runtime and
  version), no log text, for `/trending` and "seen N times".
`prune()` removes everything older than the retention (default 90 days).
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from . import redact

__all__ = [
    "DEFAULT_RETENTION_DAYS",
    "NO_MATCH",
    "FeedbackStore",
    "Judgement",
    "Trend",
    "default_db_path",
    "export_corpus",
    "redact_stored",
]

SCHEMA_VERSION = 2
NO_MATCH = ""  # kb_id stored when the bot answered with key lines only
DEFAULT_RETENTION_DAYS = 90.0
DAY = 86400.0
_SCHEMA = """
CREATE TABLE IF NOT EXISTS replies (
    reply_id   INTEGER PRIMARY KEY,  -- the bot's message id: the buttons sit on it
    channel_id INTEGER NOT NULL,
    message_id INTEGER,              -- the user's message (NULL for /triage with text or a file)
    kb_id      TEXT NOT NULL,        -- top match, '' for no match
    log_name   TEXT NOT NULL,        -- which log of the message was answered ("code block", a file name)
    passive    INTEGER NOT NULL,     -- 1: a reply to the message itself, which follows its edits
    created    REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS replies_by_message ON replies (message_id);
CREATE TABLE IF NOT EXISTS logs (
    reply_id INTEGER PRIMARY KEY REFERENCES replies(reply_id) ON DELETE CASCADE,
    log_z    BLOB NOT NULL,          -- the judged log, redacted, zlib-compressed
    stored   REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS votes (
    reply_id INTEGER NOT NULL REFERENCES replies(reply_id) ON DELETE CASCADE,
    user_id  INTEGER NOT NULL,
    vote     INTEGER NOT NULL CHECK (vote IN (-1, 1)),
    kb_id    TEXT NOT NULL,          -- the answer judged (an edit may change the reply's)
    created  REAL NOT NULL,
    PRIMARY KEY (reply_id, user_id)
);
CREATE TABLE IF NOT EXISTS fingerprints (
    guild_id    INTEGER NOT NULL,
    source_id   INTEGER NOT NULL,    -- the user's message or the interaction: an edit replaces, never adds
    fingerprint TEXT NOT NULL,
    text        TEXT NOT NULL,       -- the normalised failure, no log text
    kb_id       TEXT NOT NULL,
    product     TEXT NOT NULL,
    version     TEXT NOT NULL,
    seen        REAL NOT NULL,
    PRIMARY KEY (guild_id, source_id)
);
CREATE INDEX IF NOT EXISTS fingerprints_by_time ON fingerprints (guild_id, seen);
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


def redact_stored(text: str) -> str:
    """A whole log, redacted for storage: `redact.redact_log` (made for whole logs, tens of
    MB/s) where this version has it, else `redact_text` without its cache, which is sized
    for short report strings and would pin megabyte logs in memory."""
    fallback: Callable[[str], tuple[str, int]] = getattr(redact.redact_text, "__wrapped__", redact.redact_text)
    whole: Callable[[str], tuple[str, int]] = getattr(redact, "redact_log", fallback)
    return whole(text)[0]


@dataclass(frozen=True, slots=True)
class Judgement:
    """One judged reply: the net vote over every user who clicked."""

    reply_id: int
    kb_id: str
    log_name: str
    log: str
    score: int


@dataclass(frozen=True, slots=True)
class Trend:
    """One fingerprint's reports in a server over a period."""

    fingerprint: str
    text: str
    count: int
    kb_ids: tuple[str, ...]  # '' (no match) left out: known or not, the crash is listed
    versions: tuple[tuple[str, tuple[str, ...]], ...]  # (product, versions seen), most reported product first
    last_seen: float


@dataclass(frozen=True, slots=True)
class ReplyRef:
    """Where a reply sits, so it can be deleted without having it in memory."""

    reply_id: int
    channel_id: int
    message_id: int | None
    log_name: str
    passive: bool = False


class FeedbackStore:
    """One SQLite file behind one connection, which worker threads take turns on (a lock).

    Kept open and in WAL mode with synchronous=NORMAL: a commit then needs no fsync of its
    own and no checkpoint on close, so recording a reply or a crash costs well under a
    millisecond instead of ~15 ms per call (measured with a connection per call). Other
    processes (`triage feedback export`) read alongside it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, timeout=10, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")  # survives a crash of the bot; a power cut may lose the last commits
        self._conn.execute("PRAGMA foreign_keys = ON")
        with self._db() as db:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            if version == 1:
                _migrate_v1(db)
            _create(db)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """One transaction: committed on success, rolled back on error."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # ---- replies ----------------------------------------------------------------------------------------------

    def record_reply(self, reply_id: int, channel_id: int, message_id: int | None, kb_id: str, log_name: str, *, passive: bool = False) -> None:
        """Remember what a reply answered (ids only). Replacing a reply's answer (the user
        edited the log) drops the votes and the stored log of the old answer."""
        with self._db() as db:
            old = db.execute("SELECT kb_id FROM replies WHERE reply_id = ?", (reply_id,)).fetchone()
            if old is not None and old[0] != kb_id:
                db.execute("DELETE FROM votes WHERE reply_id = ?", (reply_id,))
                db.execute("DELETE FROM logs WHERE reply_id = ?", (reply_id,))
            db.execute(
                "INSERT INTO replies (reply_id, channel_id, message_id, kb_id, log_name, passive, created) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(reply_id) DO UPDATE SET kb_id = excluded.kb_id, log_name = excluded.log_name",
                (reply_id, channel_id, message_id, kb_id, log_name, int(passive), time.time()),
            )

    def reply(self, reply_id: int) -> ReplyRef | None:
        with self._db() as db:
            row = db.execute(f"SELECT {_REF} FROM replies WHERE reply_id = ?", (reply_id,)).fetchone()
        return _ref(row) if row else None

    def replies_to(self, message_id: int) -> list[ReplyRef]:
        """The bot's replies to one user message (passive answers and "Triage this log")."""
        with self._db() as db:
            rows = db.execute(f"SELECT {_REF} FROM replies WHERE message_id = ? ORDER BY passive DESC, created", (message_id,)).fetchall()
        return [_ref(r) for r in rows]

    def forget_reply(self, reply_id: int) -> None:
        """The user deleted their message (or the reply went): the log and votes go too."""
        with self._db() as db:
            db.execute("DELETE FROM replies WHERE reply_id = ?", (reply_id,))  # logs and votes cascade

    # ---- votes and logs ---------------------------------------------------------------------------------------

    def has_log(self, reply_id: int) -> bool:
        with self._db() as db:
            return db.execute("SELECT 1 FROM logs WHERE reply_id = ?", (reply_id,)).fetchone() is not None

    def record_vote(self, reply_id: int, user_id: int, vote: int, log: str | None = None) -> str | None:
        """Store (or change) one user's vote and, on the first vote, the log (redacted here).
        Returns the judged kb_id, or None when the vote cannot be used: an unknown reply,
        or no log stored and none given."""
        if vote not in (-1, 1):
            raise ValueError(f"vote must be -1 or 1, got {vote!r}")
        blob = zlib.compress(redact_stored(log).encode("utf-8")) if log is not None else None
        with self._db() as db:
            row = db.execute("SELECT kb_id FROM replies WHERE reply_id = ?", (reply_id,)).fetchone()
            if row is None:
                return None
            stored = db.execute("SELECT 1 FROM logs WHERE reply_id = ?", (reply_id,)).fetchone() is not None
            if not stored:
                if blob is None:
                    return None
                db.execute("INSERT INTO logs (reply_id, log_z, stored) VALUES (?, ?, ?)", (reply_id, blob, time.time()))
            db.execute(
                "INSERT INTO votes (reply_id, user_id, vote, kb_id, created) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(reply_id, user_id) DO UPDATE SET vote = excluded.vote, kb_id = excluded.kb_id, created = excluded.created",
                (reply_id, user_id, vote, row[0], time.time()),
            )
            return str(row[0])

    def votes(self, reply_id: int) -> dict[int, int]:
        with self._db() as db:
            return dict(db.execute("SELECT user_id, vote FROM votes WHERE reply_id = ?", (reply_id,)).fetchall())

    def stored_log(self, reply_id: int) -> str | None:
        with self._db() as db:
            row = db.execute("SELECT log_z FROM logs WHERE reply_id = ?", (reply_id,)).fetchone()
        return zlib.decompress(row[0]).decode("utf-8") if row else None

    def judgements(self) -> list[Judgement]:
        """Replies with a stored log and a non-zero net vote, oldest first."""
        with self._db() as db:
            rows = db.execute(
                "SELECT r.reply_id, r.kb_id, r.log_name, l.log_z, SUM(v.vote) FROM replies r "
                "JOIN logs l USING (reply_id) JOIN votes v USING (reply_id) "
                "GROUP BY r.reply_id HAVING SUM(v.vote) != 0 ORDER BY r.created, r.reply_id"
            ).fetchall()
        return [Judgement(int(rid), str(kb), str(name), zlib.decompress(blob).decode("utf-8"), int(score)) for rid, kb, name, blob, score in rows]

    # ---- fingerprints -----------------------------------------------------------------------------------------

    def record_fingerprint(
        self, guild_id: int, source_id: int, fingerprint: str, text: str, kb_id: str, product: str, version: str, *,
        now: float | None = None, count_since: float | None = None,
    ) -> int:
        """One report of a crash in a server; the same source (an edited message) is counted once.
        With `count_since`, returns the reports of this fingerprint since then (this one included)
        from the same transaction; else 0."""
        with self._db() as db:
            db.execute(
                "INSERT INTO fingerprints (guild_id, source_id, fingerprint, text, kb_id, product, version, seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(guild_id, source_id) DO UPDATE SET fingerprint = excluded.fingerprint, text = excluded.text, "
                "kb_id = excluded.kb_id, product = excluded.product, version = excluded.version",
                (guild_id, source_id, fingerprint, text, kb_id, product, version, time.time() if now is None else now),
            )
            if count_since is None:
                return 0
            return _count(db, guild_id, fingerprint, count_since)

    def fingerprint_count(self, guild_id: int, fingerprint: str, since: float) -> int:
        """Reports of this fingerprint in the server since `since` (the current one included)."""
        with self._db() as db:
            return _count(db, guild_id, fingerprint, since)

    def trending(self, guild_id: int, since: float, limit: int = 10) -> list[Trend]:
        """The most reported fingerprints in a server since `since`, most reports first."""
        with self._db() as db:
            rows = db.execute(
                "SELECT fingerprint, text, kb_id, product, version, seen FROM fingerprints WHERE guild_id = ? AND seen >= ? ORDER BY seen",
                (guild_id, since),
            ).fetchall()
        groups: dict[str, list[tuple[str, str, str, str, float]]] = {}
        for fp, text, kb_id, product, version, seen in rows:
            groups.setdefault(str(fp), []).append((str(text), str(kb_id), str(product), str(version), float(seen)))
        trends = []
        for fp, items in groups.items():
            kb_ids = tuple(dict.fromkeys(k for _, k, _, _, _ in items if k))
            products: dict[str, int] = {}
            versions_seen: dict[str, dict[str, int]] = {}
            for _, _, product, version, _ in items:
                if product:
                    products[product] = products.get(product, 0) + 1
                    if version:
                        per = versions_seen.setdefault(product, {})
                        per[version] = per.get(version, 0) + 1
            versions = tuple((p, tuple(_by_count(versions_seen.get(p, {})))) for p in _by_count(products))
            trends.append(Trend(fp, items[-1][0], len(items), kb_ids, versions, items[-1][4]))
        trends.sort(key=lambda t: (-t.count, -t.last_seen, t.fingerprint))
        return trends[:limit]

    # ---- retention --------------------------------------------------------------------------------------------

    def prune(self, retention_days: float, *, now: float | None = None) -> int:
        """Forget stored logs, replies and fingerprints older than the retention; rows removed."""
        cutoff = (time.time() if now is None else now) - retention_days * DAY
        with self._db() as db:
            removed = db.execute("DELETE FROM logs WHERE stored < ?", (cutoff,)).rowcount
            removed += db.execute(
                "DELETE FROM replies WHERE created < ? AND reply_id NOT IN (SELECT reply_id FROM logs)", (cutoff,)
            ).rowcount
            removed += db.execute("DELETE FROM fingerprints WHERE seen < ?", (cutoff,)).rowcount
        return removed


_REF = "reply_id, channel_id, message_id, log_name, passive"


def _ref(row: tuple[object, ...]) -> ReplyRef:
    reply_id, channel_id, message_id, log_name, passive = row
    return ReplyRef(int(str(reply_id)), int(str(channel_id)), None if message_id is None else int(str(message_id)), str(log_name), bool(passive))


def _count(db: sqlite3.Connection, guild_id: int, fingerprint: str, since: float) -> int:
    row = db.execute("SELECT COUNT(*) FROM fingerprints WHERE guild_id = ? AND fingerprint = ? AND seen >= ?",
                     (guild_id, fingerprint, since)).fetchone()
    return int(row[0])


def _by_count(counts: dict[str, int]) -> list[str]:
    """Keys, most counted first (first seen first on ties)."""
    return sorted(counts, key=lambda k: -counts[k])


def _create(db: sqlite3.Connection) -> None:
    """The schema, one statement at a time (executescript would commit mid-transaction)."""
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            db.execute(statement)


def _migrate_v1(db: sqlite3.Connection) -> None:
    """Schema 1 kept every answered log as posted. Keep only the judged ones, redacted."""
    replies = db.execute("SELECT reply_id, channel_id, message_id, kb_id, log_name, log_z, created FROM replies").fetchall()
    votes = db.execute("SELECT reply_id, user_id, vote, kb_id, created FROM votes").fetchall()
    voted = {int(v[0]) for v in votes}
    db.execute("DROP TABLE votes")
    db.execute("DROP TABLE replies")
    _create(db)
    for reply_id, channel_id, message_id, kb_id, log_name, log_z, created in replies:
        # Schema 1 answered only messages (slash commands stored no message id).
        db.execute("INSERT INTO replies VALUES (?, ?, ?, ?, ?, ?, ?)", (reply_id, channel_id, message_id, kb_id, log_name, int(message_id is not None), created))
        if int(reply_id) in voted:
            text = redact_stored(zlib.decompress(log_z).decode("utf-8", "replace"))
            db.execute("INSERT INTO logs VALUES (?, ?, ?)", (reply_id, zlib.compress(text.encode("utf-8")), created))
    db.executemany("INSERT INTO votes VALUES (?, ?, ?, ?, ?)", votes)


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
    try:
        judgements = store.judgements()
    finally:
        store.close()
    out.mkdir(parents=True, exist_ok=True)
    expected_path = out / "expected.json"
    expected: dict[str, dict[str, list[str]]] = {}
    if expected_path.is_file():
        expected = json.loads(expected_path.read_text(encoding="utf-8"))
    written = 0
    for j in judgements:
        rule = _expectation(j)
        if rule is None:
            continue
        stem = _SAFE_NAME.sub("-", f"{j.kb_id or 'no-match'}__discord-{j.reply_id}")
        name = f"{stem}.log"
        text = redact_stored(j.log)  # stored redacted; again with today's rules, since exports get shared and committed
        (out / name).write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        expected[name] = rule
        written += 1
    expected_path.write_text(json.dumps(expected, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return written
