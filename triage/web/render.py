"""The Jinja2 environment the app and the static site share (autoescape on)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from ..render.common import suggestions_sentence
from .kbpages import md_block, md_inline

__all__ = ["code_spans", "environment", "render"]

_CODE = re.compile(r"`([^`\n]{1,2000})`")


def code_spans(text: str) -> Markup:
    """Text filled from a log: escaped, with only `backtick` spans turned into <code>.
    No links or other Markdown, so a hostile log value cannot become a link."""
    out: list[str] = []
    pos = 0
    for m in _CODE.finditer(text):
        out.append(str(escape(text[pos:m.start()])))
        out.append(f"<code>{escape(m.group(1))}</code>")
        pos = m.end()
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("triage.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["code"] = code_spans
    env.filters["md"] = md_inline
    env.filters["mdblock"] = md_block
    env.globals["suggestions_sentence"] = suggestions_sentence
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)
