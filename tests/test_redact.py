"""Redaction removes secrets and personal data and keeps what diagnosis needs."""

from __future__ import annotations

import json

import pytest

from conftest import analyse
from triage.redact import redact_text
from triage.render import to_json, to_markdown

HF = "hf_" + "aBcDeFgHiJkLmNoPqRsTuVwXyZ012345"


@pytest.mark.parametrize(
    "secret",
    [
        HF,
        "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4",
        "ghp_" + "0123456789abcdefghijABCDEFGHIJ012345",
        "github_pat_" + "11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
        "MTA4" + "NjE2ODk0MjQ5NjY1NTM2MA.GhK3aB.abcdefghijklmnopqrstuvwxyz0123456789",
        "someone@example.com",
        "203.0.113.54",
        "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
    ],
)
def test_secrets_removed(secret: str) -> None:
    out, n = redact_text(f"value: {secret} end")
    assert secret not in out and n >= 1


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        (r"C:\Users\jdoe\Downloads\model.gguf", "jdoe"),
        ("/home/jdoe/llama.cpp/build/bin/llama-server", "jdoe"),
        ("/Users/jdoe/Developer/whisper.cpp/ggml-metal.metal", "jdoe"),
        ("/mnt/c/Users/jdoe/models/x.gguf", "jdoe"),
        (r"C:\\Users\\jdoe\\AppData\\Local\\Temp\\_MEI1234\\koboldcpp_cublas.dll", "jdoe"),
        ("cognibuild@DESKTOP-I6N5JH7:/mnt/e/OneClickLLMs$ ./x", "DESKTOP-I6N5JH7"),
        ("[lzb@VKF-NLP-GPU-01 ggml-server-example]$", "VKF-NLP-GPU-01"),
        ("jdoe@192.168.1.20:~/llama.cpp$ ./build/bin/llama-server", "jdoe"),
        ("jdoe@gpu1:~/llama.cpp$ make", "jdoe"),
        ("HF_TOKEN=abcdef123456 python run.py", "abcdef123456"),
        ("https://user:hunter2@example.org/model.gguf", "hunter2"),
    ],
)
def test_personal_data_removed(text: str, gone: str) -> None:
    out, _ = redact_text(text)
    assert gone not in out


@pytest.mark.parametrize(
    ("text", "name", "marker"),
    [
        (r"C:\Users\Użytkownik\jan\models\m.gguf", "Użytkownik", r"\Users\<user-non-ascii>\jan"),
        ("C:/Users/Алексей/AppData/Roaming/Jan", "Алексей", "/Users/<user-non-ascii>/AppData"),
        (r"C:\Users\jdoe\m.gguf", "jdoe", r"\Users\<user>\m.gguf"),
    ],
)
def test_non_ascii_user_folder_keeps_that_fact(text: str, name: str, marker: str) -> None:
    """Older Windows builds could not open non-ASCII paths (janhq/jan#1713): the name goes, the fact stays."""
    out, n = redact_text(text)
    assert name not in out and marker in out and n == 1
    assert redact_text(out) == (out, 0)  # idempotent


@pytest.mark.parametrize(
    "keep",
    [
        "Welcome to KoboldCpp - Version 1.61.2",
        "llamafile v0.8.1",
        "main: build = 4567 (b4567abc)",
        "NVIDIA-SMI 550.54.14   Driver Version: 550.54.14   CUDA Version: 12.4",
        "Device 0: NVIDIA GeForce GTX 1080, compute capability 6.1, VMM: yes",
        "LM Studio runtime 1.20.11.01",
        "Windows 10.0.19045.0",
        "Error: listen tcp 127.0.0.1:11434: bind: address already in use",
        "listen tcp 0.0.0.0:8080",
        "npm warn deprecated inflight@1.0.6: This module is not supported, and leaks memory.",
        "npm warn deprecated glob@7.2.3: Glob versions prior to v9 are no longer supported",
        "added llama-cpp-python@0.3.16 and node-llama-cpp@3.0.0-beta.44 to the lockfile",
    ],
)
def test_diagnostic_numbers_kept(keep: str) -> None:
    out, n = redact_text(keep)
    assert out == keep and n == 0


def test_report_outputs_hold_none_of_it() -> None:
    log = "\n".join(
        [
            "***",
            "Welcome to KoboldCpp - Version 1.61.1",
            f"HF token {HF} set for downloads",
            "Loading model: C:\\Users\\jdoe\\models\\llama-2-13b.Q4_K_M.gguf",
            "Connecting to 203.0.113.54 @everyone look",
            "ggml_metal_init: error: Error Domain=MTLLibraryErrorDomain Code=3 \"program_source:3:10: fatal error: 'ggml-common.h' file not found @everyone",
            "llama_new_context_with_model: failed to initialize Metal backend",
        ]
    )
    report = analyse(log)
    md = to_markdown(report)
    js = to_json(report)
    for out in (md, js):
        assert HF not in out
        assert "jdoe" not in out
        assert "203.0.113.54" not in out
        assert "@everyone" not in out.replace("@\u200beveryone", "")
    assert "@everyone" not in md
    data = json.loads(js)
    assert data["matches"][0]["kb_id"] == "metal-init-failed"
    assert data["facts"]["version"] == "1.61.1"
    assert data["matches"][0]["version_status"] == "affected"
    # Counted: what would have been shown (the user name in the model path). The token and IP
    # lines are not quoted, and broken-up mentions are not personal items.
    assert data["redacted"] == 1
    assert "1.61.1 is affected" in md


def test_no_redact_keeps_everything() -> None:
    log = "C:\\Users\\jdoe\\x.gguf\nCUDA error: no kernel image is available for execution on the device\nggml_cuda_compute_forward: ADD failed"
    report = analyse(log, redact=False)
    assert report.redactions == 0
