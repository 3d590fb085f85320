"""`{{name}}` and `{{name|fallback}}` placeholders in KB text.

A text whose placeholder has neither a value nor a fallback is not rendered
at all (``fill`` returns None): the reader never sees a raw ``{{``.
"""

from __future__ import annotations

import re

from .normalize import lazy_regex

__all__ = ["fill", "names"]

# Compiled on first need: most texts have no `{{` at all.
_placeholder = lazy_regex(r"\{\{\s*([a-z_][a-z0-9_]*)\s*(?:\|([^{}]*))?\}\}")


def names(text: str) -> list[tuple[str, bool]]:
    """(name, has_fallback) for each placeholder in text."""
    if "{{" not in text:
        return []
    return [(m.group(1), m.group(2) is not None) for m in _placeholder().finditer(text)]


def fill(text: str, values: dict[str, str]) -> str | None:
    if "{{" not in text:
        return text  # no placeholder: what the substitution would return
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

    out = _placeholder().sub(repl, text)
    return None if missing else out
