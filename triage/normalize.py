"""Normalised, line-addressable view of a decoded log.

Lines are cleaned lazily (ANSI colours, CR, Markdown fences and quotes,
journald/syslog, docker-compose and timestamp prefixes, Ollama's slog wrapper),
one at a time, so a 200 MB log costs only the lines a keyword points at. A paste
(not a big file) is first rewritten as a whole by `unwrap`, before the keyword
prefilter reads it: colour codes and HTML entities, escaped JSON/repr strings,
LangChain's wrapper, run-on lines, indentation, terminal hard wraps and soft
wraps at a word boundary (joined for the keyword prefilter only). Each cleaned
line keeps its 1-based line number in the input as given.
"""

from __future__ import annotations

import mmap
import re
from collections.abc import Iterator
from functools import cache
from itertools import accumulate, islice
TYPE_CHECKING = False  # true for type checkers only: typing is not imported at run time (records.py says why)
if TYPE_CHECKING:
    from typing import AnyStr, Callable, NewType, Union

from .records import NamedTuple

__all__ = ["Log", "NormalizedLog", "clean_line", "lazy_regex", "View", "normalize", "prepare", "unwrap"]

MAX_LINE = 8192  # longer lines are cut for matching; real error lines are short


def lazy_regex(pattern: AnyStr, flags: int = 0) -> Callable[[], re.Pattern[AnyStr]]:
    """A regex compiled on first use: most logs never need most of these, and compiling every one at import
    was a measurable part of start-up. Bytes patterns serve the paste-wide rewrites in `unwrap`."""

    @cache
    def compiled() -> re.Pattern[AnyStr]:
        return re.compile(pattern, flags)

    return compiled


_ANSI = lazy_regex(r"\x1b\[[0-9;:?<=>]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]|\x1b")
_FENCE = lazy_regex(r"^\s{0,3}(?:`{3,}|~{3,})[\w+-]*\s*$")
_QUOTE = lazy_regex(r"^\s{0,3}(?:>[ \t]?)+")
# journald/syslog: `Dec 03 10:00:01 host proc[pid]: ` or, with an ISO date (`journalctl -o short-iso`), the same with
# a [pid] required: an ISO-stamped application line such as `<date> CUDA error: ...` is not host + process.
_JOURNALD = lazy_regex(
    r"^(?:[A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d [\w.-]+ (?:kernel: (?:\[\s*\d+\.\d+\] )?|[\w./@-]+(?:\[\d+\])?: )"
    r"|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d{2}:?\d{2}|Z)? [\w.-]+ (?:kernel: (?:\[\s*\d+\.\d+\] )?|[\w./@-]+\[\d+\]: ))"
)
_COMPOSE = lazy_regex(r"^[A-Za-z0-9][\w.-]*(?:-\d+)?\s+\|\s")
# A timestamp a logger or `docker logs -t` put in front of the message: ISO date and time, optionally bracketed,
# then white space (LM Studio's `[date][LEVEL]` and Go's `2024/05/01 10:00:00 file.go:` forms are left alone).
_STAMP = lazy_regex(
    r"^\[?\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d{1,9})?(?: ?(?:Z|UTC|[+-]\d\d:?\d\d))?\]?[ \t]+(?=\S)"
)
_SLOG = lazy_regex(r'^time=\S+ level=(?P<level>[A-Z]+)(?: source=\S+)? msg=(?P<msg>"(?:[^"\\]|\\.)*"|\S+)(?P<rest>.*)$')
_ENTITY_SOURCE = r"&(?:#\d{1,6}|#x[0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});"
_ENTITY = lazy_regex(_ENTITY_SOURCE)
_SLOG_ESC = lazy_regex(r'\\(["\\nt])')

if TYPE_CHECKING:
    NormalizedLog = NewType("NormalizedLog", "Log")
    # A big log file may arrive memory-mapped (no copy of the input): mmap has find, rfind and slicing
    # (which returns bytes), but no count, endswith, lower or decode; Log supplies those itself.
    Buffer = Union[bytes, mmap.mmap]
else:
    def NormalizedLog(log: Log) -> Log:  # what typing.NewType does at run time
        return log
COUNT_CHUNK = 1024 * 1024  # newlines of a mapped log are counted this many bytes at a time


def _unescape(m: re.Match[str]) -> str:
    ch = m.group(1)
    return {"n": " ", "t": " "}.get(ch, ch)


def _code_span_line(text: str) -> str:
    """A whole line written as one inline code span (`` `Error: ...` `` in an issue, a chat or a Discord message)
    as the program printed it: the span's backticks would otherwise stand where signatures expect the line to start
    or end. Only a single span that is the whole line is opened; backticks inside a line (glibc's `` `GLIBC_2.28' ``,
    Rust's and CMake's quoted names) and fences are left as they are."""
    body = text.strip()
    if len(body) > 2 and body[0] == "`" and body[-1] == "`" and body.count("`") == 2:
        return body[1:-1].rstrip()  # the span's own indentation is the line's (a stack frame's `    at ...`)
    return text


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
    # Each pattern runs (and compiles) only where what it must find is there: a quote has a '>' among its first
    # four characters, a journald date a space or a '-' at its fourth or fifth, a fence ``` or ~~~.
    first = text[0]
    if first in " >\t" and ">" in text[:4] and (m := _QUOTE().match(text)):
        text = text[m.end() :]
    for _ in range(3):  # prefixes stack: docker compose around journald, a timestamp around either
        before = text
        if (text[:1].isupper() or text[:1].isdigit()) and (text[3:4] == " " or text[4:5] == "-"):
            if m := _JOURNALD().match(text):
                text = text[m.end() :]
        if text[:1] in "[12" and "-" in text[4:6] and (m := _STAMP().match(text)):
            text = text[m.end() :]
        if " | " in text[:60] and not text.startswith("time=") and (m := _COMPOSE().match(text)):
            text = text[m.end() :]
        if text is before:
            break
    if "`" in text[:4]:  # after the prefixes a chat or a container put in front of the span, before slog's
        text = _code_span_line(text)
    if text.startswith("time=") and (m := _SLOG().match(text)):
        msg = m.group("msg")
        if len(msg) >= 2 and msg.startswith('"') and msg.endswith('"'):
            msg = _SLOG_ESC().sub(_unescape, msg[1:-1])
        elif msg.startswith('"'):  # a paste cut inside the quoted message: no closing quote to drop
            msg = _SLOG_ESC().sub(_unescape, msg[1:])
        text = msg + m.group("rest")
    elif text[:1] in " `~\t" and ("```" in text or "~~~" in text) and _FENCE().match(text):
        return ""  # a Markdown fence, also behind a quote or a container's prefix
    return text


