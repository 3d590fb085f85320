"""Report renderers: text for a terminal, Markdown for GitHub, JSON for scripts.

Each renderer is imported when first asked for, so a run loads only the one it writes.
"""

from __future__ import annotations

import importlib
TYPE_CHECKING = False  # true for type checkers only: typing is not imported at run time (records.py says why)
if TYPE_CHECKING:
    from typing import Any

if TYPE_CHECKING:
    from .json_out import report_dict, to_json
    from .markdown import to_markdown
    from .text import to_text

__all__ = ["report_dict", "to_json", "to_markdown", "to_text"]

_MODULES = {"report_dict": "json_out", "to_json": "json_out", "to_markdown": "markdown", "to_text": "text"}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
