"""Normalised, line-addressable view of a decoded log.

Lines are cleaned lazily (ANSI colours, CR, Markdown fences and quotes,
journald/syslog and docker-compose prefixes, Ollama's slog wrapper), one at a
time, so a 200 MB log costs only the lines a keyword points at. Each cleaned
line keeps its 1-based line number in the input as given.
"""

from __future__ import annotations

import mmap
import re
from functools import cache
from typing import Callable, NewType, Union

__all__ = ["Log", "NormalizedLog", "clean_line", "lazy_regex", "normalize"]

MAX_LINE = 8192  # longer lines are cut for matching; real error lines are short


def lazy_regex(pattern: str, flags: int = 0) -> Callable[[], re.Pattern[str]]:
    """A regex compiled on first use: most logs never need most of these, and compiling every one at import
    was a measurable part of start-up."""

    @cache
    def compiled() -> re.Pattern[str]:
        return re.compile(pattern, flags)

    return compiled


_ANSI = lazy_regex(r"\x1b\[[0-9;:?<=>]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]|\x1b")
_FENCE = lazy_regex(r"^\s{0,3}(?:`{3,}|~{3,})[\w+-]*\s*$")
_QUOTE = lazy_regex(r"^\s{0,3}(?:>[ \t]?)+")
_JOURNALD = lazy_regex(
    r"^(?:[A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d{2}:?\d{2}|Z)?)"
    r" [\w.-]+ (?:kernel: (?:\[\s*\d+\.\d+\] )?|[\w./@-]+(?:\[\d+\])?: )"
)
_COMPOSE = lazy_regex(r"^[A-Za-z0-9][\w.-]*(?:-\d+)?\s+\|\s")
_SLOG = lazy_regex(r'^time=\S+ level=(?P<level>[A-Z]+)(?: source=\S+)? msg=(?P<msg>"(?:[^"\\]|\\.)*"|\S+)(?P<rest>.*)$')
_ENTITY = lazy_regex(r"&(?:#\d{1,6}|#x[0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});")
_SLOG_ESC = lazy_regex(r'\\(["\\nt])')

NormalizedLog = NewType("NormalizedLog", "Log")
# A big log file may arrive memory-mapped (no copy of the input): mmap has find, rfind and slicing
# (which returns bytes), but no count, endswith, lower or decode; Log supplies those itself.
Buffer = Union[bytes, mmap.mmap]
COUNT_CHUNK = 1024 * 1024  # newlines of a mapped log are counted this many bytes at a time


def _unescape(m: re.Match[str]) -> str:
    ch = m.group(1)
    return {"n": " ", "t": " "}.get(ch, ch)


def clean_line(text: str) -> str:
    """One raw line to the text signatures see."""
    if "\x1b" in text:
        text = _ANSI().sub("", text)
    if "\r" in text:
        text = text.rstrip("\r").replace("\r", " ")
    if text.endswith("^M"):  # a carriage return made visible by an editor or pager
        text = text[:-2]
    if "#011" in text:
        text = text.replace("#011", "\t")
    if "&" in text and _ENTITY().search(text):
        # Logs copied from a web page keep HTML entities (&#39;, &gt;, &quot;).
        import html  # rare, and html.entities is slow to import

        text = html.unescape(text)
    if not text:
        return text
    # Each pattern runs (and compiles) only where what it must find is there: a fence has ``` or ~~~, a
    # quote a '>' among its first four characters, a journald date a space or a '-' at its fourth or fifth.
    first = text[0]
    if first in " >`~\t" and ("```" in text or "~~~" in text) and _FENCE().match(text):
        return ""
    if first in " >\t" and ">" in text[:4] and (m := _QUOTE().match(text)):
        text = text[m.end() :]
    if (text[:1].isupper() or text[:1].isdigit()) and (text[3:4] == " " or text[4:5] == "-"):
        if m := _JOURNALD().match(text):
            text = text[m.end() :]
    if text.startswith("time=") and (m := _SLOG().match(text)):
        msg = m.group("msg")
        if msg.startswith('"'):
            msg = _SLOG_ESC().sub(_unescape, msg[1:-1])
        text = msg + m.group("rest")
    elif " | " in text[:60] and (m := _COMPOSE().match(text)):
        text = text[m.end() :]
    return text


