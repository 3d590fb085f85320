"""Crash fingerprints: one stable id per failure, so reports of one bug group.

Pure: the report's key lines, top match's evidence and (for crash dumps) the
lines just below the failure lines in, a Fingerprint out. A line from below
counts only as a stack frame (a `frame` kind): Ollama's Go dumps say which
function crashed only there (Sentry groups a stack by its top in-app frame).
Like Socorro's signatures and Sentry's grouping, the rules are data
(`fingerprints/*.toml`) and versioned: the id starts with the rules' version.
Every regex runs with a timeout on a line cut to MAX_LINE characters, so a
hostile log costs linear time; a search that times out counts as no match.
A rule runs only on a line that holds one of the literals every match of its
pattern contains (computed when the rules load, see literals.py), or, for a
rule with no such literal, a character its matches need (a digit for a number,
the first character of an anchored prefix): a timed search costs two clock
system calls, and most rules cannot match most lines.
"""

from __future__ import annotations

TYPE_CHECKING = False  # true for type checkers only: typing is not imported at run time (records.py says why)
from .fingerprint_rules import FingerprintRules, Kind, Rewrite, gate_passes, screened_out
from .literals import haystack, may_match
from .model import Fingerprint, KeyLine, Match
from .records import NamedTuple
from .sha import sha256

if TYPE_CHECKING:
    from typing import Callable, Sequence

    import regex

__all__ = ["Candidate", "candidates", "fingerprint", "normalise"]

MAX_LINE = 600
MAX_BELOW = 200  # lines below failure lines read for frames: a dump's own frames come first
TIMEOUT = 0.2  # seconds per search; generous for a 600-character line
_MAX_PREFIXES = 8


class Candidate(NamedTuple):
    """One failure line after normalisation, with what the rules say about it."""

    line: int
    text: str  # shown
    key: str  # hashed
    kind: str  # kind id, or "" for an unclassified error line
    priority: int
    generic: bool
    companions: tuple[str, ...]
    evidence: bool = False  # one of the top KB match's evidence lines


def _sub(rule: Rewrite, text: str) -> str:
    plan = getattr(rule, "plan", None)
    repl: str | Callable[[regex.Match[str]], str] = rule.replace if plan is None else _expander(plan)
    try:
        result: str = rule.pattern.sub(repl, text, timeout=TIMEOUT)
        return result
    except TimeoutError:
        return text


def _expander(plan: tuple[str | int, ...]) -> Callable[[regex.Match[str]], str]:
    """A template's expansion, as regex makes it (an unmatched group gives nothing)."""

    def expand(m: regex.Match[str]) -> str:
        return "".join(item if isinstance(item, str) else (m.group(item) or "") for item in plan)

    return expand


def _search(pattern: regex.Pattern[str], text: str) -> regex.Match[str] | None:
    try:
        return pattern.search(text, timeout=TIMEOUT)
    except TimeoutError:
        return None


def _apply(rules: Sequence[Rewrite], line: str, strip: bool) -> str:
    """Each rule in turn, skipping the ones whose required literal the line lacks (they cannot match)."""
    hay = haystack(line)
    for rule in rules:
        new = _sub(rule, line) if may_match(rule.need, hay) and gate_passes(rule.gate, line) else line
        if strip:
            new = new.lstrip()
        if new != line:
            line = new
            hay = haystack(line)
    return line


def normalise(text: str, rules: FingerprintRules) -> str:
    """Strip wrapper prefixes and parameterise what varies between reporters."""
    line = " ".join(text.replace("\r", "").split("\n"))[:MAX_LINE].strip()
    for _ in range(_MAX_PREFIXES):
        before = line
        line = _apply(rules.prefixes, line, True)
        if line == before:
            break
    line = _apply(rules.rewrites, line, False)
    return line.strip()


def _generic(line: str, hay: str, rules: FingerprintRules) -> bool:
    """Whether a generic pattern matches the line (`hay`: its haystack)."""
    return any(may_match(need, hay) and gate_passes(gate, line) and _search(pattern, line)
               for (_, pattern), need, gate in zip(rules.generic, rules.generic_need, rules.generic_gate))


