"""One Engine, built at the edge: the validated KB plus everything compiled from it.

`Engine.build` is where files are read and caches used (the CLI, the bot, the
Action, `eval` and the web app each build one and reuse it). `Engine.analyse`
is the pure core: bytes in, Report out; it reads no environment, touches no
disk and keeps no state between calls beyond the Engine's own lazily built
indexes.
"""

from __future__ import annotations

import os
TYPE_CHECKING = False  # true for type checkers only: typing is not imported at run time (records.py says why)
from .facts import FactRule, product_rules, static_rules
from .load import KnowledgeBase, Patterns
from .match import Index, build_index

if TYPE_CHECKING:
    import mmap
    from pathlib import Path
    from typing import Any, Sequence

    from .model import Fingerprint, KeyLine, Match, Report

__all__ = ["Engine"]


class Engine:
    """Holds the KB, its keyword index, the fact rules and the suggestion index; analyses logs."""

    __slots__ = ("_suggest", "fact_rules", "fingerprint_rules", "index", "kb", "patterns")

    def __init__(
        self,
        kb: KnowledgeBase,
        *,
        prefilter: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        fingerprint_rules: Any = None,
    ) -> None:
        self.kb = kb
        self.patterns = Patterns(kb.compiled)  # every regex the analysis searches with, compiled once
        self.fact_rules: list[FactRule] = static_rules(self.patterns) + product_rules(kb.products.values(), self.patterns)
        self.index: Index = build_index(kb.signatures, self.fact_rules, prefilter, cache_dir, self.patterns,
                                        getattr(kb, "literals", None))
        self.fingerprint_rules = fingerprint_rules if fingerprint_rules is not None else kb.fingerprint_rules
        self._suggest: Any = None

    @classmethod
    def build(
        cls,
        kb_dirs: Sequence[Path] = (),
        cache_dir: str | os.PathLike[str] | None = None,
        *,
        builtin: bool = True,
        prefilter: str | None = None,
    ) -> Engine:
        """Load and validate the built-in data plus each KB directory (later ids replace earlier ones).

        `cache_dir`: where validated data and the Hyperscan database are cached (None: no cache).
        `prefilter`: force one keyword scanner (hyperscan, ahocorasick, python). Raises DataErrors
        (every problem, naming file and field) on invalid data.
        """
        from .load import load_kb

        kb = load_kb(list(kb_dirs), builtin=builtin, cache=cache_dir)
        return cls(kb, prefilter=prefilter, cache_dir=cache_dir)

    def analyse(self, data: bytes | str | mmap.mmap, *, redact: bool = True, timing: bool = False) -> Report:
        """One log to one report. Raises InputError for input that is not a log (binary, empty).

        With `timing`, `report.diagnostics` also holds per-signature seconds (for `triage eval`)."""
        from .analyse import run

        return run(self, data, redact=redact, timing=timing)

    def suggestion_index(self) -> Any:
        """The example-line index the nearest-entry search uses, built on first need."""
        if self._suggest is None:
            from .suggest import build_suggestion_index

            self._suggest = build_suggestion_index(self.kb)
        return self._suggest

    def fingerprint(self, key_lines: Sequence[KeyLine], matches: Sequence[Match],
                    below: Sequence[tuple[int, str]] = ()) -> Fingerprint | None:
        """The failure's fingerprint, or None without fingerprint rules or an error line.

        `below`: numbered lines under the top key lines, read for a crash dump's stack frames."""
        if self.fingerprint_rules is None:
            return None
        from .fingerprint import fingerprint

        return fingerprint(key_lines, matches, self.fingerprint_rules, below)
