"""Is the log's product version inside an entry's affected range?

Ranges are PEP 440 specifiers, evaluated with `packaging`. Because importing
packaging costs ~50 ms (most of a CLI run), plain dotted-number ranges such as
`>=1.61,<1.61.2` take an exact fast path with the same semantics (release
segments compared with zero padding); a test checks both agree.
"""

from __future__ import annotations

import operator
import re
TYPE_CHECKING = False  # true for type checkers only: typing is not imported at run time (records.py says why)
if TYPE_CHECKING:
    from typing import Callable

from .load import Affected

__all__ = ["in_range", "parse_release", "verdict"]

_LEADING = re.compile(r"^[vb]?(\d+(?:\.\d+)*)")
_CLAUSE = re.compile(r"^\s*(>=|<=|==|!=|<|>)\s*(\d+(?:\.\d+)*)\s*$")
_OPS: dict[str, Callable[[tuple[int, ...], tuple[int, ...]], bool]] = {
    ">=": operator.ge, "<=": operator.le, "==": operator.eq, "!=": operator.ne, "<": operator.lt, ">": operator.gt,
}


def parse_release(raw: str | None) -> str | None:
    """'1.82.yr0-ROCm' -> '1.82', 'b3680' -> '3680', 'v0.8.1' -> '0.8.1'."""
    if not raw:
        return None
    m = _LEADING.match(raw.strip().lower())
    return m.group(1) if m else None


def _tuple(release: str, width: int) -> tuple[int, ...]:
    parts = [int(p) for p in release.split(".")]
    return tuple(parts + [0] * (width - len(parts)))


def in_range(release: str, specifiers: str) -> bool | None:
    """True/False, or None when the range is not valid PEP 440."""
    clauses = [c for c in specifiers.split(",") if c.strip()]
    parsed = [_CLAUSE.match(c) for c in clauses]
    if clauses and all(parsed):
        width = max([release.count(".") + 1] + [m.group(2).count(".") + 1 for m in parsed if m])
        have = _tuple(release, width)
        return all(_OPS[m.group(1)](have, _tuple(m.group(2), width)) for m in parsed if m)
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import Version

    try:
        return SpecifierSet(specifiers).contains(Version(release), prereleases=True)
    except InvalidSpecifier:
        return None


def _at_least(release: str, fixed: str) -> bool:
    width = max(release.count("."), fixed.count(".")) + 1
    return _tuple(release, width) >= _tuple(fixed, width)


def verdict(
    product: str | None, version: str | None, affected: list[Affected], name: str | None = None
) -> tuple[str, str, Affected | None]:
    """(status, sentence, the range used); status is affected, fixed or unknown. `name`: the runtime's display name."""
    spec = next((a for a in affected if a.product == product), None)
    name = name or product or ""
    if spec is None:
        return "unknown", "", None
    release = parse_release(version)
    if release is None:
        fix = f"; fixed in {name} {spec.fixed_in}" if spec.fixed_in else ""
        return "unknown", f"The log does not show the {name} version (affected: {spec.versions}{fix}).", spec
    inside = in_range(release, spec.versions)
    if inside is None:
        return "unknown", "", spec
    if inside:
        fix = f", fixed in {spec.fixed_in}" if spec.fixed_in else ", no fixed release known"
        return "affected", f"{name} {version} is affected{fix}.", spec
    fixed = parse_release(spec.fixed_in)
    if fixed is not None and _at_least(release, fixed):
        return "fixed", (
            f"{name} {version} already contains the fix ({spec.fixed_in}), so updating will not help: this is likely a "
            "different cause or a regression; check the other steps below and the lines the report quotes."
        ), spec
    return "unknown", f"{name} {version} is outside the known affected range ({spec.versions}).", spec
