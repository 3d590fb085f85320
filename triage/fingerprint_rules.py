"""The fingerprint rules as data: load `fingerprints/*.toml`, validate, compile.

Rules live apart from the code so a maintainer reviews a grouping change like a
signature change; every error names the file and the field. The built-in
rules carry a `version` that goes into every fingerprint id, and rules added
from a `--kb-dir` change the id too (a digest of their content), so ids made
under different rules never collide (Sentry versions its grouping likewise).
"""

from __future__ import annotations

import re
TYPE_CHECKING = False  # true for type checkers only: typing is not imported at run time (records.py says why)
from . import rx
from .errors import DataError, DataErrors
from .literals import haystack, may_match, parse, required_literals
from .records import NamedTuple

if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any, Sequence

    import regex

    from .fingerprint_schema import GenericSpec, KindSpec, RewriteSpec, RulesFile

__all__ = ["FingerprintRules", "Gate", "Kind", "Rewrite", "char_gate", "load_fingerprint_rules", "rules_from_specs"]

_FLAGS = rx.IGNORECASE  # the same flags fingerprint_schema checks the patterns with
PLACEHOLDER = r"\{(\w+)\}"  # a {name} in a kind's text or key
DANGLING = r"(?: in|:)\s{0,8}$"  # what a template part whose group is empty leaves behind

class Gate(NamedTuple):
    """Character tests a line must pass for a pattern to match it, each run by the stdlib `re` engine (one
    character class: no backtracking, so no timeout is needed). `first` is matched at the line's start, `last`
    at its end; each of `needs` must occur somewhere."""

    first: re.Pattern[str] | None
    last: re.Pattern[str] | None
    needs: tuple[re.Pattern[str], ...]
    need_chars: tuple[frozenset[str], ...]  # the ASCII characters of each of `needs`


class _Chars(NamedTuple):
    """Characters one position of a match can hold: ASCII ones listed, `other`: any non-ASCII one may too."""

    ascii: frozenset[str]
    other: bool


_ASCII_SPACE = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"  # every ASCII character either engine's \s may take
_DIGITS = "0123456789"
_WORD = _DIGITS + "_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_NARROW = 12  # a class of more characters than this tests little
_MAX_NEEDS = 3


def _letter_case(chars: set[str]) -> _Chars:
    """The characters in both cases; a letter can also be matched by a non-ASCII character that case-insensitive
    matching folds to it (U+212A KELVIN SIGN for k, U+0130 for i, U+017F for s, ...), so `other` then holds."""
    out = set(chars) | {c.lower() for c in chars} | {c.upper() for c in chars}
    return _Chars(frozenset(c for c in out if c.isascii()), any(c.isalpha() or not c.isascii() for c in out))


def _class(op: str, av: Any) -> _Chars | None:
    """What one consuming item (a literal or a class) matches; None when unknown or too wide to help."""
    if op == "LITERAL":
        return _letter_case({chr(av)})
    if op != "IN":
        return None
    chars: set[str] = set()
    other = False
    for iop, iav in av:
        name = str(iop)
        if name == "LITERAL":
            chars.add(chr(iav))
        elif name == "RANGE":
            lo, hi = iav
            chars.update(chr(c) for c in range(lo, min(hi, 127) + 1))
            other = other or hi > 127
        elif name == "CATEGORY" and str(iav) == "CATEGORY_DIGIT":
            chars.update(_DIGITS)
            other = True  # \d takes every Unicode decimal digit
        elif name == "CATEGORY" and str(iav) == "CATEGORY_SPACE":
            chars.update(_ASCII_SPACE)
            other = True
        elif name == "CATEGORY" and str(iav) == "CATEGORY_WORD":
            chars.update(_WORD)
            other = True
        else:  # NEGATE, a negated category: almost anything
            return None
    found = _letter_case(chars)
    return _Chars(found.ascii, found.other or other)


def _union(a: _Chars, b: _Chars) -> _Chars:
    return _Chars(a.ascii | b.ascii, a.other or b.other)


def _narrowest(found: list[_Chars]) -> _Chars | None:
    return min(found, key=lambda c: (len(c.ascii), c.other)) if found else None


