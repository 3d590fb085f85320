"""Plain text for a person in a terminal; colour only when asked (a TTY).

Prose wraps to the width the CLI gives (the terminal's, or 100 in a pipe) and
never inside a `code span` or at a hyphen: `llama-cpp-python`,
`ggml-metal.metal` and commands stay whole so they can be copied. Log lines
are quoted as they are, unwrapped.
"""

from __future__ import annotations

import re
import textwrap

from ..model import Match, Report
from .common import facts_rows, fingerprint_parts, remedy_list, suggestions_note, verdict_line

__all__ = ["to_text", "wrap"]

DEFAULT_WIDTH = 100
_SPAN = re.compile(r"`[^`\n]{0,2000}`")  # a code span; bounded, no nested quantifiers
_KEEP = "\x00"  # stands for a space inside a code span while textwrap runs (NULs never reach a report)


def wrap(text: str, width: int = DEFAULT_WIDTH, initial: str = "  ", subsequent: str | None = None) -> str:
    """Fill each paragraph of `text`, keeping code spans, hyphenated names and URLs whole."""
    subsequent = initial if subsequent is None else subsequent
    out: list[str] = []
    for para in text.split("\n"):
        if not para.strip():
            continue
        guarded = _SPAN.sub(lambda m: m.group(0).replace(" ", _KEEP), para.replace(_KEEP, ""))
        lines = textwrap.wrap(
            guarded,
            width=max(width, len(initial) + 10),
            initial_indent=initial,
            subsequent_indent=subsequent,
            break_on_hyphens=False,
            break_long_words=False,
        )
        out.extend(line.replace(_KEEP, " ") for line in lines)
        initial = subsequent
    return "\n".join(out)


class _Style:
    def __init__(self, colour: bool) -> None:
        self.colour = colour

    def _wrap(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.colour else text

    def bold(self, text: str) -> str:
        return self._wrap("1", text)

    def red(self, text: str) -> str:
        return self._wrap("31", text)

    def dim(self, text: str) -> str:
        return self._wrap("2", text)

    def yellow(self, text: str) -> str:
        return self._wrap("33", text)


def _match(m: Match, report: Report, s: _Style, first: bool, width: int) -> list[str]:
    head = "Possibly: " if m.certainty != "confident" else ""
    out = [s.bold(f"{head}{m.title}") + s.dim(f"  [{m.kb_id}, confidence {m.confidence:.2f}]")]
    verdict = verdict_line(m)
    if verdict:
        out.append(wrap(verdict, width))
    out.append(s.bold("Why:"))
    for ev in m.evidence:
        out.append(f"  line {ev.line}: " + s.red(ev.text))
    if m.hit_count > len(m.evidence):
        out.append(s.dim(f"  ({m.hit_count} matching lines in all)"))
    out.append(s.bold("Root cause:"))
    out.append(wrap(m.root_cause, width))
    if m.confirm and m.certainty != "confident":
        out.append(s.bold("To confirm:"))
        out.append(wrap(m.confirm, width))
    steps = remedy_list(m, report.facts)
    if steps:
        out.append(s.bold("What to do:"))
        for i, step in enumerate(steps, 1):
            lead = f"  {i}. "
            body = f"{step.label}: {step.text}" if step.label else step.text
            out.append(wrap(body, width, lead, " " * len(lead)))
    if m.other_remedies and first:
        out.append(s.dim("For other runtimes:"))
        for r in m.other_remedies:
            out.append(s.dim(wrap(r, width, "  - ", "    ")))
    if m.references:
        out.append(s.dim(wrap(" ".join(m.references[:4]), width, "References: ", "  ")))
    return out


def to_text(report: Report, colour: bool = False, width: int = DEFAULT_WIDTH) -> str:
    s = _Style(colour)
    out: list[str] = []
    if not report.confident and not report.matches:
        out.append(s.bold("No known problem recognised in this log."))
    for i, m in enumerate(report.matches):
        if i:
            out.append("")
        out.extend(_match(m, report, s, i == 0, width))
    if not report.confident:
        # No confident answer: the log's own error lines lead, most specific first.
        if report.key_lines:
            out.append("")
            out.append(s.bold("Key lines:"))
            for k in report.key_lines:
                out.append(f"  line {k.line}: " + s.red(k.text))
        verdict = report.completeness
        out.append("")
        line = wrap(f"Completeness: {verdict.verdict} ({verdict.reason})", width, "", "  ")
        out.append(s.bold("Completeness:") + line[len("Completeness:"):])
        if report.followup:
            out.append(s.bold("What to send next:"))
            out.append(wrap(report.followup, width))
        if report.suggestions:
            out.append(s.bold("Nearest KB entries:"))
            out.append(s.dim(wrap(f"({suggestions_note(report.facts)})", width)))
            for sug in report.suggestions:
                out.append(f"  {sug.kb_id}: {sug.title} ({sug.score:.2f})")
    if report.fingerprint is not None:
        text, note = fingerprint_parts(report.fingerprint)
        out.append("")
        out.append(s.dim("Fingerprint: ") + f"`{text}`" + s.dim(f" ({note})" if note else ""))
    rows = facts_rows(report.facts)
    if rows:
        out.append("")
        out.append(s.bold("Facts:"))
        for key, value in rows:
            out.append(f"  {key}: {value}")
    if report.redactions:
        out.append(s.dim(f"({report.redactions} personal or secret items redacted; --no-redact shows them)"))
    return "\n".join(out) + "\n"
