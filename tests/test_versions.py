"""Version verdicts, and the fast path agrees with packaging on every plain range."""

from __future__ import annotations

import itertools

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from triage.load import Affected
from triage.versions import in_range, parse_release, verdict

KCPP = [Affected("koboldcpp", ">=1.61,<1.61.2", "1.61.2")]


@pytest.mark.parametrize(
    ("version", "status"),
    [("1.61", "affected"), ("1.61.1", "affected"), ("1.61.2", "fixed"), ("1.70", "fixed"), ("1.60.1", "unknown"), ("1.61.1.yr0-ROCm", "affected")],
)
def test_verdict(version: str, status: str) -> None:
    assert verdict("koboldcpp", version, KCPP)[0] == status


def test_unknown_product_or_version() -> None:
    assert verdict("ollama", "0.5.1", KCPP)[0] == "unknown"
    status, note, _ = verdict("koboldcpp", None, KCPP)
    assert status == "unknown" and "does not show" in note


def test_llamacpp_build_numbers() -> None:
    assert parse_release("b3680") == "3680"
    assert verdict("llama.cpp", "b3680", [Affected("llama.cpp", "<4000", "4000")])[0] == "affected"


VERSIONS = ["0", "1", "1.0", "1.61", "1.61.0", "1.61.1", "1.61.2", "1.62", "2", "0.8.1", "0.12.0", "10.0.1"]
SPECS = [">=1.61,<1.61.2", "==1.61", "!=1.61.0", "<1.62", ">1.61", "<=1.61.1", ">=0.8.1", "<0.12.0,>=0.11.0", ">=1.55,<1.55.1"]


@pytest.mark.parametrize(("version", "spec"), list(itertools.product(VERSIONS, SPECS)))
def test_fast_path_agrees_with_packaging(version: str, spec: str) -> None:
    assert in_range(version, spec) == SpecifierSet(spec).contains(Version(version), prereleases=True)


def test_complex_specifier_falls_back_to_packaging() -> None:
    assert in_range("1.61.5", "~=1.61.0") is True
    assert in_range("1.62", "==1.61.*") is False
    assert in_range("1.0", "not a range") is None
