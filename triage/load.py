"""Load the knowledge base: `signatures/*.toml` and `kb/*.md`.

Start-up is on every command's path, so validated data is cached (plain
records in the user cache directory, keyed by the data files' names, sizes and
mtimes) and pydantic is only imported when the data changed; see validate.py.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from collections.abc import Sequence as SequenceBase
TYPE_CHECKING = False  # true for type checkers only: typing is not imported at run time (records.py says why)
if TYPE_CHECKING:
    from typing import Any, Iterable, Sequence, Union, overload
else:
    def overload(fn: object) -> object:  # typing.overload's run-time effect, minus its registry
        return fn

from . import cachefile, rx
from .datadir import builtin_dir, builtin_root
from .model import Remedy
from .records import NamedTuple

if TYPE_CHECKING:
    from pathlib import Path

    import regex

    StrPath = Union[str, "os.PathLike[str]"]

__all__ = [
    "Affected",
    "Entry",
    "KnowledgeBase",
    "Layout",
    "Marker",
    "Patterns",
    "Product",
    "Signature",
    "Variant",
    "builtin_dir",
    "default_cache_dir",
    "default_cache_root",
    "layout",
    "load_kb",
    "precompile",
]

REGEX_FLAGS = rx.VERSION1 | rx.IGNORECASE | rx.MULTILINE
CACHE_FORMAT = 10  # 7: signatures carry an `ungated` reading; 8: cold signature fields and entries pickled apart; 9: patterns compiled without full case folding (rx.compile); 10: signatures pickled one by one (FrozenSignatures)

_PATTERN_FIELDS = ("regexes", "unless", "near", "unless_near", "anywhere", "unless_anywhere", "ungated_unless_near",
                   "ungated_unless_anywhere")


# Signature fields that only the KB tools, the web pages and the suggestion index read (prose, emitters and
# examples: about half of each signature's pickled size). The start-up cache keeps them as one pickled blob per
# signature, thawed on first access, so a run that never looks at them does not build their objects.
_COLD = ("description", "emitters", "few_fixtures", "examples_match", "examples_match_ungated", "examples_no_match")
_HOT = (
    "anywhere_src", "context", "generic", "id", "index", "kb_id", "keywords", "near_src", "path", "products",
    "regexes_src", "ungated_unless_anywhere_src", "ungated_unless_near_src", "ungated_waive", "ungated_weight",
    "unless_anywhere_src", "unless_near_src", "unless_src", "variant", "weight", "window",
)
FIELDS = tuple(sorted(_HOT + _COLD))


class Signature:
    """A compiled signature. Regexes compile on first use: most runs touch only
    the few signatures whose keywords occur in the log, so start-up stays fast."""

    __slots__ = _HOT + ("_cold", "_compiled")

    id: str
    kb_id: str
    variant: str | None
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
    # The "possible" reading when a positive gate fails (None: no such reading): its weight, the gates it
    # does without ("near", "anywhere") and its own vetoes.
    ungated_weight: float | None
    ungated_waive: tuple[str, ...]
    ungated_unless_near_src: tuple[str, ...]
    ungated_unless_anywhere_src: tuple[str, ...]
    path: str
    index: int
    _cold: tuple[Any, ...] | bytes  # the _COLD fields, or their pickle until first read
    _compiled: dict[str, tuple[regex.Pattern[str], ...]]

    def __init__(self, **fields: Any) -> None:
        self._compiled = {}
        for name in _HOT:
            setattr(self, name, fields[name])
        self._cold = tuple(fields[name] for name in _COLD)

    def _cold_fields(self) -> tuple[Any, ...]:
        cold = self._cold
        if type(cold) is bytes:
            cold = self._cold = _plain_loads(cold)
        return cold  # type: ignore[return-value]

    @property
    def description(self) -> str:
        return self._cold_fields()[0]  # type: ignore[no-any-return]

    @property
    def emitters(self) -> tuple[tuple[str, str, str, str], ...]:  # (project, file, format, commit)
        return self._cold_fields()[1]  # type: ignore[no-any-return]

    @property
    def few_fixtures(self) -> str:
        return self._cold_fields()[2]  # type: ignore[no-any-return]

    @property
    def examples_match(self) -> tuple[str, ...]:
        return self._cold_fields()[3]  # type: ignore[no-any-return]

    @property
    def examples_match_ungated(self) -> tuple[str, ...]:
        return self._cold_fields()[4]  # type: ignore[no-any-return]

    @property
    def examples_no_match(self) -> tuple[str, ...]:
        return self._cold_fields()[5]  # type: ignore[no-any-return]

    def weight_of(self, ungated: bool) -> float:
        """The weight of a hit in the given reading."""
        return self.ungated_weight if ungated and self.ungated_weight is not None else self.weight

    def waives(self, gate: str) -> bool:
        """Whether a failed `gate` ("near" or "anywhere") leaves the ungated reading instead of no hit."""
        return self.ungated_weight is not None and gate in self.ungated_waive

    def record(self) -> dict[str, Any]:
        """The fields as plain data."""
        return {name: getattr(self, name) for name in FIELDS}

    def sources(self) -> list[str]:
        """Every pattern this signature may search with (regexes and all its conditions), as written."""
        return [p for name in _PATTERN_FIELDS for p in getattr(self, f"{name}_src")]

    def __reduce__(self) -> tuple[Any, tuple[tuple[Any, ...], bytes]]:
        """What the start-up cache keeps: the hot fields as a tuple and the cold ones still pickled, without the
        patterns compiled so far (they are in the cache once, precompiled, and thawed only when a search needs
        them). Unpickling a tuple per signature is about half the cost of restoring each slot by name."""
        cold = self._cold
        if type(cold) is not bytes:
            import pickle

            cold = pickle.dumps(cold, protocol=pickle.HIGHEST_PROTOCOL)
        return _thaw_signature, (tuple(getattr(self, name) for name in _HOT), cold)

    def _patterns(self, name: str) -> tuple[regex.Pattern[str], ...]:
        compiled = self._compiled.get(name)
        if compiled is None:
            compiled = tuple(rx.compile(p, REGEX_FLAGS) for p in getattr(self, f"{name}_src"))
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
    def ungated_unless_near(self) -> tuple[regex.Pattern[str], ...]:
        return self._patterns("ungated_unless_near")

    @property
    def ungated_unless_anywhere(self) -> tuple[regex.Pattern[str], ...]:
        return self._patterns("ungated_unless_anywhere")

    @property
    def group_names(self) -> set[str]:
        out: set[str] = set()
        for pattern in self.regexes + self.near + self.anywhere:
            out.update(pattern.groupindex)
        return out


def _thaw_signature(hot: tuple[Any, ...], cold: bytes) -> Signature:
    """A Signature from the start-up cache (see `Signature.__reduce__`)."""
    sig = Signature.__new__(Signature)
    for set_slot, value in zip(_HOT_SETTERS, hot):
        set_slot(sig, value)
    sig._cold = cold
    sig._compiled = {}
    return sig


_HOT_SETTERS = tuple(getattr(Signature, name).__set__ for name in _HOT)

try:  # the C unpickler alone: the cold fields hold only strings and tuples (no pickle.py import on start-up)
    from _pickle import loads as _plain_loads
except ImportError:  # pragma: no cover - CPython always has it
    from pickle import loads as _plain_loads


class Patterns:
    """Compiled regexes by (pattern, flags), each compiled once per Engine.

    The start-up cache holds every signature and fact-rule pattern precompiled: a `regex` pattern pickles as
    its compiled program, so loading one costs microseconds where compiling it costs about a millisecond, and
    the twenty or so a typical log needs were a tenth of a CLI run. Anything missing or unreadable there is
    compiled here instead; the result is the same pattern either way."""

    __slots__ = ("_compiled", "_stored")

    def __init__(self, stored: dict[tuple[str, int], bytes] | None = None) -> None:
        self._stored = stored if stored is not None else {}
        self._compiled: dict[tuple[str, int], regex.Pattern[str]] = {}

    def get(self, pattern: str, flags: int) -> regex.Pattern[str]:
        key = (pattern, flags)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = self._thaw(key) or rx.compile(pattern, flags)
        return compiled

    def _thaw(self, key: tuple[str, int]) -> regex.Pattern[str] | None:
        blob = self._stored.get(key)
        if blob is None:
            return None
        try:
            found = rx.loads(blob)
        except Exception:  # noqa: BLE001 - a damaged entry is compiled afresh
            return None
        return found if hasattr(found, "search") and getattr(found, "pattern", None) == rx.source(*key) else None


def precompile(patterns: Iterable[tuple[str, int]]) -> dict[tuple[str, int], bytes]:
    """Each (pattern, flags) compiled and pickled, for the start-up cache; one that does not compile is left out."""
    import pickle

    out: dict[tuple[str, int], bytes] = {}
    error = rx.module().error
    for pattern, flags in patterns:
        if (pattern, int(flags)) in out:
            continue
        try:
            out[(pattern, int(flags))] = pickle.dumps(rx.compile(pattern, flags), protocol=pickle.HIGHEST_PROTOCOL)
        except (error, ValueError, TypeError, OverflowError, RecursionError, pickle.PicklingError):
            continue
    return out


def _kb_patterns(kb: KnowledgeBase) -> list[tuple[str, int]]:
    """Every pattern an Engine over this KB may search with: signatures', fact rules' and key lines' (with
    their flags)."""
    from . import keylines
    from .facts import FACT_FLAGS, product_rules, static_rules

    out = [(p, REGEX_FLAGS) for sig in kb.signatures for p in sig.sources()]
    out.extend((rule.source, FACT_FLAGS) for rule in static_rules() + product_rules(kb.products.values()))
    out.extend((p, keylines.REGEX_FLAGS) for p in keylines.KEYLINE_PATTERNS.values())
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


class Marker(NamedTuple):
    """A line that shows a runtime (and, for version markers, names its version)."""

    keywords: tuple[bytes, ...]
    regex: str
    weight: int
    raw: bool
    version: bool  # a version marker: groups named version*/build*/commit*


class Product(NamedTuple):
    """products/<id>.toml: one runtime, as the engine uses it."""

    id: str
    name: str
    priority: int
    order: int
    version_scheme: str
    hidden: bool
    suppresses: tuple[str, ...]
    context_per_slot: bool
    markers: tuple[Marker, ...]
    settings: dict[str, str]
    followup: str
    bundles: tuple[tuple[str, str, str], ...]  # (runtime versions, llama.cpp build, source)
    homepage: str | None
    path: str


class KnowledgeBase:
    """Validated data: signatures, entries, runtimes, lookup tables and the default follow-up text.

    Plain data only; everything compiled from it (the keyword index, fact rules,
    the suggestion index) belongs to an Engine.
    """

    __slots__ = ("_by_id", "compiled", "entries", "fingerprint_rules", "followup_default", "literals", "products",
                 "signatures", "tables")

    def __init__(
        self,
        signatures: Sequence[Signature],
        entries: Mapping[str, Entry],
        products: dict[str, Product] | None = None,
        tables: dict[str, dict[str, str]] | None = None,
        followup_default: str = "",
        fingerprint_rules: Any = None,
    ) -> None:
        self.signatures = signatures
        self._by_id: dict[str, int] | None = None
        self.fingerprint_rules = fingerprint_rules  # fingerprint_rules.FingerprintRules, validated with the rest
        self.entries = entries
        self.products: dict[str, Product] = products if products is not None else {}
        self.tables: dict[str, dict[str, str]] = tables if tables is not None else {}
        self.followup_default = followup_default
        # (pattern, flags) -> the compiled regex, pickled: filled by the start-up cache (see `Patterns`)
        self.compiled: dict[tuple[str, int], bytes] = {}
        # signature pattern -> the literals any match must contain (literals.py), filled by the start-up cache
        self.literals: dict[str, tuple[str, ...] | None] = {}

    def signatures_for(self, kb_id: str) -> list[Signature]:
        sigs = self.signatures
        return [sigs[i] for i, owner in enumerate(signature_column(sigs, "kb_id")) if owner == kb_id]

    def signature(self, sig_id: str) -> Signature:
        """The signature with this id (KeyError when there is none); only that one is thawed."""
        if self._by_id is None:
            self._by_id = {name: i for i, name in enumerate(signature_column(self.signatures, "id"))}
        return self.signatures[self._by_id[sig_id]]

    def product_name(self, product_id: str | None) -> str | None:
        """The display name of a runtime id (the id itself when no products/ file names it)."""
        if not product_id:
            return None
        product = self.products.get(product_id)
        return product.name if product else product_id

    @property
    def listed_products(self) -> list[Product]:
        """Runtimes a user can have, most common first (hidden pseudo-products left out)."""
        return sorted((p for p in self.products.values() if not p.hidden), key=lambda p: (p.order, p.id))


class Layout(NamedTuple):
    signatures: Path
    kb: Path
    products: Path
    tables: Path


def layout(directory: Path) -> Layout:
    """Where a KB directory keeps each kind of data; a flat directory holds signatures and entries side by side."""
    sig_dir, kb_dir = directory / "signatures", directory / "kb"
    if not (sig_dir.is_dir() or kb_dir.is_dir() or (directory / "products").is_dir()):
        sig_dir = kb_dir = directory
    return Layout(sig_dir, kb_dir, directory / "products", directory / "tables")


def _user_cache_dir() -> str | None:
    """The per-user cache directory, as platformdirs would name it, without its import cost (nor pathlib's:
    `Path.home()` is `os.path.expanduser("~")`, an error when that finds no home)."""
    home = os.path.expanduser("~")
    if home.startswith("~"):  # no HOME and no passwd entry: run without a cache
        return None
    if sys.platform == "win32":
        return os.path.join(os.environ.get("LOCALAPPDATA") or os.path.join(home, "AppData", "Local"), "triage", "Cache")
    if sys.platform == "darwin":
        return os.path.join(home, "Library", "Caches", "triage")
    return os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache"), "triage")


def default_cache_root() -> str | None:
    """`default_cache_dir()` as a string (the CLI's start-up path works on strings: no pathlib import)."""
    if os.environ.get("TRIAGE_NO_CACHE"):
        return None
    return os.environ.get("TRIAGE_CACHE_DIR") or _user_cache_dir() or None


def default_cache_dir() -> Path | None:
    """Where start-up caches live (TRIAGE_CACHE_DIR), or None with TRIAGE_NO_CACHE set. Read at the edges only."""
    chosen = default_cache_root()
    if not chosen:
        return None
    from pathlib import Path

    return Path(chosen)


def _cache_path(dirs: Sequence[StrPath], root: StrPath | None) -> str | None:
    """The cache file for these data directories: named by every data file's location, size and mtime, plus
    the code that builds the cached objects. Plain `os` calls on strings, each directory resolved once: this
    runs on every start (about 110 files)."""
    if root is None:
        return None
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        # The cache holds objects of load.py and model.py classes, built by validate.py from schema.py's shapes,
        # and the compiled patterns of facts.py's rules: a change to any of them invalidates it.
        code = "|".join(_stat_key(os.path.join(here, f)) for f in _CACHE_CODE)
        parts = [f"{CACHE_FORMAT}|{sys.version_info[:2]}|{rx.extension_key()}|{code}"]
        for directory in dirs:
            for folder in _data_folders(os.fspath(directory)):
                real = os.path.join(os.path.realpath(folder), "")
                with os.scandir(folder) as found:
                    entries = sorted((e.name, e) for e in found if e.name.lower().endswith((".toml", ".md")))
                for name, entry in entries:
                    st = entry.stat()  # follows links, as os.stat; one call per file, no path joins
                    parts.append(f"{real}{name}|{st.st_size}|{st.st_mtime_ns}")
    except OSError:
        return None
    return os.path.join(os.fspath(root), f"kb-{cachefile.digest(chr(10).join(parts).encode())}.pickle")


def _stat_key(path: str) -> str:
    st = os.stat(path)
    return f"{st.st_size}|{st.st_mtime_ns}"


def _data_folders(directory: str) -> list[str]:
    """The folders `layout` and the fingerprint loader read in one KB directory, as strings (no pathlib
    work on start-up). Every .toml and .md file in them goes into the cache key: a superset of what is loaded."""
    subs = [os.path.join(directory, sub) for sub in ("signatures", "kb", "products", "tables", "fingerprints")]
    flat = not any(os.path.isdir(d) for d in subs[:3])
    return [d for d in ([directory] if flat else []) + subs if os.path.isdir(d)]


_CACHE_CODE = ("load.py", "rx.py", "literals.py", "model.py", "schema.py", "validate.py", "placeholders.py", "facts.py", "compute.py",
               "fingerprint_rules.py", "fingerprint_schema.py")


class FrozenSignatures(SequenceBase[Signature]):
    """Signatures from the start-up cache, each kept pickled until it is read. A run searches only the signatures
    whose keywords occur in its log (a few dozen of about a thousand), so the others' fields are never turned into
    objects: unpickling all of them was about a quarter of the cache's load (12.7-13.7 ms against 9.7-11.0 ms in a
    fresh process). The columns every run reads for all of them (ids, entry ids, keywords) are kept apart, as plain
    tuples."""

    __slots__ = ("_raw", "_thawed", "id", "kb_id", "keywords")

    def __init__(self, raw: Sequence[bytes], ids: tuple[str, ...], kb_ids: tuple[str, ...],
                 keywords: tuple[tuple[bytes, ...], ...]) -> None:
        self._raw = raw
        self._thawed: list[Signature | None] = [None] * len(raw)
        self.id = ids
        self.kb_id = kb_ids
        self.keywords = keywords

    @classmethod
    def of(cls, signatures: Sequence[Signature]) -> FrozenSignatures:
        """The frozen form of loaded signatures (for the cache)."""
        import pickle

        raw = [pickle.dumps(sig, protocol=pickle.HIGHEST_PROTOCOL) for sig in signatures]
        return cls(raw, tuple(s.id for s in signatures), tuple(s.kb_id for s in signatures),
                   tuple(s.keywords for s in signatures))

    @overload
    def __getitem__(self, i: int) -> Signature: ...

    @overload
    def __getitem__(self, i: slice) -> list[Signature]: ...

    def __getitem__(self, i: int | slice) -> Signature | list[Signature]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self._raw)))]
        sig = self._thawed[i]
        if sig is None:
            sig = self._thawed[i] = _plain_loads(self._raw[i])
        return sig

    def __len__(self) -> int:
        return len(self._raw)

    def __iter__(self) -> Iterator[Signature]:
        return (self[i] for i in range(len(self._raw)))

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return FrozenSignatures, (self._raw, self.id, self.kb_id, self.keywords)


