"""The command as a user types it: exit codes, formats, and no traceback ever."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from triage.cli import main

TESTS = Path(__file__).resolve().parent
ARCH_LOG = TESTS / "corpus" / "cuda-arch-mismatch__llamacpp4215-cuda-error-209-no-kernel-image.log"
HEALTHY = TESTS / "corpus" / "none__agixt-950-koboldcpp-1401-startup.log"


def run(args: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "triage", *args], input=stdin, capture_output=True, timeout=60)


def test_match_exits_0_and_names_the_entry() -> None:
    proc = run([str(ARCH_LOG)])
    assert proc.returncode == 0
    assert b"no code for this GPU" in proc.stdout
    assert b"line 1:" in proc.stdout
    assert b"Traceback" not in proc.stderr


def test_stdin_and_json_schema() -> None:
    proc = run(["--format", "json"], stdin=ARCH_LOG.read_bytes())
    assert proc.returncode == 0
    data = json.loads(proc.stdout)
    assert data["schema"] == 1
    match = data["matches"][0]
    assert match["kb_id"] == "cuda-arch-mismatch"
    assert set(match) >= {"kb_id", "title", "confidence", "root_cause", "remedies", "affected", "version_status", "evidence", "labels", "references"}
    assert match["evidence"][0]["line"] == 1
    assert "triage:cuda-arch-mismatch" in data["labels"]
    assert set(data) >= {"matches", "facts", "key_lines", "suggestions", "labels", "completeness"}


def test_no_match_exits_1_with_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(HEALTHY)]) == 1
    out = capsys.readouterr().out
    assert "No known problem" in out
    assert "KoboldCpp 1.40.1" in out


def test_markdown_format(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--format", "markdown", str(ARCH_LOG)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("## ")
    assert "```" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["/nonexistent/x.log"], b"no such file"),
        (["--bogus"], b"unrecognized arguments"),
        (["--format", "yaml", "x"], b"invalid choice"),
        ([str(TESTS)], b"is a directory"),
        (["--kb-dir", "/nonexistent", str(ARCH_LOG)], b"not a directory"),
        (["eval", "/nonexistent"], b"not a directory"),
        (["kb", "show", "no-such-entry"], b"no KB entry"),
    ],
)
def test_usage_errors_exit_2_one_line(args: list[str], message: bytes) -> None:
    proc = run(args)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert b"Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_help_describes_the_tool() -> None:
    proc = run(["--help"])
    assert proc.returncode == 0
    assert b"--format" in proc.stdout and b"Exit status" in proc.stdout


def test_several_files_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--format", "json", str(ARCH_LOG), str(HEALTHY)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    assert json.loads(lines[0])["file"].endswith(ARCH_LOG.name)


def test_kb_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kb", "list"]) == 0
    assert "cuda-arch-mismatch" in capsys.readouterr().out
    assert main(["kb", "show", "cuda-dmmv-iq-unsupported"]) == 0
    assert "dmmv" in capsys.readouterr().out
    assert main(["kb", "search", "metal", "shader"]) == 0
    assert "metal-init-failed" in capsys.readouterr().out


def test_eval_reports_recall(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["eval", str(TESTS / "corpus")])
    out = capsys.readouterr().out
    assert "forbidden hits: 0" in out
    assert "recall:" in out
    assert code == 0


def test_kb_dir_entry_replaces_builtin(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "kb").mkdir()
    (tmp_path / "signatures").mkdir()
    src = (TESTS.parent / "kb" / "cuda-arch-mismatch.md").read_text(encoding="utf-8")
    (tmp_path / "kb" / "cuda-arch-mismatch.md").write_text(src.replace('title = "The CUDA build has no code', 'title = "OUR OWN: The CUDA build has no code'), encoding="utf-8")
    assert main(["--kb-dir", str(tmp_path), str(ARCH_LOG)]) == 0
    assert "OUR OWN" in capsys.readouterr().out


def test_kb_dir_with_broken_entry_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "broken.md").write_text("+++\nid = 'broken'\n+++\n", encoding="utf-8")
    proc = run(["--kb-dir", str(tmp_path), str(ARCH_LOG)])
    assert proc.returncode == 2
    assert b"broken.md" in proc.stderr and b"title" in proc.stderr


def test_nearest_entries_say_they_rest_on_wording_and_whether_a_runtime_was_seen(capsys: pytest.CaptureFixture[str],
                                                                              tmp_path: Path) -> None:
    """Blind round 50n: Node's EADDRINUSE and PyTorch's `no kernel image` drew suggestions of entries that are about
    llama.cpp-family runtimes. With no runtime recognised the reader is told to check that first."""
    node = tmp_path / "node.log"
    node.write_text("Error: listen EADDRINUSE: address already in use :::5000\n    at Server.setupListenHandle [as _listen2]"
                    " (node:net:1872:16)\n  code: 'EADDRINUSE',\n  errno: -98,\n  syscall: 'listen',\n  port: 5000\n")
    assert main([str(node)]) == 1
    out = capsys.readouterr().out
    assert "Nearest KB entries:" in out and "port-already-in-use" in out
    assert "no llama.cpp-family program was recognised" in out
    assert main(["--format", "markdown", str(node)]) == 1
    assert "no llama.cpp-family program was recognised" in capsys.readouterr().out


def test_a_wrapper_only_log_gets_the_follow_up_and_no_nearest_entry(capsys: pytest.CaptureFixture[str],
                                                                     tmp_path: Path) -> None:
    """Round 85n: Open WebUI's bare `Ollama: 500` was 0.74 "near" illegal-instruction-cpu-isa through another
    entry's envelope example. An envelope's wording says nothing of the cause, so only the request for the server's
    log is shown (measured on tests/logs: such suggestions named the right entry 18 times in 126)."""
    log = tmp_path / "owui.log"
    log.write_text("Error : 500: Ollama: 500, message='Internal Server Error', url='http://127.0.0.1:11434/api/chat'\n")
    assert main([str(log)]) == 1
    out = capsys.readouterr().out
    assert "Completeness: wrapper-only" in out and "Please post the Ollama *server* log" in out
    assert "Nearest KB entries" not in out


def test_nearest_entries_compare_the_specific_line_not_the_boilerplate_beside_it(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Round 94f (docker/model-runner#672): a split-file error nothing in the KB explains was shown as 1.00 "near"
    speculative-decoding-crash, because llama-server's generic `main: exiting due to model loading error` beside it
    is word for word a line of that entry's example. When a log has a specific error line, only such lines count."""
    log = tmp_path / "split.log"
    log.write_text(
        "llama_model_load: error loading model: illegal split file idx: 3 (file: /models/m-00004-of-00004.gguf),"
        " model must be loaded with the first split\n"
        "llama_model_load_from_file_impl: failed to load model\n"
        "srv    load_model: failed to load model, '/models/m-00004-of-00004.gguf'\n"
        "main: exiting due to model loading error\n")
    assert main(["--format", "json", str(log)]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["matches"] == []
    assert "speculative-decoding-crash" not in [s["kb_id"] for s in data["suggestions"]]


def test_nearest_entries_weigh_an_examples_context_lines_less(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Round 94p: Ollama's bare `Error: pull model manifest: file does not exist` was 1.00 "near"
    bad-magic-legacy-format, whose example prints that line only as context before its own error (no keyword of the
    signature is on it). An example's context lines count less than its evidence lines, so it is not near-identical."""
    log = tmp_path / "pull.log"
    log.write_text("Error: pull model manifest: file does not exist\n")
    assert main(["--format", "json", str(log)]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["matches"] == []
    assert all(s["score"] < 0.9 for s in data["suggestions"]), data["suggestions"]
