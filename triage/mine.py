"""`triage mine DIR... --out OUT`: draft KB entries for the largest unknown crashes.

For each group of logs that share a specific fingerprint and match no KB
entry, write `OUT/signatures/<draft>.toml` (a regex generalised from the
group's failure lines, each line a `match` example, other groups' lines as
`no_match`) and an `OUT/kb/<draft>.md` skeleton with the sources, for a person
to finish. `triage kb check --kb-dir OUT` accepts the drafts as written.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from pathlib import Path
from typing import Any, Sequence

import regex

from .errors import DataErrors
from .group import DEFAULT_PATTERNS, LogResult, UsageError, analyse_files, collect_files
from .records import NamedTuple

__all__ = ["Draft", "draft_groups", "generalise", "mine_main"]

_HEX = "\x01"
_NUM = "\x02"
_MASK = re.compile(r"\b0x[0-9a-fA-F]+\b|(?<![A-Za-z_\d])\d+(?![A-Za-z_\d])")
# what a wrapper puts before the message; the signature starts after it so other runtimes match too
_LEAD = re.compile(r"^(?:\S*[\\/])?(?:error: ?)?(?:llama runner process has terminated: ?)?(?:error: ?)?", re.IGNORECASE)
_SPECIAL = re.compile(r"[.^$*+?{}()\[\]|\\]")
_WORD = re.compile(r"[A-Za-z_][\w.\-]{2,}")
_TIMEOUT = 0.5
_FALLBACK_NO_MATCH = "llama runner process has terminated: exit status 2"


class Draft(NamedTuple):
    id: str
    fingerprint: dict[str, Any]
    members: list[LogResult]
    pattern: str
    keyword: str
    no_match: list[str]


def _mask(line: str) -> str:
    return _MASK.sub(lambda m: _HEX if m.group(0).lower().startswith("0x") else _NUM, line)


def _common(lines: Sequence[str]) -> str:
    """Longest substring every masked line shares (pairwise narrowing, good enough for a draft)."""
    common = lines[0]
    for other in lines[1:]:
        sm = difflib.SequenceMatcher(None, common, other, autojunk=False)
        m = sm.find_longest_match(0, len(common), 0, len(other))
        common = common[m.a : m.a + m.size]
    return common


def _trim(common: str, lines: Sequence[str]) -> str:
    """Start and end on whole words and literal text, so the regex is anchored on stable text."""
    def cut_partial(c: str) -> str:
        while c and c[0].isalnum() and any(
            (i := line.find(c)) > 0 and line[i - 1].isalnum() for line in lines
        ):
            c = c[1:]
        while c and c[-1].isalnum() and any(
            (i := line.find(c)) >= 0 and i + len(c) < len(line) and line[i + len(c)].isalnum() for line in lines
        ):
            c = c[:-1]
        return c

    previous = None
    while previous != common:
        previous = common
        common = cut_partial(common).strip(" \t:;,=|'\"" + _HEX + _NUM)
    return common


def generalise(lines: Sequence[str]) -> tuple[str, str] | None:
    """A bounded regex (literal parts escaped, numbers and hex as classes) and a keyword, or None."""
    masked = [_mask(line) for line in lines if line]
    if not masked:
        return None
    common = _trim(_common(masked), masked)
    if "GGML_ASSERT(" in common:  # the condition is the bug; file and wrapper vary between reporters
        common = common[common.index("GGML_ASSERT("):]
    common = _trim(_LEAD.sub("", common), masked)
    literal = common.replace(_HEX, " ").replace(_NUM, " ")
    if len(common) < 10 or not re.search(r"[A-Za-z]{3}", literal):
        return None
    parts: list[str] = []
    for piece in re.split(f"([{_HEX}{_NUM}])", common):
        if piece == _NUM:
            parts.append(r"\d{1,20}")
        elif piece == _HEX:
            parts.append(r"0x[0-9a-f]{1,16}")
        elif piece:
            parts.append(_SPECIAL.sub(r"\\\g<0>", piece))
    words = sorted(_WORD.findall(literal), key=lambda w: (-len(w), w))
    return "".join(parts), words[0] if words else literal.strip()[:40]


def _slug(text: str, limit: int = 40) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].rstrip("-") or "crash"


def _matches(pattern: regex.Pattern[str], line: str) -> bool:
    try:
        return pattern.search(line, timeout=_TIMEOUT) is not None
    except TimeoutError:
        return False


def draft_groups(results: Sequence[LogResult], *, min_logs: int = 2, max_drafts: int = 20) -> tuple[list[Draft], list[str]]:
    """Drafts for the largest specific, unknown groups, and notes on groups left out."""
    groups: dict[str, list[LogResult]] = {}
    results = sorted(results, key=lambda r: r["file"])  # the pool's order must not change the drafts
    for r in results:
        fp = r.get("fingerprint")
        if "skipped" not in r and fp and fp.get("specific"):
            groups.setdefault(fp["id"], []).append(r)
    ordered = sorted(groups.values(), key=lambda g: (-len(g), g[0]["fingerprint"]["id"]))
    notes: list[str] = []
    drafts: list[Draft] = []
    taken: set[str] = set()
    for members in ordered:
        # members' texts can differ (one shows the file): the fullest names the draft
        fp = max((m["fingerprint"] for m in members), key=lambda f: (len(f["text"]), f["text"]))
        if len(members) < min_logs or len(drafts) >= max_drafts:
            continue
        if any(m.get("kb_id") for m in members):
            continue
        lines = [m.get("example", "") for m in sorted(members, key=lambda m: m["file"])]
        made = generalise(lines)
        if made is None:
            notes.append(f"{fp['text']}: the logs share no stable text to anchor a regex on")
            continue
        pattern, keyword = made
        compiled = regex.compile(pattern, regex.IGNORECASE | regex.MULTILINE)
        if not all(_matches(compiled, line) for line in lines):
            notes.append(f"{fp['text']}: the generalised regex does not match every log; left out")
            continue
        others = [r.get("example", "") for r in results
                  if r.get("example") and (r.get("fingerprint") or {}).get("id") != fp["id"]]
        if any(_matches(compiled, line) for line in others):
            notes.append(f"{fp['text']}: the generalised regex also matches other groups' lines; left out")
            continue
        no_match = sorted(set(others), key=lambda s: (len(s), s))[:3] or [_FALLBACK_NO_MATCH]
        draft_id = f"draft-{_slug(fp['text'])}-{fp['id'].rsplit('-', 1)[-1][:6]}"
        if draft_id in taken:
            continue
        taken.add(draft_id)
        drafts.append(Draft(draft_id, fp, sorted(members, key=lambda m: m["file"]), pattern, keyword, no_match))
    return drafts, notes


def _toml_str(text: str) -> str:
    """A TOML literal string when it can be one (regexes stay readable), else a basic string.

    JSON escapes are valid TOML basic-string escapes; non-ASCII is kept raw.
    """
    if "'" not in text and not any(ord(c) < 32 or ord(c) == 127 for c in text):
        return f"'{text}'"
    return json.dumps(text, ensure_ascii=False)


def _toml_list(items: Sequence[str]) -> str:
    return "[\n" + "".join(f"  {_toml_str(i)},\n" for i in items) + "]"


def _versions(members: Sequence[LogResult]) -> list[str]:
    seen: dict[str, None] = {}
    for m in members:
        if m.get("product"):
            seen.setdefault(f"{m['product']} {m.get('version') or '(version not in the log)'}", None)
    return list(seen) or ["(no runtime or version in the logs)"]


def write_draft(draft: Draft, out: Path) -> tuple[Path, Path]:
    """Write the signature and the KB skeleton; returns their paths."""
    sig_dir, kb_dir = out / "signatures", out / "kb"
    sig_dir.mkdir(parents=True, exist_ok=True)
    kb_dir.mkdir(parents=True, exist_ok=True)
    lines = [m.get("example", "") for m in draft.members]
    fp = draft.fingerprint
    sig = "\n".join([
        "# Drafted by `triage mine`: check the regex, the description and the examples, then rename.",
        "[[signature]]",
        f"id = {_toml_str(draft.id)}",
        f"description = {_toml_str('TODO: what this line means. Mined from ' + str(len(draft.members)) + ' logs sharing fingerprint ' + fp['id'] + '.')}",
        f"keywords = {_toml_list([draft.keyword])}",
        f"regex = {_toml_str(draft.pattern)}",
        "weight = 0.85",
        f"few_fixtures = {_toml_str('draft from triage mine: add the logs below as fixtures when it becomes an entry')}",
        "[signature.examples]",
        f"match = {_toml_list(sorted(set(lines)))}",
        f"no_match = {_toml_list(draft.no_match)}",
        "",
    ])
    files = [Path(m["file"]).name for m in draft.members]
    kb = "\n".join([
        "+++",
        f"id = {_toml_str(draft.id)}",
        f"title = {_toml_str('TODO: ' + fp['text'])}",
        f"summary = {_toml_str('TODO: one or two sentences: what fails, for whom, why. Drafted by triage mine from ' + str(len(files)) + ' logs.')}",
        'root_cause = "TODO: the root cause, in your own words, with the upstream issue or pull request that explains it."',
        'kind = "cause"',
        "labels = []",
        'references = ["https://github.com/TODO/link-the-upstream-issue"]',
        'confirm = "TODO: what evidence would confirm a possible match."',
        'remedies = ["TODO: the fix or the workaround, most useful first."]',
        "+++",
        "",
        "## What you see",
        "",
        "```",
        *sorted(set(lines)),
        "```",
        "",
        "## Sources (drafted by `triage mine`)",
        "",
        f"- Fingerprint: `{fp['id']}` ({fp['text']})",
        f"- Versions seen: {', '.join(_versions(draft.members))}",
        f"- Logs ({len(files)}): {', '.join(files)}",
        "",
    ])
    sig_path, kb_path = sig_dir / f"{draft.id}.toml", kb_dir / f"{draft.id}.md"
    sig_path.write_text(sig, encoding="utf-8")
    kb_path.write_text(kb, encoding="utf-8")
    return sig_path, kb_path


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        raise UsageError(message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="triage mine", description="Draft KB entries for the largest groups of unknown crashes.")
    p.add_argument("paths", nargs="*", type=Path, metavar="DIR")
    p.add_argument("--out", type=Path, required=True, metavar="OUT", help="folder for signatures/ and kb/ drafts")
    p.add_argument("--kb-dir", action="append", default=[], type=Path, metavar="DIR")
    p.add_argument("-j", "--jobs", type=int, default=None)
    p.add_argument("--glob", action="append", default=None, metavar="PATTERN")
    p.add_argument("--min-logs", type=int, default=2, help="smallest group worth a draft (default 2)")
    p.add_argument("--max-drafts", type=int, default=20)
    return p


def mine_main(argv: Sequence[str]) -> int:
    """Entry point of `triage mine`; exit 0 with drafts written, 1 when no group qualified, 2 on bad input."""
    try:
        args = _parser().parse_args(list(argv))
        if not args.paths:
            raise UsageError("give at least one directory or file")
        if args.min_logs < 2:
            raise UsageError("--min-logs must be at least 2: one log is not a group")
        if args.jobs is not None and args.jobs < 1:
            raise UsageError("--jobs must be at least 1")
        if args.out.exists() and not args.out.is_dir():
            raise UsageError(f"--out {args.out}: exists and is not a directory")
        for d in args.kb_dir:
            if not d.is_dir():
                raise UsageError(f"--kb-dir {d}: not a directory")
        files = collect_files(args.paths, args.glob or DEFAULT_PATTERNS)
        if not files:
            raise UsageError("no log files found")
        results = list(analyse_files(files, args.kb_dir, args.jobs))
    except UsageError as exc:
        print(f"triage mine: {exc}", file=sys.stderr)
        return 2
    except DataErrors as exc:
        print(f"triage mine: {exc.errors[0] if exc.errors else 'invalid data'}", file=sys.stderr)
        return 2
    for r in results:
        if "skipped" in r:
            print(f"triage mine: skipped {r['file']}: {r['skipped']}", file=sys.stderr)
    drafts, notes = draft_groups(results, min_logs=args.min_logs, max_drafts=args.max_drafts)
    try:
        for draft in drafts:
            sig_path, kb_path = write_draft(draft, args.out)
            print(f"{len(draft.members):>4}  {draft.fingerprint['text']}\n      {sig_path}\n      {kb_path}")
    except OSError as exc:
        print(f"triage mine: cannot write to {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    for note in notes:
        print(f"not drafted: {note}", file=sys.stderr)
    if not drafts:
        print("no group of unknown crashes with at least "
              f"{args.min_logs} logs and a specific fingerprint", file=sys.stderr)
        return 1
    print(f"{len(drafts)} draft(s) in {args.out}; finish them, then: triage kb check --kb-dir {args.out}")
    return 0