def signature_column(signatures: Sequence[Signature], name: str) -> Sequence[Any]:
    """One field of every signature (`id`, `kb_id` or `keywords`): read from the frozen columns when the
    signatures came from the start-up cache, so none is thawed for it."""
    if isinstance(signatures, FrozenSignatures):
        return getattr(signatures, name)  # type: ignore[no-any-return]
    return [getattr(sig, name) for sig in signatures]


class FrozenEntries(Mapping[str, "Entry"]):
    """KB entries from the start-up cache, each kept pickled until it is read: a run renders the one or two it
    matched, so the other entries' prose (half the cache) is never turned into objects."""

    __slots__ = ("_raw", "_thawed")

    def __init__(self, raw: dict[str, bytes]) -> None:
        self._raw = raw
        self._thawed: dict[str, Entry] = {}

    def __getitem__(self, kb_id: str) -> Entry:
        entry = self._thawed.get(kb_id)
        if entry is None:
            entry = self._thawed[kb_id] = _plain_loads(self._raw[kb_id])
        return entry

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def __contains__(self, kb_id: object) -> bool:
        return kb_id in self._raw

    def __reduce__(self) -> tuple[Any, tuple[dict[str, Entry]]]:
        return dict, (dict(self.items()),)


def _pickled_entries(entries: Mapping[str, Entry]) -> dict[str, bytes]:
    import pickle

    return {kb_id: pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL) for kb_id, entry in entries.items()}


