"""Literals a regex cannot match without: a cheap `in` test that skips most searches.

The `regex` module tries a case-insensitive alternation at every position of a
line, which on a long line full of near-misses costs milliseconds. If a pattern
can only match where one of a few literals occurs, a lower-cased `in` test
rules the line out first. The analysis is conservative: it returns None (no
shortcut) for anything it does not understand, and only ASCII literals are used,
so lower-casing agrees with the regex's case-insensitive matching (`haystack` makes a
line's text to test them against, exactly: see its note).

The pattern is parsed by Python's `re` parser, for the `regex` module. Where the two read
the same text differently, the result would be wrong, so those patterns get None: a
POSIX class (`[[:alpha:]]`, a set to `re`) and a `{...}` that is not a repeat count
(a literal to `re`, a fuzzy-matching constraint to `regex`).
"""

from __future__ import annotations

import re
TYPE_CHECKING = False  # true for type checkers only: typing is not imported at run time (records.py says why)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["haystack", "may_match", "minimal", "parse", "required_literals"]

MIN_LITERAL = 3
# Characters outside ASCII that the `regex` module's case-insensitive matching takes for an ASCII letter of a
# pattern, where str.lower() does not give that letter alone: U+0130 (matches "i") lowers to "i" plus a combining
# dot, U+0131 (matches "I") and U+017F (matches "s") stay themselves. tests/test_fingerprint_gate.py checks
# every code point against every ASCII character.
_FOLD = {0x130: "i", 0x131: "i", 0x17F: "s"}
_POSIX_CLASS = r"\[:\^?[A-Za-z]{1,20}:\]"  # `regex` reads `[[:alpha:]]` as a class, `re` as a set and a "]"


def parse(pattern: str) -> tuple[Any, list[Any]] | None:
    """(the parser module, the parsed items) of `pattern` read by Python's `re` parser, or None where that
    reading may differ from the `regex` module's (see the module note) or the syntax is `regex`'s alone."""
    import importlib

    try:
        parser: Any = importlib.import_module("re._parser")  # Python 3.11+ (no type stubs)
    except ImportError:  # pragma: no cover - Python 3.10
        parser = importlib.import_module("sre_parse")
    if ("[:" in pattern and re.search(_POSIX_CLASS, pattern)) or _odd_brace(pattern):
        return None
    try:
        return parser, list(parser.parse(pattern))
    except Exception:  # noqa: BLE001 - syntax only the regex module knows: no shortcut
        return None


def required_literals(pattern: str) -> tuple[str, ...] | None:
    """Lower-case literals at least one of which every match contains, or None when unknown."""
    parsed = parse(pattern)
    if parsed is None:
        return None
    found = _sequence(parsed[1], parsed[0])
    return tuple(sorted(found)) if found else None


def minimal(literals: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """The same requirement with fewer tests: a literal that contains another of the set adds nothing."""
    if literals is None:
        return None
    return tuple(sorted(a for a in literals if not any(b != a and b in a for b in literals)))


def _odd_brace(pattern: str) -> bool:
    """Whether an unescaped `{` opens anything but a repeat count (`{3}`, `{2,}`, `{,4}`, `{1,5}`)."""
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "{":
            end = pattern.find("}", i)
            body = pattern[i + 1:end] if end > i else "x"
            count = body.replace(",", "", 1)
            if not count.isdigit():
                return True
        i += 1
    return False


def haystack(text: str) -> str:
    """`text` to test required literals against: lower-cased one character for one character, with the two
    characters that case-insensitive `regex` matching takes for an ASCII letter mapped to that letter, so
    a literal occurs in it wherever the pattern can match `text` (whether or not it ignores case)."""
    if text.isascii() or not ("\u0130" in text or "\u0131" in text or "\u017f" in text):
        return text.lower()  # three C-speed scans: str.translate is slow on long non-ASCII windows
    return text.translate(_FOLD).lower()


def may_match(need: tuple[str, ...] | None, hay: str) -> bool:
    """False only when the pattern whose `required_literals` are `need` cannot match the line of `hay`."""
    if need is None:
        return True
    for literal in need:
        if literal in hay:
            return True
    return False


def _sequence(items: list[Any], p: Any) -> set[str] | None:
    """The best requirement of a sequence: a literal run, or a group's or branch's requirement."""
    c = p  # the parser module exposes the opcode constants
    candidates: list[set[str]] = []
    run: list[str] = []

    def close() -> None:
        if len(run) >= MIN_LITERAL:
            candidates.append({"".join(run).lower()})
        run.clear()

    for op, av in items:
        name = str(op)
        if name == "LITERAL" and av < 128:
            run.append(chr(av))
            continue
        close()
        if name == "SUBPATTERN":
            sub = _sequence(list(av[-1]), c)
            if sub:
                candidates.append(sub)
        elif name == "BRANCH":
            alternatives = [_sequence(list(branch), c) for branch in av[1]]
            if alternatives and all(alternatives):
                candidates.append(set().union(*alternatives))  # type: ignore[arg-type]
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") and av[0] >= 1:
            sub = _sequence(list(av[2]), c)
            if sub:
                candidates.append(sub)
        # AT, ASSERT, ASSERT_NOT, IN, ANY, NOT_LITERAL, GROUPREF, optional repeats: no requirement
    close()
    if not candidates:
        return None
    return max(candidates, key=lambda alts: (min(len(a) for a in alts), -len(alts)))
