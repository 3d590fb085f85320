"""Plain text for a person in a terminal; colour only when asked (a TTY)."""

from __future__ import annotations

import textwrap

from ..model import Match, Report
from .common import facts_rows, verdict_line

__all__ = ["to_text"]


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


def _para(text: str, indent: str = "  ") -> str:
    return "\n".join(textwrap.fill(p, width=100, initial_indent=indent, subsequent_indent=indent) for p in text.split("\n") if p.strip())


def _match(m: Match, s: _Style, first: bool) -> list[str]:
    head = "Possibly: " if m.certainty != "confident" else ""
    out = [s.bold(f"{head}{m.title}") + s.dim(f"  [{m.kb_id}, confidence {m.confidence:.2f}]")]
    verdict = verdict_line(m)
    if verdict:
        out.append(_para(verdict))
    out.append(s.bold("Why:"))
    for ev in m.evidence:
        out.append(f"  line {ev.line}: " + s.red(ev.text))
    if m.hit_count > len(m.evidence):
        out.append(s.dim(f"  ({m.hit_count} matching lines in all)"))
    out.append(s.bold("Root cause:"))
    out.append(_para(m.root_cause))
    if m.confirm and m.certainty != "confident":
        out.append(s.bold("To confirm:"))
        out.append(_para(m.confirm))
    if m.remedies:
        out.append(s.bold("What to do:"))
        for i, r in enumerate(m.remedies, 1):
            out.append(textwrap.fill(r, width=100, initial_indent=f"  {i}. ", subsequent_indent="     "))
    if m.other_remedies and first:
        out.append(s.dim("For other runtimes:"))
        for r in m.other_remedies:
            out.append(s.dim(textwrap.fill(r, width=100, initial_indent="  - ", subsequent_indent="    ")))
    if m.references:
        out.append(s.dim("References: " + " ".join(m.references[:4])))
    return out


def to_text(report: Report, colour: bool = False) -> str:
    s = _Style(colour)
    out: list[str] = []
    if not report.confident and not report.matches:
        out.append(s.bold("No known problem recognised in this log."))
    if report.matches:
        for i, m in enumerate(report.matches):
            if i:
                out.append("")
            out.extend(_match(m, s, i == 0))
    if not report.confident:
        # No confident answer: the log's own error lines lead, most specific first.
        if report.key_lines:
            out.append("")
            out.append(s.bold("Key lines:"))
            for k in report.key_lines:
                out.append(f"  line {k.line}: " + s.red(k.text))
        verdict = report.completeness
        out.append("")
        out.append(s.bold("Completeness: ") + f"{verdict.verdict} ({verdict.reason})")
        if report.followup:
            out.append(s.bold("What to send next:"))
            out.append(_para(report.followup))
        if report.suggestions:
            out.append(s.bold("Nearest KB entries:"))
            for sug in report.suggestions:
                out.append(f"  {sug.kb_id}: {sug.title} ({sug.score:.2f})")
    rows = facts_rows(report.facts)
    if rows:
        out.append("")
        out.append(s.bold("Facts:"))
        for key, value in rows:
            out.append(f"  {key}: {value}")
    if report.redactions:
        out.append(s.dim(f"({report.redactions} personal or secret items redacted; --no-redact shows them)"))
    return "\n".join(out) + "\n"
