"""Keyword prefilter, then each signature's regexes on the candidate lines only.

Work per log is bounded by counts, not by the clock, so the answer is the same
on every run: each signature sees at most MAX_CANDIDATES lines, every line is
cut at MAX_LINE, and all regex searches of one log together look at no more
than WORK_BUDGET characters. When a log offers a lot of candidate text, the
shortest (signature, line) pairs are checked first: real error lines are short,
so a log padded with long keyword-stuffed lines still gets its real error found.
The patterns themselves are linear (`triage kb check` times them on hostile
input), so a log costs at most about WORK_BUDGET of regex work, whatever its
size or content. Each search still carries a
timeout as a safety net; one that fires counts as no match and is reported in
the diagnostics.
"""

from __future__ import annotations

import os
import time
from functools import cache
TYPE_CHECKING = False  # true for type checkers only: typing is not imported at run time (records.py says why)
from .facts import FactRule
from .keylines import KEYLINE_KEYWORDS
from .literals import haystack, may_match, required_literals
from .load import REGEX_FLAGS, Patterns, Signature, signature_column
from .model import Hit
from .normalize import MAX_LINE, Log, lazy_regex, normalize
from .prefilter import make_prefilter
from .records import NamedTuple

if TYPE_CHECKING:
    from typing import Sequence

    import regex

    from .normalize import Buffer
    from .prefilter import Prefilter

__all__ = ["Diagnostics", "Index", "RawHit", "ScanResult", "build_index", "resolve_hits", "scan"]

REGEX_TIMEOUT = 0.25  # seconds per search; real lines take microseconds
ANYWHERE_TIMEOUT = 2.0
MAX_CANDIDATES = 4000  # lines per signature: the first and last halves of the log's candidates
WORK_BUDGET = 4 * 1024 * 1024  # characters all line searches of one log may look at, together
ANYWHERE_BUDGET = 16 * 1024 * 1024  # characters of whole-log `anywhere` searches per log
MAX_SIGS_PER_LINE = 24  # a real line is a candidate for at most ~7 signatures; more is keyword stuffing
MAX_PAIRS = 20000  # (signature, line) pairs checked per log; real logs need fewer than a hundred
LITERAL_COST = 16  # a literal pre-check costs 1/16 of a regex search of the same text
PLAN_TEXT = 2 * 1024 * 1024  # above this much candidate text, the shortest lines are checked first
JOIN_LINE = 2048  # only lines up to this long are also tried joined with the next (a wrapped message)
# The paste's last line may be cut mid-way (a message box's limit, a screenshot's edge, a hasty copy): there, a
# pattern that matches up to the very end of the line, at least this many characters of it, counts as a match.
PARTIAL_MIN = 32


class Diagnostics:
    """Regex timeouts and per-signature timings, for `triage eval` and the JSON diagnostics."""

    __slots__ = ("searched", "signature_seconds", "slowest_regex", "timed", "timeouts")

    def __init__(self, timed: bool = False) -> None:
        self.timed = timed  # clock each search (slowest_regex): only for `timing`, whose diagnostics report it
        self.searched = 0  # characters regex searches looked at (the work budget's measure)
        self.timeouts: list[str] = []
        self.signature_seconds: dict[str, float] = {}
        self.slowest_regex: dict[str, float] = {}


SMALL_LOG = 64 * 1024  # below: plain bytes.find (no build cost); above: the fastest scanner
# A long-lived Engine (the bot, `triage serve`, `triage eval`) moves small logs to the fast scanner after this many:
# building Hyperscan's database costs about 15 ms and saves about 0.3 ms a log (1,004 keywords, measured), so a
# one-shot CLI run never pays for it and a server pays it back within a few dozen logs.
WARM_SCANS = 48
CONTEXT_SPAN = 256 * 1024  # facts and key lines of a big log come from its head and tail


