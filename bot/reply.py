"""Report -> one Discord embed, as a plain dict (`discord.Embed.from_dict`).

No discord import here, so the layout and every limit are unit-tested with
plain values. Echoed log text sits in fences that cannot be closed early; KB
prose (which carries values from the log) keeps only its code spans and has
every other Markdown character escaped, and values shown on their own are
escaped entirely: nothing from a log can become a link, a heading or a ping.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

from triage.feedback import Trend
from triage.load import Entry
from triage.model import Facts, Fingerprint, Match, Report, Suggestion
from triage.render.common import facts_rows, fingerprint_parts, remedy_list, suggestions_sentence, verdict_line
from triage.render.safe import fence, inline_code, neutralize

__all__ = [
    "DESCRIPTION_MAX",
    "EMBED_TOTAL_MAX",
    "FIELDS_MAX",
    "FIELD_NAME_MAX",
    "FIELD_VALUE_MAX",
    "FOOTER_MAX",
    "TITLE_MAX",
    "Budget",
    "clip",
    "embed_length",
    "entry_embed",
    "entry_url",
    "literal",
    "name",
    "notice_embed",
    "prose",
    "remedy_lines",
    "report_embed",
    "search_embed",
    "should_reply",
    "trending_embed",
]

# Discord's embed limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits).
# A message whose embed breaks any of them is rejected with HTTP 400, so the user would get nothing.
EMBED_TOTAL_MAX = 6000  # title + description + field names and values + footer + author, all embeds of a message
FIELDS_MAX = 25  # fields per embed
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FOOTER_MAX = 2048
# Python counts code points; Discord's count can differ for emoji and astral characters, so keep some spare.
SAFETY_MARGIN = 100
EMBED_BUDGET = EMBED_TOTAL_MAX - SAFETY_MARGIN
MIN_USEFUL_FIELD = 60  # a field cut below this says nothing; drop it instead
EVIDENCE_LINE_MAX = 300  # one echoed log line; minified JSON lines can be megabytes
MAX_REMEDY_FIELDS = 3  # "What to do" continues over at most this many fields
SEEN_DAYS = 7  # "Seen N times in this server this week"

COLOR_CONFIDENT = 0x2ECC71
COLOR_POSSIBLE = 0xF1C40F
COLOR_UNKNOWN = 0x95A5A6
ELLIPSIS = "…"


def clip(text: str, limit: int) -> str:
    """Cut at a line or word boundary near `limit` and mark the cut; keep inline code closed."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return ELLIPSIS[:limit]
    cut = text[: limit - 1]
    for sep in ("\n", " "):
        pos = cut.rfind(sep)
        if pos >= limit * 0.7:
            cut = cut[:pos]
            break
    cut = cut.rstrip()
    if cut.count("`") % 2 and len(cut) + 2 <= limit:
        cut += "`"
    return cut + ELLIPSIS


# Discord Markdown: emphasis, strike, spoilers, code, masked links, timestamps, mentions and
# <URL> links start with one of these anywhere; quotes, headings, subtext and lists only at the
# start of a line. Parentheses need no escape once brackets have one.
_MD_CHARS = re.compile(r"([\\`*_~|\[\]<])")
_MD_LINE_START = re.compile(r"(?m)^([ \t]*)([#>+]|-#?|\d+[.)])(?=[ \t])")
_URL_SCHEME = re.compile(r"(?i)\b([a-z][a-z0-9+.-]{1,15}):(?=//)")
_TICKS = re.compile(r"`+")
ZWSP = "\u200b"


def literal(text: str) -> str:
    """A value from the log, shown as plain text: every Markdown character escaped,
    URLs broken so Discord does not link them, mentions broken."""
    text = _URL_SCHEME.sub(lambda m: f"{m.group(1)}:{ZWSP}", text)
    text = _MD_CHARS.sub(r"\\\1", text)
    return neutralize(_MD_LINE_START.sub(lambda m: m.group(1) + m.group(2)[:-1] + "\\" + m.group(2)[-1], text))


def name(text: str) -> str:
    """A file name or label from the user, as inline code: shown exactly, nothing rendered."""
    return inline_code(clip(" ".join(text.split()), 120))


