"""Multipart form data parsed in memory.

Starlette's parser spools file parts over 1 MiB to a temporary file and caps text
fields at 1 MiB; triage promises not to write logs to disk and a pasted log can be
bigger, so the (already size-capped) body is parsed here, all in memory."""

from __future__ import annotations

from python_multipart.multipart import MultipartParser, parse_options_header

from ..records import NamedTuple

__all__ = ["FormError", "Part", "parse_multipart"]

MAX_PARTS = 32


class FormError(ValueError):
    """The form could not be parsed; the message is safe to show."""


class Part(NamedTuple):
    name: str
    filename: str | None  # None: a plain field; "" when a file input was left empty
    data: bytes


def boundary_of(content_type: str) -> bytes | None:
    kind, params = parse_options_header(content_type)
    if kind != b"multipart/form-data":
        return None
    return params.get(b"boundary") or None


def parse_multipart(content_type: str, body: bytes, max_parts: int = MAX_PARTS) -> list[Part]:
    """Every part of a multipart/form-data body, in order."""
    boundary = boundary_of(content_type)
    if not boundary:
        raise FormError("multipart/form-data without a boundary")
    parts: list[Part] = []
    headers: dict[bytes, bytes] = {}
    field = bytearray()
    value = bytearray()
    data = bytearray()

    def on_part_begin() -> None:
        headers.clear()
        data.clear()
        if len(parts) >= max_parts:
            raise FormError(f"too many form parts (at most {max_parts})")

    def on_header_field(buf: bytes, start: int, end: int) -> None:
        field.extend(buf[start:end])

    def on_header_value(buf: bytes, start: int, end: int) -> None:
        value.extend(buf[start:end])

    def on_header_end() -> None:
        headers[bytes(field).lower()] = bytes(value)
        field.clear()
        value.clear()

    def on_part_data(buf: bytes, start: int, end: int) -> None:
        data.extend(buf[start:end])

    def on_part_end() -> None:
        _, params = parse_options_header(headers.get(b"content-disposition", b""))
        name = params.get(b"name", b"").decode("utf-8", "replace")
        filename = params.get(b"filename")
        parts.append(Part(name, filename.decode("utf-8", "replace") if filename is not None else None, bytes(data)))

    parser = MultipartParser(boundary, {
        "on_part_begin": on_part_begin,
        "on_header_field": on_header_field,
        "on_header_value": on_header_value,
        "on_header_end": on_header_end,
        "on_part_data": on_part_data,
        "on_part_end": on_part_end,
    })
    try:
        parser.write(body)
        parser.finalize()
    except FormError:
        raise
    except Exception as exc:  # python-multipart raises its own hierarchy; show one line
        raise FormError(f"malformed multipart body: {exc}") from None
    return parts