class Index:
    """The keyword index of one Engine: every signature's, fact rule's and key-line keyword, numbered once."""

    __slots__ = ("_prefilters", "_small_scans", "all_ids", "backend", "cache_dir", "ctx_ids", "fact_keywords",
                 "keyline_keywords", "keywords", "kw_sigs", "literals", "nokw_sigs", "patterns", "sig_ids",
                 "sig_keywords", "small_log")

    def __init__(
        self,
        keywords: list[bytes],
        sig_keywords: list[list[int]],  # signature index -> keyword indexes
        fact_keywords: list[list[int]],  # fact rule index -> keyword indexes
        keyline_keywords: list[int],
        backend: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        patterns: Patterns | None = None,
    ) -> None:
        self.keywords = keywords
        self.all_ids = list(range(len(keywords)))
        self.sig_keywords = sig_keywords
        self.fact_keywords = fact_keywords
        self.keyline_keywords = keyline_keywords
        self.sig_ids = sorted({i for ids in sig_keywords for i in ids})
        # keyword -> the signatures it is a keyword of: a log's hits name its candidate signatures directly,
        # so a log costs nothing for the signatures none of whose keywords occur in it
        self.kw_sigs: dict[int, list[int]] = {}
        for s, ids in enumerate(sig_keywords):
            for k in ids:
                self.kw_sigs.setdefault(k, []).append(s)
        self.nokw_sigs = [s for s, ids in enumerate(sig_keywords) if not ids]
        self.ctx_ids = sorted({i for ids in fact_keywords for i in ids} | set(keyline_keywords))
        self.backend = backend
        self.cache_dir = cache_dir
        # Below this size the plain find loop runs (no scanner to build or load). Bulk callers that analyse
        # many logs with one Engine set it to 0: the fast scanner is then built once and used for every log.
        self.small_log = SMALL_LOG
        self._small_scans = 0
        self._prefilters: dict[tuple[str, str], Prefilter] = {}
        self.literals: dict[str, tuple[str, ...] | None] = {}  # pattern -> required literals, filled as used
        self.patterns = patterns if patterns is not None else Patterns()  # compiled on first search

    def scanner(self, size: int) -> str:
        """Which prefilter backend a log of this size is scanned with."""
        if self.backend:
            return self.backend
        return "python" if size < self.small_log else str(getattr(self.prefilter("all", size)[0], "name", "python"))

    def prefilter(self, which: str, size: int) -> tuple[Prefilter, list[int]]:
        """(prefilter, global keyword index of each of its keywords) for this input size; built on first use."""
        ids = {"all": self.all_ids, "sig": self.sig_ids, "ctx": self.ctx_ids}[which]
        choice = self.backend or ("small" if size < self.small_log else "large")
        key = (which, choice)
        if key not in self._prefilters:
            words = [self.keywords[i] for i in ids]
            backend = "python" if choice == "small" else None if choice == "large" else choice
            self._prefilters[key] = make_prefilter(words, backend, self.cache_dir)
        return self._prefilters[key], ids

    def scan(self, log: Log) -> list[list[int]]:
        """Offsets per global keyword index; big logs read facts and key lines from head and tail only."""
        size = len(log.data)
        if size < self.small_log and not self.backend:
            self._small_scans += 1
            if self._small_scans > WARM_SCANS:
                self.small_log = 0  # warm: every later log takes the fast scanner (same offsets, tested)
        none: list[int] = []  # one shared empty list: readers only extend from these, and a thousand new lists a log
        out: list[list[int]] = [none] * len(self.keywords)  # cost 0.4 ms (measured, 1,004 keywords)
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
    cache_dir: str | os.PathLike[str] | None = None,
    patterns: Patterns | None = None,
    literals: dict[str, tuple[str, ...] | None] | None = None,
) -> Index:
    """`backend` forces one prefilter (hyperscan, ahocorasick, python) for every input size; `patterns`: the
    Engine's compiled-regex store (None: a fresh one); `literals`: every pattern's required literals as the
    start-up cache holds them (None or missing: computed on first use)."""
    positions: dict[bytes, int] = {}

    def idx(kw: bytes) -> int:
        if kw not in positions:
            positions[kw] = len(positions)
        return positions[kw]

    sig_keywords = [[idx(kw) for kw in kws] for kws in signature_column(signatures, "keywords")]
    fact_keywords = [[idx(kw) for kw in rule.keywords] for rule in fact_rules]
    keyline_keywords = [idx(kw) for kw in KEYLINE_KEYWORDS]
    index = Index(list(positions), sig_keywords, fact_keywords, keyline_keywords, backend, cache_dir, patterns)
    if literals:
        index.literals.update(literals)
    return index


