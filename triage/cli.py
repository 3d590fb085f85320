"""Command line: `triage [OPTIONS] [FILE ...]`, `triage eval`, `triage kb ...` and the
subcommands other modules provide (`serve`, `group`, `mine`, `kb site`).

The only place that reads files, writes to the terminal and picks exit codes:
0 a KB entry matched, 1 nothing matched, 2 usage error or unreadable input
(one line on stderr, never a traceback).
"""

from __future__ import annotations

import importlib
import os
import sys
TYPE_CHECKING = False  # true for type checkers only: typing is not imported at run time (records.py says why)
if TYPE_CHECKING:
    import argparse
    import mmap
    from pathlib import Path
    from typing import Any, Callable, NoReturn, Sequence

    from .engine import Engine
    from .model import Report

__all__ = ["main"]

MAX_INPUT = 2 * 1024**3  # bytes; beyond this a "log" is not a log
MMAP_MIN = 8 * 1024**2  # files this big are memory-mapped, not read into memory
PROGRESS_BYTES = 50 * 1024**2  # above this, say on a terminal that work is under way
PIPE_WIDTH = 100  # text width when standard output is not a terminal

# Subcommands other modules implement: (module, function, extra that provides its dependencies).
EXTERNAL = {
    "serve": ("triage.web.cli", "serve_main", "web"),
    "group": ("triage.group", "group_main", None),
    "mine": ("triage.mine", "mine_main", None),
}

EPILOG = """\
Commands:
  triage [FILE ...]                 triage logs (this page)
  triage eval DIR                   score a corpus (*.log + expected.json)
  triage kb check|list|show ID|search WORDS
                                    work with the knowledge base
  triage kb site OUT                write the KB as a static web site
  triage feedback export DIR        the Discord bot's judged logs as a corpus
  triage serve                      the web page and HTTP API (extra: web)
  triage group DIR ...              group logs by crash fingerprint
  triage mine DIR ...               draft KB entries for unknown crash groups
'triage COMMAND --help' describes each one.

Output:
  --format json writes JSON Lines: one compact schema-1 object per file, one per line, each with a
  "file" key ("-" for standard input); for one file that is a single JSON object.
  Files that cannot be read are skipped with one line each on stderr; the others are still reported.

Exit status:
  0 a KB entry matched, 1 nothing matched (the report is still printed),
  2 usage error or unreadable input (also when some of several files were skipped)."""


class UsageError(Exception):
    pass


_PARSER: type[argparse.ArgumentParser] | None = None
_VERSION_ACTION: type[argparse.Action] | None = None


def _parser_class() -> type[argparse.ArgumentParser]:
    """An ArgumentParser whose errors are a UsageError. argparse is imported here, on first need: with gettext
    and shutil it cost ~5 ms of every run, and the common command lines never need it (see `_fast_args`)."""
    global _PARSER, _VERSION_ACTION
    if _PARSER is None or _VERSION_ACTION is None:
        import argparse

        class Parser(argparse.ArgumentParser):
            def error(self, message: str) -> NoReturn:
                raise UsageError(f"{message} (see '{self.prog} --help')")

            def print_help(self, file: Any = None) -> None:
                if file is None:
                    _write(self.format_help())
                else:
                    super().print_help(file)

        class VersionAction(argparse.Action):
            """`--version`: the version and which keyword scanner runs on big logs."""

            def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
                super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

            def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                         option_string: str | None = None) -> None:
                _write(version_text() + "\n")
                raise SystemExit(0)

        _PARSER, _VERSION_ACTION = Parser, VersionAction
    return _PARSER


def _new_parser(**kwargs: Any) -> argparse.ArgumentParser:
    return _parser_class()(**kwargs)


def _version_action() -> type[argparse.Action]:
    _parser_class()
    assert _VERSION_ACTION is not None
    return _VERSION_ACTION


def version_text() -> str:
    from . import __version__
    from .prefilter import available_backends

    backends = available_backends()
    wanted = os.environ.get("TRIAGE_PREFILTER", "")
    running = wanted if wanted in backends else (backends[0] if backends else "python")
    note = f" (TRIAGE_PREFILTER={wanted})" if wanted and wanted == running else ""
    return (f"triage {__version__}\n"
            f"scanner for big logs: {running}{note}; available here: {', '.join(backends) or 'python'}")


