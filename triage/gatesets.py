"""Named alternations for signature gates (`tables/gate-sets.toml`), expanded when the data is loaded.

Gates such as "a llama.cpp-family word is somewhere in the log" were copied into many signature files with
small differences, so adding a runtime meant editing every copy. A gate pattern now names the set instead:
`\\L<ggml-family>` (regex's own spelling of a named list; `\\L` is no escape in any other sense, so an
unexpanded reference can never silently match something else). Expansion is plain text substitution into
`(?:a|b|...)` before the pattern is compiled or cached: the engine never sees a reference. A set may name other sets
(a veto built from the family words, say), so a list lives in one place; a loop of sets naming each other is an error.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import DataError

__all__ = ["GATE_SETS_FILE", "SET_FIELDS", "expand", "parse_gate_sets", "references"]

GATE_SETS_FILE = "gate-sets.toml"
# Signature fields whose patterns may name a set: the gates and every veto, `unless` on the anchor line included (a
# look-alike list is the same list whether it is searched on the line or beside it). Not the anchor `regex`: the
# positive pattern must say what the line is, readable on its own and checkable against its emitter by kb check.
SET_FIELDS = ("unless", "near", "unless_near", "anywhere", "unless_anywhere", "ungated.unless_near", "ungated.unless_anywhere")

_NAME = r"[a-z0-9]+(?:-[a-z0-9]+){0,8}"
_REF = re.compile(r"\\L<(" + _NAME + r")>")  # linear: a literal prefix, a bounded name, a literal end
_ANY_REF = re.compile(r"\\L<")
_NAME_RE = re.compile(r"^" + _NAME + r"$")


def references(pattern: str) -> list[str]:
    """The set names a pattern refers to, in order."""
    return [m.group(1) for m in _REF.finditer(pattern)]


def expand(pattern: str, sets: dict[str, str]) -> tuple[str, list[str]]:
    """(the pattern with every `\\L<name>` replaced by its alternation, problems found).

    A problem is an unknown name or a `\\L<` that is not a well-formed reference (`\\L<Name>`, `\\L<x`)."""
    problems: list[str] = []
    if not _ANY_REF.search(pattern):
        return pattern, problems
    if len(_ANY_REF.findall(pattern)) != len(_REF.findall(pattern)):
        problems.append("malformed named-set reference: write \\L<name> with a kebab-case name")

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in sets:
            known = ", ".join(sorted(sets)) or "none loaded"
            problems.append(f"unknown named set {name!r} (tables/{GATE_SETS_FILE} defines: {known})")
            return m.group(0)
        return sets[name]

    return _REF.sub(sub, pattern), problems


def parse_gate_sets(
    raw: dict[str, Any], shown: str, errors: list[DataError], known: dict[str, str] | None = None
) -> dict[str, str]:
    """name -> `(?:a|b|...)` from the parsed TOML of a gate-sets file; problems go to `errors`, naming the field.

    `known`: sets loaded before this file (the built-in ones, for a `--kb-dir`), which its sets may name."""
    earlier = known or {}
    import regex

    before = len(errors)
    if not isinstance(raw.get("description"), str) or not raw["description"].strip():
        errors.append(DataError(shown, "description", "the gate-sets file needs a one-line description"))
    for key in sorted(set(raw) - {"description", "set"}):
        errors.append(DataError(shown, key, "unknown field (the gate-sets file has description and [set.<name>] tables)"))
    table = raw.get("set")
    if not isinstance(table, dict) or not table:
        errors.append(DataError(shown, "set", "needs at least one [set.<name>] table"))
        return {}
    fragments: dict[str, list[str]] = {}
    for name, spec in table.items():
        where = f"set.{name}"
        if not _NAME_RE.match(name):
            errors.append(DataError(shown, where, "a set name is kebab-case (a-z, 0-9, '-'), at most nine parts"))
            continue
        if not isinstance(spec, dict):
            errors.append(DataError(shown, where, "must be a table with description and patterns"))
            continue
        for key in sorted(set(spec) - {"description", "patterns"}):
            errors.append(DataError(shown, f"{where}.{key}", "unknown field (a set has description and patterns)"))
        if not isinstance(spec.get("description"), str) or not spec["description"].strip():
            errors.append(DataError(shown, f"{where}.description", "say what the set stands for and why these words"))
        patterns = spec.get("patterns")
        if not isinstance(patterns, list) or not patterns or not all(isinstance(p, str) and p for p in patterns):
            errors.append(DataError(shown, f"{where}.patterns", "a list of non-empty regex fragments"))
            continue
        fragments[name] = patterns
    out: dict[str, str] = {}
    failed: set[str] = set()

    def resolve(name: str, chain: tuple[str, ...]) -> str | None:
        """The set's alternation with the sets it names expanded first; None (and an error) if it cannot be built."""
        if name in out or name in failed:
            return out.get(name)
        path = (*chain, name)
        parts: list[str] = []
        for j, fragment in enumerate(fragments[name]):
            problem = None
            if _ANY_REF.search(fragment):
                for ref in references(fragment):
                    if ref in path:
                        problem = f"sets name each other in a loop ({' -> '.join((*path[path.index(ref):], ref))})"
                    elif ref not in fragments and ref not in earlier:
                        problem = f"names unknown set {ref!r} (defined: {', '.join(sorted({*fragments, *earlier}))})"
                    elif ref in fragments and resolve(ref, path) is None:
                        failed.add(name)  # the set it names failed, and said why on its own field
                        return None
                    if problem:
                        break
                else:
                    fragment, problems = expand(fragment, {**earlier, **out})  # a malformed reference is its problem
                    problem = problems[0] if problems else None
            if problem is None:
                try:
                    regex.compile(fragment)
                except regex.error as exc:
                    problem = f"does not compile: {exc}"
            if problem is not None:
                errors.append(DataError(shown, f"set.{name}.patterns[{j}]", problem))
                failed.add(name)
                return None
            parts.append(fragment)
        out[name] = "(?:" + "|".join(parts) + ")"
        return out[name]

    for name in fragments:
        resolve(name, ())
    return out if len(errors) == before else {}