class RawHit(NamedTuple):
    """A signature accepted the line at byte offset `start`; line numbers are resolved later."""

    signature: Signature
    start: int
    groups: dict[str, str]
    after: list[int]
    ungated: bool = False  # the signature's weaker reading: a waived gate failed


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


BIG_TEXTS_KEPT = 4  # whole-log texts whose haystack a scan keeps: the log's text and its cleaned form


class _Work:
    """Characters every regex search of this scan has looked at, against WORK_BUDGET: a count, not a clock;
    plus each pattern's required literals (from the Engine's index) and this scan's lower-cased lines."""

    __slots__ = ("anywhere", "big", "exhausted", "in_log", "literals", "lowered", "patterns", "spent")

    def __init__(self, literals: dict[str, tuple[str, ...] | None], patterns: Patterns) -> None:
        self.spent = 0
        self.anywhere = 0
        self.exhausted = False
        self.literals = literals
        self.patterns = patterns
        self.lowered: dict[str, str] = {}
        self.big: dict[int, tuple[str, str]] = {}  # id -> (text, haystack) of the log's whole texts (text kept alive)
        self.in_log: dict[str, bool] = {}  # pattern -> whether the whole log holds one of its literals

    def rules_out(self, source: str, text: str, log: Log | None = None) -> bool:
        """True when the pattern cannot match: none of its required literals is in the text.

        `log`: `text` is a region of that log's text (`Log.region_text`). A region is a new string per anchor line,
        so lower-casing each (megabytes, once per signature and anchor) cost seconds per big log; instead the
        literals are looked up once in the whole log's haystack. Sound: a literal in the region is in the log (a
        literal holding a newline could span the region's join, so such patterns lower the region itself)."""
        if source not in self.literals:
            self.literals[source] = required_literals(source)
        needed = self.literals[source]
        if needed is None:
            return False
        if log is not None:
            if any("\n" in literal for literal in needed):
                return not may_match(needed, haystack(text))  # a region: a new string each time, never kept
            found = self.in_log.get(source)
            if found is None:
                found = self.in_log[source] = may_match(needed, self._whole_haystack(log.text))
            return not found
        if len(text) <= 65536:  # lines and windows
            lower = self.lowered.get(text)
            if lower is None:
                lower = self.lowered[text] = haystack(text)
            return not may_match(needed, lower)
        return not may_match(needed, self._whole_haystack(text))

    def _whole_haystack(self, text: str) -> str:
        """The haystack of a whole-log text (the log's, its cleaned form): the same object at every call, so kept by
        identity; at most a few are kept, so a caller that builds a new big string per call cannot make it grow."""
        kept = self.big.get(id(text))
        if kept is None or kept[0] is not text:
            kept = (text, haystack(text))
            if len(self.big) < BIG_TEXTS_KEPT:
                self.big[id(text)] = kept
        return kept[1]


def _exhausted(work: _Work, diag: Diagnostics, sig_id: str) -> None:
    """Mark the work budget used up (reported once); every later line search is skipped."""
    if not work.exhausted:
        work.exhausted = True
        diag.timeouts.append(f"work budget of {WORK_BUDGET // 1024**2} MiB searched text used up at {sig_id}; later lines skipped")