def _to_records(kb: KnowledgeBase) -> dict[str, Any]:
    return {
        "signatures": kb.signatures if isinstance(kb.signatures, FrozenSignatures) else FrozenSignatures.of(kb.signatures),
        "entries": _pickled_entries(kb.entries),
        "products": list(kb.products.values()),
        "tables": kb.tables,
        "followup_default": kb.followup_default,
        "fingerprint_rules": kb.fingerprint_rules,
        "compiled": kb.compiled,
        "literals": kb.literals,
    }


def _from_records(data: dict[str, Any]) -> KnowledgeBase:
    kb = KnowledgeBase(
        signatures=data["signatures"],
        entries=FrozenEntries(data["entries"]),
        products={p.id: p for p in data["products"]},
        tables=data["tables"],
        followup_default=data["followup_default"],
        fingerprint_rules=data["fingerprint_rules"],
    )
    kb.compiled = data["compiled"]
    kb.literals = data["literals"]
    return kb


def load_kb(extra_dirs: list[Path] | None = None, *, builtin: bool = True, use_cache: bool = True,
            cache: StrPath | None | bool = True) -> KnowledgeBase:
    """The built-in data plus each --kb-dir; later ids replace earlier ones.

    `cache`: a directory for the validated-data cache, None/False for none, True for `default_cache_dir()`
    (which reads the environment: for the edges only). Any cache problem (unreadable, read-only, corrupt)
    only means the data is validated afresh. Raises DataErrors listing every problem (file and field).
    """
    keyed: list[StrPath] = [builtin_root()] if builtin else []
    keyed.extend(extra_dirs or [])
    root = default_cache_root() if cache is True else (cache or None)
    path = _cache_path(keyed, root) if use_cache and root is not None else None
    if path is not None:
        try:
            with open(path, "rb") as fh:
                return _from_records(rx.load(fh))
        except Exception:  # noqa: BLE001 - missing, unreadable, stale or corrupt: rebuilt below
            pass
    from .fingerprint_rules import load_fingerprint_rules
    from .validate import validate_dirs

    kb = validate_dirs(([builtin_dir()] if builtin else []) + list(extra_dirs or []))
    if builtin or any((d / "fingerprints").is_dir() for d in extra_dirs or []):
        kb.fingerprint_rules = load_fingerprint_rules(list(extra_dirs or []), builtin=builtin)
    if path is not None:
        _store(path, kb)
    return kb


def _store(path: str, kb: KnowledgeBase) -> None:
    import pickle

    from .literals import required_literals

    kb.compiled = precompile(_kb_patterns(kb))
    kb.literals = {p: required_literals(p) for p in sorted({p for sig in kb.signatures for p in sig.sources()})}
    if cachefile.write_atomic(path, pickle.dumps(_to_records(kb), protocol=pickle.HIGHEST_PROTOCOL)):
        cachefile.prune(os.path.dirname(path))