def _main_parser() -> argparse.ArgumentParser:
    import argparse

    p = _new_parser(
        prog="triage",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Recognise llama.cpp-family crash logs (KoboldCpp, llamafile, Ollama, LM Studio, "
        "text-generation-webui, llama-cpp-python, Jan, LocalAI, GPT4All, ...): name the root cause, say whether "
        "your version is affected and what to do, and show the log lines that prove it.",
        epilog=EPILOG,
    )
    p.add_argument("files", nargs="*", metavar="FILE", help="log files to read ('-' or none: standard input)")
    p.add_argument("--format", choices=_FAST_OPTIONS["--format"], default="text",
                   help="output format (default: text; json: JSON Lines, one object per file)")
    _kb_dir_option(p)
    p.add_argument("--no-redact", action="store_true", help="keep tokens, user names, e-mails and IPs in the output (local use only)")
    p.add_argument("--color", choices=_FAST_OPTIONS["--color"], default="auto", help="colour in text output (default: auto, only on a terminal)")
    p.add_argument("--width", type=int, default=None, metavar="N",
                   help=f"wrap text output at N columns (default: the terminal's width, {PIPE_WIDTH} when not a terminal)")
    p.add_argument("--version", action=_version_action(), help="print the version and the scanner in use, then exit")
    return p


class _Args:
    """`triage [OPTIONS] [FILE ...]`'s options, with the names and defaults argparse gives them."""

    __slots__ = ("color", "files", "format", "kb_dir", "no_redact", "width")

    def __init__(self) -> None:
        self.files: list[str] = []
        self.format = "text"
        self.kb_dir: list[Path] = []
        self.no_redact = False
        self.color = "auto"
        self.width: int | None = None


# Options `_fast_args` reads itself: each one's allowed values (None: a column count); `_main_parser` offers
# the same choices.
_FAST_OPTIONS: dict[str, tuple[str, ...] | None] = {
    "--format": ("text", "markdown", "json"),
    "--color": ("auto", "always", "never"),
    "--width": None,
}


def _fast_args(argv: Sequence[str]) -> _Args | None:
    """The common command lines (`triage x.log`, `--format json`, `--no-redact`, `--color`, `--width`) read
    without argparse, exactly as `_main_parser` would read them. Anything else (help, --version, --kb-dir,
    abbreviations, `--`, values that look like options, a value argparse would refuse, files on both sides of
    an option) gives None, and argparse then reads or refuses the line as before."""
    args = _Args()
    before, after = True, False  # like argparse: the files are one run, before, between or after the options
    i = 0
    while i < len(argv):
        token = argv[i]
        i += 1
        if token == "-" or not token.startswith("-"):
            if after:
                return None
            before = False
            args.files.append(token)
            continue
        after = after or not before
        name, eq, value = token.partition("=")
        if name == "--no-redact" and not eq:
            args.no_redact = True
            continue
        if name not in _FAST_OPTIONS:
            return None
        if not eq:
            if i >= len(argv):
                return None
            value = argv[i]
            i += 1
        choices = _FAST_OPTIONS[name]
        if choices is not None:
            if value not in choices:
                return None
            setattr(args, name[2:], value)
        elif value.isascii() and value.isdigit() and len(value) <= 9:
            args.width = int(value)
        else:
            return None
    return args


def _kb_dir_option(p: argparse.ArgumentParser, dest: str = "kb_dir") -> None:
    from pathlib import Path

    p.add_argument("--kb-dir", dest=dest, action="append", default=[], metavar="DIR", type=Path,
                   help="also load signatures/, kb/ and products/ from DIR (repeatable); its entries replace built-in ones with the same id")


# ---------------------------------------------------------------- output


def _write(text: str) -> None:
    """Write to standard output; a closed or full output is a one-line error, not a traceback."""
    out = sys.stdout
    if out is None:
        raise UsageError("standard output is closed; nothing can be written")
    try:
        out.write(text)
        out.flush()
    except BrokenPipeError:
        raise
    except UnicodeEncodeError:
        out.write(text.encode(out.encoding or "ascii", errors="replace").decode(out.encoding or "ascii"))
        out.flush()
    except OSError as exc:
        raise UsageError(f"cannot write to standard output: {exc.strerror or exc}") from None
    except ValueError:  # I/O operation on a closed file
        raise UsageError("standard output is closed; nothing can be written") from None


def _silence_stdout() -> None:
    """After a write error, point stdout at /dev/null so the flush at exit stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        if sys.stdout is not None:
            try:
                os.dup2(devnull, sys.stdout.fileno())
            except (OSError, ValueError):
                pass
        sys.stdout = os.fdopen(devnull, "w")
    except OSError:
        pass


def _json_line(report: Report, name: str) -> str:
    import json

    from .render.json_out import report_dict

    body = report_dict(report)
    data = {"schema": body.pop("schema"), "file": name, **body}
    line = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    # Characters str.splitlines() would split on must not end a JSON Lines record early.
    return line.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").replace("\x85", "\\u0085")


def _text_width(requested: int | None) -> int:
    if requested is not None:
        return max(40, requested)
    out = sys.stdout
    try:
        if out is not None and out.isatty():
            import shutil

            return max(40, shutil.get_terminal_size((PIPE_WIDTH, 24)).columns)
    except (OSError, ValueError):
        pass
    return PIPE_WIDTH


def _use_colour(choice: str) -> bool:
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    try:
        return sys.stdout is not None and sys.stdout.isatty()
    except (OSError, ValueError):
        return False


# ---------------------------------------------------------------- input


def _read(name: str) -> bytes | mmap.mmap:
    if name == "-":
        stdin = sys.stdin
        if stdin is None:
            raise UsageError("standard input is closed; give a log file or pipe one in")
        try:
            if stdin.isatty():
                print("triage: reading the log from standard input; paste it, then press Ctrl-D (Ctrl-Z Enter on Windows)", file=sys.stderr)
            return stdin.buffer.read()
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "it is closed"
            raise UsageError(f"cannot read standard input: {reason}") from None
    path = _as_path(name)
    try:
        if os.path.isdir(path):
            raise UsageError(f"{name} is a directory, not a log file")
        size = os.stat(path).st_size
        if size > MAX_INPUT:
            raise UsageError(f"{name} is {size // 1024**2} MiB; triage reads logs up to {MAX_INPUT // 1024**3} GiB")
        if size >= MMAP_MIN:
            mapped = _map(path)
            if mapped is not None:
                return mapped
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        raise UsageError(f"cannot read {name}: no such file") from None
    except PermissionError:
        raise UsageError(f"cannot read {name}: permission denied") from None
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror or exc}") from None


def _as_path(name: str) -> str:
    """`str(Path(name))` without importing pathlib (with what it imports, ~4 ms of every run): on POSIX the
    same normalisation (empty and '.' parts dropped, a leading '//' kept, '' is '.'), elsewhere pathlib's."""
    if os.name != "posix":
        from pathlib import Path

        return str(Path(name))
    root = "//" if name.startswith("//") and not name.startswith("///") else "/" if name.startswith("/") else ""
    return (root + "/".join(p for p in name.split("/") if p and p != ".")) or "."


def _map(path: str) -> mmap.mmap | None:
    """A big file memory-mapped read-only (no copy of it in memory), or None where mapping fails."""
    import mmap

    try:
        with open(path, "rb") as fh:
            return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None


def _check_kb_dirs(kb_dirs: Sequence[Path]) -> None:
    for d in kb_dirs:
        if not d.is_dir():
            raise UsageError(f"--kb-dir {d}: not a directory")
        if not any((d / sub).is_dir() for sub in ("signatures", "kb", "products")) and not any(
            p.suffix in (".toml", ".md") for p in d.iterdir()
        ):
            raise UsageError(f"--kb-dir {d}: nothing to load (no signatures/, kb/ or products/ inside)")


def _engine(kb_dirs: Sequence[Path], *, cache: bool = True) -> Engine:
    """The one Engine of this run. A cache directory that cannot be read or written
    is skipped: the knowledge base then loads from its files."""
    from .engine import Engine
    from .errors import DataErrors
    from .load import default_cache_root

    _check_kb_dirs(kb_dirs)
    try:
        try:
            cache_dir = default_cache_root() if cache else None
            return Engine.build(list(kb_dirs), cache_dir=cache_dir)
        except OSError:
            if not cache:
                raise
            return Engine.build(list(kb_dirs), cache_dir=None)
    except DataErrors as exc:
        first = exc.errors[0]
        more = f" (and {len(exc.errors) - 1} more; run 'triage kb check')" if len(exc.errors) > 1 else ""
        raise UsageError(f"invalid knowledge base: {first}{more}") from None
    except OSError as exc:
        raise UsageError(f"cannot load the knowledge base: {exc.strerror or exc}"
                         + (f": {exc.filename}" if exc.filename else "")) from None


# ---------------------------------------------------------------- triage FILE ...


def _render(report: Report, fmt: str, label: str, several: bool, colour: bool, width: int) -> str:
    if fmt == "json":
        return _json_line(report, label) + "\n"
    shown = "standard input" if label == "-" else label
    if fmt == "markdown":
        from .render.markdown import to_markdown

        return (f"# {shown}\n\n" if several else "") + to_markdown(report).rstrip("\n") + "\n"
    from .render.text import to_text

    return (f"==> {shown} <==\n" if several else "") + to_text(report, colour=colour, width=width).rstrip("\n") + "\n"


def _run_triage(argv: Sequence[str]) -> int:
    from .errors import InputError

    args = _fast_args(argv) or _main_parser().parse_args(argv)
    if sys.stdout is None:
        raise UsageError("standard output is closed; nothing can be written")
    names = args.files or ["-"]
    if names.count("-") > 1:
        raise UsageError("standard input ('-') can be read only once")
    if _OWN_PROCESS:
        import gc

        gc.disable()  # until the Engine is built (_freeze_heap): loading it makes no garbage worth collecting
    engine = _engine(args.kb_dir)
    _freeze_heap()
    colour = _use_colour(args.color)
    width = _text_width(args.width)
    several = len(names) > 1
    skipped = 0
    matched = False
    written = 0
    for name in names:
        shown = "standard input" if name == "-" else name
        try:
            raw = _read(name)
            if len(raw) > PROGRESS_BYTES and sys.stderr is not None and sys.stderr.isatty():
                print(f"triage: scanning {shown} ({len(raw) / 1024**2:.0f} MB) ...", file=sys.stderr, end="\r", flush=True)
            try:
                report = engine.analyse(raw, redact=not args.no_redact)
            except InputError as exc:
                raise UsageError(f"{shown}: {exc}") from None
            finally:
                if len(raw) > PROGRESS_BYTES and sys.stderr is not None and sys.stderr.isatty():
                    print(" " * 60, file=sys.stderr, end="\r", flush=True)
        except UsageError as exc:
            if not several:
                raise
            skipped += 1
            _warn(f"skipped: {exc}")
            continue
        matched = matched or bool(report.matches)
        chunk = _render(report, args.format, name, several, colour, width)
        _write(("\n" if written and args.format != "json" else "") + chunk)
        written += 1
    if skipped:
        _warn(f"{skipped} of {len(names)} files skipped")
        return 2
    return 0 if matched else 1


_OWN_PROCESS = False  # main() runs as the process (the console script), not called by a host program


def _freeze_heap() -> None:
    """In a `triage` process, move the loaded knowledge base out of the garbage collector's sight: the
    collections while it analyses and the full ones at interpreter exit would otherwise walk all of it
    again (~10 ms of a run). What is frozen is never collected, which costs nothing in a process that ends
    after its reports; a host program calling main(argv) keeps its collector as it was. The collector was
    off while the modules and the knowledge base loaded (see _run_triage: ~30 young-generation passes over
    objects that all live to the end); it runs again from here, for the reports."""
    if _OWN_PROCESS:
        import gc

        gc.freeze()
        gc.enable()


def _warn(message: str) -> None:
    if sys.stderr is not None:
        try:
            print(f"triage: {message}", file=sys.stderr, flush=True)
        except (OSError, ValueError):
            pass


# ---------------------------------------------------------------- triage eval


def _run_eval(argv: Sequence[str]) -> int:
    from pathlib import Path

    from .errors import InputError
    from .eval import evaluate, format_eval

    p = _new_parser(prog="triage eval", description="Score the engine on a corpus: a directory of *.log files with expected.json "
                "(or a directory of such directories). Exit 0 only with no forbidden hit and recall >= --min-recall.")
    p.add_argument("dir", type=Path, metavar="DIR")
    p.add_argument("--min-recall", type=float, default=0.9, help="fail below this recall, from 0 to 1 (default 0.9)")
    _kb_dir_option(p)
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("-j", "--jobs", type=int, default=None, metavar="N",
                   help="worker processes (default: all cores for many logs; 1: serial)")
    args = p.parse_args(argv)
    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"--jobs {args.jobs}: give at least 1")
    if not 0.0 <= args.min_recall <= 1.0:
        raise UsageError(f"--min-recall {args.min_recall:g}: recall is a fraction from 0 to 1 (e.g. 0.9)")
    if not args.dir.is_dir():
        raise UsageError(f"{args.dir}: not a directory")
    engine = _engine(args.kb_dir)
    try:
        result = evaluate(args.dir, engine, jobs=args.jobs, kb_dirs=args.kb_dir)
    except InputError as exc:
        raise UsageError(str(exc)) from None
    if args.format == "json":
        import json

        _write(json.dumps(result.as_dict(), indent=2) + "\n")
    else:
        _write(format_eval(result, engine.kb) + "\n")
    return 0 if not result.forbidden and result.recall >= args.min_recall else 1


