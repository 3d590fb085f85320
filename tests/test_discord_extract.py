"""bot.extract on plain strings: which text in a message is a log, which attachments are text."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.extract import find_code_blocks, find_logs, is_text_attachment, looks_like_log

CORPUS = Path(__file__).resolve().parent / "corpus"
LOG = (CORPUS / "cuda-arch-mismatch__llamacpp4215-cuda-error-209-no-kernel-image.log").read_text(encoding="utf-8")


def test_code_block_with_language_tag_is_found() -> None:
    assert find_code_blocks(f"here:\n```text\n{LOG}```\nthanks") == [LOG.strip("\n")]


def test_unclosed_code_block_at_the_end_is_still_found() -> None:
    assert find_code_blocks(f"```\n{LOG}") == [LOG.strip("\n")]


def test_several_code_blocks_are_labelled_by_position() -> None:
    found = find_logs(f"```\n{LOG}```\nand then\n```\nggml_cuda_init: failed to initialize CUDA: unknown error\n```")
    assert [c.source for c in found] == ["code block 1", "code block 2"]


def test_short_inline_blocks_are_not_logs() -> None:
    assert find_logs("try ```--usecublas``` or `--gpulayers 20`") == []


@pytest.mark.parametrize(
    "text",
    [
        "hello! anyone got koboldcpp running on a 3060?",
        "my kobold crashed with a cuda error, any idea what to do?",
        "I think it ran out of memory again lol",
        "",
        "thanks, the update fixed it\nyou're a star\nbye",
    ],
)
def test_chat_is_not_a_log(text: str) -> None:
    assert find_logs(text) == []


@pytest.mark.parametrize(
    "text",
    [
        LOG,
        "GGML_ASSERT: D:\\a\\koboldcpp\\ggml-cuda\\dmmv.cu:804: false",
        "it crashed:\nllama_model_load: error loading model: unknown model architecture: 'qwen3'\nllama_load_model_from_file: failed to load model",
        "time=2024-05-01T10:00:00 level=INFO msg=start\ntime=2024-05-01T10:00:01 level=INFO msg=load\ntime=2024-05-01T10:00:02 level=ERROR msg=boom",
    ],
)
def test_pasted_console_text_is_a_log(text: str) -> None:
    assert looks_like_log(text)
    assert [c.source for c in find_logs(text)] == ["pasted text"]


@pytest.mark.parametrize(
    ("name", "content_type", "expected"),
    [
        ("koboldcpp.log", None, True),
        ("message.txt", "text/plain; charset=utf-8", True),
        ("server.json", None, True),
        ("crash", "text/plain", True),
        ("CRASH.LOG", None, True),
        ("screenshot.png", "image/png", False),
        ("model.gguf", "application/octet-stream", False),
        ("setup.exe", None, False),
    ],
)
def test_text_attachments_by_extension_or_content_type(name: str, content_type: str | None, expected: bool) -> None:
    assert is_text_attachment(name, content_type) is expected
