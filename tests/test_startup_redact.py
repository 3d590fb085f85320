"""Redaction on start-up's path (issue 16 item 3): short texts run only the rules whose triggers occur.

A rule's triggers must be a necessary condition for its pattern to match (the whole-log path has always
relied on that, and short texts now do too): skipping a rule whose trigger is absent must give the very
text and removed items that running every rule gives. Checked on every line of the corpora and on text
built from the rules' own fragments."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from triage import redact

TESTS = Path(__file__).resolve().parent

# Pieces of what the rules look for, with the separators, cases and lengths at their edges.
FRAGMENTS = [
    "hf_", "sk-", "sk-proj-", "ghp_", "gho_", "github_pat_", "xoxb-", "AKIA", "ASIA", "eyJ", "M", "N", "O",
    "Authorization", "AUTHORIZATION: ", "proxy-authorization=", "Bearer ", "bearer\t", "token ", "Basic ",
    "-u ", "--user=", "-u", "key", "KEY", "Token", "secret", "password", "passwd", "Passw", "pwd", "PWD",
    "_", "-", "=", ":", " = ", "\"", "'", "://", "@", "/", "\\", "\\\\", "Users", "users", "USERS", "uSers",
    "home", "HOME", "Documents and Settings", "documents and settings", "DESKTOP-", "LAPTOP-", "WIN-", "Mac",
    "MacBook", "MBP", "iMac", "Mac-mini", ".local", "::", ":", "fe80", "%eth0", "1", "12", "192", "168", "0",
    "255", "01", ".", "a", "Z", "9", "x" * 20, "A1b2" * 6, "é", "ß", "K", "İ", "\t", " ", "everyone", "here",
    "<@", "<@!", ">", "123456", "glibc ", "driver ", "version ", "@host:", "user@", "jdoe", "$USER", "%USERNAME%",
]


def _direct(text: str) -> tuple[str, list[str]]:
    removed: list[str] = []
    return redact._apply(text, redact.RULES, removed), removed


def _triggered(text: str) -> tuple[str, list[str]]:
    removed: list[str] = []
    return redact._apply_small(text, removed), removed


def test_every_corpus_line_redacts_as_with_every_rule() -> None:
    lines: set[str] = set()
    for path in sorted(TESTS.rglob("*.log")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            lines.add(line[:redact.SMALL])
    assert len(lines) > 5000
    changed = 0
    for line in sorted(lines):
        expected = _direct(line)
        assert _triggered(line) == expected, line
        changed += expected[0] != line
    assert changed > 50  # the corpora do hold personal data the rules remove


@settings(max_examples=3000, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=40))
def test_fragments_redact_as_with_every_rule(parts: list[str]) -> None:
    text = "".join(parts)
    assert _triggered(text) == _direct(text)


def test_triggers_are_necessary_on_the_edges_the_old_ones_missed() -> None:
    # a home folder between mixed separators, and "password" followed by the pattern's full 20 characters
    for text in ("C:/Users\\jdoe\\model.gguf", "/home\\jdoe/x", "password_" + "a" * 19 + "=hunter22secret"):
        assert _direct(text)[0] != text
        assert _triggered(text) == _direct(text)
        assert redact.redact_log(text * 1000 + "\n")[1] >= 1  # the whole-log path finds it too


def test_a_plain_line_compiles_no_rule() -> None:
    fresh = [redact._c(rule.pattern().pattern) for rule in redact.RULES]  # the same rules, none compiled yet
    rules = tuple(rule._replace(pattern=pattern) for rule, pattern in zip(redact.RULES, fresh))
    original = redact.RULES
    try:
        redact.RULES = rules
        removed: list[str] = []
        assert redact._apply_small("llama_model_loader: loaded meta data with 23 key-value pairs", removed) == (
            "llama_model_loader: loaded meta data with 23 key-value pairs")
    finally:
        redact.RULES = original
    assert [p.cache_info().currsize > 0 for p in fresh].count(True) == 0  # type: ignore[attr-defined]
