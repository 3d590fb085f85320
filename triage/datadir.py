"""Where the built-in data lives: in the wheel (`triage/_data/`) or at the checkout's top level."""

from __future__ import annotations

import os
TYPE_CHECKING = False  # true for type checkers only: typing is not imported at run time (records.py says why)

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["builtin_dir", "builtin_root"]


def builtin_root() -> str:
    """`builtin_dir()` as a string: the start-up path works on strings (pathlib and what it imports were
    ~4 ms of every run)."""
    here = os.path.dirname(os.path.realpath(__file__))
    packaged = os.path.join(here, "_data")
    if os.path.isdir(os.path.join(packaged, "kb")):
        return packaged
    return os.path.dirname(here)


def builtin_dir() -> Path:
    """The data shipped in the wheel, or the checkout's top level."""
    from pathlib import Path

    return Path(builtin_root())
