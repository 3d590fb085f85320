"""Every signature's own examples: match must hit, no_match must not (gitleaks-style)."""

from __future__ import annotations

import pytest

from conftest import shared_engine as default_kb
from triage.kbtool import _example_hits

_KB = default_kb().kb
_CASES = [(sig.id, i, ex, True) for sig in _KB.signatures for i, ex in enumerate(sig.examples_match)]
_CASES += [(sig.id, i, ex, False) for sig in _KB.signatures for i, ex in enumerate(sig.examples_no_match)]


@pytest.mark.parametrize(
    ("sig_id", "index", "example", "should_match"),
    _CASES,
    ids=[f"{c[0]}-{'match' if c[3] else 'no_match'}-{c[1]}" for c in _CASES],
)
def test_example(sig_id: str, index: int, example: str, should_match: bool) -> None:
    sig = next(s for s in _KB.signatures if s.id == sig_id)
    assert _example_hits(_KB, sig, example) is should_match, example


def test_every_entry_has_signatures_and_references() -> None:
    for entry in _KB.entries.values():
        assert _KB.signatures_for(entry.id), entry.id
        assert entry.references, entry.id


def test_every_signature_has_a_near_miss_example() -> None:
    for sig in _KB.signatures:
        assert sig.examples_no_match, sig.id
