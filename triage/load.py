"""Load the knowledge base: `signatures/*.toml` and `kb/*.md`.

Start-up is on every command's path, so validated data is cached (plain
records in the user cache directory, keyed by the data files' names, sizes and
mtimes) and pydantic is only imported when the data changed; see validate.py.
"""

from __future__ import annotations

import zlib
import os
import pickle
import sys
from pathlib import Path
from typing import Any, NamedTuple

import regex

from .model import Remedy

__all__ = ["Affected", "Entry", "KnowledgeBase", "Signature", "Variant", "builtin_dir", "load_kb"]

REGEX_FLAGS = regex.VERSION1 | regex.IGNORECASE | regex.MULTILINE
CACHE_FORMAT = 1

_PATTERN_FIELDS = ("regexes", "unless", "near", "unless_near", "anywhere", "unless_anywhere")


class Signature:
    """A compiled signature. Regexes compile on first use: most runs touch only
    the few signatures whose keywords occur in the log, so start-up stays fast."""

    __slots__ = (
        "_compiled", "anywhere_src", "context", "description", "emitters", "examples_match", "examples_no_match", "few_fixtures", "generic",
        "id", "index", "kb_id", "keywords", "near_src", "path", "products", "regexes_src", "unless_anywhere_src",
        "unless_near_src", "unless_src", "variant", "weight", "window",
    )

    id: str
    kb_id: str
    variant: str | None
    description: str
    keywords: tuple[bytes, ...]
    regexes_src: tuple[str, ...]
    unless_src: tuple[str, ...]
    near_src: tuple[str, ...]
    unless_near_src: tuple[str, ...]
    anywhere_src: tuple[str, ...]
    unless_anywhere_src: tuple[str, ...]
    window: int
    context: int
    weight: float
    generic: bool
    products: tuple[str, ...]
    emitters: tuple[tuple[str, str, str, str], ...]  # (project, file, format, commit)
    few_fixtures: str
    examples_match: tuple[str, ...]
    examples_no_match: tuple[str, ...]
    path: str
    index: int
    _compiled: dict[str, tuple[regex.Pattern[str], ...]]

    def __init__(self, **fields: Any) -> None:
        self._compiled = {}
        for name in self.__slots__:
            if name != "_compiled":
                setattr(self, name, fields[name])

    def record(self) -> dict[str, Any]:
        """Plain data for the start-up cache."""
        return {name: getattr(self, name) for name in self.__slots__ if name != "_compiled"}

    def _patterns(self, name: str) -> tuple[regex.Pattern[str], ...]:
        compiled = self._compiled.get(name)
        if compiled is None:
            compiled = tuple(regex.compile(p, REGEX_FLAGS) for p in getattr(self, f"{name}_src"))
            self._compiled[name] = compiled
        return compiled

    @property
    def regexes(self) -> tuple[regex.Pattern[str], ...]:
        return self._patterns("regexes")

    @property
    def unless(self) -> tuple[regex.Pattern[str], ...]:
        return self._patterns("unless")

    @property
    def near(self) -> tuple[regex.Pattern[str], ...]:
        return self._patterns("near")

    @property
    def unless_near(self) -> tuple[regex.Pattern[str], ...]:
        return self._patterns("unless_near")

    @property
    def anywhere(self) -> tuple[regex.Pattern[str], ...]:
        return self._patterns("anywhere")

    @property
    def unless_anywhere(self) -> tuple[regex.Pattern[str], ...]:
        return self._patterns("unless_anywhere")

    @property
    def group_names(self) -> set[str]:
        out: set[str] = set()
        for pattern in self.regexes + self.near + self.anywhere:
            out.update(pattern.groupindex)
        return out


class Affected(NamedTuple):
    product: str
    versions: str
    fixed_in: str | None = None
    note: str | None = None


class Variant(NamedTuple):
    id: str
    title: str | None
    signatures: tuple[str, ...]
    cause: str
    remedies: tuple[Remedy, ...]
    affected: tuple[Affected, ...] | None


class Entry(NamedTuple):
    id: str
    title: str
    summary: str
    root_cause: str
    kind: str
    labels: tuple[str, ...]
    references: tuple[str, ...]
    affected: tuple[Affected, ...]
    remedies: tuple[Remedy, ...]
    variants: tuple[Variant, ...]
    confirm: str
    body: str
    path: str


