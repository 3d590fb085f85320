"""Is the log's product version inside an entry's affected range?"""

from __future__ import annotations

import re

from typing import TYPE_CHECKING

from .model import PRODUCT_NAMES

if TYPE_CHECKING:
    from packaging.version import Version
from .load import Affected

__all__ = ["parse_version", "verdict"]

_LEADING = re.compile(r"^[vb]?(\d+(?:\.\d+)*)")


def parse_version(raw: str | None) -> Version | None:
    """'1.82.yr0-ROCm' -> 1.82, 'b3680' -> 3680, 'v0.8.1' -> 0.8.1."""
    if not raw:
        return None
    from packaging.version import InvalidVersion, Version  # only when a match has version ranges

    m = _LEADING.match(raw.strip().lower())
    if not m:
        return None
    try:
        return Version(m.group(1))
    except InvalidVersion:
        return None


def verdict(product: str | None, version: str | None, affected: list[Affected]) -> tuple[str, str, Affected | None]:
    """(status, sentence, the range used); status is affected, fixed or unknown."""
    spec = next((a for a in affected if a.product == product), None)
    name = PRODUCT_NAMES.get(product or "", product or "")
    if spec is None:
        return "unknown", "", None
    parsed = parse_version(version)
    if parsed is None:
        fix = f"; fixed in {name} {spec.fixed_in}" if spec.fixed_in else ""
        return "unknown", f"The log does not show the {name} version (affected: {spec.versions}{fix}).", spec
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        specifiers = SpecifierSet(spec.versions)
    except InvalidSpecifier:
        return "unknown", "", spec
    if specifiers.contains(parsed, prereleases=True):
        fix = f", fixed in {spec.fixed_in}" if spec.fixed_in else ", no fixed release known"
        return "affected", f"{name} {version} is affected{fix}.", spec
    fixed = parse_version(spec.fixed_in)
    if fixed is not None and parsed >= fixed:
        return "fixed", f"{name} {version} already contains the fix ({spec.fixed_in}); this may be a different cause or a regression.", spec
    return "unknown", f"{name} {version} is outside the known affected range ({spec.versions}).", spec