class Log:
    """The decoded log as UTF-8 bytes plus lazily cleaned lines."""

    __slots__ = ("_cleaned", "_joined", "_lower", "_n_lines", "_newlines", "_pieces", "_text", "chains", "data", "origin",
                 "soft", "wraps")

    def __init__(
        self,
        data: Buffer,
        origin: list[int] | None = None,
        wraps: dict[int, int] | None = None,
        chains: dict[int, int] | None = None,
        soft: dict[int, int] | None = None,
    ) -> None:
        self.data = data
        # Lines `unwrap` joined with the next because a terminal or a forum soft-wrapped them at a word boundary:
        # start offset -> bytes of the user's own line. Only the keyword prefilter (and `anywhere`) reads the joined
        # bytes; every line accessor returns the user's line, so a line that was not wrapped after all is read
        # exactly as before, and a message across the break is found by the matcher's two-line join.
        self.soft = soft or {}
        # Lines `unwrap` rejoined from a terminal's hard wrap: start offset -> bytes of the first piece. A match
        # must start in that piece; one wholly in the continuation belongs to the continuation's own line.
        self.wraps = wraps or {}
        # The continuation pieces of those lines: start offset -> the start of the wrapped line's first piece.
        # Their text is in the first piece's, so windows of neighbouring lines pass over them.
        self.chains = chains or {}
        # When the paste was unwrapped into more lines than the user gave (see `unwrap`): the user's 1-based line
        # number for each line of `data`, so every number the engine reports is a line of the input as given.
        self.origin = origin
        self._pieces: dict[int, str] = {}  # piece_text, once per rejoined line (every signature on it asks)
        self._joined: dict[int, str] = {}  # joined_at of soft-wrapped lines, once each (every window over it asks)
        self._lower: bytes | None = None
        self._n_lines: int | None = None
        self._newlines: int | None = None
        self._text: str | None = None
        self._cleaned: str | None = None

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
        """Lines of the input as given."""
        if self._n_lines is None:
            self._n_lines = self.origin[-1] if self.origin else self._view_lines()
        return self._n_lines

    def _view_lines(self) -> int:
        n = self.newlines
        return n if self._ends_with_newline() else n + 1

    def _user_line(self, view_line: int) -> int:
        origin = self.origin
        if origin is None:
            return view_line
        return origin[min(view_line, len(origin)) - 1]

    @property
    def text(self) -> str:
        """The whole log as text (for `anywhere` conditions only; built once)."""
        if self._text is None:
            self._text = self._bytes().decode("utf-8", errors="replace")
        return self._text

    @property
    def cleaned_text(self) -> str | None:
        """The whole log with every line as signatures see it (`clean_line`), or None when that changes nothing.
        A whole-log condition that pins a line start (`^`) reads it too: a paste's line prefixes (timestamps,
        journald, docker compose, `> ` quotes) would otherwise hide every line from it. Built once, on first use."""
        if self._cleaned is None:
            lines, start, soft = [], 0, self.soft
            for line in self._bytes().split(b"\n"):
                own = soft.get(start) if soft else None  # a soft-wrapped line: the user's own, not the joined one
                lines.append(clean_line((line if own is None else line[:own]).decode("utf-8", errors="replace")))
                start += len(line) + 1
            cleaned = "\n".join(lines)
            self._cleaned = "" if cleaned == self.text else cleaned
        return self._cleaned or None

    def region_text(self, start: int, end: int) -> str:
        """Text of a byte range for `anywhere` conditions (the head is always included)."""
        if start == 0 and end >= len(self.data):
            return self.text
        head = self.data[: min(1024 * 1024, start)] if start > 0 else b""
        return (head + b"\n" + self.data[start:end]).decode("utf-8", errors="replace")

    def raw_at(self, start: int) -> str:
        """The line starting at byte offset `start` as written, cut at MAX_LINE (a soft-wrapped line: the user's
        own line, without the continuation `unwrap` appended for the prefilter)."""
        own = self.soft.get(start) if self.soft else None
        if own is not None:
            end = start + own
        else:
            end = self.data.find(b"\n", start)
            if end < 0:
                end = len(self.data)
        return self.data[start : min(end, start + MAX_LINE)].decode("utf-8", errors="replace")

    def text_at(self, start: int) -> str:
        """Cleaned text of the line starting at byte offset `start`."""
        return clean_line(self.raw_at(start))

    def joined_at(self, start: int) -> str:
        """Cleaned text of the line at `start` with the continuations `unwrap` joined onto it (for a soft-wrapped
        line; any other line's own text)."""
        text = self._joined.get(start)
        if text is None:
            end = self.data.find(b"\n", start)
            if end < 0:
                end = len(self.data)
            text = clean_line(self.data[start : min(end, start + MAX_LINE)].decode("utf-8", errors="replace"))
            if start in self.soft:
                self._joined[start] = text
        return text

    def soft_whole(self, start: int) -> str | None:
        """For a line of a soft-wrapped message (its first piece or a continuation): the cleaned text of the whole
        message as `unwrap` joined it (up to MAX_SOFT_CHAIN pieces from where it starts); None for any other line."""
        soft = self.soft
        if not soft:
            return None
        head = start if start in soft else None
        pos = start
        for _ in range(MAX_SOFT_CHAIN - 1):
            if pos == 0:
                break
            prev = self.data.rfind(b"\n", 0, pos - 1) + 1
            if prev not in soft:
                break
            head = pos = prev
        return None if head is None else self.joined_at(head)

    def piece_text(self, start: int) -> str | None:
        """For a rejoined line: the cleaned text of its own piece, as the user's line had it (else None)."""
        n = self.wraps.get(start)
        if n is None:
            return None
        piece = self._pieces.get(start)
        if piece is None:
            piece = self._pieces[start] = clean_line(self.data[start : start + n].decode("utf-8", errors="replace"))
        return piece

    def wrap_cut(self, start: int, cleaned: str) -> int | None:
        """For a rejoined line: where its own piece ends in `cleaned`, the line's cleaned text (None for any other
        line).

        Cleaning a piece alone can shorten it more than cleaning the whole line shortens the same piece (a 132-column
        line written as a code span is opened, and its slog message taken out, only when it stands alone), so where
        the cleaned line still ends with the next pieces as the user wrote them, the cut is read from that end; else
        it is the length of the piece cleaned alone."""
        n = self.wraps.get(start)
        if n is None:
            return None
        end = self.data.find(b"\n", start + n)
        tail = self.data[start + n : end if end >= 0 else len(self.data)].decode("utf-8", errors="replace").rstrip("\r")
        if tail and len(tail) < len(cleaned) and cleaned.endswith(tail):
            return len(cleaned) - len(tail)
        return len(self.piece_text(start) or "")

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
        if self.origin is not None:
            out = {start: self._user_line(line) for start, line in out.items()}
        return out

    def neighbours(self, start: int, before: int, after: int) -> tuple[list[int], list[int]]:
        """Start offsets of up to `before` lines above and `after` lines below."""
        above: list[int] = []
        pos = start
        chains = self.chains
        while len(above) < before and pos > 0:
            prev = self.data.rfind(b"\n", 0, pos - 1) + 1
            if prev not in chains:
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
            if pos not in chains:
                below.append(pos)
        above.reverse()
        return above, below

    def tail(self, count: int) -> list[tuple[int, str]]:
        """The last `count` non-blank cleaned lines with their numbers."""
        out: list[tuple[int, str]] = []
        end = len(self.data)
        if self._ends_with_newline():
            end -= 1
        line_no = self._view_lines()
        while end >= 0 and len(out) < count and line_no > 0:
            start = self.data.rfind(b"\n", 0, end) + 1
            text = self.text_at(start)
            if text.strip():
                out.append((self._user_line(line_no), text))
            line_no -= 1
            end = start - 1
            if start == 0:
                break
        out.reverse()
        return out


