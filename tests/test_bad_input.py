"""The bad-input table: each row gets a correct report or a clear message and exit 2."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import analyse, shared_engine as default_kb
from triage.errors import InputError

ERROR = "CUDA error: no kernel image is available for execution on the device"
CONTEXT = "ggml_cuda_compute_forward: SCALE failed"
HEALTHY = "llm_load_print_meta: n_ctx_train      = 4096\nllm_load_tensors: offloaded 33/33 layers to GPU\n"
LOG = f"{HEALTHY}{CONTEXT}\n{ERROR}\n"


def ids(report: object) -> list[str]:
    return [m.kb_id for m in report.matches]  # type: ignore[attr-defined]


def test_binary_data_is_refused(tmp_path: Path) -> None:
    rng = random.Random(1)
    path = tmp_path / "core.bin"
    path.write_bytes(bytes(rng.randrange(256) for _ in range(50_000)))
    proc = subprocess.run([sys.executable, "-m", "triage", str(path)], capture_output=True, timeout=60)
    assert proc.returncode == 2
    assert b"binary" in proc.stderr and b"Traceback" not in proc.stderr


def test_elf_header_is_binary() -> None:
    with pytest.raises(InputError):
        analyse(b"\x7fELF\x02\x01\x01" + b"\x00" * 4000 + b"\x01\x02\x03" * 500)


def test_invalid_utf8_still_reported() -> None:
    report = analyse(b"\xff\xfe\xfa garbage \xc3\x28\n" + LOG.encode())
    assert ids(report) == ["cuda-arch-mismatch"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig"])
def test_utf16_and_bom(encoding: str) -> None:
    report = analyse(LOG.encode(encoding))
    assert ids(report) == ["cuda-arch-mismatch"]
    assert report.matches[0].evidence[0].line == 4


def test_powershell_utf16_crlf() -> None:
    report = analyse(LOG.replace("\n", "\r\n").encode("utf-16"))
    assert ids(report) == ["cuda-arch-mismatch"]


def test_nul_bytes_dropped() -> None:
    data = LOG.encode().replace(b"kernel", b"ker\x00nel")
    assert ids(analyse(data)) == ["cuda-arch-mismatch"]


@pytest.mark.parametrize("data", [b"", b"   \n\t\r\n  ", b"\x00\x00\x00"])
def test_empty_and_whitespace(data: bytes) -> None:
    with pytest.raises(InputError, match="empty"):
        analyse(data)


def test_empty_file_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "empty.log"
    path.write_bytes(b"")
    proc = subprocess.run([sys.executable, "-m", "triage", str(path)], capture_output=True, timeout=60)
    assert proc.returncode == 2 and b"empty" in proc.stderr


def test_cr_only_line_ends_keep_line_numbers() -> None:
    report = analyse(LOG.replace("\n", "\r").encode())
    assert report.matches[0].evidence[0].line == 4


def test_ansi_noise() -> None:
    noisy = f"\x1b[32m{HEALTHY}\x1b[0m{CONTEXT}\n\x1b[1;31m{ERROR}\x1b[0m\x1b]0;title\x07\n"
    report = analyse(noisy)
    assert ids(report) == ["cuda-arch-mismatch"]
    assert "\x1b" not in report.matches[0].evidence[0].text


def test_markdown_fences_nested_and_unbalanced() -> None:
    text = f"Here is my log:\n````\n```text\n{LOG}```\n> quoted: {ERROR}\n```\nunclosed"
    report = analyse(text)
    assert ids(report) == ["cuda-arch-mismatch"]


def test_log_pasted_twice_is_one_match() -> None:
    report = analyse(LOG + LOG)
    assert ids(report) == ["cuda-arch-mismatch"]
    assert report.matches[0].hit_count == 2


def test_ten_megabyte_single_line() -> None:
    line = ("x" * 1000 + " ") * 10_000
    t0 = time.perf_counter()
    report = analyse(line + "\n" + CONTEXT + "\n" + ERROR + "\n")
    assert time.perf_counter() - t0 < 10
    assert ids(report) == ["cuda-arch-mismatch"]


def test_ten_megabyte_line_of_keywords_is_bounded() -> None:
    line = "error: no kernel image " * 450_000
    t0 = time.perf_counter()
    analyse(line)
    assert time.perf_counter() - t0 < 15


def test_million_short_lines() -> None:
    body = "ok\n" * 1_000_000
    t0 = time.perf_counter()
    report = analyse(body + CONTEXT + "\n" + ERROR + "\n")
    assert time.perf_counter() - t0 < 10
    assert report.matches[0].evidence[0].line == 1_000_002


def test_two_hundred_megabyte_log() -> None:
    block = (HEALTHY * 2000).encode()
    data = block * (200 * 1024 * 1024 // len(block)) + (CONTEXT + "\n" + ERROR + "\n").encode()
    t0 = time.perf_counter()
    report = analyse(data, default_kb())
    elapsed = time.perf_counter() - t0
    assert ids(report) == ["cuda-arch-mismatch"]
    assert elapsed < 30, elapsed
