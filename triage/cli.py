"""Command line: `triage [OPTIONS] [FILE ...]`, `triage eval`, `triage kb ...`.

The only place that reads files, writes to the terminal and picks exit codes:
0 a KB entry matched, 1 nothing matched, 2 usage error or unreadable input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import NoReturn, Sequence

__all__ = ["main"]

SUBCOMMANDS = ("eval", "kb", "feedback")
MAX_INPUT = 2 * 1024**3  # bytes; beyond this a "log" is not a log
PROGRESS_BYTES = 50 * 1024**2  # above this, say on a terminal that work is under way


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _main_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="triage",
        description="Recognise llama.cpp-family crash logs (KoboldCpp, llamafile, Ollama, LM Studio, "
        "text-generation-webui, llama-cpp-python): name the root cause, say whether your version is "
        "affected and what to do, and show the log lines that prove it.",
        epilog="More: 'triage eval DIR' scores a corpus; 'triage kb check|list|show ID|search WORDS' "
        "works with the knowledge base. Exit status: 0 a KB entry matched, 1 nothing matched, "
        "2 usage error or unreadable input.",
    )
    p.add_argument("files", nargs="*", metavar="FILE", help="log files to read ('-' or none: standard input)")
    p.add_argument("--format", choices=("text", "markdown", "json"), default="text", help="output format (default: text)")
    p.add_argument("--kb-dir", action="append", default=[], metavar="DIR", type=Path,
                   help="also load signatures/ and kb/ from DIR (repeatable); its entries replace built-in ones with the same id")
    p.add_argument("--no-redact", action="store_true", help="keep tokens, user names, e-mails and IPs in the output (local use only)")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto", help="colour in text output (default: auto, only on a terminal)")
    p.add_argument("--version", action="version", version="triage 0.1.0")
    return p


def _read(name: str) -> bytes:
    if name == "-":
        if sys.stdin.isatty():
            print("triage: reading the log from standard input; paste it, then press Ctrl-D (Ctrl-Z Enter on Windows)", file=sys.stderr)
        return sys.stdin.buffer.read()
    path = Path(name)
    try:
        if path.is_dir():
            raise UsageError(f"{name} is a directory, not a log file")
        size = path.stat().st_size
        if size > MAX_INPUT:
            raise UsageError(f"{name} is {size // 1024**2} MiB; triage reads logs up to {MAX_INPUT // 1024**3} GiB")
        return path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"cannot read {name}: no such file") from None
    except PermissionError:
        raise UsageError(f"cannot read {name}: permission denied") from None
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror or exc}") from None


def _load(kb_dirs: list[Path]):  # type: ignore[no-untyped-def]
    from .analyse import default_kb
    from .errors import DataErrors
    from .load import load_kb

    for d in kb_dirs:
        if not d.is_dir():
            raise UsageError(f"--kb-dir {d}: not a directory")
    try:
        return load_kb(kb_dirs) if kb_dirs else default_kb()
    except DataErrors as exc:
        first = exc.errors[0]
        more = f" (and {len(exc.errors) - 1} more; run 'triage kb check')" if len(exc.errors) > 1 else ""
        raise UsageError(f"invalid knowledge base: {first}{more}") from None


def _use_colour(choice: str) -> bool:
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def _run_triage(argv: Sequence[str]) -> int:
    from .analyse import analyse
    from .errors import InputError
    from .render import report_dict, to_json, to_markdown, to_text

    args = _main_parser().parse_args(argv)
    kb = _load(args.kb_dir)
    names = args.files or ["-"]
    if names.count("-") > 1:
        raise UsageError("standard input ('-') can be read only once")
    inputs = [(name, _read(name)) for name in names]
    colour = _use_colour(args.color)
    big = sum(len(raw) for _, raw in inputs)
    if big > PROGRESS_BYTES and sys.stderr.isatty():
        print(f"triage: scanning {big / 1024**2:.0f} MB ...", file=sys.stderr, end="\r", flush=True)
    matched = False
    chunks: list[str] = []
    for name, raw in inputs:
        try:
            report = analyse(raw, kb, redact=not args.no_redact)
        except InputError as exc:
            raise UsageError(f"{'standard input' if name == '-' else name}: {exc}") from None
        matched = matched or bool(report.matches)
        label = "standard input" if name == "-" else name
        if args.format == "json":
            if len(inputs) == 1:
                chunks.append(to_json(report))
            else:
                chunks.append(json.dumps({**report_dict(report), "file": label}, ensure_ascii=False))
        elif args.format == "markdown":
            chunks.append((f"# {label}\n\n" if len(inputs) > 1 else "") + to_markdown(report))
        else:
            chunks.append((f"==> {label} <==\n" if len(inputs) > 1 else "") + to_text(report, colour=colour))
    if big > PROGRESS_BYTES and sys.stderr.isatty():
        print(" " * 40, file=sys.stderr, end="\r", flush=True)
    sys.stdout.write("\n".join(c.rstrip("\n") for c in chunks) + "\n")
    return 0 if matched else 1


def _run_eval(argv: Sequence[str]) -> int:
    from .errors import InputError
    from .eval import evaluate, format_eval

    p = _Parser(prog="triage eval", description="Score the engine on a corpus: a directory of *.log files with expected.json "
                "(or a directory of such directories). Exit 0 only with no forbidden hit and recall >= --min-recall.")
    p.add_argument("dir", type=Path, metavar="DIR")
    p.add_argument("--min-recall", type=float, default=0.9, help="fail below this recall (default 0.9)")
    p.add_argument("--kb-dir", action="append", default=[], type=Path, metavar="DIR")
    p.add_argument("--format", choices=("text", "json"), default="text")
    args = p.parse_args(argv)
    if not args.dir.is_dir():
        raise UsageError(f"{args.dir}: not a directory")
    kb = _load(args.kb_dir)
    try:
        result = evaluate(args.dir, kb)
    except InputError as exc:
        raise UsageError(str(exc)) from None
    if args.format == "json":
        print(json.dumps(result.as_dict(), indent=2))
    else:
        print(format_eval(result))
    return 0 if not result.forbidden and result.recall >= args.min_recall else 1


def _run_kb(argv: Sequence[str]) -> int:
    from .errors import DataErrors
    from .load import load_kb

    common = _Parser(add_help=False)
    common.add_argument("--kb-dir", action="append", default=[], type=Path, metavar="DIR",
                        help="also load signatures/ and kb/ from DIR (repeatable)")
    p = _Parser(prog="triage kb", description="Work with the knowledge base.", parents=[common])
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=_Parser)
    check = sub.add_parser("check", parents=[common], help="validate signatures and entries, run their examples, time regexes on hostile input")
    check.add_argument("--no-timing", action="store_true", help="skip the adversarial regex timing")
    sub.add_parser("list", parents=[common], help="every entry with its number of signatures")
    show = sub.add_parser("show", parents=[common], help="one entry in full")
    show.add_argument("id")
    search = sub.add_parser("search", parents=[common], help="fuzzy search over titles, summaries and signatures")
    search.add_argument("words", nargs="+")
    args = p.parse_args(argv)
    if args.cmd == "check":
        from .kbtool import check_kb

        try:
            kb = load_kb(args.kb_dir, use_cache=False)
        except DataErrors as exc:
            for err in exc.errors:
                print(err, file=sys.stderr)
            print(f"triage kb check: {len(exc.errors)} error(s)", file=sys.stderr)
            return 1
        errors, warnings = check_kb(kb, timing=not args.no_timing)
        for w in warnings:
            print(f"warning: {w}", file=sys.stderr)
        for err in errors:
            print(err, file=sys.stderr)
        n_sig = len(kb.signatures)
        if errors:
            print(f"triage kb check: {len(errors)} error(s) in {len(kb.entries)} entries, {n_sig} signatures", file=sys.stderr)
            return 1
        print(f"ok: {len(kb.entries)} entries, {n_sig} signatures, every example behaves")
        return 0
    kb = _load(args.kb_dir)
    if args.cmd == "list":
        from .kbtool import list_kb

        print(list_kb(kb))
        return 0
    if args.cmd == "show":
        from .kbtool import show_entry

        text = show_entry(kb, args.id)
        if text is None:
            from .suggest import search_kb

            near = ", ".join(s.kb_id for s in search_kb(kb, args.id, limit=3))
            raise UsageError(f"no KB entry {args.id!r}" + (f"; did you mean: {near}" if near else ""))
        print(text)
        return 0
    from .suggest import search_kb

    results = search_kb(kb, " ".join(args.words))
    for s in results:
        print(f"{s.score:.2f}  {s.kb_id:42} {s.title}")
    return 0 if results else 1


def _run_feedback(argv: Sequence[str]) -> int:
    p = _Parser(prog="triage feedback", description="Work with the Discord bot's feedback database.")
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=_Parser)
    exp = sub.add_parser("export", help="write judged logs as a corpus (*.log + expected.json) for 'triage eval'")
    exp.add_argument("dir", type=Path)
    exp.add_argument("--db", type=Path, default=None, help="feedback database (default: TRIAGE_FEEDBACK_DB or the user data dir)")
    args = p.parse_args(argv)
    from .feedback import default_db_path, export_corpus

    db = args.db or default_db_path()
    if not db.is_file():
        raise UsageError(f"no feedback database at {db}")
    n = export_corpus(db, args.dir)
    print(f"wrote {n} judged logs to {args.dir}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] == "eval":
            return _run_eval(argv[1:])
        if argv and argv[0] == "kb":
            return _run_kb(argv[1:])
        if argv and argv[0] == "feedback":
            return _run_feedback(argv[1:])
        return _run_triage(argv)
    except UsageError as exc:
        print(f"triage: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("triage: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        except OSError:
            pass
        return 0
    except MemoryError:
        print("triage: out of memory reading the input", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
