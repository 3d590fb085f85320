"""JSON output, schema 1 (CONTRACT.md §3). Keys may be added, never changed."""

from __future__ import annotations

from typing import Any

from ..model import Report

__all__ = ["report_dict", "to_json"]

SCHEMA = 1


def report_dict(report: Report) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "matches": [m.as_dict() for m in report.matches],
        "facts": report.facts.as_dict(),
        "key_lines": [{"line": k.line, "text": k.text} for k in report.key_lines],
        "suggestions": [{"kb_id": s.kb_id, "title": s.title, "score": s.score} for s in report.suggestions],
        "labels": report.labels,
        "completeness": {"verdict": report.completeness.verdict, "reason": report.completeness.reason},
        "followup": report.followup,
        "line_count": report.line_count,
        "redacted": report.redactions,
        "fingerprint": report.fingerprint.as_dict() if report.fingerprint else None,
        "diagnostics": report.public_diagnostics(),
    }


def to_json(report: Report) -> str:
    import json  # here, not at the top: text and Markdown output never load it

    return json.dumps(report_dict(report), indent=2, ensure_ascii=False)
