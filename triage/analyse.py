"""The whole pipeline: bytes or text in, Report out. No I/O here."""

from __future__ import annotations

from .completeness import assess, followup_request
from .decode import decode
from .keylines import rank_keylines
from .load import KnowledgeBase, load_kb
from .match import ScanResult, scan
from .model import Report
from .normalize import normalize
from .rank import rank
from .redact import redact_report

__all__ = ["analyse", "default_kb"]

_DEFAULT_KB: KnowledgeBase | None = None


def default_kb() -> KnowledgeBase:
    """The built-in knowledge base, loaded once per process."""
    global _DEFAULT_KB
    if _DEFAULT_KB is None:
        _DEFAULT_KB = load_kb()
    return _DEFAULT_KB


def analyse(
    raw: bytes | str,
    kb: KnowledgeBase | None = None,
    *,
    redact: bool = True,
    timing: bool = False,
    scan_result: list[ScanResult] | None = None,
) -> Report:
    """Decode, normalise, scan, rank and fill one log.

    Raises InputError for input that is not a log (binary, empty).
    `scan_result`, when given, receives the raw scan (for `triage eval`).
    """
    kb = kb or default_kb()
    data = decode(raw.encode("utf-8", errors="replace") if isinstance(raw, str) else raw)
    log = normalize(data)
    result = scan(log, kb, timing=timing)
    if scan_result is not None:
        scan_result.append(result)
    matches = rank(result.hits, result.facts, kb)
    keylines = rank_keylines(result.keylines)
    completeness = assess(matches, keylines, log.tail(12))
    suggestions = []
    if not any(m.certainty == "confident" for m in matches):
        from .suggest import suggest

        taken = {m.kb_id for m in matches}
        suggestions = [s for s in suggest(kb, keylines) if s.kb_id not in taken]
    report = Report(
        matches=matches,
        facts=result.facts,
        key_lines=keylines,
        suggestions=suggestions,
        completeness=completeness,
        followup=followup_request(completeness, result.facts, kb.followup),
        line_count=log.n_lines,
    )
    return redact_report(report) if redact else report
