"""Every signature's own examples: match must hit in the gated reading, match_ungated in the ungated reading
(issue 14), no_match in neither (gitleaks-style)."""

from __future__ import annotations

import pytest

from conftest import shared_engine as default_kb
from triage.kbtool import _example_readings

_KB = default_kb().kb
# (signature id, field, index, example, the reading it must fire in: "gated", "ungated", or "" for none)
_CASES = [(sig.id, "match", i, ex, "gated") for sig in _KB.signatures for i, ex in enumerate(sig.examples_match)]
_CASES += [(sig.id, "match_ungated", i, ex, "ungated") for sig in _KB.signatures for i, ex in enumerate(sig.examples_match_ungated)]
_CASES += [(sig.id, "no_match", i, ex, "") for sig in _KB.signatures for i, ex in enumerate(sig.examples_no_match)]


@pytest.mark.parametrize(
    ("sig_id", "field", "index", "example", "reading"),
    _CASES,
    ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in _CASES],
)
def test_example(sig_id: str, field: str, index: int, example: str, reading: str) -> None:
    sig = next(s for s in _KB.signatures if s.id == sig_id)
    found = _example_readings(_KB, sig, example)
    if reading:
        assert reading in found, (found, example)
    else:
        assert not found, (found, example)


def test_every_entry_has_signatures_and_references() -> None:
    for entry in _KB.entries.values():
        assert _KB.signatures_for(entry.id), entry.id
        assert entry.references, entry.id


def test_every_signature_has_a_near_miss_example() -> None:
    for sig in _KB.signatures:
        assert sig.examples_no_match, sig.id