# ---------------------------------------------------------------- triage kb


def _kb_parser() -> argparse.ArgumentParser:
    from pathlib import Path

    p = _new_parser(prog="triage kb", description="Work with the knowledge base.")
    _kb_dir_option(p)
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=_parser_class(), metavar="{check,list,show,search,site}")
    # The subcommands' own --kb-dir lands in another attribute, so `triage kb --kb-dir D check`
    # and `triage kb check --kb-dir D` load the same entries (argparse would reset a shared one).
    check = sub.add_parser("check", help="validate signatures and entries, run their examples, time regexes on hostile input")
    check.add_argument("--no-timing", action="store_true", help="skip the adversarial regex timing")
    check.add_argument("--fixtures", action="append", default=None, type=Path, metavar="DIR",
                       help="corpus directories whose hits count as fixtures (repeatable)")
    sub.add_parser("list", help="every entry with its number of signatures")
    show = sub.add_parser("show", help="one entry in full")
    show.add_argument("id")
    search = sub.add_parser("search", help="fuzzy search over titles, summaries and signatures")
    search.add_argument("words", nargs="+")
    site = sub.add_parser("site", help="write the KB as a static web site to OUT (extra: web)")
    site.add_argument("out", type=Path, metavar="OUT")
    for child in (check, sub.choices["list"], show, search, site):
        _kb_dir_option(child, dest="kb_dir_sub")
    return p