def _search(
    pattern: str,
    text: str,
    diag: Diagnostics,
    sig_id: str,
    work: _Work,
    timeout: float = REGEX_TIMEOUT,
    partial: bool = False,
    region_of: Log | None = None,
) -> regex.Match[str] | None:
    whole_log = timeout == ANYWHERE_TIMEOUT
    if not whole_log:
        if work.exhausted:  # "later lines skipped": not even their literal pre-check is paid for
            return None
        work.spent += len(text) // LITERAL_COST
        if work.spent > WORK_BUDGET:  # the pre-checks alone used it up
            _exhausted(work, diag, sig_id)
            return None
    if not partial and work.rules_out(pattern, text, region_of):  # a cut line may have lost the literal a match needs
        return None
    if whole_log:
        if work.anywhere + len(text) > ANYWHERE_BUDGET:
            diag.timeouts.append(f"{sig_id}: whole-log condition skipped, its budget is used up")
            return None
        work.anywhere += len(text)
    elif work.spent + len(text) > WORK_BUDGET:
        _exhausted(work, diag, sig_id)
        return None
    else:
        work.spent += len(text)
    compiled = work.patterns.get(pattern, REGEX_FLAGS)  # on first search: one its literals rule out never is
    # the clock only when timing was asked for (a clock read is a system call on some VMs: two per search added up)
    t0 = time.perf_counter() if diag.timed else 0.0
    try:
        if partial:
            return compiled.search(text, partial=True, timeout=timeout)
        return compiled.search(text, timeout=timeout)
    except TimeoutError:
        diag.timeouts.append(f"{sig_id}: {pattern[:60]!r}")
        return None
    finally:
        if diag.timed:
            elapsed = time.perf_counter() - t0
            if elapsed > diag.slowest_regex.get(sig_id, 0.0):
                diag.slowest_regex[sig_id] = elapsed


def _line_length(data: Buffer, start: int, cache: dict[int, int]) -> int:
    n = cache.get(start)
    if n is None:
        end = data.find(b"\n", start, start + MAX_LINE + 1)
        n = cache[start] = min((end if end >= 0 else len(data)) - start, MAX_LINE)
    return n


def _plan(log: Log, per_sig: list[list[int]]) -> list[tuple[int, int]]:
    """(signature position, line start) pairs to check, in the order they are checked.

    Each signature keeps at most MAX_CANDIDATES lines (the first and last halves of its candidates), and a line
    at most MAX_SIGS_PER_LINE signatures (the first ones: more means keyword stuffing). When the pairs hold more
    than PLAN_TEXT characters or number more than MAX_PAIRS, the shortest pairs go first (real error lines are
    short) and only MAX_PAIRS are kept, so a log padded with long keyword-stuffed lines still has its real error
    checked; otherwise signature by signature, in log order. The same on every run."""
    half = MAX_CANDIDATES // 2
    per_line: dict[int, int] = {}
    pairs: list[tuple[int, int]] = []
    for i, starts in enumerate(per_sig):
        if len(starts) > MAX_CANDIDATES:
            starts = starts[:half] + starts[-half:]
        for s in starts:
            n = per_line.get(s, 0)
            if n < MAX_SIGS_PER_LINE:
                per_line[s] = n + 1
                pairs.append((i, s))
    lengths: dict[int, int] = {}
    data = log.data
    for s in per_line:
        _line_length(data, s, lengths)
    if len(pairs) <= MAX_PAIRS and sum(lengths[s] for _, s in pairs) <= PLAN_TEXT:
        return pairs
    return [(i, s) for _, i, s in sorted((lengths[s], i, s) for i, s in pairs)[:MAX_PAIRS]]


class _SigState:
    """Per signature, during one scan: line texts already judged (a repeated line is judged once)."""

    __slots__ = ("seen_text",)

    def __init__(self) -> None:
        self.seen_text: dict[str, tuple[dict[str, str], bool] | None] = {}  # (groups, ungated) or no hit