def _code_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each inline code span, paired as Markdown pairs backtick runs of
    equal length; linear in the number of runs."""
    runs = [(m.start(), m.end()) for m in _TICKS.finditer(text)]
    later: dict[int, deque[int]] = {}
    for i, (a, b) in enumerate(runs):
        later.setdefault(b - a, deque()).append(i)
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(runs):
        a, b = runs[i]
        queue = later[b - a]
        while queue and queue[0] <= i:
            queue.popleft()
        if queue:
            j = queue.popleft()
            spans.append((a, runs[j][1]))
            i = j + 1
        else:
            i += 1
    return spans


def prose(text: str) -> str:
    """KB prose with log values filled in. Its code spans stay code (where nothing renders);
    everything else is escaped like `literal`: the KB's own prose uses no other Markdown, so
    only a value from the log could have put a link, emphasis or a heading there."""
    text = text.strip()
    out: list[str] = []
    pos = 0
    for a, b in _code_spans(text):
        out.append(literal(text[pos:a]))
        out.append(neutralize(text[a:b]))
        pos = b
    out.append(literal(text[pos:]))
    return "".join(out)


_prose = prose


def _code(lines: Sequence[str], limit: int) -> str:
    """Log lines in a fence that fits `limit`, dropping whole lines from the end first."""
    lines = [clip(ln, EVIDENCE_LINE_MAX) for ln in lines]
    while lines:
        block = fence("\n".join(lines), "text")
        if len(block) <= limit:
            return block
        if len(lines) == 1:
            overhead = len(block) - len(lines[0])
            return fence(clip(lines[0], max(limit - overhead - 8, 1)), "text")
        lines = lines[:-1]
    return ""


def embed_length(embed: dict[str, Any]) -> int:
    """The characters Discord counts against EMBED_TOTAL_MAX."""
    total = len(embed.get("title", "")) + len(embed.get("description", ""))
    total += len(embed.get("footer", {}).get("text", "")) + len(embed.get("author", {}).get("name", ""))
    return total + sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", []))


class Budget:
    """Builds an embed in priority order: what matters most is placed first and
    never cut for something less important; fields are shown in `order`."""

    __slots__ = ("_order", "embed", "used")

    def __init__(self, title: str, description: str, footer: str, color: int, url: str | None = None) -> None:
        self.embed: dict[str, Any] = {"type": "rich", "title": clip(title, TITLE_MAX), "color": color, "fields": []}
        if url:
            self.embed["url"] = url
        self.embed["footer"] = {"text": clip(footer, FOOTER_MAX)}
        self.used: int = len(self.embed["title"]) + len(self.embed["footer"]["text"])
        self.embed["description"] = clip(description, min(DESCRIPTION_MAX, EMBED_BUDGET - self.used - 400))
        self.used += len(self.embed["description"])
        self._order: list[int] = []

    @property
    def left(self) -> int:
        return EMBED_BUDGET - self.used

    def field(self, order: int, name: str, value: str | None = None, *, code: Sequence[str] | None = None, inline: bool = False) -> bool:
        """Add a field cut to what is left; False (and nothing added) if it would be useless."""
        if len(self.embed["fields"]) >= FIELDS_MAX:
            return False
        name = clip(name, FIELD_NAME_MAX)
        room = min(FIELD_VALUE_MAX, self.left - len(name))
        if room < MIN_USEFUL_FIELD:
            return False
        text = _code(code, room) if code is not None else clip(value or "", room)
        if not text.strip():
            return False
        self.embed["fields"].append({"name": name, "value": text, "inline": inline})
        self._order.append(order)
        self.used += len(name) + len(text)
        return True

    def build(self) -> dict[str, Any]:
        fields = self.embed["fields"]
        self.embed["fields"] = [f for _, f in sorted(zip(self._order, fields, strict=True), key=lambda p: p[0])]
        return self.embed


def should_reply(report: Report, *, explicit: bool) -> bool:
    """Passive triage speaks only when the KB knows the problem; an explicit request always gets an answer."""
    return explicit or bool(report.matches)


def remedy_lines(m: Match, facts: Facts) -> list[str]:
    """Numbered remedies, ordered and labelled as every renderer does (`remedy_list`): a known
    runtime's steps in order, otherwise generic steps first and then each runtime's steps
    under its display name ("**KoboldCpp:** ...")."""
    return [f"{i}. " + (f"**{literal(step.label)}:** " if step.label else "") + prose(step.text)
            for i, step in enumerate(remedy_list(m, facts), 1)]


def _remedy_fields(b: Budget, order: int, items: Sequence[str]) -> None:
    """Numbered remedies over up to MAX_REMEDY_FIELDS fields, never splitting one remedy."""
    chunks: list[list[str]] = [[]]
    for item in items:
        item = clip(item, FIELD_VALUE_MAX)
        if chunks[-1] and len("\n".join([*chunks[-1], item])) > FIELD_VALUE_MAX:
            chunks.append([])
        chunks[-1].append(item)
    for i, chunk in enumerate(chunks[:MAX_REMEDY_FIELDS]):
        b.field(order + i, "What to do" if i == 0 else "What to do (continued)", "\n".join(chunk))


def _facts_text(report: Report) -> str:
    return "\n".join(f"**{k}:** {literal(v)}" for k, v in facts_rows(report.facts))


def _notes_text(notes: Sequence[str]) -> str:
    """Notes are the bot's own Markdown, built with `literal`/`prose` around anything echoed."""
    return "\n".join(f"• {neutralize(n)}" for n in notes)


