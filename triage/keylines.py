"""The error lines of a log, most specific first, and which are mere wrappers.

Used when no KB entry matched (so the reader still sees what went wrong) and
for the completeness verdict.
"""

from __future__ import annotations

import re
TYPE_CHECKING = False  # true for type checkers only: typing is not imported at run time (records.py says why)
from . import rx
from .literals import may_match
from .model import KeyLine
from .normalize import lazy_regex

if TYPE_CHECKING:
    from typing import Callable

    from .load import Patterns

__all__ = ["KEYLINE_KEYWORDS", "KEYLINE_PATTERNS", "is_wrapper", "rank_keylines", "score_line"]

KEYLINE_KEYWORDS: tuple[bytes, ...] = tuple(
    k.encode()
    for k in (
        "error", "fail", "fatal", "assert", "abort", "exception", "panic", "segmentation fault",
        "illegal instruction", "traceback", "cannot", "could not", "couldn't", "unable to", "not found",
        "out of memory", "terminated", "exit code", "exit status", "core dumped", "unsupported",
        "not supported", "invalid", "winerror", "errno", "sigsegv", "sigabrt", "denied", "no such file",
        "killed", "unknown model", "unknown pre-tokenizer", "wrong number", "wrong shape", "missing tensor",
        "bad magic", "bad cpu type", "can't run", "cant run", "not a valid application", "timed out",
        "requires more system memory", "address already in use", "devicelost",
    )
)

_KEY = (
    r"\b(?:errors?|errno|failed|failure|fail|fatal|assert(?:ion)?|abort(?:ed)?|exception|panic|segmentation fault|sigsegv|sigabrt"
    r"|illegal instruction|traceback|cannot|could not|couldn't|unable to|not found|out of memory|terminated|exit code"
    r"|exit status|core dumped|unsupported|not supported|invalid|winerror|denied|no such file|killed|unknown model"
    r"|unknown pre-tokenizer|wrong number|wrong shape|missing tensor|bad magic|bad cpu type|can'?t run|not a valid application"
    r"|timed out|requires more system memory|address already in use|ErrorDeviceLost)"
)
# Lines that contain an error word but report success or a setting.
_NOT_KEY = (
    r"\berror(?:s)?\s*[=:]\s*(?:0|none|null|nil|false)\b|\[GIN\].*\|\s*[23]\d\d\s*\||\bno errors?\b"
    r"|GGML_CUDA_FORCE|error_correction|errors_test|level=(?:INFO|DEBUG)\b(?!.*\berror=)|= unknown$|"
    r"failsafe|--noavx2|Unable to detect VRAM|Set GPU layers manually|not compiled with GPU offload support"
    r"|\b(?:following|below|same|this|similar|getting|got|get)\s+(?:\w+\s+)?(?:error|errors|issue)\b(?!:\s*\S)"
)
_SPECIFIC = (
    r"GGML_ASSERT|GGML_ABORT|\berror:|\bERROR:|\b\w+(?:Error|Exception)\b(?!: llama runner)|CUDA error(?!\s*$)|fatal error|error loading model(?!\.)"
    r"|unknown (?:model architecture|pre-tokenizer)|out of memory|ErrorOutOfDeviceMemory|ErrorDeviceLost|illegal instruction"
    r"|invalid opcode|bad magic|invalid magic|not within the file bounds|wrong number of tensors|missing tensor|wrong shape"
    r"|address already in use|Only one usage of each socket address|GLIBC|undefined symbol|WinError \d+|Could not find module"
    r"|requires more system memory|timed out waiting|no kernel image|invalid device function|unsupported op"
)
_WRAPPER = (
    r"llama(?:-server| runner) process (?:has )?(?:terminated|no longer running)(?::? (?:exit status \S+|signal: [\w ]+|-?\d+))?\s*(?:error=\"?exit status \S+\"?)?\s*$"
    # ... the same envelope inside prose ("getting Error: ... exit status 0xc0000409 when loading"), unless a cause follows it
    r"|llama(?:-server| runner) process (?:has )?terminated:? (?:exit status|signal:) \S+(?![^\n]*(?:error|fail|assert|unable|out of memory))"
    r"|^\s*raise \w+(?:Error|Exception)\b"
    r"|(?:^|:)\d+: CUDA error\s*$|^\s*(?:\S+\.cu:\d+: )?CUDA error\s*$"
    r"|llama runner terminated\b.*error=\"exit status"
    r"|error starting (?:the external )?llama runner: llama runner process has terminated\s*$"
    r"|^\s*(?:🥲 )?Failed to (?:re)?load the model\.?\s*$|^\s*Failed to load model\s*$|^\s*Error loading model\.\s*$"
    r"|\(Exit code: -?\d+\)|^\s*Could not respond to message\.?\s*$"
    r"|assert self\.(?:model|ctx|_model|_ctx) is not None|(?:ValueError|RuntimeError|Exception)(?::\s*|\(f?[\"'])Failed to load model(?: from file)?:?"
    r"|(?:ValueError|RuntimeError|Exception): Failed to create llama_context"
    r"|\bERROR\s+Failed to load the model\.\s*$"
    r"|AttributeError: '(?:LlamaCppModel|Llama|NoneType)' object has no attribute '(?:model|ctx|_ctx|_model|sampler)'"
    r"|^\s*(?:zsh: |bash: )?(?:abort(?:ed)?|segmentation fault|illegal hardware instruction)\b.*$"
    r"|^\s*Aborted(?: \(core dumped\))?\s*$|^\s*Segmentation fault(?: \(core dumped\))?\b.*$"
    r"|^\s*SIG(?:SEGV|ABRT): |signal arrived during cgo execution|^\s*Traceback \(most recent call last\):"
    r"|The above exception was the direct cause|Failed to execute script|^\s*AssertionError\s*$"
    r"|double free or corruption|free\(\): invalid pointer|^Error: 500 Internal Server Error:?\s*$"
    r"|^\s*(?:\w+: )?(?:error: )?(?:failed to load model|unable to load model)(?: '[^']*')?\s*$"
    r"|llama_(?:load_model_from_file|model_load_from_file(?:_impl)?): failed to load model\s*$"
    r"|Error loading model: Failed to start the model"
)


