"""The Action's issue comment: Markdown built from a Report, without any I/O.

It differs from `triage.render.to_markdown` in what an issue needs: evidence says where it was
found (the body, which comment, which attachment), the verdict names the reporter's version, and
nothing in it can ping people, close the fence early, or link upstream issues (each `#123` or
github.com link in a bot comment would add a back-reference to that issue, every time).
"""

from __future__ import annotations

import bisect
import re
from typing import Sequence

from dataclasses import dataclass

from triage.model import Evidence, Facts, Fingerprint, KeyLine, Match, RemedyStep, Report
from triage.render.common import facts_rows, verdict_line
from triage.render.safe import fence, inline_code, neutralize

__all__ = ["COMMENT_LIMIT", "Document", "Duplicate", "kb_page_url", "render_comment"]

COMMENT_LIMIT = 65536  # GitHub rejects an issue comment body longer than this (422)
_BUDGET = COMMENT_LIMIT - 2000  # room for the marker, the state and the footer
MAX_MATCHES = 3  # more than three causes at once is noise, not help
MAX_LINE = 400  # an evidence line longer than this is cut; the point is recognition
MAX_FINGERPRINT = 160  # the fingerprint is one short line
_ISSUE_REF = re.compile(r"(?<![\w&/])(#|GH-)(?=\d)", re.IGNORECASE)
# A code span as CommonMark reads it, on one line; not after a backslash (then the tick is literal).
_CODE_SPAN = re.compile(r"(?<![`\\])(`+)(?!`)([^\n]+?)(?<!`)\1(?!`)")
_GITHUB_LINK = re.compile(r"^https://github\.com/")
_GITHUB_BLOB = re.compile(r"^https://[^/\s]+/[^/\s]+/[^/\s]+/blob/[^\s]")  # github.com or GitHub Enterprise Server
_OS_NAMES = {"linux": "Linux", "windows": "Windows", "macos": "macOS"}


@dataclass(frozen=True, slots=True)
class Document:
    """One piece of text the reporter gave: the body, a comment or a linked attachment."""

    source: str  # Markdown-safe words: "the issue body", "a comment", "attachment `x.log`"
    url: str
    text: str


@dataclass(frozen=True, slots=True)
class Duplicate:
    """An earlier issue of the same repository whose report carries the same specific fingerprint."""

    number: int
    state: str  # "open" | "closed"
    others: int  # people other than this issue's author who reported the crash (in any issue found)


def kb_page_url(kb_url: str | None, kb_id: str) -> str | None:
    """The KB page of an entry: `<base>kb/<id>.md` on a GitHub blob URL, else `<base>/kb/<id>/`
    (what both the web app and the static site serve)."""
    if not kb_url:
        return None
    if _GITHUB_BLOB.match(kb_url):
        return kb_url.rstrip("/") + f"/kb/{kb_id}.md"
    return kb_url.rstrip("/") + f"/kb/{kb_id}/"


def _plain(text: str) -> str:
    text = text.replace("<", "&lt;").replace(">", "&gt;")
    return neutralize(_ISSUE_REF.sub(lambda m: m.group(1) + "\u200b", text))


def _prose(text: str) -> str:
    """KB prose with log values filled in: defuse HTML, mentions and issue refs outside `code`.

    Inside a code span GitHub shows `&lt;` literally and pings nobody, so spans are kept as they are
    (an unpaired backtick run is plain text).
    """
    out: list[str] = []
    pos = 0
    for m in _CODE_SPAN.finditer(text):
        out.append(_plain(text[pos : m.start()]))
        out.append(m.group(0))
        pos = m.end()
    out.append(_plain(text[pos:]))
    return "".join(out)


def _link(url: str) -> str:
    """A reference link that does not add a back-reference on the upstream issue."""
    return _GITHUB_LINK.sub("https://redirect.github.com/", url)


def _where(line: int, starts: Sequence[int]) -> tuple[int, int]:
    """(document index, line in that document) for a line of the combined text."""
    i = max(0, bisect.bisect_right(list(starts), line) - 1)
    return i, line - starts[i] + 1


def _source(doc: Document) -> str:
    return f"[{doc.source}]({doc.url})" if doc.url else doc.source


def _cut(text: str) -> str:
    return text if len(text) <= MAX_LINE else text[: MAX_LINE - 1] + "…"


def _quoted(items: Sequence[Evidence | KeyLine], documents: Sequence[Document], starts: Sequence[int]) -> list[str]:
    """Log lines grouped by the document they came from, each group in its own safe fence."""
    groups: dict[int, list[str]] = {}
    for item in items:
        index, local = _where(item.line, starts) if documents and starts else (-1, item.line)
        groups.setdefault(index, []).append(f"{local:>5}: {_cut(item.text)}")
    out: list[str] = []
    for index, lines in groups.items():
        where = _source(documents[index]) if index >= 0 else "the log"
        out.append(f"In {where}:")
        out.append("")
        out.append(fence("\n".join(lines), "text"))
        out.append("")
    return out


