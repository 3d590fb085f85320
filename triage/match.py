"""Keyword prefilter, then each signature's regexes on the candidate lines only.

Every regex search runs with a timeout; a search that times out counts as no
match and is reported in the diagnostics, never as a hang.
"""

from __future__ import annotations

import os
import time

from typing import NamedTuple

import regex

from .facts import FACT_RULES, FactState, finish_facts
from .keylines import KEYLINE_KEYWORDS
from .load import KnowledgeBase, Signature
from .model import Facts, Hit
from .normalize import Log, normalize
from .prefilter import Prefilter, make_prefilter

__all__ = ["Diagnostics", "Index", "build_index", "scan"]

REGEX_TIMEOUT = 0.25  # seconds per search; real lines take microseconds
ANYWHERE_TIMEOUT = 2.0
BUDGET_SECONDS = 5.0
BUDGET_PER_MB = 0.02
MAX_CANDIDATES = 4000  # lines per signature; the prefilter already capped repeats


class Diagnostics:
    """Regex timeouts and per-signature timings, for `triage eval`."""

    __slots__ = ("signature_seconds", "slowest_regex", "timeouts")

    def __init__(self) -> None:
        self.timeouts: list[str] = []
        self.signature_seconds: dict[str, float] = {}
        self.slowest_regex: dict[str, float] = {}


SMALL_LOG = 64 * 1024  # below: plain bytes.find (no build cost); above: the fastest scanner
CONTEXT_SPAN = 256 * 1024  # facts and key lines of a big log come from its head and tail


class Index:
    """Everything the scan needs, built once per knowledge base."""

    __slots__ = ("_prefilters", "all_ids", "backend", "ctx_ids", "fact_keywords", "keyline_keywords", "keywords", "sig_ids", "sig_keywords")

    def __init__(
        self,
        keywords: list[bytes],
        sig_keywords: list[list[int]],  # signature index -> keyword indexes
        fact_keywords: list[list[int]],
        keyline_keywords: list[int],
        sig_ids: list[int],  # keyword indexes a signature uses
        ctx_ids: list[int],  # keyword indexes facts and key lines use
        backend: str | None = None,
    ) -> None:
        self.keywords = keywords
        self.all_ids = list(range(len(keywords)))
        self.sig_keywords = sig_keywords
        self.fact_keywords = fact_keywords
        self.keyline_keywords = keyline_keywords
        self.sig_ids = sig_ids
        self.ctx_ids = ctx_ids
        self.backend = backend
        self._prefilters: dict[tuple[str, str], Prefilter] = {}

    def prefilter(self, which: str, size: int) -> tuple[Prefilter, list[int]]:
        """(prefilter, global keyword index of each of its keywords) for this input size."""
        ids = {"all": self.all_ids, "sig": self.sig_ids, "ctx": self.ctx_ids}[which]
        choice = self.backend or ("small" if size < SMALL_LOG else "large")
        key = (which, choice)
        if key not in self._prefilters:
            words = [self.keywords[i] for i in ids]
            if choice == "small":
                self._prefilters[key] = make_prefilter(words, "python")
            elif choice == "large":
                self._prefilters[key] = make_prefilter(words, None)
            else:
                self._prefilters[key] = make_prefilter(words, choice)
        return self._prefilters[key], ids

    def scan(self, log: Log) -> list[list[int]]:
        """Offsets per global keyword index; big logs read facts from head and tail only."""
        size = len(log.data)
        out: list[list[int]] = [[] for _ in self.keywords]
        if size <= 2 * CONTEXT_SPAN:
            pf, ids = self.prefilter("all", size)
            for gid, offsets in zip(ids, pf.scan(log)):
                out[gid] = offsets
            return out
        pf, ids = self.prefilter("sig", size)
        for gid, offsets in zip(ids, pf.scan(log)):
            out[gid] = offsets
        pf, ids = self.prefilter("ctx", size)
        head = normalize(log.data[:CONTEXT_SPAN])
        tail_start = size - CONTEXT_SPAN
        tail = normalize(log.data[tail_start:])
        for gid, h, t in zip(ids, pf.scan(head), pf.scan(tail)):
            merged = sorted(set(out[gid]).union(h, (o + tail_start for o in t)))
            out[gid] = merged
        return out


def build_index(kb: KnowledgeBase, backend: str | None = None) -> Index:
    """`backend` forces one prefilter (hyperscan, ahocorasick, python) for every input size."""
    positions: dict[bytes, int] = {}

    def idx(kw: bytes) -> int:
        if kw not in positions:
            positions[kw] = len(positions)
        return positions[kw]

    sig_keywords = [[idx(kw) for kw in sig.keywords] for sig in kb.signatures]
    fact_keywords = [[idx(kw) for kw in rule.keywords] for rule in FACT_RULES]
    keyline_keywords = [idx(kw) for kw in KEYLINE_KEYWORDS]
    sig_ids = sorted({i for ids in sig_keywords for i in ids})
    ctx_ids = sorted({i for ids in fact_keywords for i in ids} | set(keyline_keywords))
    return Index(list(positions), sig_keywords, fact_keywords, keyline_keywords, sig_ids, ctx_ids, backend)


