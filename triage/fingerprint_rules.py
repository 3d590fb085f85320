"""The fingerprint rules as data: load `fingerprints/*.toml`, validate, compile.

Rules live apart from the code so a maintainer reviews a grouping change like a
signature change; every error names the file and the field. The built-in
rules carry a `version` that goes into every fingerprint id, and rules added
from a `--kb-dir` change the id too (a digest of their content), so ids made
under different rules never collide (Sentry versions its grouping likewise).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from . import rx
from .errors import DataError, DataErrors
from .literals import required_literals

if TYPE_CHECKING:
    from pathlib import Path

    import regex

    from .fingerprint_schema import GenericSpec, KindSpec, RewriteSpec, RulesFile

__all__ = ["FingerprintRules", "Kind", "Rewrite", "load_fingerprint_rules", "rules_from_specs"]

_FLAGS = rx.IGNORECASE  # the same flags fingerprint_schema checks the patterns with
PLACEHOLDER = r"\{(\w+)\}"  # a {name} in a kind's text or key
DANGLING = r"(?: in|:)\s{0,8}$"  # what a template part whose group is empty leaves behind

class Rewrite:
    __slots__ = ("id", "need", "pattern", "plan", "replace")

    def __init__(self, spec: RewriteSpec) -> None:
        self.id = spec.id
        self.pattern = rx.compile(spec.regex, _FLAGS)
        # literals every match contains (None: unknown): fingerprint runs the rule only on a line holding one
        self.need = required_literals(spec.regex)
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
    __slots__ = ("companions", "frame", "generic", "id", "key", "need", "pattern", "priority", "text")

    def __init__(self, spec: KindSpec) -> None:
        self.id = spec.id
        self.pattern = rx.compile(spec.regex, _FLAGS)
        self.need = required_literals(spec.regex)  # as Rewrite.need
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

    __slots__ = ("dangling", "generic", "generic_need", "kinds", "max_text", "place", "prefixes", "rewrites", "tag",
                 "tests")

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
        self.max_text = max_text
        self.tests = tests or []
        self.place: regex.Pattern[str] = rx.compile(PLACEHOLDER)
        self.dangling: regex.Pattern[str] = rx.compile(DANGLING)


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
