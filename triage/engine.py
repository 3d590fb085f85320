"""One Engine, built at the edge: the validated KB, compiled index and
suggestion data in one object. `Engine.analyse` is the pure core (bytes in,
Report out); the CLI, the bot, the Action, `eval` and the web app each build
one Engine and reuse it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from .load import KnowledgeBase
    from .model import Report

__all__ = ["Engine"]


class Engine:
    """Holds everything derived from the data files; analyses logs."""

    __slots__ = ("kb",)

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb

    @classmethod
    def build(cls, kb_dirs: Sequence[Path] = (), cache_dir: Path | None = None, *, builtin: bool = True) -> Engine:
        """Load and validate the built-in data plus each KB directory.

        Raises DataErrors (every problem, naming file and field) on invalid data.
        """
        from .load import load_kb

        return cls(load_kb(list(kb_dirs), builtin=builtin, cache=cache_dir))

    def analyse(self, data: bytes | str, *, redact: bool = True) -> Report:
        """One log to one report. Raises InputError for input that is not a log."""
        from .analyse import analyse

        return analyse(data, self.kb, redact=redact)