def _required(items: list[Any]) -> list[_Chars]:
    """Classes each of which every match holds a character of (in its own text or a positive lookaround's):
    one per mandatory item of the sequence; a branch gives the union of its alternatives' narrowest."""
    found: list[_Chars] = []
    for op, av in items:
        name = str(op)
        if name in ("LITERAL", "IN"):
            one = _class(name, av)
            found.extend([one] if one is not None else [])
        elif name == "SUBPATTERN":
            found.extend(_required(list(av[-1])))
        elif name == "BRANCH":
            alternatives = [_narrowest(_required(list(branch))) for branch in av[1]]
            if alternatives and all(a is not None for a in alternatives):
                union = alternatives[0]
                for a in alternatives[1:]:
                    union = _union(union, a)  # type: ignore[arg-type]
                found.append(union)  # type: ignore[arg-type]
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") and av[0] >= 1:
            found.extend(_required(list(av[2])))
        elif name == "ASSERT":  # a positive lookaround: its text is in the line too
            found.extend(_required(list(av[1])))
    return found


def _edge(items: list[Any], last: bool) -> tuple[_Chars | None, bool]:
    """The characters the first (or last) character of a match can be, and whether the sequence can match
    nothing at all; None when unknown."""
    acc = _Chars(frozenset(), False)
    for op, av in reversed(items) if last else items:
        name = str(op)
        if name in ("AT", "ASSERT", "ASSERT_NOT"):
            continue  # zero width
        if name in ("LITERAL", "IN"):
            chars = _class(name, av)
            return (None, False) if chars is None else (_union(acc, chars), False)
        if name == "SUBPATTERN":
            sub, empty = _edge(list(av[-1]), last)
        elif name == "BRANCH":
            parts = [_edge(list(branch), last) for branch in av[1]]
            if any(chars is None for chars, _ in parts):
                return None, False
            sub = _Chars(frozenset(), False)
            for chars, _ in parts:
                sub = _union(sub, chars)  # type: ignore[arg-type]
            empty = any(e for _, e in parts)
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            sub, empty = _edge(list(av[2]), last)
            empty = empty or av[0] == 0
        else:
            return None, False
        if sub is None:
            return None, False
        acc = _union(acc, sub)
        if not empty:
            return acc, False
    return acc, True


def _test(chars: _Chars, anchor: str = "") -> re.Pattern[str]:
    listed = "".join(sorted(re.escape(c) for c in chars.ascii))
    parts = ([f"[{listed}]"] if listed else []) + ([r"[^\x00-\x7f]"] if chars.other else [])
    return re.compile(f"(?:{'|'.join(parts)}){anchor}" if parts else "(?!)")


def char_gate(pattern: str) -> Gate | None:
    """Tests that fail only on lines `pattern` cannot match, for a pattern with no required literal: the class
    of its first character when it starts with ^ (and that class is narrow), of its last when it ends with $,
    and up to three narrow classes every match holds a character of (a digit for a number, ':' for a drive
    letter, '(' and '.' for a Go frame). None when the pattern says too little, or when the parse might
    disagree with `regex`'s (inline flags, as in required_literals)."""
    plain = pattern
    for group in ("(?:", "(?=", "(?!", "(?<", "(?P<"):
        plain = plain.replace(group, "")
    parsed = None if "(?" in plain else parse(pattern)  # inline flags (a multi-line ^), atomic groups: no gate
    if parsed is None:
        return None
    items = parsed[1]
    first = last = None
    if items and str(items[0][0]) == "AT" and str(items[0][1]) in ("AT_BEGINNING", "AT_BEGINNING_STRING"):
        chars, empty = _edge(items[1:], last=False)
        if chars is not None and not empty and len(chars.ascii) <= _NARROW:
            first = _test(chars)
    if items and str(items[-1][0]) == "AT" and str(items[-1][1]) in ("AT_END", "AT_END_STRING"):
        chars, empty = _edge(items[:-1], last=True)
        if chars is not None and not empty:
            last = _test(_union(chars, _Chars(frozenset("\n"), False)), r"\n?\Z")  # $ also matches before a final \n
    narrow = sorted({c for c in _required(items) if len(c.ascii) <= _NARROW}, key=lambda c: (len(c.ascii), c.other,
                                                                                              sorted(c.ascii)))
    needs = tuple(_test(c) for c in narrow[:_MAX_NEEDS])
    if first is None and last is None and not needs:
        return None
    return Gate(first, last, needs, tuple(c.ascii for c in narrow[:_MAX_NEEDS]))


