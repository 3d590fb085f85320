"""`triage kb check|list|show|search`: the knowledge base for people.

`check_kb` goes beyond what loading validates: each signature's own examples,
each recorded emitter (the format string that prints the line, instantiated
with sample values and wrapped the way runtimes wrap it), regex timing on
hostile input built from each pattern's own literals and repeats, and how many
real fixtures back each signature.
"""

from __future__ import annotations

import inspect
import json
import re
import re._constants as sre_c  # type: ignore[import-not-found]
import re._parser as sre_parse  # type: ignore[import-not-found]
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

import regex

from .decode import decode
from .engine import Engine
from .errors import DataError
from .load import KnowledgeBase, Signature, builtin_dir
from .match import build_index, scan
from .normalize import clean_line, prepare

__all__ = [
    "adversarial_inputs",
    "check_kb",
    "default_fixture_dirs",
    "emitter_lines",
    "fixture_backing",
    "emitter_problem",
    "instantiate",
    "list_kb",
    "parse_format",
    "pattern_attacks",
    "show_entry",
]

SLOW_LIMIT = 0.05  # seconds a single regex may take on a hostile 20 kB line
HOSTILE_LEN = 20000

# ---------------------------------------------------------------------------
# Emitters: the format string that prints a line, instantiated with samples.
# ---------------------------------------------------------------------------

# Non-negative on purpose: most %d values are counts and sizes; where a value can be negative in
# practice, the regex says so (`-?\d+`) and an example shows it.
# Non-negative on purpose: most %d values are counts and sizes; where a value can be negative in
# practice, the regex says so (`-?\d+`) and an example shows it.
_INT = ("0", "7", "4096", "2147483647")
_UINT = ("0", "7", "4096", "3221225501")
_LONG = ("140737488355328", "3221225501")  # added for %ld, %lld, %zd, ...
_ULONG = ("18446744073709551615", "140737488355328")  # added for %lu, %llu, %zu, %lx, ...
_FLOAT = (0.0, 1.5, 4096.25, 12345.678)
# Sample strings by kind: a hole may accept one kind and refuse another (an op name is never a
# path), but refusing part of a kind (a path with spaces, with backslashes) is a gap.
_STR_KINDS = {  # the first of each kind is the plain one: a hole that takes it must take the rest
    "llama": "word",
    "/usr/lib/ollama/libggml-cuda.so": "path",
    "/home/user/my models/model-q4_0.gguf": "path",
    "C:\\Users\\user\\My Models\\model.gguf": "path",
    "D:\\models\\qwen2.5-7b-instruct-q4_k_m.gguf": "path",
    "(null)": "null",
    "0x1f": "hex",
}
_STR = tuple(_STR_KINDS)
_PTR = ("0x7ffe1234abcd", "(nil)", "00007FF61234ABCD")
_CHAR = ("x", "/")


def sample_kind(value: str) -> str:
    """The kind a sample value belongs to: holes must accept all or none of a kind."""
    if value in _STR_KINDS:
        return _STR_KINDS[value]
    unquoted = value.strip("'\"").replace("\\\\", "\\")
    if unquoted in _STR_KINDS:
        return "quoted " + _STR_KINDS[unquoted]
    if value in ("<nil>", "(nil)"):
        return "null"
    if re.fullmatch(r"\s*[-+]?(?:0x)?[0-9a-fA-F]+(?:\.[0-9]+)?(?:e[-+]?\d+)?%?", value):
        return "number"
    return "value"


_PRI = re.compile(r'%([-+ #0]*(?:\d+)?(?:\.\d+)?)"\s*PRI([diouxX])(?:8|16|32|64|MAX|PTR|FAST\d+|LEAST\d+)\s*"')
_C_ESCAPE = re.compile(r'\\([ntr"\\])')
_PRINTF = re.compile(
    r"%(?P<flags>[-+ #0']*)(?P<width>\*|\d+)?(?:\.(?P<prec>\*|\d+))?"
    r"(?P<len>hh|h|ll|l|j|z|t|L|q|I64|I32|I)?(?P<conv>[diouxXeEfFgGaAcspS%])"
)
_GO = re.compile(r"%(?P<flags>[-+ #0]*)(?P<width>\d+)?(?:\.(?P<prec>\d+))?(?P<conv>[vTtbcdoOqxXUeEfFgGspw%])")
_BRACE = re.compile(r"\{\{|\}\}|\$?\{(?P<body>[^{}]*)\}")
_CPP_BRACE = re.compile(r"\{(?P<body>(?::[^{}]*)?)\}")


