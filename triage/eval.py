"""`triage eval DIR`: score the engine on a corpus (CONTRACT.md §4).

A corpus is a directory of `*.log` files with `expected.json`; a directory
whose subdirectories are corpora is scored as their union.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .analyse import analyse
from .errors import InputError
from .load import KnowledgeBase
from .match import ScanResult

__all__ = ["EvalResult", "evaluate", "find_corpora", "format_eval"]


@dataclass(slots=True)
class EvalResult:
    cases: int = 0
    expected: dict[str, list[int]] = field(default_factory=dict)  # id -> [found, top1, total]
    forbidden: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    signature_hits: dict[str, int] = field(default_factory=dict)
    signature_seconds: dict[str, float] = field(default_factory=dict)
    slowest_regex: dict[str, float] = field(default_factory=dict)
    overlaps: list[str] = field(default_factory=list)
    timeouts: list[str] = field(default_factory=list)
    durations: list[float] = field(default_factory=list)

    @property
    def recall(self) -> float:
        total = sum(v[2] for v in self.expected.values())
        return sum(v[0] for v in self.expected.values()) / total if total else 1.0

    @property
    def top1(self) -> float:
        total = sum(v[2] for v in self.expected.values())
        return sum(v[1] for v in self.expected.values()) / total if total else 1.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "recall": round(self.recall, 4),
            "top1": round(self.top1, 4),
            "per_id": {k: {"found": v[0], "top1": v[1], "total": v[2]} for k, v in sorted(self.expected.items())},
            "forbidden_hits": self.forbidden,
            "missed": self.missed,
            "unreadable": self.unreadable,
            "signature_hits": dict(sorted(self.signature_hits.items())),
            "slowest_signatures": [
                {"signature": k, "seconds": round(v, 6), "slowest_regex_seconds": round(self.slowest_regex.get(k, 0.0), 6)}
                for k, v in sorted(self.signature_seconds.items(), key=lambda kv: -kv[1])[:10]
            ],
            "shared_evidence": self.overlaps,
            "regex_timeouts": self.timeouts,
        }


def find_corpora(directory: Path) -> list[Path]:
    if (directory / "expected.json").is_file():
        return [directory]
    return sorted(p.parent for p in directory.rglob("expected.json"))


def evaluate(directory: Path, kb: KnowledgeBase) -> EvalResult:
    corpora = find_corpora(directory)
    if not corpora:
        raise InputError(f"{directory}: no expected.json here or below (see CONTRACT.md §4 for the corpus format)")
    result = EvalResult()
    for corpus in corpora:
        try:
            expectations = json.loads((corpus / "expected.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"{corpus / 'expected.json'}: {exc}") from exc
        for name, spec in sorted(expectations.items()):
            _case(corpus, name, spec, kb, result)
    return result


def _case(corpus: Path, name: str, spec: dict[str, Any], kb: KnowledgeBase, result: EvalResult) -> None:
    path = corpus / name
    label = f"{corpus.name}/{name}"
    try:
        raw = path.read_bytes()
        scans: list[ScanResult] = []
        t0 = time.perf_counter()
        report = analyse(raw, kb, redact=False, timing=True, scan_result=scans)
        result.durations.append(time.perf_counter() - t0)
    except (OSError, InputError) as exc:
        result.unreadable.append(f"{label}: {exc}")
        return
    result.cases += 1
    scan = scans[0]
    for sid, secs in scan.diagnostics.signature_seconds.items():
        result.signature_seconds[sid] = result.signature_seconds.get(sid, 0.0) + secs
    for sid, secs in scan.diagnostics.slowest_regex.items():
        result.slowest_regex[sid] = max(result.slowest_regex.get(sid, 0.0), secs)
    result.timeouts.extend(f"{label}: {t}" for t in scan.diagnostics.timeouts)
    for sid in {h.signature for h in scan.hits}:
        result.signature_hits[sid] = result.signature_hits.get(sid, 0) + 1
    found = [m.kb_id for m in report.matches]
    for kb_id in spec.get("expect", []):
        stats = result.expected.setdefault(kb_id, [0, 0, 0])
        stats[2] += 1
        if kb_id in found:
            stats[0] += 1
        else:
            result.missed.append(f"{label}: expected {kb_id}, got {found or 'nothing'}")
        if found and found[0] == kb_id:
            stats[1] += 1
    forbid = spec.get("forbid", [])
    bad = found if "*" in forbid else [f for f in found if f in forbid]
    for kb_id in bad:
        result.forbidden.append(f"{label}: {kb_id}")
    claims: dict[int, set[str]] = {}
    for hit in scan.hits:
        claims.setdefault(hit.line, set()).add(hit.kb_id)
    for line, ids in sorted(claims.items()):
        if len(ids) > 1:
            result.overlaps.append(f"{label}:{line}: {', '.join(sorted(ids))}")


def format_eval(result: EvalResult) -> str:
    out = [f"cases: {result.cases}"]
    out.append("per id (found/total, top-1):")
    for kb_id, (found, top1, total) in sorted(result.expected.items()):
        flag = "" if found == total else "   <-- missed"
        out.append(f"  {kb_id:42} {found}/{total}  top-1 {top1}/{total}{flag}")
    for line in result.missed:
        out.append(f"  missed: {line}")
    out.append("hits per signature:")
    for sid, n in sorted(result.signature_hits.items(), key=lambda kv: (-kv[1], kv[0])):
        out.append(f"  {sid:48} {n}")
    out.append("slowest signatures (total seconds, slowest single regex):")
    for sid, secs in sorted(result.signature_seconds.items(), key=lambda kv: -kv[1])[:8]:
        out.append(f"  {sid:48} {secs * 1000:8.2f} ms  {result.slowest_regex.get(sid, 0) * 1000:6.2f} ms")
    if result.overlaps:
        out.append("lines claimed by two entries:")
        out.extend(f"  {o}" for o in result.overlaps)
    if result.timeouts:
        out.append("regex timeouts:")
        out.extend(f"  {t}" for t in result.timeouts)
    if result.unreadable:
        out.append("unreadable:")
        out.extend(f"  {u}" for u in result.unreadable)
    durations = sorted(result.durations)
    if durations:
        median = durations[len(durations) // 2]
        p99 = durations[min(len(durations) - 1, int(len(durations) * 0.99))]
        out.append(f"time per log: median {median * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms")
    out.append(f"forbidden hits: {len(result.forbidden)}")
    out.extend(f"  FORBIDDEN {f}" for f in result.forbidden)
    out.append(f"recall: {result.recall:.3f}  top-1: {result.top1:.3f}")
    return "\n".join(out)
