"""Report -> one Discord embed, as a plain dict (`discord.Embed.from_dict`).

No discord import here, so the layout and every limit are unit-tested with
plain values. Echoed log text sits in fences that cannot be closed early, and
every string passes through `neutralize`, so nothing the bot sends can ping.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from triage.load import Entry
from triage.model import Match, Report, Suggestion
from triage.render.common import facts_rows, verdict_line
from triage.render.safe import fence, neutralize

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
    "notice_embed",
    "report_embed",
    "search_embed",
    "should_reply",
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


def _prose(text: str) -> str:
    """KB prose with log values filled in: Markdown kept, mentions broken."""
    return neutralize(text.strip())


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


def _numbered(items: Sequence[str], start: int = 1) -> list[str]:
    return [f"{i}. {_prose(text)}" for i, text in enumerate(items, start)]


def _remedy_fields(b: Budget, order: int, remedies: Sequence[str]) -> None:
    """Numbered remedies over up to MAX_REMEDY_FIELDS fields, never splitting one remedy."""
    chunks: list[list[str]] = [[]]
    for item in _numbered(remedies):
        item = clip(item, FIELD_VALUE_MAX)
        if chunks[-1] and len("\n".join([*chunks[-1], item])) > FIELD_VALUE_MAX:
            chunks.append([])
        chunks[-1].append(item)
    for i, chunk in enumerate(chunks[:MAX_REMEDY_FIELDS]):
        b.field(order + i, "What to do" if i == 0 else "What to do (continued)", "\n".join(chunk))


def _facts_text(report: Report) -> str:
    return "\n".join(f"**{k}:** {_prose(v)}" for k, v in facts_rows(report.facts))


def _notes_text(notes: Sequence[str]) -> str:
    return "\n".join(f"• {_prose(n)}" for n in notes)


def _entry_url(kb_url: str | None, source: str) -> str | None:
    return (kb_url.rstrip("/") + "/" + source) if kb_url and source else None


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
) -> dict[str, Any]:
    """The answer to one log: the best match explained, or the key lines when nothing matched."""
    if report.matches:
        return _match_embed(report, report.matches[0], source, notes, kb_url)
    return _unknown_embed(report, source, notes)


def _match_embed(report: Report, m: Match, source: str | None, notes: Sequence[str], kb_url: str | None) -> dict[str, Any]:
    lead = "" if m.certainty == "confident" else "Possibly: "
    desc: list[str] = []
    verdict = verdict_line(m)
    if verdict:
        desc.append(f"**Version:** {_prose(verdict)}")
    desc.append(f"Confidence {m.confidence:.2f}" + (f" · from {_prose(source)}" if source else ""))
    footer = f"KB {m.kb_id} · {m.source}"
    if report.redactions:
        footer += f" · {report.redactions} personal or secret items redacted"
    footer += " · 👍/👎 below tells the maintainers if this was right"
    b = Budget(lead + _prose(m.title), "\n".join(desc), footer,
               COLOR_CONFIDENT if m.certainty == "confident" else COLOR_POSSIBLE, _entry_url(kb_url, m.source))
    numbers = sorted({ev.line for ev in m.evidence})
    where = ", ".join(str(n) for n in numbers[:5]) + ("…" if len(numbers) > 5 else "")
    # Placed in priority order; the first argument is the display order.
    b.field(10, f"Why (log line{'s' if len(numbers) > 1 else ''} {where})", code=[f"{ev.line:>5}: {ev.text}" for ev in m.evidence])
    b.field(20, "Root cause", _prose(m.root_cause))
    _remedy_fields(b, 40, m.remedies)
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
    if m.other_remedies:
        b.field(50, "For other runtimes", "\n".join(f"• {_prose(r)}" for r in m.other_remedies))
    if m.references:
        b.field(90, "References", "\n".join(f"<{r}>" for r in m.references[:3]))
    return b.build()


def _unknown_embed(report: Report, source: str | None, notes: Sequence[str]) -> dict[str, Any]:
    desc = [_prose(report.completeness.reason)] if report.completeness.reason else []
    if source:
        desc.append(f"Looked at {_prose(source)} ({report.line_count} lines).")
    footer = "triage · nothing in the knowledge base matched, so a volunteer will have a look"
    b = Budget("No known problem recognised", "\n".join(desc), footer, COLOR_UNKNOWN)
    if report.key_lines:
        b.field(10, "Key lines", code=[f"{k.line:>5}: {k.text}" for k in report.key_lines])
    if report.followup:
        b.field(20, "What to send next", _prose(report.followup))
    if report.suggestions:
        b.field(30, "Nearest KB entries", "\n".join(_suggestion_line(s) for s in report.suggestions))
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
    b = Budget(_prose(entry.title), _prose(entry.summary), footer, COLOR_CONFIDENT, _entry_url(kb_url, f"kb/{entry.id}.md"))
    b.field(10, "Root cause", _prose(entry.root_cause))
    _remedy_fields(b, 20, [r.text for r in entry.remedies])
    affected = [f"{a.product} {a.versions}" + (f" (fixed in {a.fixed_in})" if a.fixed_in else "") for a in entry.affected]
    if affected:
        b.field(5, "Affected", "\n".join(_prose(a) for a in affected))
    if entry.references:
        b.field(90, "References", "\n".join(f"<{r}>" for r in entry.references[:5]))
    return b.build()


def search_embed(query: str, results: Sequence[Suggestion]) -> dict[str, Any]:
    """`/kb search`: the nearest entries, each with its id for `/kb show`."""
    if not results:
        return Budget("No KB entry matches", f"Nothing close to {_prose(clip(query, 200))!s}.", "triage", COLOR_UNKNOWN).build()
    lines = [f"{_suggestion_line(s)} ({s.score:.0%})" for s in results]
    return Budget(f"KB entries for {clip(_prose(query), 200)}", "\n".join(lines), "Use /kb show ID for the whole entry", COLOR_CONFIDENT).build()