# All four are searched case-insensitively and only for whether they match. `re` compiles them on first use
# (~4 ms: they are long). An Engine passes the same patterns precompiled by the `regex` module (its start-up
# cache holds them), used on lines of printable ASCII and tabs only: there the two engines agree on every
# construct these patterns use (\b, \w, \s, \d, classes, lookarounds, ASCII case folding); they differ
# on some other characters (\s and \x1c-\x1f, \w and combining marks, ...), so any other line goes to `re`.
KEYLINE_PATTERNS: dict[str, str] = {"key": _KEY, "not_key": _NOT_KEY, "specific": _SPECIFIC, "wrapper": _WRAPPER}
RE_FLAGS = re.IGNORECASE
REGEX_FLAGS = rx.IGNORECASE | rx.VERSION0

# Literals every match of a pattern contains (one of them), lower-case: `minimal(required_literals(pattern))`
# from literals.py, written out because working them out costs ~8 ms of every start (tests/test_fingerprint_gate.py
# checks they are still exactly that). On a plain line (see below) a pattern whose literals are all absent is not
# searched: it cannot match. "key" has none here: nearly every line it sees holds one of its words.
KEYLINE_LITERALS: dict[str, tuple[str, ...]] = {
    "not_key": (
        "--noavx2", "= unknown", "[gin]", "error", "failsafe", "ggml_cuda_force", "issue", "level=",
        "not compiled with gpu offload support", "set gpu layers manually", "unable to detect vram",
    ),
    "specific": (
        "address already in use", "bad magic", "could not find module", "ggml_abort", "ggml_assert", "glibc",
        "illegal instruction", "invalid device function", "invalid magic", "invalid opcode", "missing tensor",
        "model architecture", "no kernel image", "not within the file bounds",
        "only one usage of each socket address", "out of memory", "pre-tokenizer", "requires more system memory",
        "rror", "timed out waiting", "undefined symbol", "unsupported op", "wrong number of tensors", "wrong shape",
        "xception",
    ),
    "wrapper": (
        "' object has no attribute '", "(exit code: ", ": failed to create llama_context", "abort", "abrt",
        "assert self.", "assertionerror", "could not respond to message", "cuda error", "double free or corruption",
        "error loading model.", "error loading model: failed to start the model", "error: 500 internal server error",
        "failed to execute script", "failed to load model", "free(): invalid pointer", "illegal hardware instruction",
        "load the model", "no longer running", "raise ", "segmentation fault", "segv",
        "signal arrived during cgo execution", "terminated", "the above exception was the direct cause",
        "traceback (most recent call last):", "unable to load model",
    ),
}


_RE = {name: lazy_regex(source, RE_FLAGS) for name, source in KEYLINE_PATTERNS.items()}


def _plain(text: str) -> bool:
    """Printable ASCII and tabs only."""
    return text.isascii() and (text.isprintable() or text.replace("\t", "").isprintable())


def _finder(patterns: Patterns | None, text: str) -> Callable[[str], bool]:
    """`name -> does that pattern match text`, with the precompiled patterns where they give the same answer."""
    if patterns is not None and _plain(text):
        store = patterns
        hay = text.lower()  # ASCII: each literal occurs in it wherever the pattern can match, ignoring case

        def fast(name: str) -> bool:
            if not may_match(KEYLINE_LITERALS.get(name), hay):
                return False
            return store.get(KEYLINE_PATTERNS[name], REGEX_FLAGS).search(text) is not None

        return fast

    def exact(name: str) -> bool:
        return _RE[name]().search(text) is not None

    return exact


def score_line(text: str, patterns: Patterns | None = None) -> int:
    """0: not an error line; 20: a wrapper or follow-on; 60: an error; 90: a specific error.

    `patterns`: an Engine's precompiled store (see KEYLINE_PATTERNS); the score is the same without it."""
    found = _finder(patterns, text)
    if not found("key") or found("not_key"):
        return 0
    if found("wrapper"):
        return 20
    if found("specific"):
        return 90
    return 60


def is_wrapper(text: str, patterns: Patterns | None = None) -> bool:
    return _finder(patterns, text)("wrapper")


SCORE_CHARS = 1000  # a line is scored on its first characters: error lines are short, and the cost stays bounded


def rank_keylines(lines: list[tuple[int, str]], limit: int = 8, patterns: Patterns | None = None) -> list[KeyLine]:
    scored: list[KeyLine] = []
    seen: set[str] = set()
    for number, text in lines:
        stripped = text.strip()[:SCORE_CHARS].rstrip()
        if not stripped or stripped in seen:
            continue
        score = score_line(stripped, patterns)
        if score:
            seen.add(stripped)
            scored.append(KeyLine(number, stripped[:500], score))
    scored.sort(key=lambda k: (-k.score, k.line))
    return scored[:limit]
