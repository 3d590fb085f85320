"""Value types that flow between the pipeline stages.

Engine values are plain frozen dataclasses; pydantic is only used at the data
boundary (files in, JSON out), so the hot path pays nothing for validation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Completeness",
    "Evidence",
    "Facts",
    "Gpu",
    "Hit",
    "KeyLine",
    "Match",
    "Remedy",
    "Report",
    "Suggestion",
]


@dataclass(frozen=True, slots=True)
class Gpu:
    name: str
    compute_capability: str | None = None
    vram_mib: int | None = None
    free_mib: int | None = None
    backend: str | None = None
    index: int | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.compute_capability:
            out["compute_capability"] = self.compute_capability
        if self.vram_mib is not None:
            out["vram_mib"] = self.vram_mib
        if self.free_mib is not None:
            out["free_mib"] = self.free_mib
        if self.backend:
            out["backend"] = self.backend
        if self.index is not None:
            out["index"] = self.index
        return out


@dataclass(slots=True)
class Facts:
    """What the log says about the user's setup; every field is optional."""

    product: str | None = None
    version: str | None = None
    build: str | None = None
    commit: str | None = None
    os: str | None = None
    backends: list[str] = field(default_factory=list)
    gpus: list[Gpu] = field(default_factory=list)
    compiled_archs: list[str] = field(default_factory=list)
    metal_device: str | None = None
    model_file: str | None = None
    quant: str | None = None
    flags: dict[str, str] = field(default_factory=dict)
    numbers: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in ("product", "version", "build", "commit", "os"):
            value = getattr(self, key)
            if value:
                out[key] = value
        out["backends"] = list(self.backends)
        out["gpus"] = [g.as_dict() for g in self.gpus]
        out["compiled_archs"] = list(self.compiled_archs)
        if self.metal_device:
            out["metal_device"] = self.metal_device
        if self.model_file:
            out["model_file"] = self.model_file
        if self.quant:
            out["quant"] = self.quant
        out["flags"] = dict(self.flags)
        return out

    def values(self) -> dict[str, str]:
        """Flat placeholder values a KB entry may use."""
        vals: dict[str, str] = {}
        for key in ("product", "version", "build", "commit", "os", "metal_device", "model_file", "quant"):
            value = getattr(self, key)
            if value:
                vals[key] = str(value)
        if self.product:
            vals["product_name"] = PRODUCT_NAMES.get(self.product, self.product)
        if self.backends:
            vals["backend"] = self.backends[0]
        if self.gpus:
            vals["gpu"] = self.gpus[0].name
            if self.gpus[0].compute_capability:
                vals["compute_capability"] = self.gpus[0].compute_capability
        if self.compiled_archs:
            vals["compiled_archs"] = ", ".join(self.compiled_archs)
        for key, value in self.flags.items():
            vals[f"flag_{key}"] = value
        return vals


PRODUCT_NAMES: dict[str, str] = {
    "koboldcpp": "KoboldCpp",
    "llama.cpp": "llama.cpp",
    "llamafile": "llamafile",
    "ollama": "Ollama",
    "lmstudio": "LM Studio",
    "llama-cpp-python": "llama-cpp-python",
    "text-generation-webui": "text-generation-webui",
}


@dataclass(frozen=True, slots=True)
class Evidence:
    line: int
    text: str
    signature: str


@dataclass(frozen=True, slots=True)
class Hit:
    """One signature firing on one anchor line."""

    signature: str
    kb_id: str
    line: int
    text: str
    groups: tuple[tuple[str, str], ...]
    context: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Remedy:
    text: str
    products: tuple[str, ...] = ()


@dataclass(slots=True)
class Match:
    kb_id: str
    title: str
    confidence: float
    certainty: str  # "confident" | "possible"
    kind: str  # "cause" | "wrapper"
    variant: str | None
    root_cause: str
    summary: str
    remedies: list[str]
    other_remedies: list[str]
    affected: list[dict[str, str]]
    version_status: str
    version_note: str
    evidence: list[Evidence]
    hit_count: int
    labels: list[str]
    references: list[str]
    source: str
    values: dict[str, str] = field(default_factory=dict)
    confirm: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "kb_id": self.kb_id,
            "title": self.title,
            "confidence": round(self.confidence, 2),
            "certainty": self.certainty,
            "kind": self.kind,
            "variant": self.variant,
            "summary": self.summary,
            "root_cause": self.root_cause,
            "remedies": list(self.remedies),
            "other_remedies": list(self.other_remedies),
            "affected": [dict(a) for a in self.affected],
            "version_status": self.version_status,
            "version_note": self.version_note,
            "evidence": [{"line": e.line, "text": e.text, "signature": e.signature} for e in self.evidence],
            "hit_count": self.hit_count,
            "labels": list(self.labels),
            "references": list(self.references),
            "source": self.source,
            "confirm": self.confirm,
        }


@dataclass(frozen=True, slots=True)
class KeyLine:
    line: int
    text: str
    score: int = 0


@dataclass(frozen=True, slots=True)
class Suggestion:
    kb_id: str
    title: str
    score: float


@dataclass(frozen=True, slots=True)
class Completeness:
    verdict: str  # complete | truncated | no-error-line | wrapper-only
    reason: str


@dataclass(slots=True)
class Report:
    matches: list[Match]
    facts: Facts
    key_lines: list[KeyLine]
    suggestions: list[Suggestion]
    completeness: Completeness
    followup: str
    line_count: int
    redactions: int = 0

    @property
    def labels(self) -> list[str]:
        seen: dict[str, None] = {}
        for match in self.matches:
            if match.certainty != "confident":
                continue
            for label in match.labels:
                seen.setdefault(label, None)
        for label in fact_labels(self.facts):
            seen.setdefault(label, None)
        return list(seen)

    @property
    def confident(self) -> list[Match]:
        return [m for m in self.matches if m.certainty == "confident"]


def fact_labels(facts: Facts) -> list[str]:
    labels = [f"backend:{b}" for b in facts.backends if b != "cpu"]
    if facts.os:
        labels.append(f"os:{facts.os}")
    return labels
