"""GitHub-flavoured Markdown: the Action's comment and `--format markdown`.

Echoed log text only appears inside fences that cannot be closed early, and
every @mention is broken, so a hostile log can neither ping nor inject.
"""

from __future__ import annotations

import re

from ..model import Match, Report
from .common import facts_rows, fingerprint_parts, remedy_list, suggestions_note, verdict_line
from .safe import fence, inline_code, neutralize

__all__ = ["to_markdown"]


_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
_ISSUE_REF = re.compile(r"(?<![\w/&])#(\d+)")


def _text(text: str) -> str:
    """KB prose with log values filled in: keep its `code` as written, and outside
    code break mentions, HTML and bare `#123` (on GitHub it would link this repo's issue)."""
    out: list[str] = []
    pos = 0
    for m in _CODE_SPAN.finditer(text):
        out.append(_prose(text[pos : m.start()]))
        out.append(m.group(0) if "@" not in m.group(0) else neutralize(m.group(0)))
        pos = m.end()
    out.append(_prose(text[pos:]))
    return "".join(out)


def _prose(text: str) -> str:
    text = text.replace("<", "&lt;").replace(">", "&gt;")
    return neutralize(_ISSUE_REF.sub("#\u200b\\1", text))


def _match(m: Match, report: Report, level: str) -> list[str]:
    lead = "Possibly: " if m.certainty != "confident" else ""
    out = [f"{level} {lead}{_text(m.title)}", ""]
    meta = f"`{m.kb_id}` · confidence {m.confidence:.2f}"
    verdict = verdict_line(m)
    out.append(f"**Version:** {_text(verdict)}  \n{meta}" if verdict else meta)
    out.append("")
    out.append("**Why** (the log lines that matched):")
    out.append("")
    out.append(fence("\n".join(f"{ev.line:>5}: {ev.text}" for ev in m.evidence), "text"))
    out.append("")
    out.append(f"**Root cause:** {_text(m.root_cause)}")
    out.append("")
    if m.confirm and m.certainty != "confident":
        out.append(f"**To confirm:** {_text(m.confirm)}")
        out.append("")
    steps = remedy_list(m, report.facts)
    if steps:
        out.append("**What to do:**")
        out.append("")
        out.extend(
            f"{i}. " + (f"**{_prose(step.label)}:** " if step.label else "") + _text(step.text)
            for i, step in enumerate(steps, 1)
        )
        out.append("")
    if m.other_remedies:
        out.append("<details><summary>For other runtimes</summary>")
        out.append("")
        out.extend(f"- {_text(r)}" for r in m.other_remedies)
        out.append("")
        out.append("</details>")
        out.append("")
    if m.references:
        out.append("References: " + ", ".join(f"<{r}>" for r in m.references[:5]))
        out.append("")
    return out


def to_markdown(report: Report, heading: str = "##") -> str:
    out: list[str] = []
    confident = report.confident
    for i, m in enumerate(report.matches):
        out.extend(_match(m, report, heading if i == 0 else heading + "#"))
    if not report.matches:
        out.append(f"{heading} No known problem recognised")
        out.append("")
    if not confident:
        # No confident answer: the log's own error lines lead, most specific first.
        if report.key_lines:
            out.append("**Key lines** (most specific first):")
            out.append("")
            out.append(fence("\n".join(f"{k.line:>5}: {k.text}" for k in report.key_lines), "text"))
            out.append("")
        c = report.completeness
        out.append(f"**Completeness:** `{c.verdict}` ({_text(c.reason)})")
        out.append("")
        if report.followup:
            out.append("**What to send next:**")
            out.append("")
            out.append(_text(report.followup))
            out.append("")
        if report.suggestions:
            out.append("**Nearest KB entries:** " + ", ".join(f"{inline_code(s.kb_id)} ({_text(s.title)})" for s in report.suggestions)
                       + f" ({suggestions_note(report.facts)})")
            out.append("")
    if report.fingerprint is not None:
        text, note = fingerprint_parts(report.fingerprint)
        out.append(f"**Fingerprint:** {inline_code(text)}" + (f" ({note})" if note else ""))
        out.append("")
    rows = facts_rows(report.facts)
    if rows:
        out.append("<details><summary>Facts from the log</summary>")
        out.append("")
        out.append("| | |")
        out.append("|---|---|")
        for key, value in rows:
            out.append(f"| {key} | {inline_code(value.replace('|', '/'))} |")
        out.append("")
        out.append("</details>")
        out.append("")
    if report.redactions:
        out.append(f"<sub>{report.redactions} personal or secret items were redacted from the quoted log.</sub>")
    return "\n".join(out).rstrip() + "\n"
