"""The whole pipeline, stage by stage: bytes or text in, Report out. No I/O here.

decode -> normalise -> prefilter + signatures (match) -> facts -> key lines ->
rank -> completeness and follow-up -> suggestions -> fingerprint -> redact.
Everything compiled from the data comes from the Engine passed in.
"""

from __future__ import annotations

TYPE_CHECKING = False  # true for type checkers only: typing is not imported at run time (records.py says why)
from .completeness import assess, followup_request
from .decode import decode, decode_mapped
from .facts import extract_facts
from .keylines import rank_keylines
from .match import resolve_hits, scan
from .model import KeyLine, Report
from .normalize import prepare
from .rank import rank
from .redact import redact_report

if TYPE_CHECKING:
    import mmap
    from typing import Any

    from .engine import Engine
    from .normalize import Buffer, NormalizedLog

__all__ = ["run"]

MAX_KEYLINE_CANDIDATES = 4000
FRAME_SOURCES = 3  # top key lines whose following lines the fingerprint reads for stack frames
FRAME_LINES = 40  # lines read under each: a Go crash dump names its first own frame within ~20 lines


def _decode(raw: bytes | str | mmap.mmap) -> Buffer:
    """Decoded input; a memory-mapped big file stays mapped when it needs no cleaning (no copy)."""
    if isinstance(raw, str):
        return decode(raw.encode("utf-8", errors="replace"))
    if isinstance(raw, bytes):
        return decode(raw)
    return decode_mapped(raw)


def _below(log: NormalizedLog, keylines: list[KeyLine], starts: list[int],
           numbers: dict[int, int]) -> list[tuple[int, str]]:
    """(line number, text) of the lines under the top key lines, where a crash dump lists its stack frames."""
    start_of = {numbers[s]: s for s in starts if s in numbers}
    out: list[tuple[int, str]] = []
    for key in keylines[:FRAME_SOURCES]:
        start = start_of.get(key.line)
        if start is None:
            continue
        below = log.neighbours(start, 0, FRAME_LINES)[1]
        lines = log.line_numbers(below)
        out.extend((lines[s], log.text_at(s)) for s in below)
    return out


def run(engine: Engine, raw: bytes | str | mmap.mmap, *, redact: bool = True, timing: bool = False) -> Report:
    """Decode, normalise, scan, extract facts, rank and fill one log.

    Raises InputError for input that is not a log (binary, empty).
    """
    kb = engine.kb
    data = _decode(raw)
    log = prepare(data)
    result = scan(log, kb.signatures, engine.index, timing=timing)
    facts, fact_timeouts = extract_facts(log, engine.fact_rules, engine.index.fact_keywords, result.hits_by_kw, kb.products)
    key_offsets: list[int] = []
    for k in engine.index.keyline_keywords:
        key_offsets.extend(result.hits_by_kw[k])
    keyline_starts = log.line_starts(key_offsets)[:MAX_KEYLINE_CANDIDATES]
    wanted = keyline_starts + [h.start for h in result.hits] + [s for h in result.hits for s in h.after]
    numbers = log.line_numbers(wanted)
    hits = resolve_hits(log, result.hits, numbers)
    matches = rank(hits, facts, kb)
    keylines: list[KeyLine] = rank_keylines([(numbers[s], log.text_at(s)) for s in keyline_starts], patterns=engine.patterns)
    completeness = assess(matches, keylines, log.tail(12))
    suggestions = []
    # A wrapper-only log holds envelopes alone (`Ollama: 500`, an exit status): their wording is close only to other
    # entries' envelope examples, which says nothing of the cause, so no entry is suggested by it.
    if not any(m.certainty == "confident" for m in matches) and completeness.verdict != "wrapper-only":
        from .suggest import suggest

        taken = {m.kb_id for m in matches}
        suggestions = [s for s in suggest(kb, keylines, engine.suggestion_index) if s.kb_id not in taken]
    diag = result.diagnostics
    diagnostics: dict[str, Any] = {
        "scanner": engine.index.scanner(len(data)),
        "timeouts": diag.timeouts + [f"fact rules: {fact_timeouts} searches timed out"] * bool(fact_timeouts),
        "hits": [(h.signature, h.kb_id, h.line) for h in hits],
        "searched_chars": diag.searched,
    }
    if timing:
        diagnostics["signature_seconds"] = diag.signature_seconds
        diagnostics["slowest_regex"] = diag.slowest_regex
    report = Report(
        matches=matches,
        facts=facts,
        key_lines=keylines,
        suggestions=suggestions,
        completeness=completeness,
        followup=followup_request(completeness, facts, kb),
        line_count=log.n_lines,
        fingerprint=engine.fingerprint(keylines, matches, _below(log, keylines, keyline_starts, numbers)),
        diagnostics=diagnostics,
    )
    return redact_report(report) if redact else report
