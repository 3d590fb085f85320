"""`triage group DIR...`: fingerprint every log and show the groups, largest first.

How a maintainer reads a tracker export or a folder of logs. Logs are
analysed by this process and `-j N` - 1 workers (triage.jobs: forked with
its Engine where fork is safe, each building its own from the cache on
macOS and Windows) and results are streamed, so memory stays flat on large
exports. An export too large for one machine is split with `--shard K/N`
(every N-th file, deterministic), each shard writes `--format json`, and
`triage group --merge a.json b.json ...` joins the shards by fingerprint id.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from .errors import DataErrors, InputError

__all__ = ["LogResult", "analyse_files", "build_groups", "collect_files", "group_main", "merge_docs"]

SCHEMA = 1
KIND = "triage-groups"
DEFAULT_PATTERNS = ("*.log", "*.txt")
MAX_BYTES = 20 * 1024 * 1024  # larger files are skipped with a note, as the CLI refuses them
WARM_LOGS = 8  # with forked workers the parent analyses this many logs itself before forking them (serial time: few)


class UsageError(Exception):
    """Bad arguments or input: one line on stderr, exit 2."""


LogResult = dict[str, Any]  # one analysed log, JSON-ready (see _analyse_one)


# ---------------------------------------------------------------- worker side
_WORKER: dict[str, Any] = {}


def _init_worker(kb_dirs: Sequence[str]) -> None:
    """Build the Engine and the fingerprint rules once per process."""
    from .engine import Engine
    from .fingerprint_rules import load_fingerprint_rules

    from .load import default_cache_dir

    dirs = [Path(d) for d in kb_dirs]
    try:  # the validated KB and the scanner database from the user cache: a worker starts in milliseconds
        engine = Engine.build(dirs, cache_dir=default_cache_dir())
    except OSError:  # an unreadable or unwritable cache: load from the files
        engine = Engine.build(dirs)
    engine.index.small_log = 0  # thousands of logs: the fast scanner pays for itself, whatever their size
    _WORKER["engine"] = engine
    # the Engine loads the same rules when it fingerprints reports itself; reuse them
    _WORKER["rules"] = getattr(engine, "fingerprint_rules", None) or load_fingerprint_rules(dirs)
    _WORKER["dirs"] = list(kb_dirs)


def rules_tag(kb_dirs: Sequence[Path]) -> str:
    """The fingerprint rules' tag, from the Engine this process analyses with (built once, from the start-up
    cache: loading the rules from their files means validating them, ~0.3 s of serial time).
    `analyse_files(..., reuse=True)` then analyses with this same Engine: one build, and the tag is the one
    of the rules that made the fingerprints."""
    _init_worker([str(d) for d in kb_dirs])
    tag: str = _WORKER["rules"].tag
    return tag


def _analyse_one(path: str) -> LogResult:
    """Analyse one file; never raises (a bad file becomes a `skipped` result)."""
    from .fingerprint import fingerprint

    engine = _WORKER["engine"]
    try:
        size = os.path.getsize(path)
        if size > MAX_BYTES:
            return {"file": path, "skipped": f"larger than {MAX_BYTES // (1024 * 1024)} MiB"}
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        return {"file": path, "skipped": f"cannot read: {exc.strerror or exc}"}
    try:
        report = engine.analyse(data)
    except InputError as exc:
        return {"file": path, "skipped": str(exc)}
    except Exception as exc:  # noqa: BLE001 - one bad log must not end a run over thousands; it is reported
        return {"file": path, "skipped": f"internal error ({type(exc).__name__}: {exc}); please report it"}
    fp = report.fingerprint or fingerprint(report.key_lines, report.matches, _WORKER["rules"])
    texts = {k.line: k.text for k in report.key_lines}
    for match in report.matches[:1]:
        for ev in match.evidence:
            texts.setdefault(ev.line, ev.text)
    confident = [m.kb_id for m in report.matches if m.certainty == "confident"]
    facts = report.facts
    return {
        "file": path,
        "fingerprint": fp.as_dict() if fp else None,
        "kb_id": confident[0] if confident else None,
        "product": facts.product,
        "version": facts.version,
        "example": texts.get(fp.lines[0], "") if fp and fp.lines else "",
        "lines": {str(n): texts.get(n, "") for n in (fp.lines if fp else ())},
    }


def _progress(items: Iterator[LogResult], total: int) -> Iterator[LogResult]:
    """tqdm on a terminal only: a pipe or a CI log gets no bar."""
    if not sys.stderr.isatty():
        return items
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return items
    return iter(tqdm(items, total=total, unit="log", file=sys.stderr))


def analyse_files(files: Sequence[str], kb_dirs: Sequence[Path] = (), jobs: int | None = None, *,
                  reuse: bool = False) -> Iterator[LogResult]:
    """Results as they finish (order not kept) from `jobs` processes: this one and jobs - 1 workers
    (triage.jobs: forked with this Engine, or spawned and building their own from the cache).

    `reuse`: analyse with the Engine `rules_tag` built for the same KB dirs (one build per run)."""
    from .jobs import Task, results, run

    dirs = [str(d) for d in kb_dirs]
    jobs = jobs or os.cpu_count() or 1
    if not (reuse and _WORKER.get("dirs") == dirs and "engine" in _WORKER):
        _init_worker(dirs)
    task = Task(__name__, "_analyse_one", "_lost_one", setup="_init_worker", setup_args=(tuple(dirs),))
    pairs = run(task, files, jobs, warm=WARM_LOGS)  # the workers start here, before any progress-bar thread exists
    yield from _progress(results(pairs), len(files))


def _lost_one(path: str, why: str) -> LogResult:
    """A file a worker process took and never reported (it was killed: memory, ^C): skipped, and how to
    analyse it alone."""
    return {"file": path, "skipped": f"{why}; analyse it alone with 'triage {path}'"}


# ---------------------------------------------------------------- files
def collect_files(paths: Sequence[Path], patterns: Sequence[str] = DEFAULT_PATTERNS) -> list[str]:
    """Every matching file under each directory (recursively) and every file named directly, sorted."""
    found: set[str] = set()
    for path in paths:
        if path.is_file():
            found.add(str(path))
        elif path.is_dir():
            if os.name == "posix" and not any("/" in p or "**" in p for p in patterns):
                found.update(_walk(path, patterns))
                continue
            for pattern in patterns:
                for hit in path.rglob(pattern):
                    if hit.is_file() and not any(part.startswith(".") for part in hit.relative_to(path).parts):
                        found.add(str(hit))
        else:
            raise UsageError(f"no such file or directory: {path}")
    return sorted(found)


def _walk(root: Path, patterns: Sequence[str]) -> Iterator[str]:
    """What `root.rglob(pattern)` finds for name-only patterns, minus hidden parts (as above), with
    os.scandir: ~10x faster on a tracker export. Like rglob it does not descend into symlinked
    directories, matches names case-sensitively (POSIX) and skips folders it cannot read; a match must be
    a file (links followed)."""
    from fnmatch import fnmatchcase

    stack = [str(root)]  # str(Path): already normalised, so entry.path is what str(root / ...) gives
    while stack:
        try:
            with os.scandir(stack.pop()) as found:
                entries = list(found)
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            if name.startswith("."):  # a hidden part anywhere below the root: left out
                continue
            try:
                if entry.is_dir() and not entry.is_symlink():
                    stack.append(entry.path)
                elif any(fnmatchcase(name, p) for p in patterns) and entry.is_file():
                    yield entry.path
            except OSError:
                continue


def _shard(files: list[str], spec: str | None) -> list[str]:
    if not spec:
        return files
    try:
        k, n = (int(x) for x in spec.split("/", 1))
    except ValueError:
        raise UsageError(f"--shard must be K/N with 1 <= K <= N, got {spec!r}") from None
    if not 1 <= k <= n:
        raise UsageError(f"--shard must be K/N with 1 <= K <= N, got {spec!r}")
    return files[k - 1 :: n]


# ---------------------------------------------------------------- grouping
def build_groups(results: Iterable[LogResult], rules_tag: str) -> dict[str, Any]:
    """The JSON document: specific fingerprints grouped by id, the rest listed apart."""
    groups: dict[str, dict[str, Any]] = {}
    unlinked: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    for r in results:
        if "skipped" in r:
            skipped.append({"file": r["file"], "reason": r["skipped"]})
            continue
        fp = r.get("fingerprint")
        if not fp or not fp.get("specific"):
            unlinked.append({k: r.get(k) for k in ("file", "fingerprint", "kb_id", "product", "version", "example")})
            continue
        g = groups.setdefault(fp["id"], {"id": fp["id"], "text": fp["text"], "count": 0, "kb_ids": {},
                                         "versions": {}, "example": r.get("example", ""), "files": []})
        _prefer(g, fp["text"], r.get("example", ""))
        _add(g, r["file"], r.get("kb_id"), r.get("product"), r.get("version"))
    return _document(rules_tag, groups, unlinked, skipped)


def _prefer(g: dict[str, Any], text: str, example: str) -> None:
    """Members' texts can differ (one shows the file, one does not): keep the fullest, whatever the order."""
    if (len(text), text) > (len(g["text"]), g["text"]) or (text == g["text"] and example and example < g["example"]):
        g["text"], g["example"] = text, example or g["example"]


