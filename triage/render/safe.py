"""Echo untrusted log text without letting it ping, format or break out."""

from __future__ import annotations

import re

__all__ = ["fence", "neutralize", "escape_markdown"]

_MENTION = re.compile(r"@(?=[\w\[\]-])")
_DISCORD_MENTION = re.compile(r"<(@[!&]?|#|/)(\d+)>")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")
_BACKTICKS = re.compile(r"`+")
ZWSP = "\u200b"


def neutralize(text: str) -> str:
    """Break @mentions (users, @everyone, @here, teams) and Discord <@id> forms."""
    text = _DISCORD_MENTION.sub(lambda m: f"<{m.group(1)}{ZWSP}{m.group(2)}>", text)
    return _MENTION.sub("@" + ZWSP, text)


def escape_markdown(text: str) -> str:
    """Inline text that must render literally (outside code)."""
    text = text.replace("<", "&lt;").replace(">", "&gt;")
    return neutralize(_MD_SPECIAL.sub(r"\\\1", text))


def fence(text: str, info: str = "") -> str:
    """A code fence longer than any backtick run inside, so it can't be closed early."""
    longest = max((len(m.group(0)) for m in _BACKTICKS.finditer(text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{info}\n{neutralize(text)}\n{ticks}"


def inline_code(text: str) -> str:
    longest = max((len(m.group(0)) for m in _BACKTICKS.finditer(text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{neutralize(text)}{pad}{ticks}"