_GITHUB_BLOB = re.compile(r"https://github\.com/[^/\s]+/[^/\s]+/blob/")


def entry_url(kb_url: str | None, kb_id: str) -> str | None:
    """A KB page: `<base>kb/<id>.md` in a GitHub blob tree, else `<base>/kb/<id>/` (the web
    app's route and the static site's folder)."""
    if not kb_url:
        return None
    base = kb_url.rstrip("/")
    return f"{base}/kb/{kb_id}.md" if _GITHUB_BLOB.match(kb_url) else f"{base}/kb/{kb_id}/"


def _fingerprint_lines(fp: Fingerprint | None, seen: int) -> list[str]:
    """One short line, worded as in text and Markdown, and how often this server saw it."""
    if fp is None:
        return []
    text, note = fingerprint_parts(fp)
    out = [f"Fingerprint: {inline_code(text)}" + (f" ({note})" if note else "")]
    if fp.specific and seen > 1:
        out.append(f"Seen {seen} times in this server this week")
    return out


def _match_line(m: Match) -> str:
    tag = "" if m.certainty == "confident" else " (possible)"
    return f"`{m.kb_id}`{tag}: {_prose(m.title)}"


def _suggestion_line(s: Suggestion) -> str:
    return f"`{s.kb_id}`: {_prose(s.title)}"


def report_embed(
    report: Report,
    *,
    source: str | None = None,
    notes: Sequence[str] = (),
    kb_url: str | None = None,
    seen: int = 0,
) -> dict[str, Any]:
    """The answer to one log: the best match explained, or the key lines when nothing matched.
    `seen`: reports of this log's fingerprint in the server in the last SEEN_DAYS, this one included."""
    if report.matches:
        return _match_embed(report, report.matches[0], source, notes, kb_url, seen)
    return _unknown_embed(report, source, notes, seen)


def _match_embed(report: Report, m: Match, source: str | None, notes: Sequence[str], kb_url: str | None, seen: int) -> dict[str, Any]:
    lead = "" if m.certainty == "confident" else "Possibly: "
    desc: list[str] = []
    verdict = verdict_line(m)
    if verdict:
        desc.append(f"**Version:** {_prose(verdict)}")
    desc.append(f"Confidence {m.confidence:.2f}" + (f" · from {name(source)}" if source else ""))
    desc += _fingerprint_lines(report.fingerprint, seen)
    footer = f"KB {m.kb_id} · {m.source}"
    if report.redactions:
        footer += f" · {report.redactions} personal or secret items redacted"
    footer += " · 👍/👎 below tells the maintainers if this was right"
    b = Budget(lead + _prose(m.title), "\n".join(desc), footer,
               COLOR_CONFIDENT if m.certainty == "confident" else COLOR_POSSIBLE, entry_url(kb_url, m.kb_id))
    numbers = sorted({ev.line for ev in m.evidence})
    where = ", ".join(str(n) for n in numbers[:5]) + ("…" if len(numbers) > 5 else "")
    # Placed in priority order; the first argument is the display order.
    b.field(10, f"Why (log line{'s' if len(numbers) > 1 else ''} {where})", code=[f"{ev.line:>5}: {ev.text}" for ev in m.evidence])
    b.field(20, "Root cause", _prose(m.root_cause))
    _remedy_fields(b, 40, remedy_lines(m, report.facts))
    if notes:
        b.field(80, "Notes", _notes_text(notes))
    others = [mm for mm in report.matches[1:]]
    if others:
        b.field(60, "Other possible matches", "\n".join(_match_line(o) for o in others[:8]))
    if m.confirm and m.certainty != "confident":
        b.field(30, "To confirm", _prose(m.confirm))
    facts = _facts_text(report)
    if facts:
        b.field(70, "Your setup (from the log)", facts)
    shown = {step.text for step in m.remedy_steps}
    other = [r for r in m.other_remedies if r not in shown]
    if other:
        b.field(50, "For other runtimes", "\n".join(f"• {_prose(r)}" for r in other))
    if m.references:
        b.field(90, "References", "\n".join(f"<{r}>" for r in m.references[:3]))
    return b.build()