def normalize(
    data: Buffer,
    origin: list[int] | None = None,
    wraps: dict[int, int] | None = None,
    chains: dict[int, int] | None = None,
    soft: dict[int, int] | None = None,
) -> NormalizedLog:
    return NormalizedLog(Log(data, origin, wraps, chains, soft))


def prepare(data: Buffer) -> NormalizedLog:
    """The log the engine scans: a paste unwrapped (see `unwrap`), a big file as it is."""
    view = unwrap(data)
    return normalize(view.data, view.origin, view.wraps, view.chains, view.soft)


class View(NamedTuple):
    """A paste as the engine scans it: its bytes, the user's line number per line when the lines are not the
    user's own (else None), the rejoined hard wraps (start offset -> bytes of the first piece) and their
    continuations, and the soft wraps joined for the prefilter (start offset -> bytes of the user's line)."""

    data: Buffer
    origin: list[int] | None = None
    wraps: dict[int, int] | None = None
    chains: dict[int, int] | None = None
    soft: dict[int, int] | None = None


# ---- Paste forms: what chat apps, web pages, terminals and other programs' error wrappers do to a log ----
#
# The keyword prefilter reads the raw bytes, so a keyword broken up by colour codes, HTML entities, escapes or a
# terminal's hard wrap is never found, whatever `clean_line` later does to the line. `unwrap` rewrites a paste
# once, before the prefilter, into the form the signatures were written against. Only pastes (up to PASTE_LIMIT)
# are rewritten: a multi-megabyte log came from a file and is scanned as it is, at memory speed.

PASTE_LIMIT = 4 * 1024 * 1024
# Terminal widths a hard wrap happens at: a line of exactly this many characters continues on the next line.
WRAP_WIDTHS = frozenset((80, 100, 120, 132, 160))
MAX_WRAP_CHAIN = 16  # pieces of one wrapped line rejoined at most

_ANSI_B = lazy_regex(rb"\x1b\[[0-9;:?<=>]*[ -/]*[@-~]|\x1b\][^\x07\x1b\n]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]|\x1b")
_ENTITY_B = lazy_regex(_ENTITY_SOURCE.encode())
# An escaped string's line break or quote: `\n`, `\"`, `\'` after an even number of backslashes; or a quote or markup
# character a JSON encoder writes as a `\u` escape: Go's encoder (Ollama's `{"error":"..."}`) writes `<`, `>`, `&`
# as `\u003c`, `\u003e`, `\u0026`, .NET's System.Text.Json also `'`, `"`, `+` and a backtick (`\u0027`, `\u0022`,
# `\u002B`, `\u0060`): `GGML_ASSERT(n_inputs \u003c GGML_SCHED_MAX_SPLIT_INPUTS)`, `architecture: \u0027gemma3n\u0027`.
# Only these seven: other `\u` escapes open a string only beside one of the escapes above.
_ESCAPED_BREAK = lazy_regex(rb"(?<!\\)(?:\\\\)*\\(?:[nr\"']|u00(?:3[cCeE]|2[267bB]|60))")
_ESCAPE = lazy_regex(rb"\\(?:u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|[^\n])")
# A Windows path written with single backslashes: the line is not an escaped string (`C:\new\nvidia`); also behind
# Windows' long-path prefix `\\?\` (Node's dlopen errors print `\\?\C:\...\npm\node_modules\...\llama-addon.node`).
_RAW_PATH = lazy_regex(rb"(?:(?<![\w\\])|(?<=\\\\\?\\))[A-Za-z]:\\(?![\\\nn\"])")
# A relative Windows path with single backslashes (`models\nous-hermes.gguf`, `bin\rocm\x`): its one `\n` is
# a folder name, not an escaped line break.
_PATH_TOKEN = lazy_regex(rb"[\w.-]\\[\w.-]+(?:\.[A-Za-z0-9]{1,12}\b|\\[\w.-])")
# A line as wide as a terminal (80, 100, 120, 132 or 160 bytes) followed by more text: a paste may hold a hard wrap.
_WRAPPED = lazy_regex(rb"(?m)^(?:[^\n]{80}|[^\n]{100}|[^\n]{120}|[^\n]{132}|[^\n]{160})\r?\n[^\n]")
# A line wider than a terminal in bytes: with UTF-8 text a line as wide as a terminal in characters is longer in
# bytes than the widths above, so a non-ASCII paste is checked line by line (`_width` counts characters).
_WIDE = lazy_regex(rb"(?m)^[^\n]{81,}\r?\n[^\n]")
# A continuation that only looks like a `file.ext: ` logger because the wrap cut a word (`...TensileLibrary.dat: `
# cut after `Te`): lower case, a dot, and no underscore, after a piece that ends inside a word.
_CUT_NAME = lazy_regex(rb"[a-z0-9][A-Za-z0-9]{0,40}\.[\w.-]{0,40}: ")
# A bug-report form's field (`App Version: `, `Default Model: `, `OS: `): Title Case words, a colon, a value. A terminal
# that wraps at a column rarely cuts a line just before such a head, and a report's field line that happens to be
# exactly 80 or 100 columns wide is followed by the next field (Vibe's `Models: ...` then `Default Model: `, vibe#1225).
_FIELD_START = lazy_regex(rb"[A-Z][A-Za-z]{0,20}(?: [A-Z][A-Za-z]{0,20}){0,3}: \S")
_RECORD_START = lazy_regex(
    rb"(?:time=|\[?\d{4}[-/]\d\d[-/]\d\d[T ]|[A-Z][a-z]{2} +\d{1,2} \d\d:|[\w.-]{1,40} +\| "
    rb"|(?:[A-Za-z]\w{0,40}[_.][\w.-]{0,40}|[A-Z]\w{0,40}(?:Error|Exception)|(?i:error|warning|info|debug|fatal|note|panic)): )"
)
RUN_ON = 400  # a line at least this long ...
RUN_ON_RECORDS = 3  # ... holding at least this many record starts is a log that lost its line breaks
_LONG = lazy_regex(rb"(?m)^[^\n]{400}")
# Where a record begins inside a run-on line: after a space, a logger's `function_name: ` / `file.cpp:12: `, an
# Ollama `time=`, an ISO timestamp, a Python traceback's parts, a JavaScript stack frame, an exception's name.
_RUN_ON_START = lazy_regex(
    rb"(?<= )(?:[a-z][a-z0-9]*(?:_[a-z0-9]+)+: |[\w-]+\.(?:cpp|cu|c|h|go|py|m|mm):\d+: |time=\d{4}-|\d{4}-\d\d-\d\d[T ]\d\d:"
    rb"|Traceback \(|File \"|at [\w.$<>]+ \(|[A-Z]\w{2,40}(?:Error|Exception): )"
)
_SIMPLE_ESCAPES = {b"n": b"\n", b"r": b"", b"t": b"\t", b"0": b""}