class KnowledgeBase:
    """Signatures and entries, plus the keyword index built on first scan."""

    __slots__ = ("_prefilter", "entries", "followup", "signatures")

    def __init__(self, signatures: tuple[Signature, ...], entries: dict[str, Entry], followup: dict[str, Any] | None = None) -> None:
        self.signatures = signatures
        self.entries = entries
        self.followup: dict[str, Any] = followup if followup is not None else {}
        self._prefilter: Any = None

    def signatures_for(self, kb_id: str) -> list[Signature]:
        return [s for s in self.signatures if s.kb_id == kb_id]


def builtin_dir() -> Path:
    """The data shipped in the wheel, or the checkout's top level."""
    packaged = Path(__file__).resolve().parent / "_data"
    if (packaged / "kb").is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent


def _layout(directory: Path) -> tuple[Path, Path]:
    sig_dir = directory / "signatures"
    kb_dir = directory / "kb"
    if sig_dir.is_dir() or kb_dir.is_dir():
        return sig_dir, kb_dir
    return directory, directory


def _data_files(dirs: list[Path]) -> list[Path]:
    files: list[Path] = []
    for directory in dirs:
        sig_dir, kb_dir = _layout(directory)
        for d, pattern in ((sig_dir, "*.toml"), (kb_dir, "*.md"), (kb_dir, "_followup.toml")):
            if d.is_dir():
                files.extend(sorted(d.glob(pattern)))
    return files


def _user_cache_dir() -> str:
    """The per-user cache directory, as platformdirs would name it, without its import cost."""
    home = Path.home()
    if sys.platform == "win32":
        return str(Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local") / "triage" / "Cache")
    if sys.platform == "darwin":
        return str(home / "Library" / "Caches" / "triage")
    return str(Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache") / "triage")


def default_cache_dir() -> Path | None:
    """Where start-up caches live (TRIAGE_CACHE_DIR), or None with TRIAGE_NO_CACHE set."""
    if os.environ.get("TRIAGE_NO_CACHE"):
        return None
    return Path(os.environ.get("TRIAGE_CACHE_DIR") or _user_cache_dir())


def _cache_path(dirs: list[Path], root: Path | None) -> Path | None:
    if root is None:
        return None
    here = Path(__file__).parent
    # The cache holds objects of load.py and model.py classes: a change there invalidates it.
    code = "|".join(str((here / f).stat().st_mtime_ns) for f in ("load.py", "model.py"))
    parts = [f"{CACHE_FORMAT}|{sys.version_info[:2]}|{regex.__version__}|{code}"]
    for path in _data_files(dirs):
        try:
            st = path.stat()
        except OSError:
            return None
        parts.append(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}")
    key = "\n".join(parts).encode()
    digest = f"{zlib.crc32(key):08x}{zlib.adler32(key):08x}{len(key):x}"  # zlib: no OpenSSL import on start-up
    return root / f"kb-{digest}.pickle"


def _to_records(kb: KnowledgeBase) -> dict[str, Any]:
    return {
        "signatures": [s.record() for s in kb.signatures],
        "entries": list(kb.entries.values()),
        "followup": kb.followup,
    }


def _from_records(data: dict[str, Any]) -> KnowledgeBase:
    sigs = tuple(Signature(**r) for r in data["signatures"])
    return KnowledgeBase(signatures=sigs, entries={e.id: e for e in data["entries"]}, followup=data["followup"])


def load_kb(extra_dirs: list[Path] | None = None, *, builtin: bool = True, use_cache: bool = True,
            cache: Path | None | bool = True) -> KnowledgeBase:
    """The built-in data plus each --kb-dir; later ids replace earlier ones.

    Raises DataErrors listing every problem (file and field) when the data is invalid.
    """
    dirs = ([builtin_dir()] if builtin else []) + list(extra_dirs or [])
    # cache: True = the default directory from the environment, a Path = that directory, None/False = none.
    root = default_cache_dir() if cache is True else (cache or None)
    cache = _cache_path(dirs, root) if use_cache else None
    if cache is not None and cache.is_file():
        try:
            with cache.open("rb") as fh:
                return _from_records(pickle.load(fh))
        except Exception:  # noqa: BLE001 - a stale or corrupt cache is rebuilt
            pass
    from .validate import validate_dirs

    kb = validate_dirs(dirs)
    if cache is not None:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(f".{os.getpid()}.tmp")
            with tmp.open("wb") as fh:
                pickle.dump(_to_records(kb), fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, cache)
            _prune(cache.parent)
        except OSError:
            pass
    return kb


def _prune(root: Path, keep: int = 8) -> None:
    """Keep the newest few caches: every data edit or --kb-dir set makes a new one."""
    for pattern in ("kb-*.pickle", "hs-*.db"):
        files = sorted(root.glob(pattern), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in files[keep:]:
            old.unlink(missing_ok=True)
