"""The `regex` engine, loaded in two parts: precompiled patterns need only its C extension.

Every pattern a typical run searches with comes precompiled from the start-up cache (a `regex` pattern
pickles as its compiled program). Thawing one needs only the C extension `regex._regex`; the package's
Python layer (`regex/_main.py` and `_regex_core.py`, whose Unicode property tables alone were ~10 ms of
every CLI start) is needed only to compile a pattern, or for what the extension itself imports on demand
(an error to raise, a replacement template to parse). `loads` thaws with the extension alone; `compile`
and `module` import the whole package. Both give the same objects: the package, once imported, reuses the
extension module loaded here.
"""

from __future__ import annotations

import _thread
import io
import sys
TYPE_CHECKING = False  # true for type checkers only: typing is not imported at run time (records.py says why)
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any

    import regex

__all__ = ["IGNORECASE", "MULTILINE", "VERSION0", "VERSION1", "compile", "extension_key", "loads", "module", "source"]

# regex's flag values, as plain ints (tests/test_startup_cache.py checks them against the package's): the
# start-up cache keys patterns by (source, flags), and a plain int there unpickles without the package.
IGNORECASE = 0x2
MULTILINE = 0x8
VERSION1 = 0x100
VERSION0 = 0x2000

_EXTENSION = "regex._regex"
_loaded: list[ModuleType] = []
_LOCK = _thread.allocate_lock()  # the bot thaws patterns from worker threads: one of them loads the extension


def module() -> Any:
    """The whole `regex` package (imported on first call)."""
    import regex

    return regex


def compile(pattern: str, flags: int = 0) -> regex.Pattern[str]:  # noqa: A001 - regex.compile's name
    """`regex.compile`: the package is imported on first use. Under VERSION1 with IGNORECASE, full case folding
    (`ß` = `ss`, `ﬁ` = `fi`) is switched off with a leading `(?-f)`: with it, a class holding `\\w` and another
    character, repeated inside an alternation, took over a second on a few hundred `i`s (a 635 kB paste of keywords
    and `i` runs took 4.4 s against 0.7 s for `a` runs), and no signature needs one spelling to match another."""
    import regex

    compiled: regex.Pattern[str] = regex.compile(source(pattern, flags), flags)
    return compiled


def source(pattern: str, flags: int) -> str:
    """The text `compile` hands to `regex` for a pattern (what a compiled pattern's `.pattern` reads back)."""
    return "(?-f)" + pattern if flags & VERSION1 and flags & IGNORECASE else pattern


def _extension() -> ModuleType:
    """The C extension, loaded from where `import regex` would find it, without running the package's
    Python code; the import system's own loader, and registered under its own name, so a later
    `import regex` uses this very module (one Pattern type in the process). Anything unusual (another
    finder, a zip, an unexpected layout) falls back to the plain import."""
    if _loaded:
        return _loaded[0]
    with _LOCK:
        if _loaded:
            return _loaded[0]
        mod = sys.modules.get(_EXTENSION)
        if mod is None:
            try:
                mod = _load_extension()
            except Exception:  # noqa: BLE001 - any surprise: the ordinary import, which is always right
                import regex._regex as plain

                mod = plain
        _loaded.append(mod)
        return mod


def _load_extension() -> ModuleType:
    from importlib.machinery import ExtensionFileLoader

    try:  # the import system's own function (importlib.util re-exports it, and imports contextlib for more)
        from importlib._bootstrap import module_from_spec
    except ImportError:  # pragma: no cover - another interpreter's layout
        from importlib.util import module_from_spec

    spec = _find_extension()
    if spec is None or not isinstance(spec.loader, ExtensionFileLoader):
        raise ImportError("regex._regex is not an extension module in a regex package on sys.path")
    mod = module_from_spec(spec)
    spec.loader.exec_module(mod)  # initialised before any other thread can find it in sys.modules
    found: ModuleType = sys.modules.setdefault(_EXTENSION, mod)  # an import that got there first wins
    return found


_FOUND: list[Any] = []  # the extension's ModuleSpec (or None), found once per process


def _find_extension() -> Any:
    """Where `import regex._regex` would load the extension from (the spec), or None."""
    if not _FOUND:
        from importlib.machinery import PathFinder

        package = PathFinder.find_spec("regex")
        locations = package.submodule_search_locations if package is not None else None
        _FOUND.append(PathFinder.find_spec(_EXTENSION, list(locations)) if locations else None)
    return _FOUND[0]


def extension_key() -> str:
    """Names the installed regex build (its C extension's size and mtime) without importing it: part of
    the start-up cache's key, since the cache holds patterns compiled by it."""
    import os

    mod = sys.modules.get(_EXTENSION)
    path = getattr(mod, "__file__", None)
    if path is None:
        spec = _find_extension()
        path = spec.origin if spec is not None else None
    if not path:
        return str(module().__version__)
    st = os.stat(path)
    return f"{path}|{st.st_size}|{st.st_mtime_ns}"


try:  # the C unpickler itself: pickle.py's own import (struct, its pure-Python pickler) is not needed to load
    from _pickle import Unpickler as _Base
except ImportError:  # pragma: no cover - an interpreter without the accelerator
    from pickle import Unpickler as _Base


class _Unpickler(_Base):
    """pickle's C unpickler, except that `regex._regex.compile` comes from the extension alone
    (pickle's own lookup would import the `regex` package first)."""

    def find_class(self, module_name: str, name: str) -> Any:
        if module_name == _EXTENSION and name == "compile":
            return _extension().compile
        return super().find_class(module_name, name)


def loads(data: bytes) -> Any:
    """`pickle.loads`, thawing any regex patterns inside with the C extension alone."""
    return _Unpickler(io.BytesIO(data)).load()


def load(fh: Any) -> Any:
    """`pickle.load` from a binary file, likewise."""
    return _Unpickler(fh).load()
