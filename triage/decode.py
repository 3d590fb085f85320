"""Bytes in, UTF-8 bytes with `\\n` line ends out.

The engine keeps the log as bytes so the keyword prefilter can scan it at
memory speed; lines are decoded one at a time, only where a keyword hit.
"""

from __future__ import annotations

import codecs
import mmap

from .errors import InputError

__all__ = ["decode", "decode_mapped"]

_SAMPLE = 64 * 1024
# Control bytes that never appear in console text (tab, LF, VT, FF, CR and ESC do).
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 11, 12, 13, 27)) + b"\x7f"
_CONTROL_TABLE = bytes.maketrans(_CONTROL, b"\x00" * len(_CONTROL))


_SMART_QUOTE_LIMIT = 4 * 1024 * 1024
_SMART_QUOTES = (
    ("\u2018".encode(), b"'"),
    ("\u2019".encode(), b"'"),
    ("\u201c".encode(), b'"'),
    ("\u201d".encode(), b'"'),
)


def _utf16_without_bom(sample: bytes) -> str | None:
    """PowerShell and some editors write UTF-16 without a BOM: NULs on one side."""
    if len(sample) < 8:
        return None
    even = sample[0::2]
    odd = sample[1::2]
    zeros_even = even.count(0) / len(even)
    zeros_odd = odd.count(0) / max(len(odd), 1)
    if zeros_odd > 0.4 and zeros_even < 0.05:
        return "utf-16-le"
    if zeros_even > 0.4 and zeros_odd < 0.05:
        return "utf-16-be"
    return None


def _plausible_utf16(sample: bytes, zero_side: int) -> bool:
    """A BOM followed by text whose high bytes are mostly zero (ASCII-heavy logs) or
    that is not valid UTF-8 anyway; otherwise the 'BOM' was junk in front of UTF-8."""
    if len(sample) < 16:
        return True
    zeros = sample[zero_side::2].count(0) / max(len(sample) // 2, 1)
    if zeros > 0.2:
        return True
    return sample.decode("utf-8", errors="replace").count("\ufffd") > len(sample) // 20


def _transcode(raw: bytes, encoding: str, bom: int) -> bytes:
    text = raw[bom:].decode(encoding, errors="replace")
    return text.encode("utf-8", errors="replace")


def _looks_binary(sample: bytes) -> bool:
    if not sample:
        return False
    control = sample.translate(_CONTROL_TABLE).count(0) / len(sample)
    if control > 0.2:
        return True
    if control < 0.03:
        return False
    text = sample.decode("utf-8", errors="replace")
    bad = text.count("\ufffd") / max(len(text), 1)
    return control + bad > 0.3


def _mapped_as_is(m: mmap.mmap) -> bool:
    """A memory-mapped big file that decoding would return unchanged: plain UTF-8 text with
    `\\n` line ends and no NUL. It is then analysed in place, without a copy."""
    head = m[:_SAMPLE]
    return (
        len(m) > _SMART_QUOTE_LIMIT
        and not head.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_BE))
        and _utf16_without_bom(head) is None
        and bool(head.strip())
        and not _looks_binary(head)
        and not _looks_binary(m[-_SAMPLE:])
        and m.find(b"\x00") < 0
        and m.find(b"\n") >= 0
    )


def decode_mapped(m: mmap.mmap) -> bytes | mmap.mmap:
    """`decode` for a memory-mapped file: the mapping itself when nothing needs changing, else cleaned bytes."""
    return m if _mapped_as_is(m) else decode(m[:])


def decode(raw: bytes) -> bytes:
    """Return UTF-8 bytes, `\\n`-terminated lines, no NULs; raise InputError for non-logs."""
    if len(raw) < _SAMPLE and not raw.replace(b"\x00", b"").strip():
        raise InputError("input is empty (nothing but whitespace)")
    if raw.startswith(codecs.BOM_UTF32_LE) and len(raw) % 4 == 0 and raw[4:8].count(0) >= 2:
        data = _transcode(raw, "utf-32-le", 4)
    elif raw.startswith(codecs.BOM_UTF32_BE) and len(raw) % 4 == 0:
        data = _transcode(raw, "utf-32-be", 4)
    elif raw.startswith(codecs.BOM_UTF16_LE) and _plausible_utf16(raw[2:_SAMPLE], 1):
        data = _transcode(raw, "utf-16-le", 2)
    elif raw.startswith(codecs.BOM_UTF16_BE) and _plausible_utf16(raw[2:_SAMPLE], 0):
        data = _transcode(raw, "utf-16-be", 2)
    elif raw.startswith(codecs.BOM_UTF8):
        data = raw[3:]
    else:
        encoding = _utf16_without_bom(raw[:_SAMPLE])
        if encoding:
            data = _transcode(raw, encoding, 0)
        else:
            if _looks_binary(raw[:_SAMPLE]) or (len(raw) > 3 * _SAMPLE and _looks_binary(raw[-_SAMPLE:])):
                raise InputError("input looks like binary data, not a console log (paste the log as text)")
            data = raw
    if b"\x00" in data:
        data = data.replace(b"\x00", b"")
    if len(data) <= _SMART_QUOTE_LIMIT and b"\xe2\x80" in data:
        # Chat apps and issue trackers turn quotes "smart"; signatures expect ASCII quotes.
        # Pastes are small; a multi-megabyte file came from disk and keeps its quotes.
        for smart, plain in _SMART_QUOTES:
            data = data.replace(smart, plain)
    if b"\n" not in data and b"\r" in data:
        data = data.replace(b"\r", b"\n")
    if not data[:_SAMPLE].strip() and not data.strip():
        raise InputError("input is empty (nothing but whitespace)")
    return data