def gate_passes(gate: Gate | None, line: str) -> bool:
    """False only when the pattern `gate` was made for cannot match `line`."""
    if gate is None:
        return True
    if gate.first is not None and gate.first.match(line) is None:
        return False
    if gate.last is not None and gate.last.search(line) is None:
        return False
    return all(test.search(line) is not None for test in gate.needs)


class Rewrite:
    __slots__ = ("gate", "id", "need", "pattern", "plan", "replace")

    def __init__(self, spec: RewriteSpec) -> None:
        self.id = spec.id
        self.pattern = rx.compile(spec.regex, _FLAGS)
        # literals every match contains (None: unknown): fingerprint runs the rule only on a line holding one
        self.need = required_literals(spec.regex)
        self.gate = char_gate(spec.regex) if self.need is None else None  # the same promise, by character class
        self.replace = spec.replace
        # A template with backreferences (`\1: \2`), parsed once here into literals and group numbers: regex
        # parses a template in its Python layer, which a run whose patterns come precompiled never imports.
        self.plan = template_plan(self.pattern, spec.replace)


def template_plan(pattern: regex.Pattern[str], template: str) -> tuple[str | int, ...] | None:
    """`template` as regex expands it: literal text and group numbers (None: a plain literal, or a regex
    without the parser this relies on; the template is then used as it is)."""
    if "\\" not in template:
        return None
    helper = getattr(getattr(rx.module(), "_main", None), "_compile_replacement_helper", None)
    if helper is None:
        return None
    items = helper(pattern, template)
    if not all(isinstance(item, (str, int)) for item in items):
        return None
    return tuple(items)


class Kind:
    __slots__ = ("companions", "frame", "gate", "generic", "id", "key", "need", "pattern", "priority", "text")

    def __init__(self, spec: KindSpec) -> None:
        self.id = spec.id
        self.pattern = rx.compile(spec.regex, _FLAGS)
        self.need = required_literals(spec.regex)  # as Rewrite.need
        self.gate = char_gate(spec.regex) if self.need is None else None
        self.priority = spec.priority
        self.text = spec.text
        self.key = spec.key
        self.companions = tuple(spec.companions)
        self.generic = spec.generic
        self.frame = spec.frame


class FingerprintRules:
    """Compiled rules plus the version tag every fingerprint id starts with, and the two patterns that fill
    a kind's template (compiled here so they reach a process precompiled, with the rules, from the start-up
    cache). `generic_need[i]`: the required literals of `generic[i]`'s pattern, as Rewrite.need."""

    __slots__ = ("dangling", "frame_kinds", "frame_screens", "generic", "generic_gate", "generic_need", "kinds", "max_text", "place",
                 "prefixes", "rewrites", "tag", "tests")

    def __init__(
        self,
        tag: str,
        prefixes: list[Rewrite],
        rewrites: list[Rewrite],
        kinds: list[Kind],
        generic: list[tuple[str, regex.Pattern[str]]],
        max_text: int = 160,
        tests: list[dict[str, Any]] | None = None,
    ) -> None:
        self.tag = tag
        self.prefixes = prefixes
        self.rewrites = rewrites
        self.kinds = kinds
        self.generic = generic
        self.generic_need: list[tuple[str, ...] | None] = [required_literals(p.pattern) for _, p in generic]
        self.generic_gate: list[Gate | None] = [char_gate(p.pattern) if need is None else None
                                                for (_, p), need in zip(generic, self.generic_need)]
        self.max_text = max_text
        self.tests = tests or []
        self.frame_kinds = frozenset(kind.id for kind in kinds if kind.frame)
        self.frame_screens = frame_screens(kinds, prefixes + rewrites)
        self.place: regex.Pattern[str] = rx.compile(PLACEHOLDER)
        self.dangling: regex.Pattern[str] = rx.compile(DANGLING)


Screen = tuple[tuple[str, ...] | None, tuple[re.Pattern[str], ...]]


