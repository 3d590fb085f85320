"""triage: recognise llama.cpp-family crash logs and say what to do.

`triage.analyse(text_or_bytes) -> Report` runs the whole pipeline; the CLI,
the Discord bot and the GitHub Action are thin layers over it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["analyse", "load_kb"]
__version__ = "0.1.0"

if TYPE_CHECKING:
    from .analyse import analyse
    from .load import load_kb


def __getattr__(name: str) -> Any:
    # Lazy, so `import triage` stays cheap for the CLI's fast path.
    if name == "analyse":
        from .analyse import analyse

        return analyse
    if name == "load_kb":
        from .load import load_kb

        return load_kb
    raise AttributeError(name)
