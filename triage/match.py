"""Keyword prefilter, then each signature's regexes on the candidate lines only.

Work per log is bounded by counts, not by the clock, so the answer is the same
on every run: each signature sees at most MAX_CANDIDATES lines and at most
SIG_BYTES of line text (short lines first when a log is crafted to be long),
every line is cut at MAX_LINE, and the patterns themselves are linear
(`triage kb check` times them on hostile input). Each search still carries a
timeout as a safety net; one that fires counts as no match and is reported in
the diagnostics.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import NamedTuple, Sequence

import regex

from .facts import FactRule
from .keylines import KEYLINE_KEYWORDS
from .load import Signature
from .model import Hit
from .normalize import Log, normalize
from .prefilter import Prefilter, make_prefilter

__all__ = ["Diagnostics", "Index", "RawHit", "ScanResult", "build_index", "resolve_hits", "scan"]

REGEX_TIMEOUT = 0.25  # seconds per search; real lines take microseconds
ANYWHERE_TIMEOUT = 2.0
MAX_CANDIDATES = 4000  # lines per signature: the first and last halves of the log's candidates
SIG_BYTES = 512 * 1024  # line text per signature; beyond it, lines longer than SHORT_LINE wait their turn
SHORT_LINE = 1024  # real error lines are shorter than this; they are always searched first


class Diagnostics:
    """Regex timeouts and per-signature timings, for `triage eval` and the JSON diagnostics."""

    __slots__ = ("signature_seconds", "slowest_regex", "timeouts")

    def __init__(self) -> None:
        self.timeouts: list[str] = []
        self.signature_seconds: dict[str, float] = {}
        self.slowest_regex: dict[str, float] = {}


SMALL_LOG = 64 * 1024  # below: plain bytes.find (no build cost); above: the fastest scanner
CONTEXT_SPAN = 256 * 1024  # facts and key lines of a big log come from its head and tail


class Index:
    """The keyword index of one Engine: every signature's, fact rule's and key-line keyword, numbered once."""

    __slots__ = ("_prefilters", "all_ids", "backend", "cache_dir", "ctx_ids", "fact_keywords", "keyline_keywords",
                 "keywords", "sig_ids", "sig_keywords")

    def __init__(
        self,
        keywords: list[bytes],
        sig_keywords: list[list[int]],  # signature index -> keyword indexes
        fact_keywords: list[list[int]],  # fact rule index -> keyword indexes
        keyline_keywords: list[int],
        backend: str | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        self.keywords = keywords
        self.all_ids = list(range(len(keywords)))
        self.sig_keywords = sig_keywords
        self.fact_keywords = fact_keywords
        self.keyline_keywords = keyline_keywords
        self.sig_ids = sorted({i for ids in sig_keywords for i in ids})
        self.ctx_ids = sorted({i for ids in fact_keywords for i in ids} | set(keyline_keywords))
        self.backend = backend
        self.cache_dir = cache_dir
        self._prefilters: dict[tuple[str, str], Prefilter] = {}

    def scanner(self, size: int) -> str:
        """Which prefilter backend a log of this size is scanned with."""
        if self.backend:
            return self.backend
        return "python" if size < SMALL_LOG else str(getattr(self.prefilter("all", size)[0], "name", "python"))

    def prefilter(self, which: str, size: int) -> tuple[Prefilter, list[int]]:
        """(prefilter, global keyword index of each of its keywords) for this input size; built on first use."""
        ids = {"all": self.all_ids, "sig": self.sig_ids, "ctx": self.ctx_ids}[which]
        choice = self.backend or ("small" if size < SMALL_LOG else "large")
        key = (which, choice)
        if key not in self._prefilters:
            words = [self.keywords[i] for i in ids]
            backend = "python" if choice == "small" else None if choice == "large" else choice
            self._prefilters[key] = make_prefilter(words, backend, self.cache_dir)
        return self._prefilters[key], ids

    def scan(self, log: Log) -> list[list[int]]:
        """Offsets per global keyword index; big logs read facts and key lines from head and tail only."""
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
            out[gid] = sorted(set(out[gid]).union(h, (o + tail_start for o in t)))
        return out


def build_index(
    signatures: Sequence[Signature],
    fact_rules: Sequence[FactRule],
    backend: str | None = None,
    cache_dir: Path | None = None,
) -> Index:
    """`backend` forces one prefilter (hyperscan, ahocorasick, python) for every input size."""
    positions: dict[bytes, int] = {}

    def idx(kw: bytes) -> int:
        if kw not in positions:
            positions[kw] = len(positions)
        return positions[kw]

    sig_keywords = [[idx(kw) for kw in sig.keywords] for sig in signatures]
    fact_keywords = [[idx(kw) for kw in rule.keywords] for rule in fact_rules]
    keyline_keywords = [idx(kw) for kw in KEYLINE_KEYWORDS]
    return Index(list(positions), sig_keywords, fact_keywords, keyline_keywords, backend, cache_dir)


class RawHit(NamedTuple):
    """A signature accepted the line at byte offset `start`; line numbers are resolved later."""

    signature: Signature
    start: int
    groups: dict[str, str]
    after: list[int]


class ScanResult(NamedTuple):
    hits: list[RawHit]
    hits_by_kw: list[list[int]]  # prefilter offsets per keyword, for the facts and key-line stages
    diagnostics: Diagnostics


class _Lines:
    """Cleaned line text by start offset, computed once per line."""

    def __init__(self, log: Log) -> None:
        self.log = log
        self.cache: dict[int, str] = {}

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


def _bounded(log: Log, starts: list[int]) -> list[int]:
    """At most MAX_CANDIDATES lines and SIG_BYTES of text, chosen the same way on every run: the first and last
    halves of the candidates; then, if the text is still too long, every short line and long lines in order
    until the byte budget is spent. Returned in log order."""
    if len(starts) > MAX_CANDIDATES:
        half = MAX_CANDIDATES // 2
        starts = starts[:half] + starts[-half:]
    data = log.data
    lengths = []
    total = 0
    for s in starts:
        end = data.find(b"\n", s)
        n = min((end if end >= 0 else len(data)) - s, 8192)
        lengths.append(n)
        total += n
    if total <= SIG_BYTES:
        return starts
    keep: list[int] = []
    budget = SIG_BYTES
    for s, n in zip(starts, lengths):
        if n <= SHORT_LINE:
            keep.append(s)
            budget -= n
    for s, n in zip(starts, lengths):
        if n > SHORT_LINE and budget >= n:
            keep.append(s)
            budget -= n
    return sorted(keep)


def _check_signature(
    sig: Signature,
    starts: list[int],
    lines: _Lines,
    log: Log,
    diag: Diagnostics,
    anywhere_cache: dict[tuple[str, int, int], bool],
) -> list[RawHit]:
    """A RawHit for each line the signature accepts."""
    found: list[RawHit] = []
    seen_text: dict[str, dict[str, str] | None] = {}
    for start in _bounded(log, starts):
        text = lines.get(start)
        if text in seen_text and not sig.near_src and not sig.unless_near_src:
            groups_cached = seen_text[text]
            if groups_cached is not None:
                _, after = log.neighbours(start, 0, sig.context)
                found.append(RawHit(sig, start, groups_cached, after))
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
        found.append(RawHit(sig, start, groups, after))
    return found


ANYWHERE_FULL = 4 * 1024 * 1024  # below this, "anywhere" means the whole log
ANYWHERE_SPAN = 1024 * 1024  # above it: the first MiB plus a MiB either side of the anchor


def _anywhere_region(log: Log, start: int) -> tuple[int, int]:
    size = len(log.data)
    if size <= ANYWHERE_FULL:
        return (0, size)
    lo = max(0, start - ANYWHERE_SPAN)
    return (0 if lo <= ANYWHERE_SPAN else lo, min(size, start + ANYWHERE_SPAN))


def scan(
    log: Log,
    signatures: Sequence[Signature],
    index: Index,
    *,
    timing: bool = False,
    only: set[str] | None = None,
) -> ScanResult:
    """Every signature on its candidate lines; the offsets feed the facts and key-line stages."""
    hits_by_kw = index.scan(log)
    lines = _Lines(log)
    diag = Diagnostics()
    anywhere_cache: dict[tuple[str, int, int], bool] = {}
    raw_hits: list[RawHit] = []
    for i, sig in enumerate(signatures):
        if only is not None and sig.id not in only:
            continue
        if sig.keywords:
            offsets: list[int] = []
            for k in index.sig_keywords[i]:
                offsets.extend(hits_by_kw[k])
            if not offsets:
                continue
            starts = log.line_starts(offsets)
        else:
            starts = [0] + [p + 1 for p in _newlines(log, MAX_CANDIDATES)]
        t0 = time.perf_counter() if timing else 0.0
        raw_hits.extend(_check_signature(sig, starts, lines, log, diag, anywhere_cache))
        if timing:
            diag.signature_seconds[sig.id] = diag.signature_seconds.get(sig.id, 0.0) + time.perf_counter() - t0
    return ScanResult(raw_hits, hits_by_kw, diag)


def resolve_hits(log: Log, raw_hits: list[RawHit], numbers: dict[int, int]) -> list[Hit]:
    """RawHits to Hits with 1-based line numbers, in log order."""
    hits = [
        Hit(
            signature=h.signature.id,
            kb_id=h.signature.kb_id,
            line=numbers[h.start],
            text=log.text_at(h.start),
            groups=tuple(sorted(h.groups.items())),
            context=tuple((numbers[s], log.text_at(s)) for s in h.after),
        )
        for h in raw_hits
    ]
    hits.sort(key=lambda h: h.line)
    return hits


def _newlines(log: Log, limit: int) -> list[int]:
    out: list[int] = []
    pos = log.data.find(b"\n")
    while pos >= 0 and pos + 1 < len(log.data) and len(out) < limit:
        out.append(pos)
        pos = log.data.find(b"\n", pos + 1)
    return out