def _product_name(facts: Facts) -> str:
    return facts.values().get("product_name") or str(facts.product)


def _verdict(m: Match, facts: Facts) -> str:
    if m.version_note:
        return m.version_note
    fixed = verdict_line(m)
    if facts.product:
        name = _product_name(facts)
        who = f"{name} {facts.version}" if facts.version else f"{name} (the log does not show the version)"
        return f"{who}: the knowledge base lists no affected {name} versions for this problem." + (f" {fixed}" if fixed else "")
    return fixed or "The log does not say which program or version this is."


def _step(step: RemedyStep, facts: Facts) -> str:
    """One remedy's text; an OS-specific one says its OS when the log did not name one."""
    text = _prose(step.text)
    if step.os and not facts.os:
        text = f"*{_OS_NAMES.get(step.os, step.os)}:* {text}"
    return text


def _remedies(m: Match, facts: Facts) -> list[str]:
    """The remedies from `remedy_steps` in the engine's order. With the runtime known, one
    numbered list; with it unknown, the generic steps numbered and every runtime-specific step
    under its runtime's name, so nobody is told another runtime's flag without knowing it."""
    steps = list(m.remedy_steps)
    if not steps:
        return []
    out = ["**What to do:**", ""]
    if facts.product:
        out += [f"{i}. {_step(s, facts)}" for i, s in enumerate(steps, 1)]
        return out + [""]
    generic = [s for s in steps if not s.product]
    groups: dict[str, list[RemedyStep]] = {}
    for s in steps:
        if s.product:
            groups.setdefault(s.product_name or s.product, []).append(s)
    out += [f"{i}. {_step(s, facts)}" for i, s in enumerate(generic, 1)]
    if generic and groups:
        out += ["", "Depending on the runtime:", ""]
    for name, items in groups.items():
        label = f"**{_prose(name)}:**"
        if len(items) == 1:
            out.append(f"- {label} {_step(items[0], facts)}")
        else:
            out.append(f"- {label}")
            out += [f"  - {_step(s, facts)}" for s in items]
    return out + [""]


def _match(
    m: Match, first: bool, facts: Facts, documents: Sequence[Document], starts: Sequence[int], kb_url: str | None = None
) -> list[str]:
    head = "Known problem" if first else "Also recognised"
    if m.certainty != "confident":
        head = "Possibly"
    out = [f"### {head}: {_prose(m.title)}", ""]
    if m.summary:
        out += [_prose(m.summary), ""]
    meta = f"{inline_code(m.kb_id)} · confidence {m.confidence:.2f}"
    page = kb_page_url(kb_url, m.kb_id)
    if page:
        meta += f" · [knowledge base page]({page})"
    out += [f"**Your version:** {_prose(_verdict(m, facts))}  ", meta, ""]
    out += ["**Why:** these lines match it.", ""]
    out += _quoted(m.evidence, documents, starts)
    if m.hit_count > len(m.evidence):
        out += [f"<sub>{m.hit_count} matching lines in all.</sub>", ""]
    out += [f"**Root cause:** {_prose(m.root_cause)}", ""]
    if m.confirm and m.certainty != "confident":
        out += [f"**To confirm:** {_prose(m.confirm)}", ""]
    out += _remedies(m, facts)
    if m.other_remedies:
        out += ["<details><summary>For other runtimes</summary>", ""]
        out += [f"- {_prose(r)}" for r in m.other_remedies]
        out += ["", "</details>", ""]
    if m.references:
        out += ["References: " + " · ".join(f"<{_link(r)}>" for r in m.references[:5]), ""]
    return out


def _facts(facts: Facts) -> list[str]:
    rows = facts_rows(facts)
    if not rows:
        return []
    out = ["<details><summary>Facts from the log</summary>", "", "| | |", "|---|---|"]
    out += [f"| {key} | {inline_code(_cut(value)).replace('|', '&#124;')} |" for key, value in rows]
    return out + ["", "</details>", ""]


def _miss(report: Report | None, documents: Sequence[Document], starts: Sequence[int]) -> list[str]:
    out: list[str] = []
    if report is None:
        return out
    if report.followup:
        out += ["**What to send next:**", "", _prose(report.followup), ""]
    if report.key_lines:
        out += ["**Error lines found:**", ""]
        out += _quoted(report.key_lines[:5], documents, starts)
    if report.matches:
        out += ["**Not sure enough to label:** " + ", ".join(f"{_prose(m.title)} ({inline_code(m.kb_id)}, {m.confidence:.2f})" for m in report.matches[:3]), ""]
    return out


