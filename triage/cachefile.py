"""Files in the user cache directory: named by a checksum of what they were built from, written atomically,
and never a reason to fail (a read-only, full or unreadable cache only means the work is done again)."""

from __future__ import annotations

import os
import zlib
from pathlib import Path

__all__ = ["digest", "prune", "read", "write_atomic"]


def digest(key: bytes) -> str:
    """A short name for `key` (zlib's checksums: no OpenSSL import on start-up)."""
    return f"{zlib.crc32(key):08x}{zlib.adler32(key):08x}{len(key):x}"


def read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def write_atomic(path: Path, data: bytes) -> bool:
    """Write through a temporary file and rename it into place, so a reader never sees half a file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError:
        return False
    return True


PATTERNS = ("kb-*.pickle", "hs-*.db", "literals-*.marshal")


def prune(root: Path, keep: int = 8) -> None:
    """Keep the newest few of each kind: every data edit or --kb-dir set makes new ones."""
    for pattern in PATTERNS:
        try:
            files = sorted(root.glob(pattern), key=lambda p: p.stat().st_mtime, reverse=True)
        except OSError:  # another process pruned a file meanwhile
            continue
        for old in files[keep:]:
            try:
                old.unlink(missing_ok=True)
            except OSError:
                pass