def get_index(kb: KnowledgeBase) -> Index:
    if kb._prefilter is None:
        kb._prefilter = build_index(kb, os.environ.get("TRIAGE_PREFILTER") or None)
    index: Index = kb._prefilter
    return index


class ScanResult(NamedTuple):
    hits: list[Hit]
    facts: Facts
    keylines: list[tuple[int, str]]
    diagnostics: Diagnostics


class _Lines:
    """Cleaned line text by start offset, computed once per line."""

    def __init__(self, log: Log) -> None:
        self.log = log
        self.cache: dict[int, str] = {}

    def raw(self, start: int) -> str:
        """The line as written (for the few fact rules that read wrappers)."""
        return self.log.raw_at(start).rstrip("\r")

    def get(self, start: int) -> str:
        text = self.cache.get(start)
        if text is None:
            text = self.log.text_at(start)
            self.cache[start] = text
        return text


def _search(pattern: regex.Pattern[str], text: str, diag: Diagnostics, sig_id: str, timeout: float = REGEX_TIMEOUT) -> regex.Match[str] | None:
    t0 = time.perf_counter()
    try:
        return pattern.search(text, timeout=timeout)
    except TimeoutError:
        diag.timeouts.append(f"{sig_id}: {pattern.pattern[:60]!r}")
        return None
    finally:
        elapsed = time.perf_counter() - t0
        if elapsed > diag.slowest_regex.get(sig_id, 0.0):
            diag.slowest_regex[sig_id] = elapsed


def _line_starts(log: Log, offsets: list[int]) -> list[int]:
    data = log.data
    starts = {data.rfind(b"\n", 0, off) + 1 for off in offsets}
    return sorted(starts)


def _check_signature(
    sig: Signature,
    starts: list[int],
    lines: _Lines,
    log: Log,
    diag: Diagnostics,
    anywhere_cache: dict[tuple[str, int, int], bool],
    deadline: float,
) -> list[tuple[int, dict[str, str], list[int]]]:
    """(anchor start, groups, context starts) for each line the signature accepts."""
    found: list[tuple[int, dict[str, str], list[int]]] = []
    seen_text: dict[str, dict[str, str] | None] = {}
    for start in starts[:MAX_CANDIDATES]:
        if time.monotonic() > deadline:
            diag.timeouts.append(f"{sig.id}: time budget for this log used up; remaining candidate lines skipped")
            break
        text = lines.get(start)
        if text in seen_text and not sig.near_src and not sig.unless_near_src:
            groups_cached = seen_text[text]
            if groups_cached is not None:
                _, after = log.neighbours(start, 0, sig.context)
                found.append((start, groups_cached, after))
            continue
        m = None
        for pattern in sig.regexes:
            m = _search(pattern, text, diag, sig.id)
            if m:
                break
        if m is None:
            # A message the terminal or the app wrapped onto the next line: try the two lines joined,
            # keeping only a match that starts on this line (the next line gets its own turn).
            _, below = log.neighbours(start, 0, 1)
            if below:
                joined = text + " " + lines.get(below[0]).lstrip()
                for pattern in sig.regexes:
                    m = _search(pattern, joined, diag, sig.id)
                    if m and m.start() < len(text) and m.end() > len(text):
                        break
                    m = None
                if m is not None and not any(_search(p, joined, diag, sig.id) for p in sig.unless):
                    text = joined
                else:
                    m = None
            if m is None:
                seen_text[text] = None
                continue
        elif any(_search(p, text, diag, sig.id) for p in sig.unless):
            seen_text[text] = None
            continue
        groups = {k: v for k, v in m.groupdict().items() if v}
        if sig.near_src or sig.unless_near_src:
            above, below = log.neighbours(start, sig.window, sig.window)
            window_text = [lines.get(s) for s in above + below]
            ok = True
            for pattern in sig.near:
                hit = next((nm for t in window_text if (nm := _search(pattern, t, diag, sig.id))), None)
                if hit is None:
                    ok = False
                    break
                groups.update({k: v for k, v in hit.groupdict().items() if v and k not in groups})
            if not ok or any(_search(p, t, diag, sig.id) for p in sig.unless_near for t in window_text + [text]):
                seen_text[text] = None
                continue
        if sig.anywhere_src or sig.unless_anywhere_src:
            region = _anywhere_region(log, start)
            key = (sig.id, region[0], region[1])
            cached = anywhere_cache.get(key)
            if cached is not None:
                ok = cached
            else:
                full = log.region_text(*region)
                ok = all(_search(p, full, diag, sig.id, ANYWHERE_TIMEOUT) for p in sig.anywhere) and not any(
                    _search(p, full, diag, sig.id, ANYWHERE_TIMEOUT) for p in sig.unless_anywhere
                )
                anywhere_cache[key] = ok
            if not ok:
                seen_text[text] = None
                continue
        seen_text[text] = groups
        _, after = log.neighbours(start, 0, sig.context)
        found.append((start, groups, after))
    return found