def _run_kb(argv: Sequence[str]) -> int:
    args = _kb_parser().parse_args(argv)
    kb_dirs: list[Path] = [*args.kb_dir, *getattr(args, "kb_dir_sub", [])]
    if args.cmd == "check":
        return _kb_check(kb_dirs, args)
    if args.cmd == "site":
        build_site = _external("triage.web.site", "build_site", "triage kb site", "web")
        engine = _engine(kb_dirs)
        try:
            pages = build_site(engine, args.out)
        except OSError as exc:
            raise UsageError(f"cannot write the site to {args.out}: {exc.strerror or exc}") from None
        _write(f"wrote {pages} pages to {args.out}\n")
        return 0
    kb = _engine(kb_dirs).kb
    if args.cmd == "list":
        from .kbtool import list_kb

        _write(list_kb(kb) + "\n")
        return 0
    from .suggest import search_kb

    if args.cmd == "show":
        from .kbtool import show_entry

        text = show_entry(kb, args.id)
        if text is None:
            near = ", ".join(s.kb_id for s in search_kb(kb, args.id, limit=3))
            raise UsageError(f"no KB entry {args.id!r}" + (f"; did you mean: {near}" if near else ""))
        _write(text + "\n")
        return 0
    query = " ".join(args.words)
    results = search_kb(kb, query)
    if not results:
        _warn(f"no KB entry matches {query!r}; 'triage kb list' shows every entry")
        return 1
    _write("".join(f"{s.score:.2f}  {s.kb_id:42} {s.title}\n" for s in results))
    return 0


