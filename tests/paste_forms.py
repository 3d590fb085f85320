"""Metamorphic paste forms: the ways real users paste a log, applied to logs the engine already answers.

A log that is answered correctly as written must still be answered after it went through a chat app, a web
page, a terminal, a container runtime or another program's error wrapper. Each transformation here takes the
log's text and returns the form a user would paste; `sweep` applies every form to every fixture that passes
today and counts, per form, how many expected ids are still found (recall) and how many forbidden ids appear on
the near-misses. `python tests/paste_forms.py` runs the full sweep (a few minutes on two cores); the pytest
file runs a fixed sample. After editing a signature, `--changed-since REV` (or `--id ID`) sweeps only the cases of
the edited ids, in a minute or so: a veto written against the paste as posted (a `^` at a line start) is what
the other forms break.
"""

from __future__ import annotations

import html
import json
import random
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent

Form = Callable[[str], str]


def _lines(text: str) -> list[str]:
    return text.split("\n")


def _per_line(prefix: Callable[[int], str]) -> Form:
    """A prefix in front of every non-empty line (what container runtimes, loggers and quoting do)."""

    def form(text: str) -> str:
        return "\n".join(prefix(i) + line if line else line for i, line in enumerate(_lines(text)))

    return form


def crlf(text: str) -> str:
    """Windows line ends (a log saved or copied on Windows)."""
    return text.replace("\n", "\r\n")


def ansi(text: str) -> str:
    """Colour codes around each line and on its first word, as a terminal log with colours kept."""

    def colour(line: str) -> str:
        if not line:
            return line
        head, sep, rest = line.partition(" ")
        return f"\x1b[1;31m{head}\x1b[0m{sep}\x1b[33m{rest}\x1b[0m" if sep else f"\x1b[32m{line}\x1b[0m"

    return "\n".join(colour(line) for line in _lines(text))


def html_entities(text: str) -> str:
    """A log scraped from a web page: `&quot;`, `&#x27;`, `&lt;`, `&gt;`, `&amp;`."""
    return html.escape(text, quote=True)


compose = _per_line(lambda i: "app-1  | ")
journald = _per_line(lambda i: f"Dec 03 10:{i // 60 % 60:02d}:{i % 60:02d} myhost app[812]: ")
quote = _per_line(lambda i: "> ")
timestamp = _per_line(lambda i: f"2024-12-03T10:00:{i % 60:02d}.{i * 7919 % 1000000000:09d}Z ")
bracket_time = _per_line(lambda i: f"[2024-12-03 10:00:{i % 60:02d}] ")
indent = _per_line(lambda i: "    ")


def code_span(text: str) -> str:
    """Each line as an inline code span, as chat and issue writers quote a line (`` `Error: ...` ``); a line that
    holds a backtick itself cannot be one span and stays as it is."""
    return "\n".join(f"`{line}`" if line.strip() and "`" not in line else line for line in _lines(text))


def _wrap(width: int) -> Form:
    def form(text: str) -> str:
        out: list[str] = []
        for line in _lines(text):
            if len(line) <= width:
                out.append(line)
                continue
            out.extend(line[i : i + width] for i in range(0, len(line), width))
        return "\n".join(out)

    return form


wrap80 = _wrap(80)
wrap120 = _wrap(120)


def one_line(text: str) -> str:
    """The whole paste on one line: newlines lost (a chat box, a form field)."""
    return " ".join(line.strip() for line in _lines(text) if line.strip())


def json_body(text: str) -> str:
    """Ollama's HTTP 500 body as Continue or open-webui show it: one JSON string, `\\n` and `\\"` escaped."""
    return "Error: HTTP 500 Internal Server Error from http://127.0.0.1:5000/api/chat\n\n" + json.dumps(
        {"error": text.rstrip("\n")}
    )


def json_nested(text: str) -> str:
    """A proxy's or an agent's JSON error quoting the provider's JSON body (claude-code-router, LiteLLM): the
    provider's `\\n` and `\\"` escaped once more, `\\\\n` and `\\\\\\"` on one line."""
    inner = json.dumps({"error": {"message": text.rstrip("\n"), "type": "api_error"}})
    return "API Error: 500 " + json.dumps({"error": {"message": f"Error from provider(500): {inner}"}})


def py_repr(text: str) -> str:
    """A Python exception repr: `ValueError('...\\n...')` on one line."""
    return f"Traceback (most recent call last):\nValueError({text.rstrip()!r})"


def langchain(text: str) -> str:
    """LangChain's pydantic wrapper around a runtime error."""
    return (
        "1 validation error for LLM\n__root__\n  Could not load from path: ./model.bin. "
        f"Received error {text.strip()} (type=value_error)"
    )