def _add(g: dict[str, Any], file: str, kb_id: str | None, product: str | None, version: str | None) -> None:
    g["count"] += 1
    g["files"].append(file)
    if kb_id:
        g["kb_ids"][kb_id] = g["kb_ids"].get(kb_id, 0) + 1
    if product:
        seen = g["versions"].setdefault(product, [])
        label = version or "?"
        if label not in seen:
            seen.append(label)


def _document(tag: str, groups: dict[str, dict[str, Any]], unlinked: list[dict[str, Any]],
              skipped: list[dict[str, str]]) -> dict[str, Any]:
    ordered = sorted(groups.values(), key=lambda g: (-g["count"], g["text"], g["id"]))
    for g in ordered:
        g["files"].sort()
        g["kb_ids"] = dict(sorted(g["kb_ids"].items(), key=lambda kv: (-kv[1], kv[0])))
        g["versions"] = {p: sorted(v, key=_version_key) for p, v in sorted(g["versions"].items())}
    return {
        "schema": SCHEMA,
        "kind": KIND,
        "rules": tag,
        "logs": sum(g["count"] for g in ordered) + len(unlinked),
        "groups": ordered,
        "unlinked": sorted(unlinked, key=lambda u: u["file"]),
        "skipped": sorted(skipped, key=lambda s: s["file"]),
    }


