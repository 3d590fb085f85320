"""`triage kb check|list|show|search`: the knowledge base for people."""

from __future__ import annotations

import time

import regex

from .decode import decode
from .errors import DataError
from .load import KnowledgeBase, Signature
from .match import scan
from .normalize import normalize

__all__ = ["adversarial_inputs", "check_kb", "list_kb", "show_entry"]

SLOW_LIMIT = 0.05  # seconds a single regex may take on a hostile 20 kB line


def adversarial_inputs(sig: Signature) -> list[str]:
    """Strings that make backtracking regexes blow up: long runs of the
    characters their patterns and examples use, with the tail broken."""
    seeds = [ex[:200] for ex in sig.examples_match] + [kw.decode("utf-8", "replace") for kw in sig.keywords]
    out = ["a" * 20000, " " * 20000, "0" * 20000, ":" * 20000, "\\" * 10000 + "x", "/" * 10000 + "x"]
    for seed in seeds:
        if seed:
            out.append((seed * (20000 // max(len(seed), 1) + 1))[:20000] + "\x00!")
            out.append(seed[: len(seed) // 2] + " " * 10000 + seed[len(seed) // 2 :] * 50)
            out.append("".join(ch * 40 for ch in seed[:400]))
    return out


def _time_search(pattern: regex.Pattern[str], text: str, limit: float) -> float:
    """Best of three, so a busy machine does not fail a linear pattern."""
    best = limit
    for _ in range(3):
        t0 = time.perf_counter()
        try:
            pattern.search(text, timeout=limit)
        except TimeoutError:
            return limit
        best = min(best, time.perf_counter() - t0)
        if best < SLOW_LIMIT / 4:
            break
    return best


def _slow_patterns(sig: Signature, errors: list[DataError]) -> None:
    """Flag patterns that are slow on a hostile 20 kB line and grow faster than
    linearly with its length (the mark of catastrophic backtracking)."""
    fields = (("regex", sig.regexes), ("unless", sig.unless), ("near", sig.near), ("unless_near", sig.unless_near))
    inputs = adversarial_inputs(sig)
    for fieldname, patterns in fields:
        for j, pattern in enumerate(patterns):
            worst, worst_text = 0.0, ""
            for text in inputs:
                elapsed = _time_search(pattern, text, SLOW_LIMIT * 4)
                if elapsed > worst:
                    worst, worst_text = elapsed, text
            if worst < SLOW_LIMIT:
                continue
            quarter = _time_search(pattern, worst_text[: len(worst_text) // 4], SLOW_LIMIT * 4)
            superlinear = worst > 8 * max(quarter, 1e-6)
            if superlinear or worst >= SLOW_LIMIT * 4:
                errors.append(
                    DataError(sig.path, f"signature[{sig.index}].{fieldname}[{j}]",
                              f"slow on adversarial input ({worst * 1000:.0f} ms on a 20 kB line, {quarter * 1000:.0f} ms on 5 kB): "
                              "rewrite without nested or overlapping repeats")
                )


def _example_hits(kb: KnowledgeBase, sig: Signature, text: str) -> bool:
    try:
        log = normalize(decode(text.encode("utf-8")))
    except Exception:  # noqa: BLE001 - an empty example is simply not a hit
        return False
    return any(h.signature == sig.id for h in scan(log, kb, only={sig.id}).hits)


def check_kb(kb: KnowledgeBase, *, timing: bool = True) -> tuple[list[DataError], list[str]]:
    """(errors, warnings) beyond what loading already validated."""
    errors: list[DataError] = []
    warnings: list[str] = []
    for sig in kb.signatures:
        where = f"signature[{sig.index}]"
        if not sig.keywords:
            warnings.append(f"{sig.path}: {where}: prefilter = false, so this signature runs on every line (slow)")
        for i, example in enumerate(sig.examples_match):
            low = example.lower().encode("utf-8")
            if sig.keywords and not any(kw in low for kw in sig.keywords):
                errors.append(DataError(sig.path, f"{where}.examples.match[{i}]", "contains none of the signature's keywords"))
            if not _example_hits(kb, sig, example):
                errors.append(DataError(sig.path, f"{where}.examples.match[{i}]", f"does not match: {example[:120]!r}"))
        for i, example in enumerate(sig.examples_no_match):
            if _example_hits(kb, sig, example):
                errors.append(DataError(sig.path, f"{where}.examples.no_match[{i}]", f"matches but must not: {example[:120]!r}"))
        if timing:
            _slow_patterns(sig, errors)
    return errors, warnings


def list_kb(kb: KnowledgeBase) -> str:
    rows = []
    for entry in sorted(kb.entries.values(), key=lambda e: e.id):
        n = len(kb.signatures_for(entry.id))
        rows.append(f"{entry.id:42} {n:2} sig  {entry.title}")
    return "\n".join(rows)


def show_entry(kb: KnowledgeBase, kb_id: str) -> str | None:
    entry = kb.entries.get(kb_id)
    if entry is None:
        return None
    out = [f"{entry.title}", f"id: {entry.id} ({entry.kind})   file: {entry.path}", "", entry.summary, ""]
    if entry.affected:
        out.append("Affected:")
        for a in entry.affected:
            out.append(f"  {a.product} {a.versions}" + (f" (fixed in {a.fixed_in})" if a.fixed_in else ""))
        out.append("")
    out.append("Signatures:")
    for sig in kb.signatures_for(entry.id):
        out.append(f"  {sig.id} (weight {sig.weight}{', generic' if sig.generic else ''}): {sig.description}")
    out.append("")
    out.append(entry.body)
    out.append("")
    out.append("References:")
    out.extend(f"  {r}" for r in entry.references)
    return "\n".join(out)