def emitter_style(file: str) -> str:
    """How the emitting file formats: 'python', 'go', 'js' or 'printf' (C, C++, ObjC, CUDA)."""
    ext = file.rsplit(".", 1)[-1].lower() if "." in file else ""
    if ext in ("py", "pyx"):
        return "python"
    if ext == "go":
        return "go"
    if ext in ("js", "ts", "mjs", "cjs", "tsx"):
        return "js"
    return "printf"


def _printf_values(m: re.Match[str]) -> list[str]:
    """Sample renderings of one printf conversion."""
    conv, flags, width, prec = m["conv"], (m["flags"] or "").replace("'", ""), m["width"], m["prec"]
    if conv == "%":
        return ["%"]
    spec = "%" + flags + (width if width and width != "*" else "") + (f".{prec}" if prec and prec != "*" else "")
    wide = bool(m["len"]) and m["len"] not in ("h", "hh")
    if conv in "di":
        return [(spec + "d") % int(v) for v in _INT + (_LONG if wide else ())]
    unsigned = _UINT + (_ULONG if wide else ())
    if conv in "uo":
        return [(spec + ("d" if conv == "u" else "o")) % int(v) for v in unsigned]
    if conv in "xX":
        return [(spec + conv) % int(v) for v in unsigned]
    if conv in "eEfFgGaA":
        c = "f" if conv in "aA" else conv
        if prec == "*":
            spec += ".2"
        return [(spec + c) % v for v in _FLOAT]
    if conv == "c":
        return list(_CHAR)
    if conv == "p":
        return list(_PTR)
    if conv in "sS":
        values = list(_STR)
        if prec and prec != "*":
            values = [v[: int(prec)] for v in values]
        return [(spec.split(".")[0] + "s") % v for v in values]
    return list(_STR)  # %n and friends never print; treat as text


