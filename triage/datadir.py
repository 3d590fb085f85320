"""Where the built-in data lives: in the wheel (`triage/_data/`) or at the checkout's top level."""

from __future__ import annotations

from pathlib import Path

__all__ = ["builtin_dir"]


def builtin_dir() -> Path:
    """The data shipped in the wheel, or the checkout's top level."""
    packaged = Path(__file__).resolve().parent / "_data"
    if (packaged / "kb").is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent
