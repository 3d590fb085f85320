"""Find logs in a Discord message: pure string logic, no discord import.

Only text the user put in the message is looked at (code blocks, pasted
console output) plus the attachments Discord hosts for it; URLs in the text are
never fetched. Plain chat must produce no candidates, so a passing remark such
as "my kobold crashed with a cuda error" is not a log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

__all__ = [
    "TEXT_EXTENSIONS",
    "LogCandidate",
    "find_code_blocks",
    "find_logs",
    "is_text_attachment",
    "looks_like_log",
    "strip_code_blocks",
]

TEXT_EXTENSIONS = frozenset({".log", ".txt", ".json", ".jsonl", ".out", ".err", ".text", ".md", ".csv", ".yaml", ".yml"})
TEXT_CONTENT_TYPES = ("text/", "application/json", "application/x-ndjson", "application/x-yaml")
MIN_BLOCK_CHARS = 20  # shorter code blocks are commands or names (`--usecublas`), not logs

_FENCE = re.compile(r"(?P<ticks>`{3,})(?P<info>[^\n`]*)\n?(?P<body>.*?)(?:(?P=ticks)|\Z)", re.DOTALL)
# One line is enough when it is unmistakably runtime output ...
_STRONG = re.compile(
    r"GGML_ASSERT|ggml_\w+:|llama_\w+:|llm_load_\w+:|llama_model_load|gguf_\w+:|CUDA error|cudaMalloc|"
    r"Traceback \(most recent call last\)|Segmentation fault|core dumped|panic: |exit status \d|"
    r"error loading model|failed to load model|ROCm error|vk::|Vulkan error|Metal error|ggml_metal|"
    r"Illegal instruction|out of memory|0xc0000\w{3}|Process finished with exit code|"
    r"\bsrv\s+\w+:|\bload_tensors:|\bprint_info:",
    re.IGNORECASE,
)
# ... otherwise several lines must look machine-written.
_LOGGY = re.compile(
    r"^\s*(?:\[?\d{4}-\d{2}-\d{2}[ T]\d|\[?\d{1,2}:\d{2}:\d{2}|time=|level=|\[(?:INFO|WARN|ERROR|DEBUG)|"
    r"(?:INFO|WARN(?:ING)?|ERROR|DEBUG|FATAL)\b[:\s])"
    r"|^\s*(?:File \"|at \w|#\d+\s+0x)|\w+ = \S|\b0x[0-9a-f]{6,}\b|[/\\]\w+[/\\]\w+\.\w+:\d+|\bMiB\b|\bn_\w+\s*=",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class LogCandidate:
    """One piece of text that may be a log, with a label the reply can show."""

    source: str
    text: str


def find_code_blocks(content: str) -> list[str]:
    """Bodies of ``` fenced blocks, including one left unclosed at the end
    (Discord cuts long messages, and people forget the closing fence)."""
    return [m.group("body").strip("\n") for m in _FENCE.finditer(content) if m.group("body").strip()]


def strip_code_blocks(content: str) -> str:
    return _FENCE.sub("\n", content)


def looks_like_log(text: str) -> bool:
    """True for pasted console output, false for chat about it."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        return False
    if any(_STRONG.search(ln) for ln in lines) and (len(lines) >= 2 or _is_bare_log_line(lines[0])):
        return True
    loggy = sum(1 for ln in lines if _LOGGY.search(ln))
    return loggy >= 3 and loggy * 2 >= len(lines)


def _is_bare_log_line(line: str) -> bool:
    """A single pasted line such as 'GGML_ASSERT: ggml.c:123: x' rather than a sentence mentioning one."""
    match = _STRONG.search(line)
    assert match is not None
    before = line[: match.start()]
    return len(before.split()) <= 3 or bool(_LOGGY.search(line))


def find_logs(content: str) -> list[LogCandidate]:
    """Code blocks that hold text, then the pasted text outside them if it reads like a log."""
    out: list[LogCandidate] = []
    blocks = [b for b in find_code_blocks(content) if len(b) >= MIN_BLOCK_CHARS]
    for i, block in enumerate(blocks, 1):
        out.append(LogCandidate(f"code block {i}" if len(blocks) > 1 else "code block", block))
    rest = strip_code_blocks(content).strip()
    if rest and looks_like_log(rest):
        out.append(LogCandidate("pasted text", rest))
    return out


def is_text_attachment(filename: str, content_type: str | None) -> bool:
    """Logs come as .log/.txt/.json or a text/* type; Discord turns long pastes into message.txt."""
    if content_type and content_type.split(";")[0].strip().lower().startswith(TEXT_CONTENT_TYPES):
        return True
    return PurePosixPath(filename.lower()).suffix in TEXT_EXTENSIONS