def _check_line(
    sig: Signature,
    start: int,
    state: _SigState,
    lines: _Lines,
    log: Log,
    diag: Diagnostics,
    anywhere_cache: dict[tuple[str, int, int], int],
    work: _Work,
) -> RawHit | None:
    """A RawHit when the signature accepts the line at `start`."""
    seen_text = state.seen_text
    text = lines.get(start)
    if text in seen_text and not sig.near_src and not sig.unless_near_src and not sig.ungated_unless_near_src:
        cached = seen_text[text]
        if cached is None:
            return None
        _, after = log.neighbours(start, 0, sig.context)
        return RawHit(sig, start, cached[0], after, cached[1])
    m = None
    cut = log.wrap_cut(start, text) if log.wraps else None
    for pattern in sig.regexes_src:
        m = _search(pattern, text, diag, sig.id, work)
        if m and (cut is None or m.start() < cut):  # a rejoined wrap: the match must start in the first piece
            break
        m = None
    if m is None and cut is not None and text[cut - 1 : cut].isalnum() and text[cut : cut + 1].isalnum():
        # A line exactly as wide as a terminal that a soft wrap broke between two words: the joined pieces with
        # the space the wrap took (`...or one of its` / `dependencies)`), for a match that crosses the break.
        spaced = text[:cut] + " " + text[cut:]
        for pattern in sig.regexes_src:
            m = _search(pattern, spaced, diag, sig.id, work)
            if m and m.start() < cut < m.end():
                break
            m = None
        if m is not None and any(_search(p, spaced, diag, sig.id, work) for p in sig.unless_src):
            seen_text[text] = None
            return None
        if m is not None:
            text = spaced
    if m is None:
        # A message the terminal or the app wrapped onto the next line: try the two lines joined,
        # keeping only a match that starts on this line (the next line gets its own turn).
        _, below = log.neighbours(start, 0, 1) if len(text) <= JOIN_LINE else ([], [])
        if below:
            # a soft-wrapped line: all the pieces `unwrap` joined (a message wrapped over three lines or more)
            joined = log.joined_at(start) if start in log.soft else text + " " + lines.get(below[0]).lstrip()
            for pattern in sig.regexes_src:
                m = _search(pattern, joined, diag, sig.id, work)
                if m and m.start() < len(text) and m.end() > len(text):
                    break
                m = None
            if m is not None and not any(_search(p, joined, diag, sig.id, work) for p in sig.unless_src):
                text = joined
            else:
                m = None
        elif (
            len(text) >= PARTIAL_MIN
            and _looks_cut(lines.get(log.chains[start]) if start in log.chains else text)
            and not log.neighbours(start, 0, 1)[1]
        ):  # a hard wrap's last piece is cut only if the whole line is (its opening quote is in an earlier piece)
            m = _cut_match(sig, text, diag, work)
            if m is not None and _guarded_in_earlier_pieces(sig, start, lines, log, diag, work):
                m = None  # as below for a whole line
        if m is None:
            seen_text[text] = None
            return None
    elif any(_search(p, text, diag, sig.id, work) for p in sig.unless_src):
        seen_text[text] = None
        return None
    elif cut is not None and any(_search(p, text[:cut], diag, sig.id, work) for p in sig.unless_src):
        return None  # a line that only looked wrapped: its guard sees the line as it is, too
    elif _guarded_in_earlier_pieces(sig, start, lines, log, diag, work):
        return None
    if log.soft and sig.unless_src and (message := log.soft_whole(start)) is not None and any(
        _search(p, message, diag, sig.id, work) for p in sig.unless_src
    ):
        return None  # a soft-wrapped message: its guard may sit in another of its pieces
    groups = {k: v for k, v in m.groupdict().items() if v}
    gated = True  # False: a waived gate failed, so only the signature's ungated reading may hold
    window_text: list[str] = []
    if sig.near_src or sig.unless_near_src or sig.ungated_unless_near_src:
        above, below = log.neighbours(start, sig.window, sig.window)
        window_text = [lines.get(s) for s in above + below]
        if log.wraps:  # rejoined lines also as the user's lines were (a `$` in a guard, a line that only looked wrapped)
            window_text += [p for s in above + below if (p := log.piece_text(s)) is not None]
        if log.soft:  # soft-wrapped messages nearby also whole (a guard's phrase across the break)
            window_text += [w for s in above + below if s in log.soft and (w := log.soft_whole(s)) is not None]
        near_groups: dict[str, str] = {}
        # the match's own line, outside the match: a paste that lost its line breaks holds its neighbours there
        own = [t for t in (text[:m.start()], text[m.end():]) if t.strip()]
        for pattern in sig.near_src:
            hit = next((nm for t in window_text + own if (nm := _search(pattern, t, diag, sig.id, work))), None)
            if hit is None:
                if not sig.waives("near"):
                    seen_text[text] = None
                    return None
                gated = False
                break
            near_groups.update({k: v for k, v in hit.groupdict().items() if v and k not in near_groups})
        if gated:
            groups.update({k: v for k, v in near_groups.items() if k not in groups})
        if any(_search(p, t, diag, sig.id, work) for p in sig.unless_near_src for t in window_text + [text]):
            seen_text[text] = None
            return None
    if sig.anywhere_src or sig.unless_anywhere_src:
        whole = _anywhere_state(sig, log, start, diag, work, anywhere_cache)
        if whole == _VETOED or (whole == _GATE_MISSING and not sig.waives("anywhere")):
            seen_text[text] = None
            return None
        gated = gated and whole == _GATE_PASSED
    if not gated and _ungated_vetoed(sig, log, start, text, window_text, diag, work, anywhere_cache):
        seen_text[text] = None
        return None
    seen_text[text] = (groups, not gated)
    _, after = log.neighbours(start, 0, sig.context)
    return RawHit(sig, start, groups, after, not gated)


