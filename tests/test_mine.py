"""`triage mine`: drafts for unknown groups pass `kb check` and match their group."""

from __future__ import annotations

from pathlib import Path

import pytest
import regex

from triage.engine import Engine
from triage.mine import generalise, mine_main

CORPUS = Path(__file__).parent / "grouping"


@pytest.fixture(scope="module")
def drafted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("drafts")
    assert mine_main([str(CORPUS), "--out", str(out), "-j", "1"]) == 0
    return out


def test_drafts_pass_kb_check(drafted: Path) -> None:
    from triage.cli import main

    assert main(["kb", "check", "--no-timing", "--kb-dir", str(drafted)]) == 0


def test_each_draft_matches_every_log_of_its_group_and_no_other(drafted: Path) -> None:
    sigs = sorted((drafted / "signatures").glob("*.toml"))
    assert len(sigs) >= 3
    engine = Engine.build([drafted])
    drafts = {p.stem for p in sigs}
    paths = {p.name: p for p in CORPUS.rglob("*.log")}
    for draft in drafts:
        md = (drafted / "kb" / f"{draft}.md").read_text(encoding="utf-8")
        assert "TODO" in md and "Fingerprint: `v6-" in md and "Versions seen:" in md
        members = md.split("Logs (", 1)[1].split(": ", 1)[1].strip().split(", ")
        for log in members:
            hit = {m.kb_id for m in engine.analyse(paths[log].read_bytes()).matches}
            assert draft in hit, (draft, log)
    for log in sorted(paths.values()):
        hits = {m.kb_id for m in engine.analyse(log.read_bytes()).matches} & drafts
        assert len(hits) <= 1, (log.name, hits)


def test_unary_group_becomes_one_draft(drafted: Path) -> None:
    sig = next((drafted / "signatures").glob("draft-ggml-assert-tensor-op-ggml-op-unary-*.toml")).read_text(encoding="utf-8")
    assert r"regex = 'GGML_ASSERT\(tensor->op == GGML_OP_UNARY\) failed'" in sig
    assert "keywords = [\n  'GGML_OP_UNARY',\n]" in sig


def test_known_classes_are_not_drafted(drafted: Path) -> None:
    names = " ".join(p.stem for p in (drafted / "signatures").glob("*.toml"))
    assert "qwen2" not in names and "gemma4" not in names  # unknown-pre-tokenizer / unknown-model-architecture


def test_generalise_numbers_and_wrappers() -> None:
    pattern, keyword = generalise([
        "/home/docker/llama.cpp/ggml/src/ggml-vulkan/ggml-vulkan.cpp:5059: GGML_ASSERT(nei0 * nei1 <= 3072) failed",
        "Processing Prompt [BLAS] (1024 / 2380 tokens)ggml/src/ggml-vulkan/ggml-vulkan.cpp:4367: GGML_ASSERT(nei0 * nei1 <= 4096) failed",
    ]) or ("", "")
    assert pattern == r"GGML_ASSERT\(nei0 \* nei1 <= \d{1,20}\) failed"
    assert keyword == "GGML_ASSERT"
    loader = generalise([
        "llama_model_load: error loading model: done_getting_tensors: wrong number of tensors; expected 255, got 254",
        "Error: llama runner process has terminated: error loading model: done_getting_tensors: wrong number of tensors; expected 724, got 723",
    ])
    assert loader is not None
    assert loader[0].startswith("error loading model: done_getting_tensors") and not loader[0].startswith(".")
    assert regex.search(loader[0], "error loading model: done_getting_tensors: wrong number of tensors; expected 1, got 2")
    assert generalise(["abc 1", "xyz 2"]) is None


def test_nothing_to_draft_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.log").write_text("Segmentation fault (core dumped)\n", encoding="utf-8")
    assert mine_main([str(tmp_path), "--out", str(tmp_path / "out"), "-j", "1"]) == 1
    assert "no group of unknown crashes" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["tests/grouping"], ["--out", "x"], ["tests/grouping", "--out", "x", "--min-logs", "1"]])
def test_bad_input_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert mine_main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("triage mine: ") and err.count("\n") == 1
