"""Value types that flow between the pipeline stages.

Immutable values are NamedTuples and the few mutable ones small slotted
classes: importing `dataclasses` and building ~20 of them cost ~40 ms, a third
of a CLI run. pydantic is only used at the data boundary (files in).
"""

from __future__ import annotations

TYPE_CHECKING = False  # true for type checkers only: typing is not imported at run time (records.py says why)
if TYPE_CHECKING:
    from typing import Any

from .records import NamedTuple

__all__ = [
    "Completeness",
    "Evidence",
    "Facts",
    "Fingerprint",
    "Gpu",
    "Hit",
    "KeyLine",
    "Match",
    "Remedy",
    "RemedyStep",
    "Report",
    "Suggestion",
    "names_itself",
    "under_heading",
]


class _Record:
    """Keyword/positional construction, replace() and repr for the mutable values."""

    __slots__: tuple[str, ...] = ()

    def replace(self, **changes: Any) -> Any:
        values = {name: getattr(self, name) for name in self.__slots__}
        values.update(changes)
        return type(self)(**values)

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({inner})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self.__slots__)

    __hash__ = None  # type: ignore[assignment]


class Gpu(_Record):
    """A GPU the log names; everything but the name is optional."""

    __slots__ = ("name", "compute_capability", "vram_mib", "free_mib", "backend", "index")

    def __init__(
        self,
        name: str,
        compute_capability: str | None = None,
        vram_mib: int | None = None,
        free_mib: int | None = None,
        backend: str | None = None,
        index: int | None = None,
    ) -> None:
        self.name = name
        self.compute_capability = compute_capability
        self.vram_mib = vram_mib
        self.free_mib = free_mib
        self.backend = backend
        self.index = index

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


class Facts(_Record):
    """What the log says about the user's setup; every field is optional."""

    __slots__ = ("product", "version", "build", "commit", "os", "backends", "gpus", "compiled_archs",
                 "metal_device", "model_file", "quant", "flags", "numbers", "product_name")

    def __init__(
        self,
        product: str | None = None,
        version: str | None = None,
        build: str | None = None,
        commit: str | None = None,
        os: str | None = None,
        backends: list[str] | None = None,
        gpus: list[Gpu] | None = None,
        compiled_archs: list[str] | None = None,
        metal_device: str | None = None,
        model_file: str | None = None,
        quant: str | None = None,
        flags: dict[str, str] | None = None,
        numbers: dict[str, float] | None = None,
        product_name: str | None = None,
    ) -> None:
        self.product = product
        self.product_name = product_name  # the runtime's display name, from products/
        self.version = version
        self.build = build
        self.commit = commit
        self.os = os
        self.backends: list[str] = backends if backends is not None else []
        self.gpus: list[Gpu] = gpus if gpus is not None else []
        self.compiled_archs: list[str] = compiled_archs if compiled_archs is not None else []
        self.metal_device = metal_device
        self.model_file = model_file
        self.quant = quant
        self.flags: dict[str, str] = flags if flags is not None else {}
        self.numbers: dict[str, float] = numbers if numbers is not None else {}

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in ("product", "product_name", "version", "build", "commit", "os"):
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
            vals["product_name"] = self.product_name or self.product
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


class Evidence(NamedTuple):
    line: int
    text: str
    signature: str


class Hit(NamedTuple):
    """One signature firing on one anchor line."""

    signature: str
    kb_id: str
    line: int
    text: str
    groups: tuple[tuple[str, str], ...]
    context: tuple[tuple[int, str], ...] = ()
    ungated: bool = False  # the signature's weaker reading (its gate's companion is missing): weighs less


class Remedy(NamedTuple):
    text: str
    products: tuple[str, ...] = ()
    os: tuple[str, ...] = ()
    update: bool = False


class RemedyStep(NamedTuple):
    """One remedy as shown: its text and the runtime/OS it is for (None: any)."""

    text: str
    product: str | None = None
    os: str | None = None
    product_name: str | None = None  # display name of `product`, for grouping in renderers

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "product": self.product, "os": self.os}


def names_itself(text: str, label: str) -> bool:
    """Whether a remedy's text already opens with its label ("LM Studio: change the models folder", "Ollama in
    Docker: ..."): many KB remedies name their runtime, and "LM Studio: LM Studio: ..." reads as a glitch."""
    head = text[: len(label)]
    return bool(label) and head.lower() == label.lower() and (len(text) == len(label) or not text[len(label)].isalnum())


