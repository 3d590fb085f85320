"""SHA-256 as the interpreter builds it in: the same digests as `hashlib.sha256`, without loading OpenSSL on
start-up (the KB cache's file names and every fingerprint id are SHA-256 digests)."""

from __future__ import annotations

try:
    from _sha2 import sha256  # type: ignore[import-not-found]  # Python 3.12+
except ImportError:
    try:
        from _sha256 import sha256  # type: ignore[import-not-found]  # Python 3.10, 3.11
    except ImportError:  # pragma: no cover - interpreters built without them
        from hashlib import sha256

__all__ = ["sha256"]