def _entity(m: re.Match[bytes]) -> bytes:
    import html  # rare, and html.entities is slow to import

    text = html.unescape(m.group().decode("ascii"))
    return text.replace("\n", " ").replace("\r", " ").encode("utf-8", errors="replace")


def _escape(m: re.Match[bytes]) -> bytes:
    seq = m.group()
    ch = seq[1:2]
    if ch in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[ch]
    if ch in b"ux" and len(seq) > 2:
        code = int(seq[2:], 16)
        return b" " if code in (10, 13) else chr(code).encode("utf-8", errors="replace")
    return seq[1:]  # \" \' \\ \/ and anything else: the character itself


def _escaped_string(line: bytes) -> bool:
    r"""A line holding an escaped multi-line string or quoted message: a JSON error body, a Python repr, a shell
    argument: two escapes, or one line break (or one `\u003c`-style escape) inside a quoted string. Ollama's own slog
    lines are left to `clean_line`, which reads their quoting itself; a line with a single-backslash Windows path is
    raw text."""
    if line.startswith(b"time=") or _RAW_PATH().search(line):
        return False
    found = _ESCAPED_BREAK().finditer(line, 0, MAX_LINE * 8)
    first = next(found, None)
    if first is None:
        return False
    if next(found, None) is not None:
        return True
    return (
        (first.group().endswith(b"n") or first.group()[-6:-4] == b"\\u")  # a line break, or a `\u003c`-style escape
        and _string_start(line, first.start()) >= 0
        and _PATH_TOKEN().search(line) is None
    )


STRING_SCAN = 64 * 1024  # bytes of a line read for the opening quote of its escaped string


def _string_start(line: bytes, upto: int) -> int:
    """The offset of the opening quote of the string that is open at `upto`, reading the line from its start as
    JSON and Python literals are read (-1 when none is): `{"error": "` and `ValueError('` open one, `can't` not."""
    if upto > STRING_SCAN:
        return -1  # a string opened that far into a line is no error wrapper's; and the scan is Python, bytewise
    quote = 0
    start = -1
    i = 0
    while i < upto:
        c = line[i]
        if quote:
            if c == 0x5C:  # a backslash escapes the next character
                i += 2
                continue
            if c == quote:
                quote, start = 0, -1
        elif c == 0x22 or (c == 0x27 and not (line[i - 1 : i].isalpha() and line[i + 1 : i + 2].isalpha())):
            quote, start = c, i
        i += 1
    return start if quote else -1


def _open_string(line: bytes) -> list[bytes]:
    """An escaped-string line as lines: what comes before the string's opening quote (`{"error": "`,
    `ValueError('`), the string's own lines unescaped, and the closing quote with what follows (`"}`, `')`) on a
    line of its own, so that the message's first and last lines are as the program printed them."""
    first = _ESCAPED_BREAK().search(line)
    start = _string_start(line, first.start()) if first else -1
    head, body, tail = b"", line, b""
    if start >= 0:
        head, body = line[: start + 1], line[start + 1 :]
        quote = line[start : start + 1]
        end = _string_end(body, quote)
        if end >= 0:  # the string closes: what follows (`"}`, `", "type": "api_error"}}`, `')`) is the tail
            body, tail = body[:end], body[end:]
    pieces = _ESCAPE().sub(_escape, body).split(b"\n")
    return ([head] if head.strip() else []) + pieces + ([tail] if tail else [])


_AFTER_STRING = frozenset(b",}])`")  # what follows a closed string in JSON or a Python repr (or ends a code span)


