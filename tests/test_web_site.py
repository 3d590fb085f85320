"""`triage kb site OUT`: static KB pages with relative links (GitHub Pages sub-paths)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytest.importorskip("jinja2")
pytest.importorskip("markdown_it")

from triage.engine import Engine  # noqa: E402
from triage.web.site import build_site  # noqa: E402


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, Path, int]:
    engine = Engine.build(cache_dir=tmp_path_factory.mktemp("cache"))
    out = tmp_path_factory.mktemp("site")
    return engine, out, build_site(engine, out)


def test_every_entry_has_a_page(site: tuple[Engine, Path, int]) -> None:
    engine, out, pages = site
    assert pages == len(engine.kb.entries) + 2
    for kb_id, entry in engine.kb.entries.items():
        html = (out / "kb" / kb_id / "index.html").read_text(encoding="utf-8")
        assert "<h1>" in html and "References" in html, kb_id
    assert (out / "index.html").is_file() and (out / "kb" / "index.html").is_file()
    assert (out / "static" / "style.css").is_file() and (out / "static" / "search.js").is_file()
    assert (out / ".nojekyll").is_file()


def test_search_data_lists_every_entry(site: tuple[Engine, Path, int]) -> None:
    engine, out, _ = site
    data = json.loads((out / "search.json").read_text(encoding="utf-8"))
    assert {e["id"] for e in data["entries"]} == set(engine.kb.entries)
    assert all(e["title"] and e["summary"] for e in data["entries"])


def test_links_are_relative_and_resolve(site: tuple[Engine, Path, int]) -> None:
    _, out, _ = site
    for page in out.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        for link in re.findall(r'(?:href|src|data-index)="([^"]+)"', html):
            if link.startswith(("https://", "#")):
                continue
            assert not link.startswith("/"), (page, link)  # absolute paths break under /repo/ on Pages
            target = (page.parent / link.split("#")[0]).resolve()
            if link.endswith("/"):
                target = target / "index.html"
            assert target.exists(), (page.relative_to(out), link)
        assert "Analyse a log" not in html  # no server behind a static site


def test_rebuilding_into_the_same_folder_works(site: tuple[Engine, Path, int]) -> None:
    engine, out, pages = site
    assert build_site(engine, out) == pages
