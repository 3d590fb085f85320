"""`typing.NamedTuple`'s class syntax, built without typing's per-field type check.

Every module here uses `from __future__ import annotations`, so a NamedTuple's field annotations are strings, and
`typing.NamedTuple` turns each into a `ForwardRef`, which compiles it with `compile()`: 117 fields on the CLI path,
about 15 million instructions (some 6% of a `triage` run, 1.3-1.6 ms). The fields, defaults, methods and pickling are
those of `collections.namedtuple`, exactly as typing builds them; only the string annotations stay strings (as
`from __future__ import annotations` means them to). Type checkers see `typing.NamedTuple` itself.

For the same reason no module on the CLI path imports `typing` at run time: each says `TYPE_CHECKING = False` and
imports typing's names under `if TYPE_CHECKING:` (mypy treats that name as true). Importing typing costs about 3 ms
of a 50 ms run on the bench machine, and with `from __future__ import annotations` nothing but type checkers reads it.
"""

from __future__ import annotations

TYPE_CHECKING = False  # true for type checkers only: typing is not imported at run time (the docstring says why)

__all__ = ["NamedTuple"]

if TYPE_CHECKING:
    from typing import NamedTuple as NamedTuple
else:
    import collections

    # typing's own rules: attributes a subclass may not set, and namespace keys that are not copied over
    _PROHIBITED = frozenset({"__new__", "__init__", "__slots__", "__getnewargs__", "_fields", "_field_defaults",
                             "_make", "_replace", "_asdict", "_source"})
    _SPECIAL = frozenset({"__module__", "__name__", "__annotations__"})

    class _NamedTupleMeta(type):
        def __new__(mcs, typename, bases, ns):
            if not bases:  # NamedTuple itself
                return super().__new__(mcs, typename, bases, ns)
            if bases != (NamedTuple,):
                raise TypeError("can only inherit from NamedTuple alone")
            annotations = ns.get("__annotations__", {})
            defaults = []
            for name in annotations:
                if name in ns:
                    defaults.append(name)
                elif defaults:
                    raise TypeError(f"Non-default namedtuple field {name} cannot follow default field(s) "
                                    + ", ".join(defaults))
            cls = collections.namedtuple(typename, list(annotations), defaults=[ns[n] for n in defaults],
                                         module=ns["__module__"])
            cls.__annotations__ = cls.__new__.__annotations__ = dict(annotations)
            for key, value in ns.items():
                if key in _PROHIBITED:
                    raise AttributeError("Cannot overwrite NamedTuple attribute " + key)
                if key not in _SPECIAL and key not in cls._fields:
                    setattr(cls, key, value)
            return cls

    class NamedTuple(metaclass=_NamedTupleMeta):
        """Base class for the class syntax: `class Point(NamedTuple): x: int`."""