def _string_end(body: bytes, quote: bytes) -> int:
    """The offset in `body` of the quote that closes the string `body` continues: the first one not escaped by an
    odd run of backslashes and followed (after spaces) by a separator or closer (`,` `}` `]` `)`) or the end;
    failing that (a message whose own quotes the program did not escape), the line's last quote before its closers
    if it is not escaped; -1 when there is none (a cut paste). Linear: each backslash run is counted once, for the
    quote after it."""
    at = body.find(quote)
    while at >= 0:
        run = 0
        while run < at and body[at - run - 1] == 0x5C:
            run += 1
        if run % 2 == 0:
            after = body[at + 1 : at + 80].lstrip(b" \t\r")
            if not after or after[0] in _AFTER_STRING:
                return at
        at = body.find(quote, at + 1)
    rest = body.rstrip(b" \t\r)]},;.`")
    return len(rest) - 1 if rest.endswith(quote) and not rest.endswith(b"\\" + quote) else -1


def _expand(
    lines: list[bytes], origin: list[int], pieces_of: Callable[[bytes, bytes], list[bytes] | None]
) -> tuple[list[bytes], list[int]]:
    """Each line replaced by its pieces (`pieces_of(line, previous line)`, None: the line as it is), every piece
    keeping the user's line number."""
    out: list[bytes] = []
    out_origin: list[int] = []
    prev = b""
    for line, number in zip(lines, origin):
        pieces = pieces_of(line, prev)
        prev = line
        if pieces is None:
            out.append(line)
            out_origin.append(number)
        else:
            out.extend(pieces)
            out_origin.extend([number] * len(pieces))
    return out, out_origin


MAX_ESCAPE_DEPTH = 3  # a JSON error body inside another's message (a proxy's or an agent's), and one level more


def _escaped_pieces(line: bytes, prev: bytes, depth: int = 1) -> list[bytes] | None:
    """An escaped-string line split at its escaped line breaks. A piece that is itself an escaped string is opened
    too, up to MAX_ESCAPE_DEPTH levels: a provider's JSON error quoted inside a proxy's JSON error still has its
    quotes and line breaks escaped once the outer string is opened."""
    if not (b"\\" in line and _escaped_string(line)):
        return None
    pieces = _open_string(line)
    if depth >= MAX_ESCAPE_DEPTH or not any(b"\\" in piece for piece in pieces):
        return pieces
    out: list[bytes] = []
    for piece in pieces:
        inner = _escaped_pieces(piece, b"", depth + 1)
        out.extend(inner if inner is not None else [piece])
    return out


def _width(line: bytes) -> int:
    if line.isascii():
        return len(line.rstrip(b"\r"))
    return len(line.rstrip(b"\r").decode("utf-8", errors="replace"))


def _starts_record(first: bytes, nxt: bytes) -> bool:
    """Whether `nxt` begins a log record of its own rather than continuing a wrapped line: it is blank, begins
    like `first` does (the same prefix, logger or timestamp), or begins with a timestamp, `time=`, a logger's
    `function_name: ` / `file.go: `, an exception's name, a level (`error: `) or a report form's field
    (`Default Model: `); `rror: ` is a continuation.
    A terminal wraps at a column, not at a word, so a continuation rarely begins like any of these."""
    if not nxt.strip():
        return True
    head = first[:8]
    if len(head) == 8 and nxt.startswith(head):
        return True
    if first.rstrip(b"\r")[-1:].isalnum() and _CUT_NAME().match(nxt) is not None:
        return False  # a word cut in two, not a logger's name
    return _RECORD_START().match(nxt) is not None or _FIELD_START().match(nxt) is not None


def _rejoin_wraps(
    lines: list[bytes], numbers: list[int] | None = None
) -> tuple[list[bytes], dict[int, int], dict[int, int]]:
    """A line exactly as wide as a terminal, followed by more text, continues on the next line: each piece but the
    last becomes itself joined with the pieces after it, and matches must start in the piece itself (`Log.wraps`),
    so a line that only looked wrapped still matches as it is, and the number of lines does not change.
    `numbers` (the user's line number of each line, when an earlier step split lines) keeps apart the pieces of
    one user line: a terminal wraps the lines it was given, so where an escaped string or a run-on line was split
    is never a wrap, however wide the piece before it happens to be.
    Returns the lines, {line index: bytes of its own piece} and {continuation index: its first piece's index}."""
    out = list(lines)
    firsts: dict[int, int] = {}  # line index -> bytes of its own piece
    heads: dict[int, int] = {}  # continuation line index -> the index of its wrapped line's first piece
    i = 0
    n = len(lines)

    def split_here(k: int) -> bool:  # lines k and k + 1 are pieces of one user line
        return numbers is not None and numbers[k] == numbers[k + 1]

    while i < n - 1:
        line = lines[i]
        if (
            len(line) < 80
            or (w := _width(line)) not in WRAP_WIDTHS
            or split_here(i)
            or _starts_record(line, lines[i + 1])
        ):
            i += 1
            continue
        j = i + 1  # lines[i:j+1] are the pieces: each but the last exactly as wide as the first
        while (
            j < n - 1
            and j - i < MAX_WRAP_CHAIN
            and _width(lines[j]) == w
            and not split_here(j)
            and not _starts_record(line, lines[j + 1])
        ):
            j += 1
        pieces = [piece.rstrip(b"\r") for piece in lines[i : j + 1]]
        for k in range(len(pieces) - 1):  # each piece joined with the rest: a message may start in any of them
            out[i + k] = b"".join(pieces[k:])
            firsts[i + k] = len(pieces[k])
        heads.update((k, i) for k in range(i + 1, j + 1))
        i = j + 1
    return out, firsts, heads


# ---- Soft wraps: a terminal, an editor or a forum that broke a long line at a word boundary ----
#
# `...error loading model architecture: unknown model` / `architecture: 'gemma3n'`: no line holds the keyword, so
# the prefilter never offers the line to its signature. A line that looks wrapped is joined with its continuation
# (pieces joined by one space) in the bytes the prefilter reads; `Log.soft` keeps the user's line for everything
# else, so every line keeps its own text and number. The matcher then tries the joined pieces for a message that
# crosses the break (on the line where it starts), and a line's `unless` guards read the whole message, as do
# the guards of a window it falls in. A wrong join costs a candidate line and lets guards read one line further.

