"""Key lines scored with the precompiled `regex` patterns give the same scores as with `re` (issue 16 item 3).

The Engine's store holds the key-line patterns compiled by `regex`; keylines.py uses them on lines of printable
ASCII and tabs only. These tests check the two engines agree there, on every line of the corpora and on
generated lines built from the patterns' own words, and that other lines go to `re`."""

from __future__ import annotations

import re
from pathlib import Path

import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from triage import keylines
from triage.keylines import KEYLINE_PATTERNS, _plain, score_line
from triage.load import Patterns
from triage.normalize import clean_line

TESTS = Path(__file__).resolve().parent
STORE = Patterns()

# Words and pieces the patterns are made of, so generated lines hit every branch now and then.
WORDS = sorted({w for src in KEYLINE_PATTERNS.values() for w in re.findall(r"[A-Za-z][A-Za-z_ -]{2,}[A-Za-z]", src)})
PIECES = WORDS + [" ", "\t", ":", "=", "0", "none", "exit status 2", "(Exit code: -1)", "CUDA error", "ERROR:",
                  "llama runner process has terminated", "error=\"exit status 1\"", "|", " 200 |", "level=INFO"]
PRINTABLE = "".join(chr(c) for c in range(32, 127)) + "\t"


def _agree(text: str) -> None:
    assert _plain(text)
    for name, source in KEYLINE_PATTERNS.items():
        slow = re.compile(source, keylines.RE_FLAGS).search(text) is not None
        fast = regex.compile(source, keylines.REGEX_FLAGS).search(text) is not None
        assert slow == fast, (name, text)
    assert score_line(text) == score_line(text, STORE), text


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(PIECES), st.text(alphabet=PRINTABLE, max_size=6)), max_size=12))
def test_engines_agree_on_printable_ascii(parts: list[str]) -> None:
    text = "".join(parts)
    for variant in (text, text.upper(), text.lower(), text.swapcase()):
        _agree(variant)


def test_engines_agree_on_every_corpus_line() -> None:
    checked = 0
    for log in sorted((TESTS / "corpus").glob("*.log")) + sorted((TESTS / "logs").glob("*/*.log")):
        for raw in log.read_text(encoding="utf-8", errors="replace").splitlines():
            text = clean_line(raw).strip()[:1000].rstrip()
            if text:
                assert score_line(text) == score_line(text, STORE), (log.name, text)
                checked += 1
    assert checked > 8000


def test_other_lines_go_to_re() -> None:
    for text in ("error\x1cfailed", "error: caf\u00e9 failed", "fatal\x0berror", "Error\u2028x", "\x7ferror"):
        assert not _plain(text)
        assert score_line(text) == score_line(text, STORE)
    # \x1c is whitespace to `re`, not to `regex`: such a line must be scored by `re`.
    text = "error\x1c= 0"
    source = KEYLINE_PATTERNS["not_key"]
    assert re.search(source, text, keylines.RE_FLAGS) and not regex.search(source, text, keylines.REGEX_FLAGS)
    assert score_line(text, STORE) == score_line(text) == 0


def test_plain_lines_are_plain() -> None:
    assert _plain("GGML_ASSERT: ggml.c:123: x\tfailed") and _plain("~!@#$%^&*()_+{}|:<>?`-=[]\\;',./\"")
