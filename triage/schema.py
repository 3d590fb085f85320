"""pydantic schemas for the data files: what a maintainer may write.

Kept apart from the engine's value types so validation happens once, at load
time, and errors can name the file and the field.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "AffectedSpec",
    "BundleSpec",
    "MarkerSpec",
    "ProductSpec",
    "SETTING_KEYS",
    "EmitterSpec",
    "EntrySpec",
    "ExamplesSpec",
    "RemedySpec",
    "SignatureFile",
    "SignatureSpec",
    "UngatedSpec",
    "VariantSpec",
]

KEBAB = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# A runtime id: the file name of products/<id>.toml; checked against the loaded products in validate.py.
Product = str
OsName = Literal["linux", "windows", "macos"]


def _kebab(value: str) -> str:
    if not KEBAB.match(value):
        raise ValueError(f"must be kebab-case (a-z, 0-9, '-'), got {value!r}")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExamplesSpec(_Strict):
    match: list[str] = Field(min_length=1)
    no_match: list[str] = Field(min_length=1)
    match_ungated: list[str] = Field(default_factory=list)  # snippets the `ungated` reading must accept


GATES = ("near", "anywhere")  # the positive conditions an `ungated` reading may do without


class UngatedSpec(_Strict):
    """The "possible" reading of a gated signature: its line without the companion its gate asks for.

    One signature instead of a gated twin and an ungated twin with the same regex: the two readings cannot
    drift apart, and evidence names one id."""

    weight: float = Field(gt=0.0, le=1.0)  # below the signature's own weight (checked on the signature)
    waive: list[Literal["near", "anywhere"]] = Field(default_factory=list)  # which gates; empty: every one it has
    unless_near: list[str] = Field(default_factory=list)  # extra vetoes for this reading only
    unless_anywhere: list[str] = Field(default_factory=list)

    @field_validator("unless_near", "unless_anywhere", "waive", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


class SignatureSpec(_Strict):
    id: str
    kb: str | None = None
    variant: str | None = None
    description: str
    keywords: list[str] = Field(default_factory=list)
    prefilter: bool = True
    regex: list[str] = Field(min_length=1)
    unless: list[str] = Field(default_factory=list)
    near: list[str] = Field(default_factory=list)
    unless_near: list[str] = Field(default_factory=list)
    anywhere: list[str] = Field(default_factory=list)
    unless_anywhere: list[str] = Field(default_factory=list)
    window: int = Field(default=12, ge=0, le=400)
    context: int = Field(default=0, ge=0, le=20)
    weight: float = Field(default=0.8, gt=0.0, le=1.0)
    generic: bool = False
    products: list[Product] = Field(default_factory=list)
    emitter: list[EmitterSpec] = Field(default_factory=list)
    few_fixtures: str = ""  # why this signature is backed by fewer than two real fixtures, when it is
    ungated: UngatedSpec | None = None  # the weaker reading when the positive gates fail (checked in validate.py)
    examples: ExamplesSpec

    @field_validator("emitter", mode="before")
    @classmethod
    def _emitter_one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, dict) else value

    @field_validator("id", "kb", "variant")
    @classmethod
    def _ids(cls, value: str | None) -> str | None:
        return None if value is None else _kebab(value)

    @field_validator("regex", "unless", "near", "unless_near", "anywhere", "unless_anywhere", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, value: list[str]) -> list[str]:
        for kw in value:
            if len(kw.strip()) < 3:
                raise ValueError(f"keyword {kw!r} is shorter than 3 characters: it would match almost anything")
        return value


class SignatureFile(_Strict):
    signature: list[SignatureSpec] = Field(min_length=1)


class RemedySpec(_Strict):
    text: str
    products: list[Product] = Field(default_factory=list)
    os: list[OsName] = Field(default_factory=list)
    update: bool = False  # "update to the fixed release": dropped when the user's version already has the fix

    @field_validator("os", mode="before")
    @classmethod
    def _os_one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


class EmitterSpec(_Strict):
    """Where the line comes from: the format string that prints it, so `kb check` can test the regex on it."""

    project: str  # owner/repo, e.g. ggml-org/llama.cpp
    file: str  # path in that repository
    format: str  # the printf/log format string as written in the source
    commit: str | None = None


class AffectedSpec(_Strict):
    product: Product
    versions: str
    fixed_in: str | None = None
    note: str | None = None


class VariantSpec(_Strict):
    id: str
    title: str | None = None
    # Which signatures prove this variant is said once, on the signature (`variant = "<id>"`), never here.
    cause: str
    remedies: list[RemedySpec | str] = Field(default_factory=list)
    affected: list[AffectedSpec] | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        return _kebab(value)


class EntrySpec(_Strict):
    id: str
    title: str
    summary: str
    root_cause: str
    kind: Literal["cause", "wrapper"] = "cause"
    labels: list[str] = Field(default_factory=list)
    references: list[str] = Field(min_length=1)
    affected: list[AffectedSpec] = Field(default_factory=list)
    remedies: list[RemedySpec | str] = Field(min_length=1)
    variant: list[VariantSpec] = Field(default_factory=list)
    confirm: str = ""

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        return _kebab(value)

    @field_validator("references")
    @classmethod
    def _refs(cls, value: list[str]) -> list[str]:
        for ref in value:
            if not ref.startswith("https://"):
                raise ValueError(f"reference must be an https:// link, got {ref!r}")
        return value


SETTING_KEYS = (
    "gpu_layers",
    "context_size",
    "batch_size",
    "ubatch_size",
    "kv_cache_type",
    "flash_attention",
    "threads",
    "backend",
    "port",
    "parallel",
    "mmap",
)


class MarkerSpec(_Strict):
    """A line that shows the runtime; a `version` marker also names its version in a group."""

    keywords: list[str] = Field(min_length=1)
    regex: str
    weight: int = Field(default=3, ge=0, le=20)
    raw: bool = False  # match the line as written, before wrappers are stripped

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, value: list[str]) -> list[str]:
        for kw in value:
            if len(kw.strip().encode("utf-8")) < 3:  # bytes: an emoji marker is a fine keyword
                raise ValueError(f"keyword {kw!r} is shorter than 3 characters: it would match almost anything")
        return value


class BundleSpec(_Strict):
    """Which llama.cpp build a release of the runtime bundles."""

    versions: str  # PEP 440 specifier of the runtime's releases
    llama_cpp: str  # e.g. "b4567"
    source: str

    @field_validator("source")
    @classmethod
    def _source(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError(f"source must be an https:// link, got {value!r}")
        return value


class LogsSpec(_Strict):
    followup: str = Field(min_length=20)


class ProductSpec(_Strict):
    """products/<id>.toml: what triage knows about one runtime."""

    name: str = Field(min_length=1)
    priority: int = Field(ge=0, le=100)  # which runtime wins when a log shows several (wrappers beat llama.cpp)
    order: int = Field(default=50, ge=0, le=1000)  # where it is listed when the runtime is unknown
    version_scheme: Literal["pep440", "llama.cpp-build"] = "pep440"
    homepage: str | None = None
    hidden: bool = False
    suppresses: list[str] = Field(default_factory=list)
    context_per_slot: bool = False  # its context-size setting is per parallel slot (Ollama's num_ctx)
    marker: list[MarkerSpec] = Field(default_factory=list)
    version: list[MarkerSpec] = Field(default_factory=list)
    settings: dict[str, str] = Field(default_factory=dict)
    logs: LogsSpec | None = None
    bundles: list[BundleSpec] = Field(default_factory=list)

    @field_validator("settings")
    @classmethod
    def _settings(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if key not in SETTING_KEYS:
                raise ValueError(f"unknown setting {key!r}; known: {', '.join(SETTING_KEYS)}")
        return value