def _duplicate(dup: Duplicate) -> list[str]:
    """The link to the earlier issue: `#N` on purpose, so it shows up on that issue too."""
    others = f", reported by {dup.others} other{'s' if dup.others != 1 else ''}" if dup.others else ""
    return [f"Looks like the same crash as #{dup.number} ({'open' if dup.state == 'open' else 'closed'}{others}).", ""]


def _fingerprint(fp: Fingerprint | None, searchable: str) -> list[str]:
    """One short line; `triage-fp:<id>` is what later issues search for (specific ones only)."""
    if fp is None:
        return []
    tag = inline_code(f"triage-fp:{searchable}") + " " if searchable else ""
    kind = "" if fp.specific else " (generic: not used to link issues)"
    # Log text in a code span renders literally; `--` is broken too so that no HTML comment
    # (`<!-- triage:report -->`, a state marker) ever appears outside a fence, even inert.
    text = fp.text if len(fp.text) <= MAX_FINGERPRINT else fp.text[: MAX_FINGERPRINT - 1] + "…"
    shown = inline_code(text.replace("--", "-\u200b-"))
    return [f"<sub>Fingerprint {tag}{shown}{kind}</sub>  "]


def _footer(documents: Sequence[Document], removed: Sequence[str], fp: Sequence[str] = ()) -> list[str]:
    kinds = [d.source for d in documents]
    n_comments = sum(1 for k in kinds if k.startswith("a comment"))
    n_files = sum(1 for k in kinds if k.startswith("attachment"))
    read = ["the issue"] + ([f"{n_comments} comment(s)"] if n_comments else []) + ([f"{n_files} attachment(s)"] if n_files else [])
    out = ["---", *fp]
    if removed:
        out.append(f"<sub>Labels removed because they no longer match: {', '.join(inline_code(r) for r in removed)}.</sub>  ")
    out.append(
        f"<sub>Automated triage from the triage knowledge base, reading {', '.join(read)}. This comment is edited, "
        "not reposted, when more logs arrive. A wrong label? Remove it and triage will not add it again.</sub>"
    )
    return out


def render_comment(
    report: Report | None,
    matches: Sequence[Match],
    documents: Sequence[Document],
    starts: Sequence[int],
    *,
    previous_ids: Sequence[str] = (),
    removed_labels: Sequence[str] = (),
    facts: Facts | None = None,
    kb_url: str | None = None,
    duplicate: Duplicate | None = None,
    fingerprint_id: str = "",
) -> str:
    """The comment body (without the marker and state, which `github_plan` adds).

    Everything quoted comes from `report`, which the engine has already redacted; `documents`
    give only where a line came from. `fingerprint_id` is the validated id to make searchable.
    """
    facts = facts or Facts()
    body: list[str] = _duplicate(duplicate) if duplicate is not None else []
    fp = report.fingerprint if report is not None else None
    searchable = fingerprint_id if fp is not None and fp.specific else ""
    shown = list(matches)[:MAX_MATCHES]
    if shown:
        for i, m in enumerate(shown):
            body += _match(m, i == 0, facts, documents, starts, kb_url)
        if len(matches) > len(shown):
            body += ["Also matched: " + ", ".join(inline_code(m.kb_id) for m in matches[len(shown) :]), ""]
    else:
        if previous_ids:
            body += ["### The earlier match no longer applies", ""]
            body += [f"The logs in this issue no longer match {', '.join(inline_code(g) for g in previous_ids)}.", ""]
        else:
            body += ["### No known problem recognised yet", ""]
        body += _miss(report, documents, starts)
    body += _facts(facts)
    text = "\n".join(body)
    if len(text) > _BUDGET and len(matches) > 1:
        return render_comment(
            report, matches[:1], documents, starts, previous_ids=previous_ids, removed_labels=removed_labels,
            facts=facts, kb_url=kb_url, duplicate=duplicate, fingerprint_id=fingerprint_id,
        )
    if len(text) > _BUDGET:
        # Unreachable with real KB entries (evidence lines are capped); never cut inside a fence.
        first = matches[0] if matches else None
        text = f"### Known problem: {_prose(first.title)}\n\n{inline_code(first.kb_id)}" if first else "### No known problem recognised yet"
        text += "\n\nThe full report is too long for a comment; see the workflow run's summary."
        if duplicate is not None:
            text = "\n".join(_duplicate(duplicate)) + "\n" + text
    return text.rstrip() + "\n\n" + "\n".join(_footer(documents, removed_labels, _fingerprint(fp, searchable))) + "\n"