FORMS: dict[str, Form] = {
    "crlf": crlf,
    "ansi": ansi,
    "html": html_entities,
    "compose": compose,
    "journald": journald,
    "quote": quote,
    "timestamp": timestamp,
    "bracket-time": bracket_time,
    "indent": indent,
    "code-span": code_span,
    "wrap80": wrap80,
    "wrap120": wrap120,
    "one-line": one_line,
    "json-body": json_body,
    "json-nested": json_nested,
    "py-repr": py_repr,
    "langchain": langchain,
}
# Forms that keep one output line per input line, so evidence must keep pointing at the same line numbers.
LINE_PRESERVING = {"crlf", "ansi", "html", "compose", "journald", "quote", "timestamp", "bracket-time", "indent", "code-span"}
# The paste ends inside the first evidence line of the expected entry (needs the report): its last quarter (at
# most 24 characters) or its last eighth (at most 12 characters) is gone.
CUTS = {"cut-last": (4, 24), "cut-tail": (8, 12)}


def cut_at(text: str, line_no: int, fraction: int = 4, most: int = 24) -> str:
    """The log up to line `line_no` (1-based), whose last 1/`fraction` (at most `most` characters) is cut off."""
    lines = _lines(text)[:line_no]
    last = lines[-1].rstrip("\r")
    keep = len(last) - min(most, len(last) // fraction)
    lines[-1] = last[:keep]
    return "\n".join(lines)


@dataclass
class Case:
    path: Path
    expect: list[str]
    forbid: list[str]
    not_confident: list[str]


@dataclass
class Tally:
    """Per form: expected ids found / expected, forbidden hits, evidence lines moved, and the failures."""

    found: int = 0
    expected: int = 0
    forbidden: int = 0
    near_misses: int = 0
    moved: int = 0
    errors: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.found / self.expected if self.expected else 1.0


def cases() -> list[Case]:
    """Every fixture of tests/corpus and tests/logs with its expectations (the ones not answered correctly as
    written, known misses among them, are left out by `passing`)."""
    from conftest import fixture_expectations

    return [
        Case(folder / name, list(spec.get("expect", [])), list(spec.get("forbid", [])), list(spec.get("not_confident", [])))
        for folder, name, spec in fixture_expectations()
        if (folder / name).is_file()
    ]


def _bad(report: Any, case: Case) -> list[str]:
    """Forbidden ids the report names (every id when the case forbids `*`), and confident not_confident ones."""
    found = [m.kb_id for m in report.matches]
    bad = list(found) if "*" in case.forbid else [k for k in found if k in case.forbid]
    bad += [m.kb_id for m in report.confident if m.kb_id in case.not_confident]
    return bad


def _evidence(report: Any, kb_id: str) -> list[int]:
    return next(([e.line for e in m.evidence] for m in report.matches if m.kb_id == kb_id), [])


def passing(engine: Any, all_cases: Iterable[Case]) -> Iterator[tuple[Case, str, Any]]:
    """(case, text, report) for each case the engine answers correctly as written."""
    for case in all_cases:
        text = case.path.read_bytes().decode("utf-8", errors="replace")
        try:
            report = engine.analyse(text, redact=False)
        except Exception:  # noqa: BLE001 - an input the engine refuses as written is not a paste-form case
            continue
        found = {m.kb_id for m in report.matches}
        if set(case.expect) <= found and not _bad(report, case):
            yield case, text, report


def check(engine: Any, case: Case, text: str, report: Any, forms: Iterable[str], tallies: dict[str, Tally]) -> None:
    """Apply each form to one passing case and add the outcome to the tallies."""
    for name in forms:
        tally = tallies.setdefault(name, Tally())
        if name in CUTS:
            if not case.expect:
                continue
            lines = _evidence(report, case.expect[0])
            if not lines:
                continue
            variant = cut_at(text, min(lines), *CUTS[name])
        else:
            variant = FORMS[name](text)
        try:
            got = engine.analyse(variant, redact=False)
        except Exception as exc:  # noqa: BLE001 - counted, and shown in the failures
            tally.errors += 1
            tally.failures.append(f"{case.path.parent.name}/{case.path.name}: {type(exc).__name__}: {exc}")
            continue
        found = {m.kb_id for m in got.matches}
        for kb_id in case.expect:
            tally.expected += 1
            if kb_id in found:
                tally.found += 1
                if name in LINE_PRESERVING and _evidence(got, kb_id) != _evidence(report, kb_id):
                    tally.moved += 1
                    tally.failures.append(f"{case.path.parent.name}/{case.path.name}: {kb_id} evidence moved")
            else:
                tally.failures.append(f"{case.path.parent.name}/{case.path.name}: {kb_id} missed")
        if case.forbid or case.not_confident:
            tally.near_misses += 1
            bad = _bad(got, case)
            if bad:
                tally.forbidden += len(bad)
                tally.failures.append(f"{case.path.parent.name}/{case.path.name}: forbidden {bad}")


def all_forms() -> list[str]:
    return [*FORMS, *CUTS]


def sample(all_cases: list[Case], per_folder: int, seed: int = 14) -> list[Case]:
    """A fixed sample: up to `per_folder` cases from each fixture folder (so every KB id is represented). Each
    folder draws from its own seed, so adding a folder does not reshuffle every other folder's sample."""
    by_folder: dict[Path, list[Case]] = {}
    for case in all_cases:
        by_folder.setdefault(case.path.parent, []).append(case)
    out: list[Case] = []
    for folder in sorted(by_folder):
        group = by_folder[folder]
        rng = random.Random(f"{seed}/{folder.parent.name}/{folder.name}")
        out.extend(rng.sample(group, min(per_folder, len(group))))
    return out


def sweep(engine: Any, chosen: list[Case], forms: list[str]) -> dict[str, Tally]:
    tallies: dict[str, Tally] = {name: Tally() for name in forms}
    for case, text, report in passing(engine, chosen):
        check(engine, case, text, report, forms, tallies)
    return tallies


def table(tallies: dict[str, Tally]) -> str:
    rows = ["| form | recall | found/expected | forbidden hits (near-misses) | evidence moved | errors |", "|---|---|---|---|---|---|"]
    for name, t in tallies.items():
        rows.append(f"| {name} | {t.recall:.3f} | {t.found}/{t.expected} | {t.forbidden} ({t.near_misses}) | {t.moved} | {t.errors} |")
    return "\n".join(rows)


def concerns(case: Case, ids: set[str]) -> bool:
    """Whether a case tests one of `ids`: it expects, forbids (`*` counts) or must not be confident of it, or sits in
    its folder."""
    named = {*case.expect, *case.forbid, *case.not_confident, case.path.parent.name}
    return bool(ids & named) or ("*" in case.forbid and bool(ids))


def changed_ids(rev: str) -> set[str]:
    """The ids whose signature file differs between `rev` and the working tree (a veto edited since then is what a
    paste form may break)."""
    import subprocess

    out = subprocess.run(["git", "diff", "--name-only", rev, "--", "signatures/"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    return {Path(line).stem for line in out.split() if line.endswith(".toml")}


def _worker(args: tuple[list[str], list[str]]) -> dict[str, Tally]:
    paths, forms = args
    sys.path.insert(0, str(ROOT))
    from triage.engine import Engine

    engine = Engine.build()
    wanted = set(paths)
    return sweep(engine, [c for c in cases() if str(c.path) in wanted], forms)


def main(argv: list[str]) -> int:
    """Full sweep: every passing fixture, every form; `-j N` processes, `--form NAME` to pick forms, `-v` failures."""
    import argparse
    from multiprocessing import Pool

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("-j", type=int, default=2)
    parser.add_argument("--form", action="append", choices=all_forms())
    parser.add_argument("--per-folder", type=int, default=0, help="sample this many logs per folder (0: all)")
    parser.add_argument("--id", action="append", default=[], metavar="KB_ID",
                        help="only cases that expect, forbid or must not be confident of this id (repeatable)")
    parser.add_argument("--changed-since", metavar="REV",
                        help="only cases of the ids whose signatures/<id>.toml differs from REV (with --id: both)")
    parser.add_argument("-v", action="store_true")
    args = parser.parse_args(argv)
    forms = args.form or all_forms()
    chosen = cases() if not args.per_folder else sample(cases(), args.per_folder)
    ids = set(args.id) | (changed_ids(args.changed_since) if args.changed_since else set())
    if args.id or args.changed_since:
        chosen = [c for c in chosen if concerns(c, ids)]
        print(f"{len(chosen)} cases of {len(ids)} ids: {' '.join(sorted(ids))}")
    paths = [str(c.path) for c in chosen]
    chunks = [(paths[i :: args.j], forms) for i in range(args.j)]
    with Pool(args.j) as pool:
        parts = pool.map(_worker, chunks)
    total: dict[str, Tally] = {name: Tally() for name in forms}
    for part in parts:
        for name, t in part.items():
            acc = total[name]
            acc.found += t.found
            acc.expected += t.expected
            acc.forbidden += t.forbidden
            acc.near_misses += t.near_misses
            acc.moved += t.moved
            acc.errors += t.errors
            acc.failures.extend(t.failures)
    print(table(total))
    if args.v:
        for name, t in total.items():
            for line in sorted(t.failures):
                print(f"{name}: {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