_VETOED, _GATE_PASSED, _GATE_MISSING = 0, 1, 2


def _guarded_in_earlier_pieces(sig: Signature, start: int, lines: _Lines, log: Log, diag: Diagnostics,
                               work: _Work) -> bool:
    """A hard-wrapped line's continuation (a whole match or a cut one): its guard may sit in the line's earlier
    pieces, which the continuation's own text does not hold."""
    return start in log.chains and any(
        _search(p, lines.get(log.chains[start]), diag, sig.id, work) for p in sig.unless_src
    )


def _anywhere_state(sig: Signature, log: Log, start: int, diag: Diagnostics, work: _Work,
                    cache: dict[tuple[str, int, int], int]) -> int:
    """Whole-log conditions, once per signature and region: vetoed, gate passed, or gate missing (no veto)."""
    region = _anywhere_region(log, start)
    key = (sig.id, region[0], region[1])
    state = cache.get(key)
    if state is None:
        full = log.region_text(*region)
        passed = all(_whole_log_search(p, log, region, full, diag, sig.id, work) for p in sig.anywhere_src)
        if not passed and not sig.waives("anywhere"):
            state = _GATE_MISSING  # no hit either way: the vetoes need no search
        elif any(_whole_log_search(p, log, region, full, diag, sig.id, work) for p in sig.unless_anywhere_src):
            state = _VETOED
        else:
            state = _GATE_PASSED if passed else _GATE_MISSING
        cache[key] = state
    return state


def _whole_log_search(pattern: str, log: Log, region: tuple[int, int], full: str, diag: Diagnostics, sig_id: str,
                      work: _Work) -> bool:
    """A whole-log condition: found in the region's text as given or, for a pattern that pins a line start or end, in
    the lines as signatures see them (a paste's prefixes and a CRLF's carriage return stripped: measured, such vetoes
    let 4-7 near-misses per prefix form through in tests/paste_forms.py, and a gate ending in `$` lost a positive
    under CRLF). Only when the region is the whole log (a paste, not a big file)."""
    whole = region == (0, len(log.data))
    if _search(pattern, full, diag, sig_id, work, ANYWHERE_TIMEOUT, region_of=None if whole else log) is not None:
        return True
    if not whole or not _line_anchored(pattern):
        return False
    cleaned = log.cleaned_text
    return cleaned is not None and _search(pattern, cleaned, diag, sig_id, work, ANYWHERE_TIMEOUT) is not None


def _line_anchored(pattern: str) -> bool:
    """Whether a pattern pins a line start or end: a `^` that is neither escaped nor a class's negation, or an
    unescaped `$`."""
    bare = pattern.replace("\\\\", "").replace("\\^", "").replace("[^", "[").replace("\\$", "")
    return "^" in bare or "$" in bare


