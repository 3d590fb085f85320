"""The literal gate in fingerprinting (issue 16): it skips only searches that cannot match.

Every rule runs only on a line holding one of the literals every match of its pattern contains.
These tests check the two halves of that promise: the gate never turns away a line its pattern
matches (per rule, on real and varied lines, and on every code point for case folding), and a
rule whose literal is absent is really not run (calls counted).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
import regex

import triage.fingerprint as fpmod
from triage import keylines
from triage.engine import Engine
from triage.fingerprint import MAX_LINE, fingerprint, normalise
from triage.fingerprint_rules import char_gate, frame_screens, gate_passes, load_fingerprint_rules, rules_from_specs, \
    screened_out
from triage.fingerprint_schema import RulesFile
from triage.literals import haystack, may_match, minimal, required_literals
from triage.model import KeyLine

TESTS = Path(__file__).resolve().parent
RULES = load_fingerprint_rules()


def _all_rules() -> Iterator[tuple[str, regex.Pattern[str], tuple[str, ...] | None]]:
    for rule in RULES.prefixes + RULES.rewrites:
        yield rule.id, rule.pattern, rule.need
    for kind in RULES.kinds:
        yield kind.id, kind.pattern, kind.need
    for (gid, pattern), need in zip(RULES.generic, RULES.generic_need):
        yield gid, pattern, need


def _variants(line: str) -> list[str]:
    """The line, and the same line in forms case-insensitive matching treats alike."""
    return [line, line.upper(), line.replace("s", "\u017f"), line.replace("i", "\u0130"), line.replace("k", "\u212a"),
            line.title()]


def _lines() -> list[str]:
    """Error-ish lines from the test corpora, cut as fingerprinting cuts them, plus each line normalised."""
    out: list[str] = []
    words = ("error", "fail", "assert", "abort", "fault", "exception", "cannot", "unable", "terminated", "unsupported",
             "not found", "invalid", "killed", "exit")
    for folder in ("corpus", "grouping", "holdout"):
        for path in sorted((TESTS / folder).rglob("*.log")):
            for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
                low = raw.lower()
                if any(w in low for w in words):
                    line = raw[:MAX_LINE].strip()
                    out.append(line)
                    out.append(normalise(line, RULES))
    return sorted(set(out))


LINES = _lines()


def test_every_rule_has_lines_to_check_and_most_rules_a_literal() -> None:
    assert len(LINES) > 300
    rules = list(_all_rules())
    gated = [rid for rid, _, need in rules if need]
    assert len(gated) >= len(rules) // 2, "the gate should cover most rules"


@pytest.mark.parametrize(("rid", "pattern", "need"), [r for r in _all_rules() if r[2]], ids=lambda v: str(v)[:30])
def test_gate_never_turns_away_a_line_its_rule_matches(rid: str, pattern: regex.Pattern[str],
                                                       need: tuple[str, ...]) -> None:
    for line in LINES:
        for text in _variants(line):
            if pattern.search(text, timeout=1.0):
                assert may_match(need, haystack(text)), f"rule {rid}: gate refused {text!r} (needs {need})"
    # synthetic lines built from the literals themselves, in every case form: a hit must pass the gate
    for literal in need:
        for text in _variants(f"x {literal} y"):
            if pattern.search(text, timeout=1.0):
                assert may_match(need, haystack(text))


def test_haystack_folds_every_character_case_insensitive_regex_takes_for_ascii() -> None:
    """Exactness of the gate over all of Unicode: wherever `regex` (as the rules compile it) matches an
    ASCII character c of a pattern, either case, against a code point x ignoring case, haystack(x) is
    exactly c lower-cased, one character for one (so literals of several characters line up too)."""
    points = "".join(chr(cp) for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF)
    hay = haystack(points)
    assert len(hay) == len(points), "some character lower-cases to several"
    folded = 0
    for c in map(chr, range(0x80)):
        for m in regex.finditer(regex.escape(c), points, regex.IGNORECASE | regex.VERSION0):
            assert hay[m.start()] == c.lower(), f"U+{ord(m.group()):04X} matches {c!r}"
            folded += ord(m.group()) >= 0x80
    assert folded >= 4, "no non-ASCII case partner found: regex changed, recheck the fold table"


def test_gate_on_and_off_agree_on_whole_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = Engine.build(cache_dir=None)
    paths = sorted((TESTS / "corpus").glob("*.log")) + sorted((TESTS / "grouping").rglob("*.log"))
    blobs = [p.read_bytes() for p in paths]
    on = [engine.analyse(b).fingerprint for b in blobs]
    monkeypatch.setattr(fpmod, "may_match", lambda need, hay: True)
    off = [engine.analyse(b).fingerprint for b in blobs]
    assert sum(f is not None for f in on) > 50
    assert on == off


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real_search, real_sub = fpmod._search, fpmod._sub

    def search(pattern: regex.Pattern[str], text: str) -> Any:
        seen.append(pattern.pattern)
        return real_search(pattern, text)

    def sub(rule: Any, text: str) -> str:
        seen.append(rule.pattern.pattern)
        return real_sub(rule, text)

    monkeypatch.setattr(fpmod, "_search", search)
    monkeypatch.setattr(fpmod, "_sub", sub)
    return seen


def _rules_with(kind_regex: str, rewrite_regex: str) -> Any:
    spec = RulesFile.model_validate({
        "version": 1,
        "rewrite": [{"id": "zz", "regex": rewrite_regex, "replace": "<zz>", "description": "test"}],
        "kind": [{"id": "quux", "regex": kind_regex, "priority": 80, "description": "test"}],
    })
    return rules_from_specs([("test.toml", spec, b"")])


def test_a_rule_whose_literal_is_absent_is_not_run(monkeypatch: pytest.MonkeyPatch) -> None:
    rules = _rules_with(r"(?:quuxfrob|zorkblat)\d failed", r"zebra\d+")
    kind = rules.kinds[0]
    assert kind.need == ("quuxfrob", "zorkblat")
    assert rules.rewrites[0].need == ("zebra",)
    seen = _counting(monkeypatch)
    key = fingerprint([KeyLine(1, "error: something else failed", 90)], [], rules)
    assert key is not None and kind.pattern.pattern not in seen and rules.rewrites[0].pattern.pattern not in seen
    seen.clear()
    found = fingerprint([KeyLine(1, "error: QUUXFROB1 failed at ZEBRA42", 90)], [], rules)
    assert kind.pattern.pattern in seen and rules.rewrites[0].pattern.pattern in seen
    assert found is not None and "<zz>" in found.text


def test_gate_cuts_the_searches_on_real_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """Most rules cannot match most lines: with the gate, far fewer searches run (and results are the same)."""
    lines = [KeyLine(i + 1, text, 90) for i, text in enumerate(LINES[:300])]
    seen = _counting(monkeypatch)
    gated = fingerprint(lines, [], RULES)
    with_gate = len(seen)
    seen.clear()
    monkeypatch.setattr(fpmod, "may_match", lambda need, hay: True)
    ungated = fingerprint(lines, [], RULES)
    assert gated == ungated
    assert with_gate < len(seen) * 0.6, (with_gate, len(seen))


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (r"[[:alpha:]]abc", None),  # a POSIX class to regex, a set and a "]" to re
        (r"(?:foo){e<=1}bar", None),  # fuzzy matching to regex, literal text to re
        (r"ab{,}cde", None),
        (r"unsupported op[: ]{1,3}x", ("unsupported op",)),
        (r"foo\d{1,3}barbaz", ("barbaz",)),
        (r"\{abc\}", ("{abc}",)),
    ],
)
def test_required_literals_give_up_where_re_and_regex_read_a_pattern_differently(
        pattern: str, expected: tuple[str, ...] | None) -> None:
    assert required_literals(pattern) == expected


# keylines: the same gate on its plain-line path, with the literals written out in the module


@pytest.mark.parametrize("name", sorted(keylines.KEYLINE_LITERALS))
def test_keyline_literals_are_exactly_the_computed_ones(name: str) -> None:
    assert keylines.KEYLINE_LITERALS[name] == minimal(required_literals(keylines.KEYLINE_PATTERNS[name]))


def test_minimal_keeps_the_requirement() -> None:
    full = ("abort", "aborted", "error", "error:", "segv")
    assert minimal(full) == ("abort", "error", "segv")
    for hay in ("was aborted", "error: x", "sigsegv", "nothing", "err"):
        assert any(lit in hay for lit in full) == may_match(minimal(full), hay)
    assert minimal(None) is None


def test_keyline_scores_agree_with_and_without_the_gate(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = Engine.build(cache_dir=None)
    texts = [line[: keylines.SCORE_CHARS] for line in LINES] + [
        "llama runner process has terminated: exit status 2", "Segmentation fault (core dumped)",
        "Traceback (most recent call last):", "error: 0", "GGML_ASSERT(x) failed", "ValueError: bad thing",
        "RuntimeError: Failed to load model from file: x.gguf", "[GIN] 2024/01/01 | 200 | error",
    ]
    gated = [keylines.score_line(t, engine.patterns) for t in texts]
    monkeypatch.setattr(keylines, "may_match", lambda need, hay: True)
    assert gated == [keylines.score_line(t, engine.patterns) for t in texts]
    assert {0, 20, 60, 90} <= set(gated)


# The character gate: for a rule with no required literal, classes of characters its matches need (the first
# one of a ^ pattern, the last one of a $ pattern, a digit for a number, ':' for a drive letter).

TRICKY = [
    "\u0663\u0660:\u0661\u0662:\u0660\u0660 E error",  # Arabic-Indic digits: \\d takes them
    "2024-01-02T03:04:05 error", "[2024-01-02 03:04:05] error", "12:34:56.789 E x", "0.01.234.567 E x",
    "E llama: x", "\u0130 thing", "error at end\u3000", "error at end\x1c", "end with dot.", "ends\n",
    "C:\\Users\\x\\y.gguf", "/home/u/a.c:12:3 fault", "0xDEADBEEF and deadbeef1234", "10.0.0.1:8080 and [::1]:80",
    "Q4_K_M bf16 f32 iq2_xxs mxfp4 tq1_0", "a  b\tc", "svc-1   | GGML_ASSERT(x) failed",
    "github.com/a/b.F(0x1, {0x2})", "runtime.cgocall()", "x.py:3: y", "\u212a\u017f\u0131 kelvin",
]


def _char_gated() -> Iterator[tuple[str, regex.Pattern[str], Any]]:
    for rule in RULES.prefixes + RULES.rewrites:
        if rule.gate is not None:
            yield rule.id, rule.pattern, rule.gate
    for kind in RULES.kinds:
        if kind.gate is not None:
            yield kind.id, kind.pattern, kind.gate
    for (gid, pattern), gate in zip(RULES.generic, RULES.generic_gate):
        if gate is not None:
            yield gid, pattern, gate


def test_most_literal_less_rules_get_a_character_gate() -> None:
    no_literal = [rid for rid, _, need in _all_rules() if need is None]
    gated = [rid for rid, _, _ in _char_gated()]
    assert set(gated) <= set(no_literal)
    assert len(gated) >= len(no_literal) - 2, sorted(set(no_literal) - set(gated))


@pytest.mark.parametrize(("rid", "pattern", "gate"), list(_char_gated()), ids=lambda v: str(v)[:30])
def test_character_gate_never_turns_away_a_line_its_rule_matches(rid: str, pattern: regex.Pattern[str],
                                                                 gate: Any) -> None:
    for line in LINES + TRICKY:
        for text in _variants(line) + [text[::-1] for text in _variants(line)[:1]]:
            if pattern.search(text, timeout=1.0):
                assert gate_passes(gate, text), f"rule {rid}: character gate refused {text!r}"


@pytest.mark.parametrize(
    ("pattern", "line", "can_match"),
    [
        (r"^\d{1,2}:\d\d", "error 12:34", False),  # the first character must be a digit
        (r"^\d{1,2}:\d\d", "\u0661\u0662:34", True),  # any Unicode digit: a non-ASCII first character passes
        (r"[\s.]{1,3}$", "no trailing", False),
        (r"[\s.]{1,3}$", "trailing.", True),
        (r"[\s.]{1,3}$", "trailing\n", True),  # $ also matches before a final newline
        (r"-?\d{1,30}", "no digits here", False),
        (r"-?\d{1,30}", "caf\u00e9", True),  # any non-ASCII character might be a digit
        (r"\b[a-z]:[\\/]", "no drive", False),
        (r"\b[a-z]:[\\/]", "C:\\x", True),
    ],
)
def test_character_gate_reads_first_last_and_required_classes(pattern: str, line: str, can_match: bool) -> None:
    gate = char_gate(pattern)
    assert gate is not None
    assert gate_passes(gate, line) == can_match
    if not can_match:
        assert not regex.search(pattern, line, regex.IGNORECASE)


@pytest.mark.parametrize("pattern", [r"(?m)^x\d", r"[^a].", r"(?>a|b)c", r".{2}", r"[[:alpha:]]\d"])
def test_no_character_gate_where_the_pattern_says_too_little_or_might_parse_differently(pattern: str) -> None:
    assert char_gate(pattern) is None


def _dump_lines() -> list[tuple[list[KeyLine], list[tuple[int, str]]]]:
    """Each corpus log's error lines (up to three) and the lines under them, as the engine passes them."""
    out = []
    for folder in ("corpus", "grouping", "logs"):
        for path in sorted((TESTS / folder).rglob("*.log")):
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            keys = [KeyLine(n, text, 60) for n, text in enumerate(lines, 1)
                    if any(w in text.lower() for w in ("error", "fatal", "panic", "exception", "fail"))][:3]
            below = [(n, lines[n - 1]) for k in keys for n in range(k.line + 1, min(k.line + 40, len(lines)) + 1)]
            out.append((keys, below))
    return out


