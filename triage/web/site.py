"""`triage kb site OUT`: the KB as static HTML for GitHub Pages, with the same
templates as the app. Every link is relative, so the site works under any
sub-path (https://owner.github.io/repo/) and from a local folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..engine import Engine
from .kbpages import entry_view, index_rows, search_records
from .render import render

__all__ = ["build_site"]

STATIC = Path(__file__).parent / "static"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _context(root: str) -> dict[str, object]:
    return {
        "root": root,
        "site": True,
        "kb_home": f"{root}kb/index.html",
        "kb_link": lambda kb_id: f"{root}kb/{kb_id}/index.html",
    }


def build_site(engine: Engine, out_dir: Path) -> int:
    """Write index.html, kb/index.html, kb/<id>/index.html, search.json and static/;
    returns the number of HTML pages written."""
    kb = engine.kb
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = index_rows(kb)
    pages = 0
    for root, path in (("", out_dir / "index.html"), ("../", out_dir / "kb" / "index.html")):
        _write(path, render("kb_list.html", entries=entries, query=None, results=None,
                            search_url=f"{root}search.json", **_context(root)))
        pages += 1
    for entry in entries:
        _write(out_dir / "kb" / entry.id / "index.html",
               render("kb_entry.html", v=entry_view(kb, entry), **_context("../../")))
        pages += 1
    _write(out_dir / "search.json", json.dumps({"entries": search_records(kb)}, ensure_ascii=False, indent=0))
    static = out_dir / "static"
    static.mkdir(exist_ok=True)
    for item in STATIC.iterdir():
        if item.is_file():
            shutil.copyfile(item, static / item.name)
    (out_dir / ".nojekyll").write_text("", encoding="utf-8")  # GitHub Pages: serve the files as they are
    return pages