def under_heading(text: str, *headings: str | None) -> str:
    """A remedy's text shown under its headings (a runtime heading, then an OS tag): a leading "<heading>:" is
    dropped for each, in that order (the heading says it)."""
    for heading in headings:
        if heading and names_itself(text, heading) and text[len(heading):].startswith(":"):
            text = text[len(heading) + 1:].lstrip()
    return text


class Fingerprint(NamedTuple):
    """A stable id of the failure, so reports of one bug group together."""

    id: str
    text: str
    specific: bool
    lines: tuple[int, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "specific": self.specific, "lines": list(self.lines)}


class Match(_Record):
    """One KB entry the log matched, filled in from the log."""

    __slots__ = ("kb_id", "title", "confidence", "certainty", "kind", "variant", "root_cause", "summary",
                 "remedies", "other_remedies", "affected", "version_status", "version_note", "evidence",
                 "hit_count", "labels", "references", "source", "values", "confirm", "remedy_steps")

    def __init__(
        self,
        kb_id: str,
        title: str,
        confidence: float,
        certainty: str,  # "confident" | "possible"
        kind: str,  # "cause" | "wrapper"
        variant: str | None,
        root_cause: str,
        summary: str,
        remedies: list[str],
        other_remedies: list[str],
        affected: list[dict[str, str]],
        version_status: str,
        version_note: str,
        evidence: list[Evidence],
        hit_count: int,
        labels: list[str],
        references: list[str],
        source: str,
        values: dict[str, str] | None = None,
        confirm: str = "",
        remedy_steps: list[RemedyStep] | None = None,
    ) -> None:
        self.kb_id = kb_id
        self.title = title
        self.confidence = confidence
        self.certainty = certainty
        self.kind = kind
        self.variant = variant
        self.root_cause = root_cause
        self.summary = summary
        self.remedies = remedies
        self.other_remedies = other_remedies
        self.affected = affected
        self.version_status = version_status
        self.version_note = version_note
        self.evidence = evidence
        self.hit_count = hit_count
        self.labels = labels
        self.references = references
        self.source = source
        self.values: dict[str, str] = values if values is not None else {}
        self.confirm = confirm
        self.remedy_steps: list[RemedyStep] = (
            remedy_steps if remedy_steps is not None else [RemedyStep(t) for t in remedies]
        )

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
            "remedy_steps": [r.as_dict() for r in self.remedy_steps],
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


class KeyLine(NamedTuple):
    line: int
    text: str
    score: int = 0


class Suggestion(NamedTuple):
    kb_id: str
    title: str
    score: float


class Completeness(NamedTuple):
    verdict: str  # complete | truncated | no-error-line | wrapper-only
    reason: str


class Report(_Record):
    """Everything triage says about one log."""

    __slots__ = ("matches", "facts", "key_lines", "suggestions", "completeness", "followup", "line_count", "redactions",
                 "fingerprint", "diagnostics")

    def __init__(
        self,
        matches: list[Match],
        facts: Facts,
        key_lines: list[KeyLine],
        suggestions: list[Suggestion],
        completeness: Completeness,
        followup: str,
        line_count: int,
        redactions: int = 0,
        fingerprint: Fingerprint | None = None,
        diagnostics: dict[str, Any] | None = None,
    ) -> None:
        self.matches = matches
        self.facts = facts
        self.key_lines = key_lines
        self.suggestions = suggestions
        self.completeness = completeness
        self.followup = followup
        self.line_count = line_count
        self.redactions = redactions
        self.fingerprint = fingerprint
        self.diagnostics: dict[str, Any] = diagnostics if diagnostics is not None else {}

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

    def public_diagnostics(self) -> dict[str, Any]:
        """What JSON shows of the scan: which scanner ran and whether any search timed out."""
        timeouts = self.diagnostics.get("timeouts") or []
        return {"scanner": self.diagnostics.get("scanner"), "timeouts": len(timeouts)}

    @property
    def confident(self) -> list[Match]:
        return [m for m in self.matches if m.certainty == "confident"]


def fact_labels(facts: Facts) -> list[str]:
    labels = [f"backend:{b}" for b in facts.backends if b != "cpu"]
    if facts.os:
        labels.append(f"os:{facts.os}")
    return labels