def test_character_gates_and_frame_screens_change_no_fingerprint() -> None:
    """Byte-identical fingerprints with the gates and screens and without them, over every corpus log."""
    bare = load_fingerprint_rules()
    for rule in bare.prefixes + bare.rewrites + bare.kinds:
        rule.gate = None
    bare.generic_gate = [None] * len(bare.generic_gate)
    bare.frame_screens = None
    dumps = _dump_lines()
    assert sum(1 for _, below in dumps if below) > 500
    for keys, below in dumps:
        assert fingerprint(keys, [], RULES, below) == fingerprint(keys, [], bare, below)


def test_frame_screen_keeps_every_frame() -> None:
    screens = RULES.frame_screens
    assert screens, "the Go frame kind should be screened ('(' and '.' are in no replacement text)"
    frames = {kind.id for kind in RULES.kinds if kind.frame}
    kept = 0
    for _, below in _dump_lines():
        for _, raw in below:
            line = normalise(raw, RULES)
            if any(regex.search(kind.pattern, line) for kind in RULES.kinds if kind.id in frames):
                assert not screened_out(screens, raw[:MAX_LINE]), raw
                kept += 1
    assert kept > 20


def test_no_screen_on_a_character_a_rewrite_writes() -> None:
    """A rewrite whose replacement writes '(' could make a frame out of a line without one: '(' is not
    screened then, and with nothing else to screen on, no line is screened out."""
    spec = RulesFile.model_validate({
        "version": 1,
        "rewrite": [{"id": "paren", "regex": "zz", "replace": "x(", "description": "writes a parenthesis"}],
        "kind": [{"id": "frame", "regex": r"^\w{1,9}\(", "priority": 50, "frame": True, "description": "a frame"}],
    })
    rules = rules_from_specs([("test.toml", spec, b"")])
    assert frame_screens(rules.kinds, rules.rewrites) is None
    assert not screened_out(rules.frame_screens, "no parenthesis zz")