def _unknown_embed(report: Report, source: str | None, notes: Sequence[str], seen: int) -> dict[str, Any]:
    desc = [_prose(report.completeness.reason)] if report.completeness.reason else []
    if source:
        desc.append(f"Looked at {name(source)} ({report.line_count} lines).")
    desc += _fingerprint_lines(report.fingerprint, seen)
    footer = "triage · nothing in the knowledge base matched, so a volunteer will have a look"
    b = Budget("No known problem recognised", "\n".join(desc), footer, COLOR_UNKNOWN)
    if report.key_lines:
        b.field(10, "Key lines", code=[f"{k.line:>5}: {k.text}" for k in report.key_lines])
    if report.followup:
        b.field(20, "What to send next", _prose(report.followup))
    if report.suggestions:
        note = _prose(suggestions_sentence(report.facts))
        b.field(30, "Nearest KB entries", "\n".join([*(_suggestion_line(s) for s in report.suggestions), note]))
    if notes:
        b.field(50, "Notes", _notes_text(notes))
    facts = _facts_text(report)
    if facts:
        b.field(40, "Your setup (from the log)", facts)
    return b.build()


def notice_embed(title: str, notes: Sequence[str]) -> dict[str, Any]:
    """When nothing could be analysed (every attachment skipped) the user still hears why."""
    b = Budget(_prose(title), _notes_text(notes), "triage", COLOR_UNKNOWN)
    return b.build()


def entry_embed(entry: Entry, *, kb_url: str | None = None) -> dict[str, Any]:
    """`/kb show`: the entry as a reader sees it in the repository."""
    footer = f"KB {entry.id} · {entry.path}"
    # The KB's own text, no log values in it: shown as written (mentions still broken).
    b = Budget(neutralize(entry.title), neutralize(entry.summary), footer, COLOR_CONFIDENT, entry_url(kb_url, entry.id))
    b.field(10, "Root cause", neutralize(entry.root_cause))
    _remedy_fields(b, 20, [f"{i}. {neutralize(r.text)}" for i, r in enumerate(entry.remedies, 1)])
    affected = [f"{a.product} {a.versions}" + (f" (fixed in {a.fixed_in})" if a.fixed_in else "") for a in entry.affected]
    if affected:
        b.field(5, "Affected", "\n".join(literal(a) for a in affected))
    if entry.references:
        b.field(90, "References", "\n".join(f"<{r}>" for r in entry.references[:5]))
    return b.build()


def search_embed(query: str, results: Sequence[Suggestion]) -> dict[str, Any]:
    """`/kb search`: the nearest entries, each with its id for `/kb show`."""
    if not results:
        return Budget("No KB entry matches", f"Nothing close to {literal(clip(query, 200))}.", "triage", COLOR_UNKNOWN).build()
    lines = [f"{_suggestion_line(s)} ({s.score:.0%})" for s in results]
    return Budget(f"KB entries for {literal(clip(query, 200))}", "\n".join(lines), "Use /kb show ID for the whole entry", COLOR_CONFIDENT).build()


def trending_embed(trends: Sequence[Trend], days: float, names: Mapping[str, str], titles: Mapping[str, str]) -> dict[str, Any]:
    """`/trending`: the most reported crashes in this server, known to the KB or not.
    `names`: runtime id -> display name; `titles`: KB id -> title."""
    period = f"{days:g} day" + ("" if days == 1 else "s")
    if not trends:
        return Budget("No crash reports yet", f"No log with a specific fingerprint in this server in the last {period}.",
                      "triage", COLOR_UNKNOWN).build()
    total = sum(t.count for t in trends)
    b = Budget(f"Most reported crashes, last {period}", f"{len(trends)} fingerprints, {total} reports.",
               "Known: a KB entry explains it · New: nothing in the KB yet", COLOR_POSSIBLE)
    for i, t in enumerate(trends, 1):
        known = ", ".join(f"`{k}`" for k in t.kb_ids)
        lines = [inline_code(clip(t.text, 300)), f"Known: {known} {prose(titles.get(t.kb_ids[0], ''))}".rstrip() if t.kb_ids else "New: not in the KB yet"]
        runtimes = [literal(f"{names.get(p, p)} " + ", ".join(v[:4]) + (" …" if len(v) > 4 else "")).rstrip() for p, v in t.versions[:4]]
        if runtimes:
            lines.append("Runtimes: " + "; ".join(runtimes))
        b.field(i, f"{i}. {t.count} report{'s' if t.count != 1 else ''}", "\n".join(lines))
    return b.build()
