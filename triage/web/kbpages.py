"""KB entries as pages and as JSON: Markdown prose rendered safely (raw HTML off,
markdown-it's link check drops javascript: and friends) and placeholders shown
as their fallback, since a KB page has no log to fill them from."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from markdown_it import MarkdownIt
from markupsafe import Markup

from ..load import Affected, Entry, KnowledgeBase
from ..model import Remedy, under_heading
from ..records import NamedTuple
from .names import os_name, product_name

__all__ = ["EntryView", "entry_dict", "entry_view", "index_rows", "md_block", "md_inline", "search_records", "unplaceholder"]

_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\s*(?:\|([^{}]{0,200}))?\}\}")


@lru_cache(maxsize=1)
def _md() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")
    return md


def unplaceholder(text: str) -> str:
    """`{{gpu|your GPU}}` -> `your GPU`; `{{gpu}}` -> `‹gpu›` (a KB page has no log values)."""
    return _PLACEHOLDER.sub(lambda m: m.group(2) if m.group(2) is not None else f"‹{m.group(1)}›", text)


def md_inline(text: str) -> Markup:
    """One KB sentence (backticks, emphasis, links) as safe inline HTML."""
    return Markup(_md().renderInline(unplaceholder(text)))


def md_block(text: str) -> Markup:
    """A KB entry's Markdown body as safe HTML; headings one level down is not needed:
    the body starts at ##, under the page's single h1."""
    return Markup(_md().render(text))


class RemedyView(NamedTuple):
    text: str
    os: str | None


class EntryView(NamedTuple):
    entry: Entry
    affected: list[tuple[str, str, str | None, str | None]]  # product name, versions, fixed_in, note
    remedy_groups: list[tuple[str | None, list[RemedyView]]]
    variants: list[dict[str, Any]]
    signatures: list[tuple[str, str]]


def _groups(kb: KnowledgeBase, remedies: tuple[Remedy, ...]) -> list[tuple[str | None, list[RemedyView]]]:
    """Generic remedies first, then one group per set of runtimes a remedy names
    ("llama.cpp / llamafile", as the report pages name them), in order of appearance: each remedy is shown once."""
    groups: dict[str | None, list[RemedyView]] = {None: []}
    for remedy in remedies:
        systems = ", ".join(os_name(o) for o in remedy.os) or None
        key = " / ".join(product_name(kb, p) for p in remedy.products) or None
        # the runtime heading and the OS tag show those names: the text does not repeat them
        groups.setdefault(key, []).append(RemedyView(under_heading(remedy.text, key, systems), systems))
    return [(k, v) for k, v in groups.items() if v]


def _affected(kb: KnowledgeBase, rows: tuple[Affected, ...]) -> list[tuple[str, str, str | None, str | None]]:
    return [(product_name(kb, a.product), a.versions, a.fixed_in, a.note) for a in rows]


def entry_view(kb: KnowledgeBase, entry: Entry) -> EntryView:
    variants = [
        {"id": v.id, "title": v.title, "cause": v.cause, "remedy_groups": _groups(kb, v.remedies),
         "affected": _affected(kb, v.affected) if v.affected else []}
        for v in entry.variants
    ]
    sigs = [(s.id, s.description) for s in kb.signatures_for(entry.id)]
    return EntryView(entry, _affected(kb, entry.affected), _groups(kb, entry.remedies), variants, sigs)


def _affected_dict(a: Affected) -> dict[str, Any]:
    return {"product": a.product, "versions": a.versions, "fixed_in": a.fixed_in, "note": a.note}


def _remedy_dict(r: Remedy) -> dict[str, Any]:
    return {"text": r.text, "products": list(r.products), "os": list(r.os)}


def entry_dict(kb: KnowledgeBase, entry: Entry) -> dict[str, Any]:
    """`GET /api/v1/kb/<id>`: the entry's data as written (placeholders unfilled)."""
    return {
        "id": entry.id,
        "title": entry.title,
        "summary": entry.summary,
        "root_cause": entry.root_cause,
        "kind": entry.kind,
        "labels": list(entry.labels),
        "references": list(entry.references),
        "affected": [_affected_dict(a) for a in entry.affected],
        "remedies": [_remedy_dict(r) for r in entry.remedies],
        "variants": [
            {"id": v.id, "title": v.title, "cause": v.cause, "signatures": list(v.signatures),
             "remedies": [_remedy_dict(r) for r in v.remedies],
             "affected": None if v.affected is None else [_affected_dict(a) for a in v.affected]}
            for v in entry.variants
        ],
        "signatures": [s.id for s in kb.signatures_for(entry.id)],
        "confirm": entry.confirm,
        "body": entry.body,
    }


def index_rows(kb: KnowledgeBase) -> list[Entry]:
    """Entries for the list page: causes first, then wrappers; by title."""
    return sorted(kb.entries.values(), key=lambda e: (e.kind != "cause", e.title.lower()))


def search_records(kb: KnowledgeBase) -> list[dict[str, Any]]:
    """What the static site's search script (and the API list) searches: id, title,
    summary, labels and the signatures' descriptions."""
    out = []
    for entry in index_rows(kb):
        words = " ".join(s.description for s in kb.signatures_for(entry.id))
        out.append({"id": entry.id, "title": entry.title, "summary": entry.summary, "kind": entry.kind,
                    "labels": list(entry.labels), "text": words})
    return out
