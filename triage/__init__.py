"""triage: recognise llama.cpp-family crash logs and say what to do.

`triage.Engine.build(kb_dirs)` loads the knowledge base once; `engine.analyse(data) -> Report` runs the whole
pipeline. The CLI, the Discord bot, the GitHub Action and the web app are thin layers over it.
"""

from __future__ import annotations

TYPE_CHECKING = False  # true for type checkers only: typing is not imported at run time (records.py says why)
__all__ = ["Engine"]
__version__ = "0.1.0"

if TYPE_CHECKING:
    from typing import Any

    from .engine import Engine


def __getattr__(name: str) -> Any:
    # Lazy, so `import triage` stays cheap for the CLI's fast path.
    if name == "Engine":
        from .engine import Engine

        return Engine
    raise AttributeError(name)
