"""pydantic shapes of `fingerprints/*.toml`, and reading one file.

Only imported when rules are validated (a stale cache, `triage kb check`, tests), so
the CLI's start-up never pays for pydantic.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import regex
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import DataError, DataErrors

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

__all__ = ["FLAGS", "GenericSpec", "KindSpec", "RewriteSpec", "RulesFile", "read_rules_file"]

_ID = regex.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
FLAGS = regex.IGNORECASE
_PLACEHOLDER = regex.compile(r"\{(\w+)\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_id(value: str) -> str:
    if not _ID.match(value):
        raise ValueError(f"must be kebab-case (a-z, 0-9, '-'), got {value!r}")
    return value


def _check_regex(value: str) -> str:
    if value.lstrip("^").startswith((".*", ".+", r"\S*", r"\S+")):
        raise ValueError("must not start with .* / .+ / \\S* (quadratic on a long line); anchor on literal text")
    try:
        regex.compile(value, FLAGS)
    except regex.error as exc:
        raise ValueError(f"regex does not compile: {exc}") from None
    return value


class _Rule(_Strict):
    """What every rule has: a kebab-case id, a sentence on why it exists, and a linear regex."""

    id: str
    description: str
    regex: str

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        return _check_id(value)

    @field_validator("regex")
    @classmethod
    def _re(cls, value: str) -> str:
        return _check_regex(value)


class RewriteSpec(_Rule):
    """A substitution applied to every candidate line, in file order."""

    replace: str = ""


class KindSpec(_Rule):
    """A kind of failure line: how much it says about the bug and how to show it."""

    priority: int = Field(ge=0, le=1000)
    text: str = ""  # template over the regex's named groups; empty: the normalised line
    key: str = ""  # template of what is hashed; empty: the text (lets one bug's wordings share a key)
    companions: list[str] = Field(default_factory=list)  # kinds whose first line joins this one
    generic: bool = False  # a wrapper or follow-on that alone never identifies a bug
    frame: bool = False  # a stack frame: also read from the lines just below a failure line (a crash dump)


class GenericSpec(_Rule):
    """A normalised line that describes the wrapper, not the bug."""


class RulesFile(_Strict):
    version: int | None = Field(default=None, ge=1)
    max_text: int = Field(default=160, ge=40, le=400)
    prefix: list[RewriteSpec] = Field(default_factory=list)
    rewrite: list[RewriteSpec] = Field(default_factory=list)
    kind: list[KindSpec] = Field(default_factory=list)
    generic: list[GenericSpec] = Field(default_factory=list)
    tests: list[dict[str, Any]] = Field(default_factory=list)  # examples checked by the test suite


def _field(loc: tuple[Any, ...], data: Any) -> str:
    """'kind ggml-assert.regex' rather than 'kind.3.regex' where the item has an id."""
    parts: list[str] = []
    node = data
    for step in loc:
        if isinstance(step, int) and isinstance(node, list) and step < len(node):
            node = node[step]
            ident = node.get("id") if isinstance(node, dict) else None
            parts.append(str(ident) if ident else f"[{step}]")
            continue
        parts.append(str(step))
        node = node.get(step) if isinstance(node, dict) else None
    return ".".join(parts)


def read_rules_file(path: Path) -> tuple[RulesFile, bytes]:
    """Parse and validate one file; raises DataErrors naming file and field."""
    try:
        raw = path.read_bytes()
        data = tomllib.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise DataErrors([DataError(str(path), "", f"cannot read: {exc}")]) from None
    try:
        return RulesFile.model_validate(data), raw
    except ValidationError as exc:
        raise DataErrors(
            [DataError(str(path), _field(tuple(e["loc"]), data), e["msg"]) for e in exc.errors()]
        ) from None