SOFT_WIDTHS = (60, 72, 76, 80, 100, 120, 132, 160)  # wrap widths of terminals, editors and mail/forum columns
SOFT_MIN = 24  # a wrapped line is at least this wide (a shorter one was broken before a URL or a path)
SOFT_MAX = 400  # a paste's own wrap width above this is no wrap width (and a run-on line is `_run_on_pieces`')
MAX_SOFT_CHAIN = 4  # pieces of one soft-wrapped line joined at most (the paste grows at most 4x)
# Pastes up to this size are looked at: a soft-wrapped paste is a forum post or an issue (GitHub caps a body at
# 64 KiB), and a crafted one that joins every line grows to at most 1 MiB, well inside what a paste may cost.
SOFT_LIMIT = 256 * 1024
# A line that may have been broken before its next word: not short, and not ending a sentence or opening a block
# (`. ! ? ;`, `{`, `[`; a colon may end a piece: `.../rope.cu:531:` / `GGML_ASSERT(...) failed`). Whether the
# next word would have fitted is `_broken_before`'s question, whether the next line reads as the rest of the
# sentence `_continues`'.
_SOFT_HEAD = lazy_regex(rb"(?m)^[^\n]{%d,%d}(?<![\s.!?;{\[])[ \t]*\r?\n(?=[ \t]{0,16}[^\s])" % (SOFT_MIN, SOFT_MAX))
# A hanging indent: notes, bug-report drafts and chat answers break a long quoted line by hand and indent the rest
# (`radv/amdgpu: Not enough memory` / `  for command submission`, `check_tensor_dims: tensor '...'` / `   not
# found`). The break is where the author chose, so no wrap width tells; what tells is the shape: the piece is
# indented deeper than its line and reads as the rest of a sentence (a lower-case word), and the line is no
# header of a block (`:` at its end: `found 1 CUDA devices:`, CMake's `(message):`) and no Python frame (its
# code follows indented).
_HANG_INDENT = lazy_regex(rb"(?:[ ]{2,16}|\t{1,2})(?=[a-z])")
# A stack frame (`at loader.cpp:123`) or a line of code is no rest of a sentence.
_HANG_STOP = lazy_regex(rb"at |(?:return|raise|await|yield|import|def|class|elif|else) |self\.")
_FRAME_LINE = lazy_regex(rb"\s*File \"|.*, line \d+, in \S+\s*$")
# What begins a line of its own rather than continuing a sentence: a bracketed or numbered head (`[pid]`,
# `[INFO]`, `1. `, `12:00`, llama.cpp's `0.06.650.537 E`, a crash report's `8   libggml.dylib`), a Markdown
# fence, a Go or C frame (`runtime.cgocall(`, `free(): `), a pip pin, closing quotes alone (`")`), a list, table,
# quote, prompt or heading mark (`$ `, `(venv) user@host`, `C:\x> `), a stack frame (`at x (`, `File "`, `#0 `,
# `frame #`), a capitalised word then a space or colon (a new message: `Loading model`, `Error:`; acronyms such
# as `CUDA` or `MiB`, and `Files\AMD` of a path, may continue one), a key-value dump, a label alone, a program's
# path as a prefix (`/usr/bin/ld: `, `/usr/bin/nvcc: `) or a source location (`ggml.c:(.text+0x2c65)`,
# `rope.cu:531:`); plus `_RECORD_START` (timestamps, `time=`, loggers, levels, exception names). A file's path
# (`/models/x.gguf: no such file`) may continue a message.
_SOFT_STOP = lazy_regex(
    rb"[\[\]#|*+>$<{}=%~@!&]|- |-{2}|`{3}|__|\.\s*$|\d+[.:)](?:\s|\d)|\d+\s{2}|0x|\.{2}|at \S+ \(|at [\w.$]+\.\w+\("
    rb"|[\w$]+(?:\.[\w$*]+)+\(|\w+\(\)|[\w.-]{1,40}==|[\"')\]},;]{1,8}\s*$"
    rb"|File \"|frame #|[A-Z][a-z]{2,}(?:[ ,:]|\r?$)|\([\w.-]{1,40}\) (?:[\w.-]{1,40}@|PS |[A-Za-z]:\\|[~/])"
    rb"|[A-Za-z]:\\[^\s>]{0,200}>|PS |[\w.-]{1,40}[ \t]*=[ \t]|[\w-]{1,40}:[ \t]*\r?$"
    rb"|(?:\.{0,2}/[\w.+-]{1,60}){0,12}/[\w+-]{1,60}: |[\w./-]{1,200}\.(?:c|cc|cpp|cu|h|hpp|m|mm|go|py|rs|js|ts|metal):[(\d]"
)


def _continues(line: bytes, nxt: bytes) -> bool:
    """Whether `nxt` reads as the rest of `line`'s sentence: not blank, not indented (one space is the one the
    wrap moved; a hanging indent is `_hangs`'), not the start of a record (`_RECORD_START`, the same head as
    `line`, `_SOFT_STOP`)."""
    if nxt[:1] == b" " and nxt[1:2] not in b" \t":
        nxt = nxt[1:]  # the wrap left the space before the word on the next line: not an indent
    if not nxt.strip() or nxt[:1] in b" \t":
        return False
    head = line[:8]
    if len(head) == 8 and nxt.startswith(head):
        return False
    return _RECORD_START().match(nxt) is None and _SOFT_STOP().match(nxt) is None


def _hangs(line: bytes, nxt: bytes) -> bool:
    """Whether `nxt` is the rest of `line` broken by hand with a hanging indent (see `_HANG_INDENT`)."""
    m = _HANG_INDENT().match(nxt)
    if m is None or line.rstrip(b" \t\r")[-1:] == b":":
        return False
    own = len(line) - len(line.lstrip(b" \t"))
    body = nxt[m.end() :]
    return (
        m.end() > own
        and _HANG_STOP().match(body) is None
        and _FRAME_LINE().match(line) is None
        and _continues(line.lstrip(b" \t"), body)
    )


def _broken_after_colon(written: bytes, nxt: bytes) -> bool:
    """Whether `written` (a line as the paste has it) stops at `: ` with its space kept before a lower-case `nxt`: a
    chain of errors broken where it had its space (Go's `Get "...": ` / `dial tcp ...`), which no width tells."""
    line = written.rstrip(b" \t\r")
    return line[-1:] == b":" and written[len(line) : len(line) + 1] == b" " and nxt[:1].islower()


def _soft_widths(source: bytes) -> tuple[int, ...]:
    """The widths a paste may be soft-wrapped at: the common ones and the paste's own widest line."""
    widest = max(map(len, source.split(b"\n")), default=0)
    return SOFT_WIDTHS + ((widest,) if SOFT_MIN <= widest <= SOFT_MAX else ())