def _version_key(v: str) -> tuple[int, Any]:
    from packaging.version import InvalidVersion, Version

    try:
        return (0, Version(v.lstrip("bv")))
    except InvalidVersion:
        return (1, v)


def merge_docs(docs: Sequence[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """Join shard outputs by fingerprint id; refuses shards made under different rules."""
    tags = {doc.get("rules") for _, doc in docs}
    if len(tags) > 1:
        names = ", ".join(f"{name} ({doc.get('rules')})" for name, doc in docs)
        raise UsageError(f"cannot merge shards made with different fingerprint rules: {names}")
    groups: dict[str, dict[str, Any]] = {}
    unlinked: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    for _, doc in docs:
        for g in doc["groups"]:
            into = groups.setdefault(g["id"], {"id": g["id"], "text": g["text"], "count": 0, "kb_ids": {},
                                               "versions": {}, "example": g.get("example", ""), "files": []})
            _prefer(into, g["text"], g.get("example", ""))
            into["count"] += int(g["count"])
            into["files"].extend(g["files"])
            for kb_id, n in g.get("kb_ids", {}).items():
                into["kb_ids"][kb_id] = into["kb_ids"].get(kb_id, 0) + int(n)
            for product, versions in g.get("versions", {}).items():
                seen = into["versions"].setdefault(product, [])
                seen.extend(v for v in versions if v not in seen)
        unlinked.extend(doc.get("unlinked", []))
        skipped.extend(doc.get("skipped", []))
    return _document(str(tags.pop()) if tags else "", groups, unlinked, skipped)


def _read_shard(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path}: not a 'triage group --format json' output ({exc})") from None
    ok = (
        isinstance(doc, dict) and doc.get("kind") == KIND and doc.get("schema") == SCHEMA
        and isinstance(doc.get("groups"), list)
        and all(isinstance(g, dict) and {"id", "text", "count", "files"} <= set(g) for g in doc["groups"])
    )
    if not ok:
        raise UsageError(f"{path}: not a 'triage group --format json' output (schema {SCHEMA})")
    result: dict[str, Any] = doc
    return result


# ---------------------------------------------------------------- output
def format_text(doc: dict[str, Any], *, max_files: int = 10) -> str:
    """Groups largest first: count, fingerprint, KB id, versions seen, one example line, the files."""
    out: list[str] = []
    groups = doc["groups"]
    out.append(f"{doc['logs']} logs, {len(groups)} groups of a specific fingerprint "
               f"(rules {doc['rules']}), {len(doc['unlinked'])} not linked")
    for g in groups:
        kb = ", ".join(g["kb_ids"]) if g["kb_ids"] else "no KB entry"
        out.append("")
        out.append(f"{g['count']:>4}  {g['text']}")
        out.append(f"      fingerprint {g['id']}  ({kb})")
        if g["versions"]:
            out.append("      versions: " + "; ".join(f"{p} {', '.join(v)}" for p, v in g["versions"].items()))
        if g.get("example"):
            out.append(f"      e.g. {_clip(g['example'], 160)}")
        files = g["files"]
        shown = files[:max_files]
        out.append("      files: " + ", ".join(shown) + (f" (+{len(files) - len(shown)} more)" if len(files) > len(shown) else ""))
    if doc["unlinked"]:
        out.append("")
        out.append(f"Not linked ({len(doc['unlinked'])}: only a generic wrapper line, or no error line):")
        for u in doc["unlinked"]:
            fp = u.get("fingerprint")
            out.append(f"  {u['file']}: {fp['text'] if fp else 'no error line'}")
    if doc["skipped"]:
        out.append("")
        out.append(f"Skipped ({len(doc['skipped'])}):")
        out.extend(f"  {s['file']}: {s['reason']}" for s in doc["skipped"])
    return "\n".join(out)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------- CLI
class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # noqa: D401 - argparse API
        raise UsageError(message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="triage group", description="Fingerprint every log and print the groups, largest first.")
    p.add_argument("paths", nargs="*", type=Path, metavar="DIR", help="directories (searched recursively) or files")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--kb-dir", action="append", default=[], type=Path, metavar="DIR")
    p.add_argument("-j", "--jobs", type=int, default=None, help="worker processes (default: all cores)")
    p.add_argument("--glob", action="append", default=None, metavar="PATTERN",
                   help="file name patterns to read in directories (default: *.log and *.txt)")
    p.add_argument("--shard", metavar="K/N", help="only every N-th file starting at the K-th (split a large export)")
    p.add_argument("--merge", action="store_true", help="PATHS are 'group --format json' outputs: join them")
    return p


def group_main(argv: Sequence[str]) -> int:
    """Entry point of `triage group`; returns the exit status (2 on bad input)."""
    try:
        return _run(_parser().parse_args(list(argv)))
    except UsageError as exc:
        print(f"triage group: {exc}", file=sys.stderr)
        return 2
    except DataErrors as exc:
        first = exc.errors[0] if exc.errors else "invalid data"
        more = f" (and {len(exc.errors) - 1} more; run 'triage kb check')" if len(exc.errors) > 1 else ""
        print(f"triage group: {first}{more}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    if not args.paths:
        raise UsageError("give at least one directory or file")
    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    for d in args.kb_dir:
        if not d.is_dir():
            raise UsageError(f"--kb-dir {d}: not a directory")
    if args.merge:
        doc = merge_docs([(str(p), _read_shard(p)) for p in args.paths])
    else:
        tag = rules_tag(args.kb_dir)
        files = _shard(collect_files(args.paths, args.glob or DEFAULT_PATTERNS), args.shard)
        if not files:
            raise UsageError("no log files found (looked for " + ", ".join(args.glob or DEFAULT_PATTERNS) + ")")
        doc = build_groups(analyse_files(files, args.kb_dir, args.jobs, reuse=True), tag)
        for s in doc["skipped"]:
            print(f"triage group: skipped {s['file']}: {s['reason']}", file=sys.stderr)
    if args.format == "json":
        print(json.dumps(doc, indent=1, ensure_ascii=False))
    else:
        print(format_text(doc))
    return 0