class Log:
    """The decoded log as UTF-8 bytes plus lazily cleaned lines."""

    __slots__ = ("_lower", "_n_lines", "_newlines", "_text", "data")

    def __init__(self, data: Buffer) -> None:
        self.data = data
        self._lower: bytes | None = None
        self._n_lines: int | None = None
        self._newlines: int | None = None
        self._text: str | None = None

    @property
    def lower(self) -> bytes:
        if self._lower is None:
            self._lower = self._bytes().lower()
        return self._lower

    def _bytes(self) -> bytes:
        """The whole log as bytes (a copy only when it is memory-mapped)."""
        data = self.data
        return data if isinstance(data, bytes) else data[:]

    def _count(self, start: int, end: int) -> int:
        """Newlines in data[start:end]."""
        data = self.data
        if isinstance(data, bytes):
            return data.count(b"\n", start, end)
        return sum(data[i : min(i + COUNT_CHUNK, end)].count(b"\n") for i in range(start, end, COUNT_CHUNK))

    def _ends_with_newline(self) -> bool:
        return self.data[-1:] == b"\n"

    @property
    def n_lines(self) -> int:
        if self._n_lines is None:
            n = self.newlines
            self._n_lines = n if self._ends_with_newline() else n + 1
        return self._n_lines

    @property
    def text(self) -> str:
        """The whole log as text (for `anywhere` conditions only; built once)."""
        if self._text is None:
            self._text = self._bytes().decode("utf-8", errors="replace")
        return self._text

    def region_text(self, start: int, end: int) -> str:
        """Text of a byte range for `anywhere` conditions (the head is always included)."""
        if start == 0 and end >= len(self.data):
            return self.text
        head = self.data[: min(1024 * 1024, start)] if start > 0 else b""
        return (head + b"\n" + self.data[start:end]).decode("utf-8", errors="replace")

    def raw_at(self, start: int) -> str:
        """The line starting at byte offset `start` as written, cut at MAX_LINE."""
        end = self.data.find(b"\n", start)
        if end < 0:
            end = len(self.data)
        return self.data[start : min(end, start + MAX_LINE)].decode("utf-8", errors="replace")

    def text_at(self, start: int) -> str:
        """Cleaned text of the line starting at byte offset `start`."""
        return clean_line(self.raw_at(start))

    def line_starts(self, offsets: list[int]) -> list[int]:
        """The start offset of each line holding one of `offsets`, ascending and unique."""
        data = self.data
        return sorted({data.rfind(b"\n", 0, off) + 1 for off in offsets})

    @property
    def newlines(self) -> int:
        if self._newlines is None:
            self._newlines = self._count(0, len(self.data))
        return self._newlines

    def line_numbers(self, starts: list[int]) -> dict[int, int]:
        """1-based line number for each line-start offset.

        Offsets in the first half are counted forward, the rest backward from the
        end, so a crash at the bottom of a 200 MB log costs one short count."""
        out: dict[int, int] = {}
        ordered = sorted(set(starts))
        half = len(self.data) // 2
        line, prev = 1, 0
        for start in (s for s in ordered if s <= half):
            line += self._count(prev, start)
            prev = start
            out[start] = line
        nxt, after = len(self.data), 0
        for start in reversed([s for s in ordered if s > half]):
            after += self._count(start, nxt)
            nxt = start
            out[start] = self.newlines - after + 1
        return out

    def neighbours(self, start: int, before: int, after: int) -> tuple[list[int], list[int]]:
        """Start offsets of up to `before` lines above and `after` lines below."""
        above: list[int] = []
        pos = start
        while len(above) < before and pos > 0:
            prev = self.data.rfind(b"\n", 0, pos - 1) + 1
            above.append(prev)
            pos = prev
        below: list[int] = []
        pos = start
        size = len(self.data)
        while len(below) < after:
            nxt = self.data.find(b"\n", pos)
            if nxt < 0 or nxt + 1 >= size:
                break
            pos = nxt + 1
            below.append(pos)
        above.reverse()
        return above, below

    def tail(self, count: int) -> list[tuple[int, str]]:
        """The last `count` non-blank cleaned lines with their numbers."""
        out: list[tuple[int, str]] = []
        end = len(self.data)
        if self._ends_with_newline():
            end -= 1
        line_no = self.n_lines
        while end >= 0 and len(out) < count and line_no > 0:
            start = self.data.rfind(b"\n", 0, end) + 1
            text = self.text_at(start)
            if text.strip():
                out.append((line_no, text))
            line_no -= 1
            end = start - 1
            if start == 0:
                break
        out.reverse()
        return out


def normalize(data: Buffer) -> NormalizedLog:
    return NormalizedLog(Log(data))