def _go_quote(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _go_values(m: re.Match[str]) -> list[str]:
    conv = m["conv"]
    if conv == "%":
        return ["%"]
    if conv in "dbo":
        return list(_INT + _LONG)
    if conv in "xX":
        return [format(int(v), conv) for v in _UINT + _ULONG]
    if conv in "eEfFgG":
        prec = m["prec"]
        return [format(v, f".{prec or 6}{'f' if conv in 'fF' else conv}") for v in _FLOAT]
    if conv == "q":
        return [_go_quote(v) for v in _STR]
    if conv == "t":
        return ["true", "false"]
    if conv == "T":
        return ["*errors.errorString", "string"]
    if conv == "c":
        return list(_CHAR)
    return [*_STR, "<nil>", "3221225501", "exit status 0xc0000409"]  # %v %s %w %+v %p %U


def _brace_values(body: str) -> list[str]:
    """Python str.format / f-string holes, C++ stream values written `{}`, JS `${}`."""
    conversion = ""
    if "!" in body and not body.startswith(":"):
        body, _, rest = body.partition("!")
        conversion, _, spec = rest.partition(":")
    else:
        _, _, spec = body.partition(":")
    kind = spec[-1:] if spec else ""
    if kind in ("d", "n"):
        return [format(int(v), spec) for v in _INT]
    if kind in ("x", "X", "o", "b"):
        return [format(int(v), spec) for v in _UINT]
    if kind in ("e", "E", "f", "F", "g", "G", "%"):
        return [format(v, spec) for v in _FLOAT]
    values = [repr(v) for v in _STR] if conversion == "r" else list(_STR)
    return [format(v, spec) for v in values] if spec else values


class Hole:
    """One conversion in a format string and the sample values it prints."""

    __slots__ = ("samples", "token")

    def __init__(self, token: str, samples: list[str]) -> None:
        self.token = token
        self.samples = samples


def parse_format(fmt: str, style: str = "printf") -> list[str | Hole]:
    """Literal text and holes, in order (`%%`, `{{`, C escapes and PRI macros resolved)."""
    if style in ("printf", "go"):
        fmt = _PRI.sub(lambda m: f"%{m[1]}{m[2]}", fmt)
        fmt = _C_ESCAPE.sub(lambda m: {"n": "\n", "t": "\t", "r": "", '"': '"', "\\": "\\"}[m[1]], fmt)
    pieces: list[str | Hole] = []
    pos = 0
    if style == "go":
        holes: Iterable[re.Match[str]] = _GO.finditer(fmt)
    elif style in ("python", "js"):
        holes = sorted([*_PRINTF.finditer(fmt), *_BRACE.finditer(fmt)], key=lambda m: m.start())
    else:
        holes = sorted([*_PRINTF.finditer(fmt), *_CPP_BRACE.finditer(fmt)], key=lambda m: m.start())
    for m in holes:
        if m.start() < pos:
            continue  # overlapping tokens (a '%' inside a brace hole): the first wins
        pieces.append(fmt[pos : m.start()])
        token = m.group(0)
        if token in ("{{", "}}", "%%"):
            pieces.append(token[0])
        elif token.startswith(("{", "${")):
            pieces.append(Hole(token, _brace_values(m["body"] or "")))
        elif style == "go":
            pieces.append(Hole(token, _go_values(m)))
        else:
            pieces.append(Hole(token, _printf_values(m)))
        pos = m.end()
    pieces.append(fmt[pos:])
    merged: list[str | Hole] = []
    for piece in pieces:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        elif piece != "":
            merged.append(piece)
    if merged and isinstance(merged[-1], str):
        merged[-1] = merged[-1].rstrip("\n")  # the line end the format prints
        if not merged[-1]:
            merged.pop()
    return merged


def _render(pieces: Sequence[str | Hole], values: Sequence[str]) -> str:
    out, k = [], 0
    for piece in pieces:
        if isinstance(piece, str):
            out.append(piece)
        else:
            out.append(values[k])
            k += 1
    return "".join(out).rstrip("\n")


def instantiate(fmt: str, style: str = "printf") -> list[str]:
    """The lines a format string prints: one per round, round k giving every
    hole its k-th sample value (small and large numbers, hex, paths with
    spaces and backslashes, `(null)`), so every sample of every hole appears."""
    pieces = parse_format(fmt, style)
    holes = [p for p in pieces if isinstance(p, Hole)]
    rounds = max([len(h.samples) for h in holes] or [1])
    return [_render(pieces, [h.samples[k % len(h.samples)] for h in holes]) for k in range(rounds)]


def _example_values(pieces: Sequence[str | Hole], examples: Sequence[str]) -> list[list[str]]:
    """Value tuples (one value per hole) the format took in the signature's own
    examples: the format turned into a pattern and searched in each cleaned example."""
    holes = [p for p in pieces if isinstance(p, Hole)]
    if not holes:
        return []
    parts = []
    n = 0
    for i, piece in enumerate(pieces):
        if isinstance(piece, str):
            parts.append(re.escape(piece.rstrip("\n") if i == len(pieces) - 1 else piece))
        else:
            last = i == len(pieces) - 1
            parts.append(f"(?P<h{n}>[^\n]{{1,400}}{'' if last else '?'})")
            n += 1
    try:
        finder = regex.compile("".join(parts), regex.IGNORECASE)
    except regex.error:
        return []
    tuples: list[list[str]] = []
    for example in examples:
        text = "\n".join(clean_line(line) for line in example.split("\n"))
        try:
            found = list(finder.finditer(text, timeout=0.5))
        except TimeoutError:
            continue
        tuples.extend([m.group(f"h{k}") for k in range(len(holes))] for m in found)
    return tuples


# Source trees that print through ggml/llama.cpp's logging (and may get its timestamped prefix): recognised by the
# emitter file's path, so no list of runtimes lives here (they are data in products/).
_GGML_LOGGING = re.compile(r"(?:^|/)(?:src|common|ggml|tools|examples|otherarch|llama\.cpp|llamafile|llama/llama\.cpp)/")
# Build files under those folders (ggml/src/CMakeLists.txt's message(WARNING ...), a .cmake module) are printed by
# CMake at configure time, never through ggml's logger, so they do not get its prefix.
_BUILD_FILE = re.compile(r"(?:^|/)(?:CMakeLists\.txt|[\w.-]+\.cmake|Makefile|[\w.-]+\.mk)$")


def wrap(project: str, file: str, line: str) -> list[tuple[str, str]]:
    """(wrapper name, log text) for a printed line in each wrapper it meets in
    practice: as printed, with CRLF, behind journald and docker-compose
    prefixes, behind llama.cpp's timestamped log prefix, and inside Ollama's
    slog `msg="..."` for Go code."""
    out = [("as printed", line), ("CRLF line end", line.replace("\n", "\r\n") + "\r\n")]
    first, nl, rest = line.partition("\n")
    out.append(("journald prefix", f"Mar 01 12:00:00 host ollama[1234]: {first}{nl}{rest}"))
    out.append(("docker compose prefix", f"ollama-1  | {first}{nl}{rest}"))
    if _GGML_LOGGING.search(file) and not _BUILD_FILE.search(file):
        out.append(("llama.cpp log prefix", f"0.01.234.567 E {first}{nl}{rest}"))
    if emitter_style(file) == "go":
        for level in ("ERROR", "INFO"):
            out.append((f"slog msg (level={level})",
                        f"time=2024-06-01T10:00:00.000+02:00 level={level} source=server.go:123 msg={_go_quote(line)}"))
    return out


def emitter_lines(project: str, file: str, fmt: str) -> list[tuple[str, str]]:
    """Every instantiated line of a format in every wrapper."""
    return [w for line in instantiate(fmt, emitter_style(file)) for w in wrap(project, file, line)]


def _line_matches(sig: Signature, text: str) -> bool:
    """The signature's anchor test on one log text: a main regex on a cleaned
    line (or a line joined with the next, as the matcher does) and no `unless`.
    `near`/`anywhere` are context around the line, not the line itself."""
    lines = [clean_line(raw) for raw in text.split("\n")]
    candidates = lines + [a + " " + b.lstrip() for a, b in zip(lines, lines[1:])]
    for cand in candidates:
        try:
            if any(p.search(cand, timeout=1.0) for p in sig.regexes) and not any(
                p.search(cand, timeout=1.0) for p in sig.unless
            ):
                return True
        except TimeoutError:
            return False
    return False


def emitter_problem(sig: Signature, project: str, file: str, fmt: str) -> str | None:
    """Why the signature fails the line this format prints, or None.

    Each hole is varied alone over its sample values while the others keep
    values the signature accepts (from its own examples, which show what it
    pins, e.g. an op name; else the first samples). Samples come in kinds
    (numbers; words, paths, null, hex for strings): a hole may refuse a whole
    kind (an op name is never a path), but a hole that accepts a kind's plain
    sample and refuses another of that kind has a gap (a path with spaces or
    backslashes, a large number): that is the error. The base line is also
    checked in every wrapper (see `wrap`).
    """
    pieces = parse_format(fmt, emitter_style(file))
    holes = [p for p in pieces if isinstance(p, Hole)]
    from_examples = _example_values(pieces, sig.examples_match + sig.examples_match_ungated)
    candidates = [*from_examples, [h.samples[0] for h in holes]]
    base = next((c for c in candidates if _line_matches(sig, _render(pieces, c))), candidates[-1])
    line = _render(pieces, base)
    if sig.keywords and not any(kw in line.encode("utf-8").lower() for kw in sig.keywords):
        return f"the printed line holds none of the signature's keywords: {line[:160]!r}"
    if not _line_matches(sig, line):
        shown = "" if from_examples else " (and no match example fits this format to show the values the regex pins)"
        return f"the signature's regex does not match the line this format prints: {line[:200]!r}{shown}"
    for k, hole in enumerate(holes):
        kinds: dict[str, list[tuple[str, bool]]] = {}
        for sample in hole.samples:
            trial = list(base)
            trial[k] = sample
            kinds.setdefault(sample_kind(sample), []).append((sample, _line_matches(sig, _render(pieces, trial))))
        for kind, verdicts in kinds.items():
            plain, plain_ok = verdicts[0]
            refused = next((v for v, ok in verdicts if not ok), None)
            if plain_ok and refused is not None:
                return (f"hole {k + 1} ({hole.token}) accepts the {kind} {plain!r} but not {refused!r}: "
                        f"{_render(pieces, [*base[:k], refused, *base[k + 1:]])[:200]!r}")
    for wrapper, text in wrap(project, file, line)[1:]:
        if not _line_matches(sig, text):
            return f"the signature's regex does not match the printed line {wrapper}: {text[:200]!r}"
    return None


# A mismatch is an error, as every other example check is (it was a warning while the first
# emitters of round 8 were being written; set False to go back to that).
EMITTER_ERRORS = True


def _check_emitters(sig: Signature, errors: list[DataError], warnings: list[str], strict: bool) -> None:
    for j, (project, file, fmt, _commit) in enumerate(sig.emitters):
        where = f"signature[{sig.index}].emitter[{j}].format"
        problem = "empty format string" if not fmt.strip() else emitter_problem(sig, project, file, fmt)
        if problem and strict:
            errors.append(DataError(sig.path, where, problem))
        elif problem:
            warnings.append(f"{DataError(sig.path, where, problem)}")


# ---------------------------------------------------------------------------
# Hostile input: each pattern's own literal prefix, keywords and repeats.
# ---------------------------------------------------------------------------

_NAMED_GROUP = re.compile(r"\(\?P?<(?![=!])\w+>")
_POSIX_ONLY = re.compile(r"\\p\{\w+\}|\\P\{\w+\}|\(\?V[01]\)|\[\[:\w+:\]\]")
_REPEATS = {sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, getattr(sre_c, "POSSESSIVE_REPEAT", sre_c.MAX_REPEAT)}
_CATEGORY_SAMPLE = {
    sre_c.CATEGORY_DIGIT: "0", sre_c.CATEGORY_NOT_DIGIT: "a", sre_c.CATEGORY_SPACE: " ",
    sre_c.CATEGORY_NOT_SPACE: "a", sre_c.CATEGORY_WORD: "a", sre_c.CATEGORY_NOT_WORD: " ",
}


def _parse(src: str) -> Any | None:
    """The pattern's parse tree (Python's `re` parser; named groups made plain
    so repeated names parse), or None for syntax only the regex module has."""
    plain = _NAMED_GROUP.sub("(", src)
    plain = _POSIX_ONLY.sub("a", plain)
    try:
        return sre_parse.parse(plain, re.IGNORECASE | re.MULTILINE)
    except (re.error, RecursionError, OverflowError, ValueError):
        return None


def _in_sample(items: Any) -> str:
    negate = False
    for op, arg in items:
        if op == sre_c.NEGATE:
            negate = True
        elif not negate and op == sre_c.LITERAL:
            return chr(arg)
        elif not negate and op == sre_c.RANGE:
            return chr(arg[0])
        elif not negate and op == sre_c.CATEGORY:
            return _CATEGORY_SAMPLE.get(arg, "a")
    if negate:
        excluded = {chr(a) for op, a in items if op == sre_c.LITERAL}
        return next(c for c in "a0 _-/x" if c not in excluded)
    return "a"


def _sample(tree: Any, pump: int | None, count: int, repeats: list[int]) -> str:
    """One string the (sub)pattern matches; the repeat numbered `pump` (in walk
    order, counted through `repeats`) is repeated `count` times."""
    out: list[str] = []
    for op, arg in tree:
        if op == sre_c.LITERAL:
            out.append(chr(arg))
        elif op == sre_c.NOT_LITERAL:
            out.append("a" if chr(arg) != "a" else "b")
        elif op == sre_c.ANY:
            out.append("a")
        elif op == sre_c.IN:
            out.append(_in_sample(arg))
        elif op == sre_c.CATEGORY:
            out.append(_CATEGORY_SAMPLE.get(arg, "a"))
        elif op == sre_c.BRANCH:
            out.append(_sample(arg[1][0], pump, count, repeats))
        elif op == sre_c.SUBPATTERN:
            out.append(_sample(arg[-1], pump, count, repeats))
        elif op == getattr(sre_c, "ATOMIC_GROUP", None):
            out.append(_sample(arg, pump, count, repeats))
        elif op in _REPEATS:
            number = len(repeats)
            repeats.append(number)
            lo, _hi, body = arg
            once = _sample(body, pump, count, repeats)
            times = count if number == pump else max(lo, 1)
            out.append(once * min(times, 100000))
        # AT, ASSERT, ASSERT_NOT, GROUPREF, GROUPREF_EXISTS: contribute nothing
    return "".join(out)


def _count_repeats(tree: Any) -> int:
    repeats: list[int] = []
    _sample(tree, None, 1, repeats)
    return len(repeats)


def _literal_prefix(tree: Any) -> str:
    out = []
    for op, arg in tree:
        if op == sre_c.LITERAL:
            out.append(chr(arg))
        elif op == sre_c.AT:
            continue
        elif op == sre_c.SUBPATTERN:
            inner = _literal_prefix(arg[-1])
            out.append(inner)
            if len(inner) < len(_sample(arg[-1], None, 1, [])):
                break
        else:
            break
    return "".join(out)


def pattern_attacks(src: str, keywords: Sequence[str] = ()) -> list[str]:
    """Attack strings for one pattern: for each repeat, a string the whole
    pattern nearly matches with that repeat pumped to ~20 kB, then broken at
    the end (the classic ReDoS shape), also behind each keyword and the
    pattern's literal prefix, and as many short lines (for `anywhere`)."""
    tree = _parse(src)
    if tree is None:
        head = re.split(r"[\\^$.|?*+()\[\]{}]", src, maxsplit=1)[0]
        return [head + c * HOSTILE_LEN + "\x00!" for c in "a0 :/\\"]
    prefix = _literal_prefix(tree)
    out: list[str] = []
    for number in range(min(_count_repeats(tree), 12)):
        body = len(_sample(tree, number, 2, [])) - len(_sample(tree, number, 1, []))
        if body <= 0:
            continue
        pumped = _sample(tree, number, max(HOSTILE_LEN // body, 2), [])
        if len(pumped) > 4 * HOSTILE_LEN:
            pumped = pumped[: 4 * HOSTILE_LEN]
        for text in (pumped + "\x00!", pumped[:-1], pumped[:-2] + "\x00"):
            out.append(text)
        for kw in keywords[:3]:
            out.append(kw + " " + pumped[:-1])
        if prefix and not pumped.lower().startswith(prefix.lower()):
            out.append(prefix + pumped[:-1])
        # many lines each nearly matching: what `anywhere` patterns see
        short = _sample(tree, number, 40, [])
        out.append(("\n".join([short[:-1]] * (HOSTILE_LEN // max(len(short), 1) + 1)))[: 2 * HOSTILE_LEN])
    return out


def adversarial_inputs(sig: Signature) -> list[str]:
    """Strings that make backtracking regexes blow up: long runs of the
    characters their patterns and examples use, with the tail broken."""
    seeds = [ex[:200] for ex in sig.examples_match + sig.examples_match_ungated] + [kw.decode("utf-8", "replace") for kw in sig.keywords]
    out = ["a" * HOSTILE_LEN, " " * HOSTILE_LEN, "0" * HOSTILE_LEN, ":" * HOSTILE_LEN, "\\" * 10000 + "x", "/" * 10000 + "x"]
    for seed in seeds:
        if seed:
            out.append((seed * (HOSTILE_LEN // max(len(seed), 1) + 1))[:HOSTILE_LEN] + "\x00!")
            out.append(seed[: len(seed) // 2] + " " * 10000 + seed[len(seed) // 2 :] * 50)
            out.append("".join(ch * 40 for ch in seed[:400]))
    return out


# The thread's CPU clock where it is fine-grained (Linux, macOS); where it ticks coarsely (Windows: 15.6 ms), a
# short run would read 0 or one tick and the growth test below would see steps that are not there, so wall time.
_cpu_clock = time.thread_time if time.get_clock_info("thread_time").resolution <= 1e-6 else time.perf_counter


def _time_search(pattern: regex.Pattern[str], text: str, limit: float, runs: int = 3) -> float:
    """Best of a few runs, so a busy machine does not fail a linear pattern. A run that hits the time limit is
    one run, not the verdict: on a loaded machine a linear pattern can be descheduled past the limit once
    (a helper saw kb check fail once and pass on rerun); a catastrophic one hits it every time. A finished run is
    measured in this thread's CPU time, which time spent waiting for a core (a load of 10 on 2 cores) does not
    inflate; the limit itself stays wall time, as `regex` measures it."""
    best = limit
    for _ in range(runs):
        t0 = _cpu_clock()
        try:
            pattern.search(text, timeout=limit)
        except TimeoutError:
            continue
        best = min(best, _cpu_clock() - t0)
        if best < SLOW_LIMIT / 4:
            break
    return best


_TIMED_FIELDS = ("regexes", "unless", "near", "unless_near", "anywhere", "unless_anywhere", "ungated_unless_near",
                 "ungated_unless_anywhere")
_FIELD_NAME = {"regexes": "regex", "ungated_unless_near": "ungated.unless_near", "ungated_unless_anywhere": "ungated.unless_anywhere"}


def _slow_patterns(sig: Signature, errors: list[DataError]) -> None:
    """Flag patterns that are slow on hostile input and grow faster than
    linearly with its length (the mark of catastrophic backtracking)."""
    common = adversarial_inputs(sig)
    keywords = [kw.decode("utf-8", "replace") for kw in sig.keywords]
    for fieldname in _TIMED_FIELDS:
        for j, (pattern, src) in enumerate(zip(getattr(sig, fieldname), getattr(sig, f"{fieldname}_src"))):
            worst, worst_text = 0.0, ""
            for text in [*pattern_attacks(src, keywords), *common]:
                elapsed = _time_search(pattern, text, SLOW_LIMIT * 4)
                if elapsed > worst:
                    worst, worst_text = elapsed, text
                if worst >= SLOW_LIMIT * 4:
                    break
            if worst < SLOW_LIMIT:
                continue
            # Confirm on a quiet re-measure (best of five, full and quarter length): a loaded
            # machine makes a linear pattern look slow once, never superlinear twice.
            worst = _time_search(pattern, worst_text, SLOW_LIMIT * 4, runs=5)
            half = _time_search(pattern, worst_text[: len(worst_text) // 2], SLOW_LIMIT * 4, runs=5)
            quarter = _time_search(pattern, worst_text[: len(worst_text) // 4], SLOW_LIMIT * 4, runs=5)
            # quadratic: x4 per doubling; linear: x2. Both steps must grow faster than x2.8.
            # The half must itself take measurable time (an eighth of the limit): an input whose repeated part sits
            # at its end (a seed, 10 kB of spaces, the seed 50 times) loses that part when cut, so a linear pattern
            # read 25 ms, 0.04 ms and 0.01 ms, a "growth" that a loaded machine pushed over the limit now and then.
            superlinear = (worst >= SLOW_LIMIT and worst > 2.8 * max(half, 1e-6) and half > 2.8 * max(quarter, 1e-6)
                           and half >= SLOW_LIMIT / 8)
            # or so slow that even a quarter of the input (5 kB) takes twice the limit a whole line may take: growth
            # cannot be measured once the longer inputs are cut off at the time limit (exponential; a loaded machine
            # once measured such a pattern at 200, 200 and 189 ms and let it through)
            if superlinear or quarter >= SLOW_LIMIT * 2 or worst >= SLOW_LIMIT * 4:
                errors.append(
                    DataError(sig.path, f"signature[{sig.index}].{_FIELD_NAME.get(fieldname, fieldname)}[{j}]",
                              f"slow on hostile input ({worst * 1000:.0f} ms on {len(worst_text) // 1000} kB, "
                              f"{quarter * 1000:.0f} ms on a quarter of it): rewrite without nested or overlapping repeats")
                )


# ---------------------------------------------------------------------------
# Fixtures: how many real logs back each signature.
# ---------------------------------------------------------------------------


def default_fixture_dirs(kb_dirs: Sequence[Path] = ()) -> list[Path]:
    """tests/logs and tests/corpus next to the data (a checkout), where they exist."""
    out = []
    for root in [builtin_dir(), *kb_dirs]:
        for sub in ("tests/logs", "tests/corpus"):
            d = root / sub
            if d.is_dir() and d not in out:
                out.append(d)
    return out


def fixture_backing(target: KnowledgeBase | Engine, fixture_dirs: Sequence[Path]) -> dict[str, int]:
    """Signature id -> number of fixture logs that expect its KB id and on which it fires."""
    from .eval import evaluate

    engine = _engine_of(target)
    backing: dict[str, int] = {s.id: 0 for s in engine.kb.signatures}
    for d in fixture_dirs:
        result = evaluate(d, engine)
        for sid, (good, _bad) in result.precision.items():
            backing[sid] = backing.get(sid, 0) + good
    return backing


# ---------------------------------------------------------------------------
# The check itself.
# ---------------------------------------------------------------------------


_ENGINES: dict[int, tuple[KnowledgeBase, Engine]] = {}


def _engine_of(target: KnowledgeBase | Engine) -> Engine:
    """One Engine per KnowledgeBase for the whole check (its keyword index is built once)."""
    if isinstance(target, Engine):
        return target
    cached = _ENGINES.get(id(target))
    if cached is None or cached[0] is not target:
        cached = (target, Engine(target))
        _ENGINES.clear()
        _ENGINES[id(target)] = cached
    return cached[1]


def _example_readings(target: KnowledgeBase | Engine, sig: Signature, text: str) -> set[str]:
    """The readings ("gated", "ungated") in which this signature alone accepts the example."""
    try:
        log = prepare(decode(text.encode("utf-8")))
    except Exception:  # noqa: BLE001 - an empty example is simply not a hit
        return set()
    engine = _engine_of(target)
    run: Any = scan
    if "index" in inspect.signature(scan).parameters:
        result = run(log, engine.kb.signatures, getattr(engine, "index"), only={sig.id})
    else:  # the scan before the Engine held the index
        result = run(log, engine.kb, only={sig.id})
    return {"ungated" if getattr(h, "ungated", False) else "gated" for h in result.hits if getattr(h, "signature") in (sig.id, sig)}


def _check_examples(engine: Engine, sig: Signature, where: str, errors: list[DataError]) -> None:
    """Each `match` example is accepted by the gated reading, each `match_ungated` one by the ungated reading,
    and no `no_match` one by either."""
    for field, examples, reading in (("match", sig.examples_match, "gated"),
                                     ("match_ungated", sig.examples_match_ungated, "ungated")):
        for i, example in enumerate(examples):
            low = example.encode("utf-8").lower()
            if sig.keywords and not any(kw in low for kw in sig.keywords) and example.strip():
                low = prepare(decode(example.encode("utf-8"))).lower  # as the prefilter reads it: soft wraps joined
            if sig.keywords and not any(kw in low for kw in sig.keywords):
                errors.append(DataError(sig.path, f"{where}.examples.{field}[{i}]", "contains none of the signature's keywords"))
            found = _example_readings(engine, sig, example)
            if reading not in found:
                how = f" (only in the {next(iter(found))} reading)" if found else ""
                errors.append(DataError(sig.path, f"{where}.examples.{field}[{i}]", f"does not match{how}: {example[:120]!r}"))
    for i, example in enumerate(sig.examples_no_match):
        found = _example_readings(engine, sig, example)
        if found:
            how = " (in the ungated reading)" if found == {"ungated"} else ""
            errors.append(DataError(sig.path, f"{where}.examples.no_match[{i}]", f"matches but must not{how}: {example[:120]!r}"))


def check_kb(
    kb: KnowledgeBase | Engine,
    *,
    timing: bool = True,
    fixtures: Sequence[Path] | None = None,
    strict_emitters: bool | None = None,
) -> tuple[list[DataError], list[str]]:
    """(errors, warnings) beyond what loading already validated.

    `fixtures`: corpus directories whose logs count as a signature's backing
    (None: tests/logs and tests/corpus of the checkout, when present; empty:
    skip). Signatures backed by fewer than two are listed as warnings, with
    the reason the signature gives in `few_fixtures`. `strict_emitters`: an
    emitter whose printed line the signature misses is an error (default
    EMITTER_ERRORS) or a warning.
    """
    engine = _engine_of(kb)
    kb = engine.kb
    errors: list[DataError] = []
    warnings: list[str] = []
    for sig in kb.signatures:
        where = f"signature[{sig.index}]"
        if not sig.keywords:
            warnings.append(f"{sig.path}: {where}: prefilter = false, so this signature runs on every line (slow)")
        _check_examples(engine, sig, where, errors)
        _check_emitters(sig, errors, warnings, EMITTER_ERRORS if strict_emitters is None else strict_emitters)
        if timing:
            _slow_patterns(sig, errors)
    warnings.extend(_twin_warnings(kb.signatures))
    dirs = default_fixture_dirs() if fixtures is None else list(fixtures)
    if dirs:
        few_errors, few_warnings = _few_fixture_findings(engine, dirs)
        errors.extend(few_errors)
        warnings.extend(few_warnings)
    return errors, warnings


def _twin_warnings(signatures: Sequence[Signature]) -> list[str]:
    """Two signatures with the same regex where one vetoes the other's gate are one line read two ways: say so,
    so the second becomes the first's [signature.ungated] (issue 14) and the two cannot drift apart."""
    by_regex: dict[tuple[str, tuple[str, ...]], list[Signature]] = {}
    for sig in signatures:
        by_regex.setdefault((sig.kb_id, sig.regexes_src), []).append(sig)
    out = []
    for group in by_regex.values():
        for gated in group:
            gates = set(gated.near_src) | set(gated.anywhere_src)
            for other in group:
                vetoes = set(other.unless_near_src) | set(other.unless_anywhere_src)
                if other is not gated and gates and gates & vetoes and other.weight < gated.weight:
                    out.append(f"{other.path}: signature[{other.index}] {other.id}: the same line as {gated.id} without "
                               f"its gate: write it as [signature.ungated] of {gated.id} (signatures/README.md)")
    return out


def _few_fixture_findings(engine: Engine, dirs: Sequence[Path]) -> tuple[list[DataError], list[str]]:
    """A signature backed by fewer than two real fixtures is listed with its reason (issue 14); one that gives no
    reason is an error, so a guess grown from one log cannot slip in unremarked. A reason kept after a second fixture
    arrived is only a warning."""
    kb = engine.kb
    backing = fixture_backing(engine, dirs)
    errors: list[DataError] = []
    out = []
    for sig in kb.signatures:
        n = backing.get(sig.id, 0)
        if n >= 2:
            if sig.few_fixtures:
                out.append(f"{sig.path}: signature[{sig.index}] {sig.id}: backed by {n} real fixtures now; drop its few_fixtures reason")
            continue
        emitter = ", emitter recorded" if sig.emitters else ""
        if not sig.few_fixtures:
            errors.append(DataError(sig.path, f"signature[{sig.index}].few_fixtures",
                                    f"{sig.id} is backed by {n} real fixture(s){emitter} and gives no reason: add real "
                                    "fixture logs that it answers, or say why on the signature (few_fixtures = \"...\")"))
            continue
        out.append(f"{sig.path}: signature[{sig.index}] {sig.id}: backed by {n} real fixture(s){emitter}; reason: {sig.few_fixtures}")
    return errors, out


def _gate_lines(sig: Signature) -> list[str]:
    """The signature's positive gates as the engine runs them (named sets expanded), cut to a line each."""
    out = []
    for name in ("near", "anywhere"):
        for pattern in getattr(sig, f"{name}_src"):
            shown = pattern if len(pattern) <= 140 else pattern[:137] + "..."
            out.append(f"      needs {name}: {shown}")
    return out


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
        ungated = f", {sig.ungated_weight} without its {' and '.join(sig.ungated_waive)} gate" if sig.ungated_weight is not None else ""
        out.append(f"  {sig.id} (weight {sig.weight}{ungated}{', generic' if sig.generic else ''}): {sig.description}")
        out.extend(_gate_lines(sig))
    out.append("")
    out.append(entry.body)
    out.append("")
    out.append("References:")
    out.extend(f"  {r}" for r in entry.references)
    return "\n".join(out)
