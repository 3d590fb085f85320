"""Project-level promises: README and CI agree, the CLI path stays light, data ships in the wheel."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from conftest import imported_by_cli_run

ROOT = Path(__file__).resolve().parent.parent


def _quick_start() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1]
    block = re.search(r"```\w*\n(.*?)```", section, re.DOTALL)
    assert block
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_quick_start_has_exactly_two_commands() -> None:
    commands = _quick_start()
    assert len(commands) == 2
    assert "triage examples/" in commands[0]
    assert "pytest" in commands[1]
    sample = commands[0].rsplit(" ", 1)[1]
    assert (ROOT / sample).is_file()


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert _quick_start()[1] in ci.splitlines()


def test_cli_does_not_import_discord_or_rapidfuzz_or_pydantic() -> None:
    log = ROOT / "tests" / "corpus" / "cuda-arch-mismatch__llamacpp4215-cuda-error-209-no-kernel-image.log"
    assert imported_by_cli_run([str(log)], ("discord", "rapidfuzz", "pydantic", "bot")) == []


def test_cli_on_an_unmatched_log_without_error_lines_does_not_import_rapidfuzz() -> None:
    """Suggestions need a specific error line to compare; a truncated KoboldCpp start-up log has none,
    so neither rapidfuzz nor the suggestion index is loaded for it."""
    log = ROOT / "tests" / "corpus" / "none__agixt-950-koboldcpp-1401-startup.log"
    assert imported_by_cli_run([str(log)], ("rapidfuzz",)) == []


def test_cli_on_an_unmatched_log_with_an_error_line_still_suggests(tmp_path: Path) -> None:
    """The lazy index is still built when a specific line needs it (a misspelt Vulkan allocation failure)."""
    log = tmp_path / "near.log"
    log.write_text("loading model\nggml_vulkan: Device memory allocaton of size 123456 failed.\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "triage", "--format", "json", str(log)], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    report = json.loads(proc.stdout)
    assert report["matches"] == []
    assert "vulkan-out-of-device-memory" in [s["kb_id"] for s in report["suggestions"]]


def test_wheel_ships_signatures_and_kb(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )
    if proc.returncode != 0 and "hatchling" in proc.stderr:
        import pytest

        pytest.skip("hatchling not installed for an offline build")
    assert proc.returncode == 0, proc.stderr
    import zipfile

    wheel = next(tmp_path.glob("*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "triage/_data/kb/cuda-arch-mismatch.md" in names
    assert "triage/_data/signatures/cuda-arch-mismatch.toml" in names
    assert "triage/_data/kb/_followup.toml" in names