def frame_screens(kinds: Sequence[Kind], rewrites: Sequence[Rewrite]) -> list[Screen] | None:
    """Per frame kind, the literals and character classes its matches need that normalisation cannot make:
    a line below a failure line that has none of one kind's is not normalised at all (most lines below
    are not frames). Normalising only removes text, joins lines with spaces and writes the rules' replacement
    texts, so a requirement none of whose characters is in those texts holds for the raw line too.
    None: some frame kind has no such requirement, every line below is normalised."""
    made = {" "} | {c for rule in rewrites for c in rule.replace}
    screens: list[Screen] = []
    for kind in kinds:
        if not kind.frame:
            continue
        need = kind.need if kind.need and not any(set(lit) & made for lit in kind.need) else None
        gate = kind.gate
        tests = tuple(t for t, chars in zip(gate.needs, gate.need_chars) if not chars & made) if gate else ()
        if need is None and not tests:
            return None
        screens.append((need, tests))
    return screens


def screened_out(screens: list[Screen] | None, raw: str) -> bool:
    """Whether no frame kind can match `raw` once normalised (see frame_screens)."""
    if screens is None:
        return False
    hay = haystack(raw) if any(need for need, _ in screens) else raw
    return not any((need is None or may_match(need, hay)) and all(t.search(raw) for t in tests)
                   for need, tests in screens)


def _merge(items: dict[str, Any], new: Sequence[Any]) -> None:
    for item in new:
        items[item.id] = item  # same id: a later file replaces the rule in place


def rules_from_specs(files: Sequence[tuple[str, RulesFile, bytes]]) -> FingerprintRules:
    """Combine validated files (built-in first) into one rule set; raises DataErrors."""
    errors: list[DataError] = []
    prefix: dict[str, RewriteSpec] = {}
    rewrite: dict[str, RewriteSpec] = {}
    kinds: dict[str, KindSpec] = {}
    generic: dict[str, GenericSpec] = {}
    version: int | None = None
    max_text = 160
    import hashlib

    extra = hashlib.sha256()
    has_extra = False
    tests: list[dict[str, Any]] = []
    placeholder = rx.compile(PLACEHOLDER)
    for index, (path, spec, raw) in enumerate(files):
        if spec.version is not None:
            if version is None and index == 0:
                version = spec.version
                max_text = spec.max_text
            else:
                errors.append(DataError(path, "version", "only the built-in rules file sets the version"))
        else:
            has_extra = True
            extra.update(raw)
        _merge(prefix, spec.prefix)
        _merge(rewrite, spec.rewrite)
        _merge(kinds, spec.kind)
        _merge(generic, spec.generic)
        tests.extend(spec.tests)
        for kind in spec.kind:
            names = set(rx.compile(kind.regex, _FLAGS).groupindex)
            for name in placeholder.findall(kind.text + kind.key):
                if name not in names:
                    errors.append(DataError(path, f"kind {kind.id}.text", f"{{{name}}} is not a named group of its regex"))
    for kind in kinds.values():
        for companion in kind.companions:
            if companion not in kinds:
                errors.append(DataError(files[0][0] if files else "fingerprints", f"kind {kind.id}.companions",
                                        f"no kind {companion!r}"))
    if version is None:
        errors.append(DataError(files[0][0] if files else "fingerprints", "version",
                                "the first rules file must set version = N"))
    if errors:
        raise DataErrors(errors)
    tag = f"v{version}" + (f"x{extra.hexdigest()[:6]}" if has_extra else "")
    return FingerprintRules(
        tag=tag,
        prefixes=[Rewrite(s) for s in prefix.values()],
        rewrites=[Rewrite(s) for s in rewrite.values()],
        kinds=[Kind(s) for s in kinds.values()],
        generic=[(g.id, rx.compile(g.regex, _FLAGS)) for g in generic.values()],
        max_text=max_text,
        tests=tests,
    )


def builtin_rules_dir() -> Path:
    """`fingerprints/` in the wheel's data or at the checkout's top level."""
    from .datadir import builtin_dir

    return builtin_dir() / "fingerprints"


def load_fingerprint_rules(dirs: Sequence[Path] = (), *, builtin: bool = True) -> FingerprintRules:
    """The built-in rules plus `DIR/fingerprints/*.toml` of each KB directory."""
    from pathlib import Path

    from .fingerprint_schema import RulesFile, read_rules_file

    folders = ([builtin_rules_dir()] if builtin else []) + [Path(d) / "fingerprints" for d in dirs]
    files: list[tuple[str, RulesFile, bytes]] = []
    errors: list[DataError] = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            try:
                spec, raw = read_rules_file(path)
            except DataErrors as exc:
                errors.extend(exc.errors)
                continue
            files.append((str(path), spec, raw))
    if errors:
        raise DataErrors(errors)
    return rules_from_specs(files)
