"""One pass over the log for every keyword at once.

Backends, best first: Hyperscan (SIMD literal matching), pyahocorasick (an
Aho-Corasick automaton in C), and plain `bytes.find` per keyword. All three
return the same offsets; tests compare them on the whole corpus.
Keywords are ASCII-lowercased and the log is scanned as `bytes.lower()`, so
case-insensitivity means the same thing in every backend (a keyword with other
cased letters comes in several forms: `validate.keyword_forms`).
"""

from __future__ import annotations

import mmap
import os
from collections import deque
TYPE_CHECKING = False  # true for type checkers only: typing is not imported at run time (records.py says why)
if TYPE_CHECKING:
    from typing import Any, Callable, Protocol

__all__ = ["available_backends", "make_prefilter"]  # and, for type checkers, the Prefilter protocol below

HEAD_HITS = 1000  # per keyword: the first ones ...
TAIL_HITS = 1000  # ... and the last ones; a log that repeats a line 10^6 times needs no more


if TYPE_CHECKING:  # the shapes scanners and texts have; only type checkers need them
    class _Text(Protocol):
        data: bytes | mmap.mmap  # a big log may be memory-mapped; Hyperscan scans the mapping in place

        @property
        def lower(self) -> bytes: ...

    class Prefilter(Protocol):
        name: str

        def scan(self, log: _Text) -> list[list[int]]:
            """Start offsets per keyword index (capped, ascending)."""
            ...


class _Collector:
    __slots__ = ("head", "tail")

    def __init__(self) -> None:
        self.head: list[int] = []
        self.tail: deque[int] = deque(maxlen=TAIL_HITS)

    def add(self, offset: int) -> None:
        if len(self.head) < HEAD_HITS:
            self.head.append(offset)
        else:
            self.tail.append(offset)

    def result(self) -> list[int]:
        # Backends report each occurrence once, in ascending order.
        return self.head + list(self.tail) if self.tail else self.head


class FindPrefilter:
    """Pure Python: one C-speed `bytes.find` loop per keyword."""

    name = "python"

    def __init__(self, keywords: list[bytes]) -> None:
        self.keywords = keywords

    def scan(self, log: _Text) -> list[list[int]]:
        lower = log.lower
        out: list[list[int]] = []
        empty: list[int] = []
        find = lower.find
        for kw in self.keywords:
            pos = find(kw)
            if pos < 0:
                out.append(empty)
                continue
            hits: list[int] = []
            while pos >= 0:
                hits.append(pos)
                pos = find(kw, pos + 1)
            if len(hits) > HEAD_HITS + TAIL_HITS:
                hits = hits[:HEAD_HITS] + hits[-TAIL_HITS:]
            out.append(hits)
        return out


def _results(cols: dict[int, _Collector], count: int) -> list[list[int]]:
    empty: list[int] = []
    return [cols[i].result() if i in cols else empty for i in range(count)]


class AhoCorasickPrefilter:
    name = "ahocorasick"

    def __init__(self, keywords: list[bytes]) -> None:
        import ahocorasick

        self.automaton = ahocorasick.Automaton()
        self.count = len(keywords)
        for index, kw in enumerate(keywords):
            # latin-1 maps each byte to one char, so offsets stay byte offsets.
            key = kw.decode("latin-1")
            existing = self.automaton.get(key, None)
            ids = (existing[1] if existing else ()) + (index,)
            self.automaton.add_word(key, (len(kw), ids))
        if keywords:
            self.automaton.make_automaton()

    def scan(self, log: _Text) -> list[list[int]]:
        cols: dict[int, _Collector] = {}
        if self.count:
            text = log.lower.decode("latin-1")
            for end, (length, ids) in self.automaton.iter(text):
                start = end - length + 1
                for index in ids:
                    col = cols.get(index)
                    if col is None:
                        col = cols[index] = _Collector()
                    col.add(start)
        return _results(cols, self.count)


class HyperscanPrefilter:
    name = "hyperscan"

    def __init__(self, keywords: list[bytes], cache_dir: str | os.PathLike[str] | None = None) -> None:
        import hyperscan

        self.count = len(keywords)
        self.lengths = [len(kw) for kw in keywords]
        self.db = _cached_database(keywords, cache_dir) if keywords else hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        self.scratch = hyperscan.Scratch(self.db) if keywords else None

    def scan(self, log: _Text) -> list[list[int]]:
        # Caseless literal matching on the raw bytes: no lowered copy of a big log.
        data = log.data
        cols: dict[int, _Collector] = {}
        if not self.count or not data:
            return _results(cols, self.count)
        lengths = self.lengths

        def on_match(index: int, start: int, end: int, flags: int, context: object) -> None:
            col = cols.get(index)
            if col is None:
                col = cols[index] = _Collector()
            col.add(end - lengths[index])

        self.db.scan(data, match_event_handler=on_match, scratch=self.scratch)  # type: ignore[type-var]  # a mapping scans as is
        return _results(cols, self.count)


def _cached_database(keywords: list[bytes], cache_root: str | os.PathLike[str] | None) -> Any:
    """Compile the literal database, or load it serialised from the user cache
    (compiling costs more than scanning a 50 MB log)."""
    import hyperscan

    from . import cachefile

    key = b"\x00".join(keywords)
    path = None
    if cache_root is not None:
        path = os.path.join(os.fspath(cache_root), f"hs-{getattr(hyperscan, '__version__', 'x')}-{cachefile.digest(key)}.db")
        raw = cachefile.read(path)
        if raw is not None:
            try:
                return hyperscan.loadb(raw, hyperscan.HS_MODE_BLOCK)
            except Exception:  # noqa: BLE001 - stale or foreign: rebuild
                pass
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(
        expressions=list(keywords),
        ids=list(range(len(keywords))),
        elements=len(keywords),
        flags=[hyperscan.HS_FLAG_CASELESS] * len(keywords),
        literal=True,
    )
    if path is not None:
        cachefile.write_atomic(path, hyperscan.dumpb(db))
    return db


_BACKENDS: dict[str, Callable[..., Prefilter]] = {
    "hyperscan": HyperscanPrefilter,
    "ahocorasick": AhoCorasickPrefilter,
    "python": FindPrefilter,
}


def available_backends() -> list[str]:
    names = []
    for name, factory in _BACKENDS.items():
        try:
            factory([b"probe"])
        except Exception:  # noqa: BLE001 - an optional backend may fail to import or compile
            continue
        names.append(name)
    return names


def make_prefilter(keywords: list[bytes], backend: str | None = None,
                   cache_dir: str | os.PathLike[str] | None = None) -> Prefilter:
    """The fastest backend that works here, or the one asked for (the CLI passes TRIAGE_PREFILTER).

    `cache_dir`: where Hyperscan keeps its compiled database between runs (None: compile each time)."""
    wanted = backend or ""
    order = [wanted] if wanted else list(_BACKENDS)
    if wanted and wanted not in _BACKENDS:
        raise ValueError(f"unknown prefilter backend {wanted!r}; choose from {', '.join(_BACKENDS)}")
    last: Exception | None = None
    for name in order:
        try:
            return _BACKENDS[name](keywords, cache_dir) if name == "hyperscan" else _BACKENDS[name](keywords)
        except Exception as exc:  # noqa: BLE001 - fall through to the next backend
            last = exc
    if wanted:
        raise RuntimeError(f"prefilter backend {wanted!r} is not usable here: {last}")
    return FindPrefilter(keywords)
