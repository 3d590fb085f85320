"""The Discord bot's settings, read from the environment in one place only.

Nothing reads the environment at import time (python-discord's constants.py is
the cautionary tale): `Settings()` gives test defaults, `Settings.from_env()`
is what `triage-bot` calls.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DEFAULT_ATTACHMENT_CAP", "DEFAULT_RETENTION_DAYS", "Rate", "Settings", "SettingsError"]

MIB = 1024 * 1024
DEFAULT_ATTACHMENT_CAP = 8 * MIB  # Discord's own free-tier upload limit; bigger "logs" are rarely logs
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DEFAULT_RETENTION_DAYS = 90.0  # judged logs, reply ids and fingerprint counts are forgotten after this


class SettingsError(ValueError):
    """A malformed environment variable; the message names the variable and the value."""


@dataclass(frozen=True, slots=True)
class Rate:
    """At most `count` triages per `seconds` (a discord.py cooldown bucket)."""

    count: int
    seconds: float

    @classmethod
    def parse(cls, name: str, value: str) -> Rate:
        """'3/60' -> Rate(3, 60.0): three per minute."""
        count, sep, seconds = value.partition("/")
        try:
            rate = cls(int(count), float(seconds)) if sep else None
        except ValueError:
            rate = None
        if rate is None or rate.count < 1 or rate.seconds <= 0:
            raise SettingsError(f"{name}: expected COUNT/SECONDS such as '3/60', got {value!r}")
        return rate


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the bot can be told; defaults suit tests and small servers."""

    token: str | None = None
    channels: frozenset[int] = frozenset()  # empty: every channel the bot can read
    guild: int | None = None  # sync slash commands to this guild only (instant, for development)
    kb_dirs: tuple[Path, ...] = ()
    feedback_db: Path | None = None  # None: triage.feedback.default_db_path()
    log_level: str = "INFO"
    max_attachment_bytes: int = DEFAULT_ATTACHMENT_CAP
    max_logs_per_message: int = 5  # attachments plus code blocks analysed for one message
    user_rate: Rate = Rate(3, 60.0)
    channel_rate: Rate = Rate(10, 60.0)
    kb_url: str | None = None  # GitHub blob URL -> <url>kb/<id>.md; any other base (web app, static site) -> <url>/kb/<id>/
    retention_days: float = DEFAULT_RETENTION_DAYS

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read DISCORD_TOKEN and the TRIAGE_* variables; raise SettingsError on a bad value."""
        env = os.environ if env is None else env
        return cls(
            token=env.get("DISCORD_TOKEN", "").strip() or None,
            channels=frozenset(_ids("TRIAGE_CHANNELS", env.get("TRIAGE_CHANNELS", ""))),
            guild=next(iter(_ids("TRIAGE_GUILD", env.get("TRIAGE_GUILD", ""))), None),
            kb_dirs=tuple(Path(p).expanduser() for p in env.get("TRIAGE_KB_DIRS", "").split(os.pathsep) if p.strip()),
            feedback_db=Path(env["TRIAGE_FEEDBACK_DB"]).expanduser() if env.get("TRIAGE_FEEDBACK_DB") else None,
            log_level=_level(env.get("TRIAGE_LOG_LEVEL", "INFO")),
            max_attachment_bytes=_mib("TRIAGE_MAX_ATTACHMENT_MIB", env.get("TRIAGE_MAX_ATTACHMENT_MIB")),
            user_rate=Rate.parse("TRIAGE_USER_COOLDOWN", env["TRIAGE_USER_COOLDOWN"]) if env.get("TRIAGE_USER_COOLDOWN") else Rate(3, 60.0),
            channel_rate=Rate.parse("TRIAGE_CHANNEL_COOLDOWN", env["TRIAGE_CHANNEL_COOLDOWN"]) if env.get("TRIAGE_CHANNEL_COOLDOWN") else Rate(10, 60.0),
            kb_url=env.get("TRIAGE_KB_URL", "").strip() or None,
            retention_days=_days("TRIAGE_RETENTION_DAYS", env.get("TRIAGE_RETENTION_DAYS")),
        )


def _ids(name: str, value: str) -> list[int]:
    out: list[int] = []
    for part in value.replace(" ", ",").split(","):
        if not part:
            continue
        if not part.isdigit():
            raise SettingsError(f"{name}: expected comma-separated numeric ids, got {part!r}")
        out.append(int(part))
    return out


def _level(value: str) -> str:
    level = value.strip().upper()
    if level not in LOG_LEVELS:
        raise SettingsError(f"TRIAGE_LOG_LEVEL: expected one of {', '.join(LOG_LEVELS)}, got {value!r}")
    return level


def _mib(name: str, value: str | None) -> int:
    if not value:
        return DEFAULT_ATTACHMENT_CAP
    try:
        mib = float(value)
    except ValueError:
        mib = -1.0
    if mib <= 0:
        raise SettingsError(f"{name}: expected a positive number of MiB, got {value!r}")
    return int(mib * MIB)


def _days(name: str, value: str | None) -> float:
    if not value or not value.strip():
        return DEFAULT_RETENTION_DAYS
    try:
        days = float(value)
    except ValueError:
        days = -1.0
    if not 0 < days < 100_000:
        raise SettingsError(f"{name}: expected a positive number of days, got {value!r}")
    return days