def _broken_before(width: int, nxt: bytes, widths: tuple[int, ...]) -> bool:
    """The line was broken because the next word did not fit: some wrap width lies between its own width and
    its width with the next word."""
    word = len(nxt.split(None, 1)[0]) if nxt.strip() else 0
    return any(width <= w < width + 1 + word for w in widths)


def _soft_candidates(source: bytes, joined: set[int], continued: set[int]) -> set[int]:
    """Indexes of the lines of `source` that continue softly on the next line (see above). A hard wrap's joined
    pieces (`joined`) are not joined again, and no line is joined onto a hard wrap's continuation (`continued`);
    its last piece may continue softly. Reads `source` in place: most pastes have none, and are not split."""
    widths: tuple[int, ...] | None = None
    wrapped: set[int] = set()
    i = pos = 0
    for m in _SOFT_HEAD().finditer(source):
        i += source.count(b"\n", pos, m.start())  # the index of the line the match starts
        pos = m.start()
        if i in joined or i + 1 in continued:
            continue
        end = source.find(b"\n", m.end())
        raw, raw_next = source[m.start() : m.end() - 1].rstrip(b" \t\r"), source[m.end() : end if end >= 0 else len(source)]
        # As written, or as the signatures will read them when both lines carry a prefix `clean_line` removes (a
        # quote mark, a container's or journald's prefix, a timestamp: a quoted or prefixed copy of a wrapped paste).
        if _continues(raw, raw_next):
            line, nxt = raw, raw_next
            if _broken_after_colon(source[m.start() : m.end() - 1], raw_next):
                wrapped.add(i)  # broken where a chain of errors had its space: no wrap width to check
                continue
        elif _hangs(raw, raw_next):
            wrapped.add(i)  # broken by hand: no wrap width to check
            continue
        elif not (_maybe_prefixed(raw) and _maybe_prefixed(raw_next)):
            continue
        else:
            line, nxt = _cleaned(raw), _cleaned(raw_next)
            if not (_prefixed(raw, line) and _prefixed(raw_next, nxt) and _continues(line, nxt)):
                continue
        if widths is None:
            widths = _soft_widths(source)
        # When the next line starts a record of its own (journald's or a timestamped log's prefix on both lines),
        # the program broke its message before the prefix was added: the width as written counts only against the
        # paste's own widest line (which carries a prefix too), not against a terminal's width that the prefix
        # alone may make the line reach.
        own_record = line is not raw and _RECORD_START().match(raw_next) is not None
        raw_widths = widths[len(SOFT_WIDTHS) :] if own_record else widths
        if _broken_before(_width(line), nxt, widths) or _broken_before(_width(raw), nxt, raw_widths):
            wrapped.add(i)
    return wrapped


def _soft_join(lines: list[bytes], wrapped: set[int]) -> tuple[list[bytes], dict[int, int]]:
    """Each soft-wrapped line joined with up to MAX_SOFT_CHAIN - 1 pieces after it (bounded work per line, and a
    paste grows at most that many times), continuations as `clean_line` reads them; and {line index: bytes of
    the user's own line}."""
    out = list(lines)
    own: dict[int, int] = {}
    for i in wrapped:
        j = i + 1
        while j in wrapped and j - i < MAX_SOFT_CHAIN - 1:
            j += 1
        first = lines[i].rstrip(b" \t\r")
        rest = [_cleaned(piece).rstrip(b" \t\r").lstrip(b" \t") for piece in lines[i + 1 : j]]
        rest.append(_cleaned(lines[j]).lstrip(b" \t"))
        out[i] = b" ".join([first, *rest])
        own[i] = len(first)
    return out, own


def _maybe_prefixed(line: bytes) -> bool:
    """A line `clean_line` may strip a prefix from (a quote mark, a date or timestamp, a container's name): the
    cheap test before cleaning it."""
    head = line[:1]
    return head in b">[" or head.isdigit() or head.isupper() or b" | " in line[:60]


def _prefixed(raw: bytes, cleaned: bytes) -> bool:
    """`clean_line` removed a prefix and nothing else (not Ollama's slog, which it rewrites)."""
    raw = raw.rstrip(b"\r")
    return len(cleaned) < len(raw) and raw.endswith(cleaned) and not raw.startswith(b"time=")


def _cleaned(line: bytes) -> bytes:
    """A line as `clean_line` gives it to the signatures (prefixes and quote marks gone), as bytes."""
    head = line[:1]
    if (
        head.islower()  # no quote, journald date, timestamp or fence: `clean_line`'s own first-character tests
        and not line.startswith(b"time=")
        and b" | " not in line[:60]
        and line.isascii()
        and not any(mark in line for mark in (b"\x1b", b"\r", b"#011", b"&", b"^M"))
    ):
        return line  # nothing for `clean_line` to remove (most lines of a llama.cpp log): no decoding
    return clean_line(line.decode("utf-8", errors="replace")).encode("utf-8")


def _wrapper_pieces(line: bytes, prev: bytes) -> list[bytes] | None:
    """LangChain's `... Received error <the runtime's message> (type=value_error)`: the message on a line of its
    own, so that it starts and ends as the runtime printed it."""
    if _width(line) in WRAP_WIDTHS or _width(prev) in WRAP_WIDTHS:  # a hard wrap's piece: left whole
        return None
    head = line.find(b"Received error ")
    tail = line.rfind(b" (type=value_error)")
    if head < 0 and tail < 0:
        return None
    cut = sorted({0, len(line), *([head + len(b"Received error ")] if head >= 0 else []), *([tail] if tail > head else [])})
    pieces = [line[a:b] for a, b in zip(cut, cut[1:]) if line[a:b].strip()] or [line]
    if head >= 0 and len(pieces) > 1 and pieces[1].strip() and not pieces[1].startswith(b" (type="):
        # the wrapper keeps its message too: `Received error ` alone would read as an empty error
        pieces[0] += pieces[1]
    return pieces


# An inline code span in prose: `ggml_metal_graph_compute: command buffer 3 failed with status 5` quoted in a sentence.
# A message, not a name: words with a space between them (a program's own line quotes paths and names in backticks,
# crun's `cannot stat `/usr/lib64/libEGL_nvidia.so.550`: ...`), and long enough to be a line (MIN_CODE_SPAN; checked
# after the match, so that a short span is still consumed whole and its closing backtick never opens another).
MAX_CODE_SPANS = 64  # quoted-line spans a paste may hold for them to be read as quoted lines
MIN_CODE_SPAN = 24
_CODE_SPAN = lazy_regex(rb"(?<![`\w])`([^`\n ]{1,200} [^`\n]{1,400})`(?![`\w])")


