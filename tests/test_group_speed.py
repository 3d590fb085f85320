"""`triage group`'s serial part (issue 16: >= 1.8x on 2 cores): what the parent does alone stays small.

The file walk is os.walk where rglob was (the same files), and the rules' tag comes from the Engine the
parent builds anyway (loading the rules from their files validated them: ~0.3 s before any worker ran)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from triage import group
from triage.fingerprint_rules import load_fingerprint_rules

TESTS = Path(__file__).resolve().parent


def _rglob(root: Path, patterns: tuple[str, ...]) -> list[str]:
    """collect_files as it was: rglob per pattern, hidden parts left out."""
    found: set[str] = set()
    for pattern in patterns:
        for hit in root.rglob(pattern):
            if hit.is_file() and not any(part.startswith(".") for part in hit.relative_to(root).parts):
                found.add(str(hit))
    return sorted(found)


@pytest.mark.skipif(os.name != "posix", reason="the os.walk path is POSIX-only")
def test_walk_finds_what_rglob_finds(tmp_path: Path) -> None:
    root = tmp_path / "export"
    for rel in ("a.log", "b.txt", "c.LOG", "d.md", ".hidden.log", "x/e.log", "x/.h/f.log", "x/y/g.txt",
                ".git/h.log", "x/y/z/i.log.gz", "x/y/z/j.log", "k.log.d/l.log"):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x", encoding="utf-8")
    (root / "dir.log").mkdir()  # a directory whose name matches: not a file
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "o.log").write_text("x", encoding="utf-8")
    (root / "linked").symlink_to(outside, target_is_directory=True)  # rglob does not descend into it
    (root / "file-link.log").symlink_to(root / "a.log")  # a link to a file is a file
    (root / "dangling.log").symlink_to(tmp_path / "missing")
    for patterns in (group.DEFAULT_PATTERNS, ("*.log",), ("*.[lt][ox][gt]", "?.md"), ("*",)):
        assert group.collect_files([root], patterns) == _rglob(root, patterns), patterns
    assert group.collect_files([root / "x", root / "a.log"]) == sorted(
        [str(root / "a.log")] + _rglob(root / "x", group.DEFAULT_PATTERNS))


def test_walk_on_the_corpora_matches_rglob() -> None:
    assert group.collect_files([TESTS]) == _rglob(TESTS, group.DEFAULT_PATTERNS)


def test_patterns_with_a_slash_still_use_rglob(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.log").write_text("x", encoding="utf-8")
    (tmp_path / "x.log").write_text("x", encoding="utf-8")
    assert group.collect_files([tmp_path], ("a/*.log",)) == [str(tmp_path / "a" / "x.log")]


def test_rules_tag_is_the_rule_files_tag() -> None:
    assert group.rules_tag([]) == load_fingerprint_rules().tag


def test_the_parent_never_validates_rule_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import triage.fingerprint_rules as fr

    logs = tmp_path / "logs"
    logs.mkdir()
    for name in sorted(p.name for p in (TESTS / "corpus").glob("*.log"))[:3]:
        (logs / name).write_bytes((TESTS / "corpus" / name).read_bytes())
    group.rules_tag([])  # the Engine (from the start-up cache) and its rules, built once

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("fingerprint rules loaded from their files again")

    monkeypatch.setattr(fr, "load_fingerprint_rules", refuse)
    assert group.group_main(["--format", "json", "-j", "1", str(logs)]) == 0


def test_group_output_is_the_same_on_1_and_2_workers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if sys.platform == "win32":
        pytest.skip("spawned workers: slow to start here")
    outputs = []
    for jobs in ("1", "2"):
        assert group.group_main(["--format", "json", "-j", jobs, str(TESTS / "corpus")]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]
