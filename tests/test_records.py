"""triage.records.NamedTuple behaves as typing.NamedTuple does for the class syntax the package uses."""

from __future__ import annotations

import pickle
import typing

import pytest

from triage.records import NamedTuple


class Point(NamedTuple):
    """A point."""

    x: int
    y: int = 0
    label: str | None = None

    def norm1(self) -> int:
        return abs(self.x) + abs(self.y)


class TypedPoint(typing.NamedTuple):
    """A point."""

    x: int
    y: int = 0
    label: str | None = None


def test_same_shape_as_typing_namedtuple() -> None:
    assert Point._fields == TypedPoint._fields
    assert Point._field_defaults == TypedPoint._field_defaults
    assert Point(1) == TypedPoint(1) == (1, 0, None)
    assert Point(1, 2)._replace(label="a") == (1, 2, "a")
    assert Point(3, -4).norm1() == 7
    assert Point.__doc__ == "A point."
    assert Point.__module__ == __name__ and Point.__qualname__ == "Point"
    assert isinstance(Point(1), tuple) and Point.__mro__[1] is tuple
    assert Point.__annotations__ == {"x": "int", "y": "int", "label": "str | None"}  # strings, not ForwardRefs


def test_pickles_by_name() -> None:
    assert pickle.loads(pickle.dumps(Point(1, 2, "p"))) == Point(1, 2, "p")


def test_rules_typing_enforces() -> None:
    with pytest.raises(TypeError, match="cannot follow default"):
        class Bad(NamedTuple):  # noqa: F841
            a: int = 0
            b: int
    with pytest.raises(AttributeError, match="Cannot overwrite"):
        class Slots(NamedTuple):  # noqa: F841
            a: int
            __slots__ = ()


def test_no_forward_ref_is_compiled(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("ForwardRef built")

    monkeypatch.setattr(typing.ForwardRef, "__init__", refuse)

    class Fast(NamedTuple):
        a: int
        b: tuple[str, ...] = ()

    assert Fast(1) == (1, ())