def _ungated_vetoed(sig: Signature, log: Log, start: int, text: str, window_text: list[str], diag: Diagnostics,
                    work: _Work, cache: dict[tuple[str, int, int], int]) -> bool:
    """Whether the ungated reading's own vetoes (or its absence) rule the line out."""
    if sig.ungated_weight is None:
        return True
    if any(_search(p, t, diag, sig.id, work) for p in sig.ungated_unless_near_src for t in window_text + [text]):
        return True
    if not sig.ungated_unless_anywhere_src:
        return False
    region = _anywhere_region(log, start)
    key = (sig.id + " ungated", region[0], region[1])  # a space: never part of a kebab-case id
    state = cache.get(key)
    if state is None:
        full = log.region_text(*region)
        vetoed = any(_whole_log_search(p, log, region, full, diag, sig.id, work)
                     for p in sig.ungated_unless_anywhere_src)
        state = cache[key] = _VETOED if vetoed else _GATE_PASSED
    return state == _VETOED


def _looks_cut(text: str) -> bool:
    """Whether a line visibly stops mid-way: a bracket or a quote left open, or an `=` with nothing after it.
    A last line that merely ends where a longer message would go on is complete, and must not match part of a
    pattern (measured: such lines gave forbidden answers on near-misses)."""
    tail = text.rstrip()
    if tail.endswith(("[", "(", "{", ",")) or (tail.endswith("=") and not tail.endswith("==")):
        return True  # a rule of `=====` (pytest's, a banner's) ends a complete line
    return (
        text.count("[") > text.count("]")
        or text.count("(") > text.count(")")
        or text.count("{") > text.count("}")
        or text.count('"') % 2 == 1
    )


def _cut_match(sig: Signature, text: str, diag: Diagnostics, work: _Work) -> regex.Match[str] | None:
    """A match of the paste's last line as far as it goes: the pattern reaches the end of the text (the cut) after
    at least PARTIAL_MIN characters, and no `unless` pattern matches what is there.

    The search runs on the pattern with its lazy repeats made greedy (same matches, other spans): `regex`'s partial
    search reports a start before the real one after a lazy repeat with a large bound (`\\S{0,300}?x` on `a b x`
    gives (0, 5), taking in spaces `\\S` cannot match), so a 12-character tail passed for a 175-character match."""
    for pattern in sig.regexes_src:
        m = _search(_greedy(pattern), text, diag, sig.id, work, partial=True)
        if m is not None and m.partial and m.end() == len(text) and m.end() - m.start() >= PARTIAL_MIN:
            if any(_search(p, text, diag, sig.id, work) for p in sig.unless_src):
                return None
            return m
    return None


_LAZY = lazy_regex(r"(?<!\\)(\{\d*,\d+\}|\*|\+)\?")


@cache
def _greedy(pattern: str) -> str:
    return _LAZY().sub(r"\1", pattern)


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
    diag = Diagnostics(timed=timing)
    anywhere_cache: dict[tuple[str, int, int], int] = {}
    chosen: list[Signature] = []
    candidates: list[list[int]] = []
    hit_sigs = set(index.nokw_sigs)
    kw_sigs = index.kw_sigs
    for k, offsets_k in enumerate(hits_by_kw):
        if offsets_k and k in kw_sigs:
            hit_sigs.update(kw_sigs[k])
    for i in sorted(hit_sigs):
        sig = signatures[i]
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
        chosen.append(sig)
        candidates.append(starts)
    raw_hits: list[RawHit] = []
    work = _Work(index.literals, index.patterns)
    states = [_SigState() for _ in chosen]
    for i, start in _plan(log, candidates):
        if work.exhausted:
            break
        sig = chosen[i]
        t0 = time.perf_counter() if timing else 0.0
        hit = _check_line(sig, start, states[i], lines, log, diag, anywhere_cache, work)
        if hit is not None:
            raw_hits.append(hit)
        if timing:
            diag.signature_seconds[sig.id] = diag.signature_seconds.get(sig.id, 0.0) + time.perf_counter() - t0
    diag.searched = work.spent
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
            ungated=h.ungated,
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
