"""A Report turned into what the result page shows: remedies grouped by runtime,
fact rows, and the redacted log with its evidence lines marked.

Kept apart from the templates so the grouping and the log window are tested as
plain Python, and the templates only lay things out."""

from __future__ import annotations

import re
from typing import Any

from ..decode import decode
from ..model import Match, RemedyStep, Report, under_heading
from ..records import NamedTuple
from ..redact import redact_text
from ..render.common import facts_rows
from .names import os_name, product_name

__all__ = ["LogLine", "RemedyGroup", "ResultView", "group_remedies", "log_view", "result_view"]

FULL_LOG_LINES = 3000  # above this, show windows around the lines that matter
CONTEXT = 12
HEAD, TAIL = 40, 80
MAX_SHOWN_CHARS = 2000
_ANSI = re.compile(r"\x1b\[[0-9;?]{0,32}[ -/]{0,4}[@-~]|\x1b\][^\x07\x1b]{0,256}(?:\x07|\x1b\\)")


class RemedyGroup(NamedTuple):
    heading: str | None  # None: for every runtime
    steps: list[tuple[str, str | None]]  # (text, OS display name or None)


class LogLine(NamedTuple):
    number: int  # 0: a gap marker ("… N lines …")
    text: str
    css: str  # "" | "hit" | "key"
    gap: int = 0


class ResultView(NamedTuple):
    name: str
    report: Report
    remedy_groups: dict[str, list[RemedyGroup]]  # per match kb_id
    fact_rows: list[tuple[str, str]]
    log: list[LogLine]
    log_complete: bool


def group_remedies(match: Match, product: str | None, kb: Any = None) -> list[RemedyGroup]:
    """In display order. With a known runtime the steps are already that runtime's: one
    list. Unknown runtime: the generic steps, then a group per set of runtimes; a step
    given for several runtimes is shown once, under a heading naming them all."""
    def os_label(step: RemedyStep) -> str | None:
        return os_name(step.os) if step.os else None

    def shown(text: str, heading: str | None, os: str | None) -> tuple[str, str | None]:
        # neither the runtime heading nor the OS tag said twice ("[Windows] Windows: install ...")
        return under_heading(text, heading, os), os

    if product or all(s.product is None for s in match.remedy_steps):
        steps = [shown(s.text, None, os_label(s)) for s in match.remedy_steps]
        return [RemedyGroup(None, steps)] if steps else []
    owners: dict[tuple[str, str | None], list[str]] = {}  # (text, os) -> runtime names, first-seen order
    generic: set[tuple[str, str | None]] = set()
    for step in match.remedy_steps:
        key = (step.text, os_label(step))
        names = owners.setdefault(key, [])
        if step.product is None:
            generic.add(key)
        else:
            name = step.product_name or product_name(kb, step.product)
            if name not in names:
                names.append(name)
    groups: dict[str | None, list[tuple[str, str | None]]] = {None: []}
    for key, names in owners.items():
        groups.setdefault(None if key in generic else " / ".join(names), []).append(key)
    return [RemedyGroup(k, [shown(text, k, os) for text, os in v]) for k, v in groups.items() if v]


def _clean(text: str) -> str:
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    text = text.rstrip("\r").replace("\r", " ")
    if len(text) > MAX_SHOWN_CHARS:
        text = text[:MAX_SHOWN_CHARS] + " …"
    return text


def log_view(data: bytes | str, report: Report, *, redact: bool = True) -> tuple[list[LogLine], bool]:
    """The log as shown: every line when short, else the head, the tail and windows
    around evidence and key lines. Numbers are the engine's (1-based, input as given)."""
    raw = decode(data.encode("utf-8", "replace") if isinstance(data, str) else data)
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"" and len(lines) > 1:
        lines.pop()
    hits = {e.line for m in report.matches for e in m.evidence}
    keys = {k.line for k in report.key_lines} - hits
    n = len(lines)
    if n <= FULL_LOG_LINES:
        shown = list(range(1, n + 1))
    else:
        wanted: set[int] = set(range(1, HEAD + 1)) | set(range(n - TAIL + 1, n + 1))
        for line in sorted(hits | keys)[:200]:
            wanted.update(range(max(1, line - CONTEXT), min(n, line + CONTEXT) + 1))
        shown = sorted(wanted)
    out: list[LogLine] = []
    previous = 0
    for number in shown:
        if number - previous > 1:
            out.append(LogLine(0, "", "", gap=number - previous - 1))
        text = _clean(lines[number - 1].decode("utf-8", "replace"))
        if redact:
            text, _ = redact_text(text)
        out.append(LogLine(number, text, "hit" if number in hits else "key" if number in keys else ""))
        previous = number
    return out, len(shown) == n


def result_view(name: str, data: bytes | str, report: Report, kb: Any = None) -> ResultView:
    log, complete = log_view(data, report)
    groups = {m.kb_id: group_remedies(m, report.facts.product, kb) for m in report.matches}
    return ResultView(name, report, groups, facts_rows(report.facts), log, complete)