FACT_LINES = 60  # per fact rule: the first and last lines its keywords hit are plenty
ANYWHERE_FULL = 4 * 1024 * 1024  # below this, "anywhere" means the whole log
ANYWHERE_SPAN = 1024 * 1024  # above it: the first MiB plus a MiB either side of the anchor


def _anywhere_region(log: Log, start: int) -> tuple[int, int]:
    size = len(log.data)
    if size <= ANYWHERE_FULL:
        return (0, size)
    lo = max(0, start - ANYWHERE_SPAN)
    return (0 if lo <= ANYWHERE_SPAN else lo, min(size, start + ANYWHERE_SPAN))


def _extract_facts(log: Log, lines: _Lines, index: Index, hits_by_kw: list[list[int]]) -> Facts:
    state = FactState()
    for rule, kw_ids in zip(FACT_RULES, index.fact_keywords):
        offsets: list[int] = []
        for k in kw_ids:
            offsets.extend(hits_by_kw[k])
        if not offsets:
            continue
        starts = _line_starts(log, offsets)
        if len(starts) > 2 * FACT_LINES:
            starts = starts[:FACT_LINES] + starts[-FACT_LINES:]
        seen: set[str] = set()
        for start in starts:
            text = lines.raw(start) if rule.raw else lines.get(start)
            if text in seen:  # a repeated line adds no new fact
                continue
            seen.add(text)
            if rule.all_matches:
                for m in rule.pattern.finditer(text):
                    rule.apply(state, m)
            else:
                found = rule.pattern.search(text)
                if found:
                    rule.apply(state, found)
    return finish_facts(state)


def scan(log: Log, kb: KnowledgeBase, *, timing: bool = False, only: set[str] | None = None) -> ScanResult:
    index = get_index(kb)
    hits_by_kw = index.scan(log)
    # A hard bound on regex work, however hostile the input: a few seconds plus a little per MB.
    deadline = time.monotonic() + BUDGET_SECONDS + BUDGET_PER_MB * len(log.data) / 1024**2
    lines = _Lines(log)
    diag = Diagnostics()
    anywhere_cache: dict[tuple[str, int, int], bool] = {}
    raw_hits: list[tuple[Signature, int, dict[str, str], list[int]]] = []
    for i, sig in enumerate(kb.signatures):
        if only is not None and sig.id not in only:
            continue
        if sig.keywords:
            offsets: list[int] = []
            for k in index.sig_keywords[i]:
                offsets.extend(hits_by_kw[k])
            if not offsets:
                continue
            starts = _line_starts(log, offsets)
        else:
            starts = [0] + [p + 1 for p in _newlines(log)][: MAX_CANDIDATES]
        t0 = time.perf_counter() if timing else 0.0
        for start, groups, after in _check_signature(sig, starts, lines, log, diag, anywhere_cache, deadline):
            raw_hits.append((sig, start, groups, after))
        if timing:
            diag.signature_seconds[sig.id] = diag.signature_seconds.get(sig.id, 0.0) + time.perf_counter() - t0
    facts = _extract_facts(log, lines, index, hits_by_kw)
    key_offsets: list[int] = []
    for k in index.keyline_keywords:
        key_offsets.extend(hits_by_kw[k])
    keyline_starts = _line_starts(log, key_offsets)[:MAX_CANDIDATES]
    wanted = keyline_starts + [h[1] for h in raw_hits] + [s for h in raw_hits for s in h[3]]
    numbers = log.line_numbers(wanted)
    hits = [
        Hit(
            signature=sig.id,
            kb_id=sig.kb_id,
            line=numbers[start],
            text=lines.get(start),
            groups=tuple(sorted(groups.items())),
            context=tuple((numbers[s], lines.get(s)) for s in after),
        )
        for sig, start, groups, after in raw_hits
    ]
    hits.sort(key=lambda h: h.line)
    keylines = [(numbers[s], lines.get(s)) for s in keyline_starts]
    return ScanResult(hits, facts, keylines, diag)


def _newlines(log: Log) -> list[int]:
    out = []
    pos = log.data.find(b"\n")
    while pos >= 0 and pos + 1 < len(log.data):
        out.append(pos)
        pos = log.data.find(b"\n", pos + 1)
    return out