def _kb_check(kb_dirs: list[Path], args: argparse.Namespace) -> int:
    from .errors import DataErrors
    from .kbtool import check_kb

    _check_kb_dirs(kb_dirs)
    from .engine import Engine

    try:
        engine = Engine.build(kb_dirs, cache_dir=None)  # validate the files themselves, never a cache
    except DataErrors as exc:
        for err in exc.errors:
            _warn_plain(str(err))
        _warn(f"kb check: {len(exc.errors)} error(s)")
        return 1
    for d in args.fixtures or []:
        if not d.is_dir():
            raise UsageError(f"--fixtures {d}: not a directory")
    kb = engine.kb
    errors, warnings = check_kb(engine, timing=not args.no_timing, fixtures=args.fixtures)
    for w in warnings:
        _warn_plain(f"warning: {w}")
    for err in errors:
        _warn_plain(str(err))
    n_sig = len(kb.signatures)
    if errors:
        _warn(f"kb check: {len(errors)} error(s) in {len(kb.entries)} entries, {n_sig} signatures")
        return 1
    _write(f"ok: {len(kb.entries)} entries, {n_sig} signatures, every example behaves\n")
    return 0


def _warn_plain(message: str) -> None:
    if sys.stderr is not None:
        try:
            print(message, file=sys.stderr)
        except (OSError, ValueError):
            pass


