"""Literals a regex cannot match without: a cheap `in` test that skips most searches.

The `regex` module tries a case-insensitive alternation at every position of a
line, which on a long line full of near-misses costs milliseconds. If a pattern
can only match where one of a few literals occurs, a lower-cased `in` test
rules the line out first. The analysis is conservative: it returns None (no
shortcut) for anything it does not understand, and only ASCII literals are used,
so lower-casing agrees with the regex's case-insensitive matching.
"""

from __future__ import annotations

from typing import Any

__all__ = ["required_literals"]

MIN_LITERAL = 3


def required_literals(pattern: str) -> tuple[str, ...] | None:
    """Lower-case literals at least one of which every match contains, or None when unknown."""
    import importlib

    try:
        parser: Any = importlib.import_module("re._parser")  # Python 3.11+ (no type stubs)
    except ImportError:  # pragma: no cover - Python 3.10
        parser = importlib.import_module("sre_parse")
    try:
        parsed = parser.parse(pattern)
    except Exception:  # noqa: BLE001 - syntax only the regex module knows: no shortcut
        return None
    found = _sequence(list(parsed), parser)
    return tuple(sorted(found)) if found else None


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
