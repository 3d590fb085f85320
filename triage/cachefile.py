"""Files in the user cache directory: named by a checksum of what they were built from, written atomically,
and never a reason to fail (a read-only, full or unreadable cache only means the work is done again)."""

from __future__ import annotations

import os

from .sha import sha256

__all__ = ["digest", "prune", "read", "write_atomic"]


def digest(key: bytes) -> str:
    """A short name for `key`."""
    return str(sha256(key).hexdigest()[:24])


def read(path: str | os.PathLike[str]) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None


def write_atomic(path: str | os.PathLike[str], data: bytes) -> bool:
    """Write through a temporary file and rename it into place, so a reader never sees half a file."""
    from pathlib import Path

    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
    except OSError:
        return False
    return True


PATTERNS = ("kb-*.pickle", "hs-*.db", "literals-*.marshal")  # literal tables: older versions wrote them apart


def prune(root: str | os.PathLike[str], keep: int = 8) -> None:
    """Keep the newest few of each kind: every data edit or --kb-dir set makes new ones."""
    from pathlib import Path

    folder = Path(root)
    for pattern in PATTERNS:
        try:
            files = sorted(folder.glob(pattern), key=lambda p: p.stat().st_mtime, reverse=True)
        except OSError:  # another process pruned a file meanwhile
            continue
        for old in files[keep:]:
            try:
                old.unlink(missing_ok=True)
            except OSError:
                pass