def _quoted_spans(data: bytes) -> Iterator[tuple[int, int]]:
    """Where each inline code span long enough to be a quoted line holds its text."""
    for m in _CODE_SPAN().finditer(data):
        if m.end(1) - m.start(1) >= MIN_CODE_SPAN:
            yield m.span(1)


def _code_span_pieces(line: bytes, prev: bytes) -> list[bytes] | None:
    """A line of prose quoting a program's line as an inline code span: the line as written, then each quoted line
    on a line of its own, so that it starts and ends as the program printed it (the sentence is kept whole: programs
    print backticked commands in their own messages). A line that is one span as a whole is `clean_line`'s; a
    fence, a hard wrap's piece and a program's own line that quotes names in backticks are left alone."""
    if b"`" not in line:  # most lines of a paste that quotes a span somewhere: no width to measure, no search
        return None
    if b"```" in line or _width(line) in WRAP_WIDTHS or _width(prev) in WRAP_WIDTHS:  # a fence, a hard wrap's piece
        return None
    spans = list(_quoted_spans(line))
    if not spans:
        return None
    if len(spans) == 1 and line.count(b"`") == 2 and "`" not in clean_line(line.decode("utf-8", "replace")):
        return None  # the whole line is the span (behind any prefix clean_line strips): clean_line opens it
    return [line, *(line[start:end] for start, end in spans)]


def _run_on_pieces(line: bytes, prev: bytes) -> list[bytes] | None:
    """A whole log pasted as one line (a chat box or a form field that ate the line breaks) split again before
    each record start it holds (`llama_model_load: `, `time=`, a timestamp, a stack frame, an exception). Only a
    long line with many record starts is split."""
    starts = [m.start() for m in _RUN_ON_START().finditer(line)] if len(line) >= RUN_ON else []
    if len(starts) < RUN_ON_RECORDS:
        return None
    bounds = [0, *starts, len(line)]
    return [line[a:b].rstrip() for a, b in zip(bounds, bounds[1:])]


def _dedent(lines: list[bytes]) -> list[bytes]:
    """The indentation every non-blank line shares removed (a paste indented as a Markdown code block, or by a
    wrapper that indents what it quotes): signatures see the lines as the program printed them."""
    common: bytes | None = None
    for line in lines:
        body = line.lstrip(b" \t")
        if not body.strip():
            continue
        indent = line[: len(line) - len(body)]
        if common is None or not indent.startswith(common):
            common = indent if common is None else _shared(common, indent)
        if not common:
            return lines
    if not common:
        return lines
    n = len(common)
    return [line[n:] if line.startswith(common) else line.lstrip(b" \t") for line in lines]


def _shared(a: bytes, b: bytes) -> bytes:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def unwrap(data: Buffer) -> View:
    """A paste in the form signatures are written against, and the user's line number of each of its lines
    (None when the lines are still the user's own): colour codes and HTML entities removed across the whole
    paste, escaped strings (JSON error bodies, Python reprs) opened into their lines, lines a terminal
    hard-wrapped joined again. Each step costs one C-speed search when its input is absent."""
    if len(data) > PASTE_LIMIT or not isinstance(data, bytes):
        return View(data)
    if b"&" in data and _ENTITY_B().search(data):
        data = _ENTITY_B().sub(_entity, data)
    origin: list[int] | None = None
    lines: list[bytes] | None = None
    numbers: list[int] | None = None  # the user's line number of each line, once a step split lines
    splits: list[Callable[[bytes, bytes], list[bytes] | None]] = []  # the steps that split a line into several
    if b"`" in data and 0 < sum(1 for _ in islice(_quoted_spans(data), MAX_CODE_SPANS + 1)) <= MAX_CODE_SPANS:
        splits.append(_code_span_pieces)  # a prose report quotes a few lines; hundreds of spans are no report
    if b"\\" in data and _ESCAPED_BREAK().search(data):
        splits.append(_escaped_pieces)
    if b"Received error" in data or b"(type=value_error)" in data:
        splits.append(_wrapper_pieces)
    if _LONG().search(data):
        splits.append(_run_on_pieces)
    for step in splits:
        if lines is None or numbers is None:
            lines = data.split(b"\n")
            numbers = list(range(1, len(lines) + 1))
        lines, numbers = _expand(lines, numbers, step)
        if len(lines) > numbers[-1]:
            origin = numbers
    if b"\x1b" in data:
        if lines is not None:
            lines = [_ANSI_B().sub(b"", line) if b"\x1b" in line else line for line in lines]
        else:
            data = _ANSI_B().sub(b"", data)
    if data.lstrip(b"\r\n")[:1] in (b" ", b"\t"):
        lines = _dedent(lines if lines is not None else data.split(b"\n"))
    soft_ok = len(data) <= SOFT_LIMIT
    if lines is None and not (_WRAPPED().search(data) or (not data.isascii() and _WIDE().search(data))):
        wrapped = _soft_candidates(data, set(), set()) if soft_ok else set()  # the common case: no other step
        if not wrapped:
            return View(data, origin)
        lines, firsts, heads = data.split(b"\n"), dict[int, int](), dict[int, int]()
    else:
        source = data if lines is None else b"\n".join(lines)  # the lines before hard wraps are joined (same count)
        lines, firsts, heads = _rejoin_wraps(lines if lines is not None else data.split(b"\n"), numbers)
        wrapped = _soft_candidates(source, set(firsts), set(heads)) if soft_ok else set()
    lines, own = _soft_join(lines, wrapped)
    data = b"\n".join(lines)
    if origin is not None and data.endswith(b"\n"):
        origin = origin[:-1]  # a trailing newline ends the last line rather than starting one more
    if not (firsts or own):
        return View(data, origin)
    offsets = [0, *accumulate(len(line) + 1 for line in lines)]
    wraps = {offsets[k]: n for k, n in firsts.items()}
    chains = {offsets[k]: offsets[h] for k, h in heads.items()}
    soft = {offsets[k]: n for k, n in own.items()}
    return View(data, origin, wraps or None, chains or None, soft or None)