# ---------------------------------------------------------------- feedback, external subcommands


def _run_feedback(argv: Sequence[str]) -> int:
    from pathlib import Path

    p = _new_parser(prog="triage feedback", description="Work with the Discord bot's feedback database.")
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=_parser_class())
    exp = sub.add_parser("export", help="write judged logs as a corpus (*.log + expected.json) for 'triage eval'")
    exp.add_argument("dir", type=Path)
    exp.add_argument("--db", type=Path, default=None, help="feedback database (default: TRIAGE_FEEDBACK_DB or the user data dir)")
    args = p.parse_args(argv)
    from .feedback import default_db_path, export_corpus

    db = args.db or default_db_path()
    if not db.is_file():
        raise UsageError(f"no feedback database at {db}")
    import sqlite3

    try:
        n = export_corpus(db, args.dir)
    except sqlite3.Error as exc:
        raise UsageError(f"cannot read the feedback database {db}: {exc}") from None
    except OSError as exc:
        raise UsageError(f"cannot write to {args.dir}: {exc.strerror or exc}") from None
    _write(f"wrote {n} judged logs to {args.dir}\n")
    return 0


def _external(module: str, attr: str, what: str, extra: str | None) -> Callable[..., Any]:
    """Import a subcommand's implementation on use; a missing module or extra is one line."""
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        missing = getattr(exc, "name", None) or ""
        if extra and not missing.startswith("triage"):
            raise UsageError(f"{what} needs the '{extra}' extra ({missing or exc} is not installed): "
                             f"pip install \"triage[{extra}]\"") from None
        raise UsageError(f"{what} is not available in this installation ({missing or exc} is missing)") from None
    fn = getattr(mod, attr, None)
    if not callable(fn):
        raise UsageError(f"{what} is not available in this installation ({module}.{attr} is missing)")
    return fn  # type: ignore[no-any-return]


def _run_external(name: str, argv: Sequence[str]) -> int:
    module, attr, extra = EXTERNAL[name]
    fn = _external(module, attr, f"triage {name}", extra)
    code = fn(list(argv))
    return int(code or 0)


def _dispatch(argv: list[str]) -> int:
    if argv and argv[0] == "eval":
        return _run_eval(argv[1:])
    if argv and argv[0] == "kb":
        return _run_kb(argv[1:])
    if argv and argv[0] == "feedback":
        return _run_feedback(argv[1:])
    if argv and argv[0] in EXTERNAL:
        return _run_external(argv[0], argv[1:])
    return _run_triage(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """The `triage` command; without `argv` it is the whole process (the console script) and reads sys.argv."""
    global _OWN_PROCESS
    _OWN_PROCESS = argv is None
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return _dispatch(argv)
    except UsageError as exc:
        _warn(str(exc))
        _silence_stdout_if_broken()
        return 2
    except KeyboardInterrupt:
        _warn("interrupted")
        return 130
    except BrokenPipeError:
        _silence_stdout()  # `triage x.log | head`: the reader left, which is not an error
        return 0
    except MemoryError:
        _warn("out of memory reading the input")
        return 2
    except SystemExit:
        raise
    except Exception as exc:  # noqa: BLE001 - the promise is one line, never a traceback
        if os.environ.get("TRIAGE_DEBUG"):
            raise
        _warn(f"internal error: {type(exc).__name__}: {exc} (TRIAGE_DEBUG=1 shows the traceback; please report it)")
        return 2


def _silence_stdout_if_broken() -> None:
    """A failed write leaves bytes in the buffer that Python would try to flush at exit."""
    out = sys.stdout
    if out is None:
        return
    try:
        out.flush()
    except (OSError, ValueError):
        _silence_stdout()


if __name__ == "__main__":
    raise SystemExit(main())
