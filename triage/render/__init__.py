"""Report renderers: text for a terminal, Markdown for GitHub, JSON for scripts."""

from __future__ import annotations

from .json_out import to_json, report_dict
from .markdown import to_markdown
from .text import to_text

__all__ = ["report_dict", "to_json", "to_markdown", "to_text"]