def _fill(template: str, found: regex.Match[str], line: str, rules: FingerprintRules) -> str:
    if not template:
        return line
    groups = found.groupdict()

    def one(m: regex.Match[str]) -> str:
        return (groups.get(m.group(1)) or "").strip()

    filled = rules.place.sub(one, template)
    # a template part whose group is empty leaves " in " / ": " dangling
    trimmed: str = rules.dangling.sub("", filled)
    return trimmed.strip()


def _classify(number: int, raw: str, score: int, rules: FingerprintRules) -> Candidate | None:
    line = normalise(raw, rules)
    if len(line) < 4:
        return None
    hay = haystack(line)
    generic = _generic(line, hay, rules)
    best: tuple[Kind, regex.Match[str]] | None = None
    for kind in rules.kinds:
        found = _search(kind.pattern, line) if may_match(kind.need, hay) and gate_passes(kind.gate, line) else None
        if found and (best is None or kind.priority > best[0].priority):
            best = (kind, found)
    if best is None:
        return Candidate(number, line, line.lower(), "", min(score, 60), generic, ())
    kind, found = best
    text = _fill(kind.text, found, line, rules)
    key = _fill(kind.key, found, line, rules) if kind.key else text
    # the kind's own part decides: "runner terminated: GGML_ASSERT(...)" is about the assert
    generic = kind.generic or _generic(text, haystack(text), rules)
    return Candidate(number, text, key.lower(), kind.id, kind.priority, generic, kind.companions)


def candidates(key_lines: Sequence[KeyLine], matches: Sequence[Match], rules: FingerprintRules,
               below: Sequence[tuple[int, str]] = ()) -> list[Candidate]:
    """Every usable failure line, best first: the top match's evidence and the key lines, plus the stack
    frames among `below` (numbered lines under the failure lines; any other line there is ignored)."""
    raw: dict[int, tuple[str, int]] = {}
    if matches:
        for evidence in matches[0].evidence:
            raw.setdefault(evidence.line, (evidence.text, 90))
    for key in key_lines:
        raw.setdefault(key.line, (key.text, key.score))
    proof = {e.line for e in matches[0].evidence} if matches else set()
    found = [c._replace(evidence=n in proof) for n, (text, score) in sorted(raw.items()) if (c := _classify(n, text, score, rules))]
    frames = rules.frame_kinds
    if frames and below:
        seen = set(raw)
        screens = rules.frame_screens
        for n, text in below[:MAX_BELOW]:
            if n not in seen and not screened_out(screens, text[:MAX_LINE]) and \
                    (c := _classify(n, text, 0, rules)) is not None and c.kind in frames:
                found.append(c)
            seen.add(n)
    # Among equally ranked lines, the ones that proved the KB match describe the failure best.
    found.sort(key=lambda c: (c.generic, -c.priority, not c.evidence, c.line))
    return found


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def fingerprint(key_lines: Sequence[KeyLine], matches: Sequence[Match], rules: FingerprintRules,
                below: Sequence[tuple[int, str]] = ()) -> Fingerprint | None:
    """The fingerprint of one report, or None when the log has no failure line.

    `below`: (line number, text) of the lines just under the top failure lines, where a crash dump lists
    its stack frames; without it a dump is fingerprinted by its failure lines alone."""
    found = candidates(key_lines, matches, rules, below)
    if not found:
        return None
    primary = found[0]
    parts = [primary]
    for companion in primary.companions:
        extra = next((c for c in found if c.kind == companion and not c.generic and c is not primary), None)
        if extra is not None:
            parts.append(extra)
    key = "\n".join(p.key for p in parts)
    digest = sha256(f"{rules.tag}\n{key}".encode()).hexdigest()[:12]
    text = parts[0].text + "".join(f" [{p.text}]" for p in parts[1:])
    return Fingerprint(
        id=f"{rules.tag}-{digest}",
        text=_shorten(text, rules.max_text),
        specific=not primary.generic,
        lines=tuple(sorted(p.line for p in parts)),
    )
