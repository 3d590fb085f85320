"""`{{name}}` and `{{name|fallback}}` placeholders in KB text.

A text whose placeholder has neither a value nor a fallback is not rendered
at all (``fill`` returns None): the reader never sees a raw ``{{``.
"""

from __future__ import annotations

import re

__all__ = ["fill", "names"]

_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\s*(?:\|([^{}]*))?\}\}")


def names(text: str) -> list[tuple[str, bool]]:
    """(name, has_fallback) for each placeholder in text."""
    return [(m.group(1), m.group(2) is not None) for m in _PLACEHOLDER.finditer(text)]


def fill(text: str, values: dict[str, str]) -> str | None:
    missing = False

    def repl(m: re.Match[str]) -> str:
        nonlocal missing
        value = values.get(m.group(1))
        if value:
            return value
        if m.group(2) is not None:
            return m.group(2)
        missing = True
        return ""

    out = _PLACEHOLDER.sub(repl, text)
    return None if missing else out
