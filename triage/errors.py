"""Error types that name the file and the field at fault."""

from __future__ import annotations

from .records import NamedTuple

__all__ = ["DataError", "DataErrors", "InputError"]


class DataError(NamedTuple):
    path: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: {self.field}" if self.field else self.path
        return f"{where}: {self.message}"


class DataErrors(Exception):
    """Every problem found while loading data, reported at once."""

    def __init__(self, errors: list[DataError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


class InputError(Exception):
    """Input that cannot be read as a log; the CLI turns it into exit 2."""
