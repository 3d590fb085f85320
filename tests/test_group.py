"""`triage group`: groups of the grouping corpus, shards merged by fingerprint, bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from triage.fingerprint_rules import load_fingerprint_rules
from triage.group import group_main

CORPUS = Path(__file__).parent / "grouping"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = group_main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _doc(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:  # type: ignore[type-arg]
    code, out, err = _run(capsys, *argv, "--format", "json")
    assert code == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


def _strip(doc: dict) -> dict:  # type: ignore[type-arg]
    return {k: v for k, v in doc.items()}


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> dict:  # type: ignore[type-arg]
    from triage.group import analyse_files, build_groups, collect_files
    from triage.fingerprint_rules import load_fingerprint_rules

    files = collect_files([CORPUS])
    return build_groups(analyse_files(files, (), 1), load_fingerprint_rules().tag)


def test_groups_largest_first(full: dict) -> None:  # type: ignore[type-arg]
    counts = [g["count"] for g in full["groups"]]
    assert counts == sorted(counts, reverse=True)
    top = full["groups"][0]
    assert top["text"] == "GGML_ASSERT(tensor->op == GGML_OP_UNARY) in ggml.c"
    assert top["count"] == 5 and "ollama" in top["versions"]
    assert sorted(Path(f).name for f in top["files"]) == sorted(
        json.loads((CORPUS / "groups.json").read_text())["groups"]["ollama-ggml-assert-unary"])
    assert "GGML_ASSERT(tensor->op == GGML_OP_UNARY)" in top["example"]
    # wrapper-only logs are listed apart, never as one group
    unlinked = {Path(u["file"]).name for u in full["unlinked"]}
    assert {"hn-wrapper-ollama-7476.log", "hn-wrapper-ollama-4794.log"} <= unlinked
    assert full["logs"] == len(list(CORPUS.rglob("*.log")))


def test_pool_gives_the_same_groups(capsys: pytest.CaptureFixture[str], full: dict) -> None:  # type: ignore[type-arg]
    assert _doc(capsys, str(CORPUS), "-j", "2") == full


def test_shards_merge_back(capsys: pytest.CaptureFixture[str], tmp_path: Path, full: dict) -> None:  # type: ignore[type-arg]
    shards = []
    for k in (1, 2, 3):
        doc = _doc(capsys, str(CORPUS), "-j", "1", "--shard", f"{k}/3")
        path = tmp_path / f"shard{k}.json"
        path.write_text(json.dumps(doc), encoding="utf-8")
        shards.append(str(path))
    merged = _doc(capsys, "--merge", *shards)
    assert merged == full


def test_text_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, str(CORPUS / "unary-ollama-9515.log"), str(CORPUS / "unary-ollama-10536.log"), "-j", "1")
    assert code == 0
    assert "   2  GGML_ASSERT(tensor->op == GGML_OP_UNARY) in ggml.c" in out
    tag = load_fingerprint_rules().tag  # ids carry the rules' version: this test outlives a change of rules
    assert f"fingerprint {tag}-" in out and "e.g. " in out and "unary-ollama-9515.log" in out


def test_unreadable_and_binary_files_are_skipped_with_a_note(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    shutil.copy(CORPUS / "unary-ollama-9515.log", tmp_path / "a.log")
    (tmp_path / "b.log").write_bytes(b"\x00\x01\x02" * 1000)
    code, out, err = _run(capsys, str(tmp_path), "-j", "1", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert [Path(s["file"]).name for s in doc["skipped"]] == ["b.log"]
    assert "skipped" in err and "b.log" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["/no/such/dir"],
        ["--shard", "4/3", "tests/grouping"],
        ["--jobs", "0", "tests/grouping"],
        ["--kb-dir", "/no/such/kb", "tests/grouping"],
        ["--bogus"],
    ],
)
def test_bad_input_exits_2_with_one_line(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, out, err = _run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("triage group: ") and err.count("\n") == 1


def test_merge_refuses_other_files_and_other_rules(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    code, _, err = _run(capsys, "--merge", str(bad))
    assert code == 2 and "not a 'triage group --format json' output" in err
    doc = {"schema": 1, "kind": "triage-groups", "rules": "v1", "logs": 0, "groups": [], "unlinked": [], "skipped": []}
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(doc), encoding="utf-8")
    b.write_text(json.dumps({**doc, "rules": "v2"}), encoding="utf-8")
    code, _, err = _run(capsys, "--merge", str(a), str(b))
    assert code == 2 and "different fingerprint rules" in err
