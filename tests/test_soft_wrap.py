"""Soft wraps (issue 14): a terminal, an editor or a forum breaks a long line at a word boundary, so no line holds a
keyword such as `unknown model architecture`. `unwrap` joins such a line with its continuation for the keyword
prefilter only (`Log.soft`); every line keeps its own text and number, and the matcher's two-line join finds the
message on the line where it starts. Lines that begin a record of their own are never joined."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import shared_engine, write_demo_kb
from triage.normalize import prepare, unwrap


def _joined(text: str) -> list[int]:
    """1-based numbers of the lines `unwrap` joined with the next."""
    data = text.encode()
    view = unwrap(data)
    starts = sorted(view.soft or {})
    return [view.data.count(b"\n", 0, s) + 1 for s in starts]


def _found(text: str) -> dict[str, list[int]]:
    report = shared_engine().analyse(text, redact=False)
    return {m.kb_id: [e.line for e in m.evidence] for m in report.matches}


# --- joined --------------------------------------------------------------------------------------------------

WRAPPED = [
    # the three forms the per-signature twins covered before (their examples)
    ("llama_model_load: error loading model: error loading model architecture: unknown model\n"
     "architecture: 'chatglm'\n", "unknown-model-architecture"),
    ('time=2025-04-02T09:12:44.112+02:00 level=ERROR source=sched.go:456 msg="error loading llama server" '
     'error="llama runner process has terminated: error loading model: error loading model architecture: unknown\n'
     "model architecture: 'gemma3n'\"\n", "unknown-model-architecture"),
    ("llama_model_load: error loading model: error loading model vocabulary: unknown pre-tokenizer\n"
     "type: 'deepseek-r1-qwen'\n", "unknown-pre-tokenizer"),
    ("Error: llama runner process has terminated: error loading model: error loading model vocabulary: unknown\n"
     "pre-tokenizer type: 'smaug-bpe'\n", "unknown-pre-tokenizer"),
    ("0.06.650.537 E llama_init_from_model: failed to initialize the context: failed\n"
     "to allocate buffer for kv cache\n", "kv-cache-context-too-large"),
    ("llama_init_from_model: failed to initialize the context: failed to initialize\n"
     "self-attention cache\n", "kv-cache-context-too-large"),
    # a [pid] prefix on the record, a message over three lines at 60 columns: found where the phrase starts
    ("[12345] llama_model_load: error loading model: error loading\n"
     "model architecture: unknown model architecture:\n"
     "'gemma3n'\n", "unknown-model-architecture", 2),
    # a terminal 80 columns wide, the piece exactly that wide: the space the wrap took is put back
    ("FileNotFoundError: Could not find module 'C:\\Users\\meme\\AppData\\koboldcpp_cublas.dll' (or one of its\n"
     "dependencies). Try using the full path with constructor syntax.\n", "windows-dll-load-failure", 1),
]


@pytest.mark.parametrize(("text", "kb_id", "line"), [(*case, 1) if len(case) == 2 else case for case in WRAPPED])
def test_a_soft_wrapped_message_is_found_where_it_starts(text: str, kb_id: str, line: int) -> None:
    assert _joined(text)[:1] == [1] or len(text.split("\n")[0]) == 100  # that one is read as a hard wrap
    found = _found(text)
    assert kb_id in found and found[kb_id][0] == line, found


def test_lines_keep_their_own_text_and_numbers() -> None:
    text = ("llama_model_load: error loading model: error loading model architecture: unknown model\n"
            "architecture: 'chatglm'\nllama_load_model_from_file: failed to load model\n")
    log = prepare(text.encode())
    assert log.n_lines == 3
    assert log.text_at(0).endswith("unknown model")  # the user's line, not the joined one
    assert log.joined_at(0).endswith("unknown model architecture: 'chatglm'")
    report = shared_engine().analyse(text, redact=False)
    assert report.line_count == 3
    evidence = next(m.evidence for m in report.matches if m.kb_id == "unknown-model-architecture")
    assert evidence[0].line == 1 and evidence[0].text.endswith("unknown model")


def test_a_guard_in_another_piece_of_the_message_still_vetoes() -> None:
    # PyTorch's own line, wrapped: its `RuntimeError` head is on the first piece, the phrase crosses the break
    text = ("RuntimeError: CUDA error: an illegal memory access was encountered while running the\n"
            "kernel, compile with TORCH_USE_CUDA_DSA to enable device-side assertions\n")
    assert _joined(text) == [1]
    assert "cuda-illegal-memory-access" not in {m.kb_id for m in shared_engine().analyse(text).confident}


# --- not joined --------------------------------------------------------------------------------------------

NOT_JOINED = {
    "two log records": "llama_model_loader: loaded meta data with 24 key-value pairs and 291 tensors from m.gguf\n"
                       "llama_model_loader: - kv   0:                       general.architecture str = llama\n",
    "two slog records": 'time=2024-05-01T10:00:00.000Z level=INFO source=server.go:1 msg="starting llama server"\n'
                        'time=2024-05-01T10:00:01.000Z level=INFO source=server.go:2 msg="waiting for server"\n',
    "a Python stack trace": "Traceback (most recent call last):\n"
                            '  File "/app/server.py", line 12, in <module>\n'
                            "    model = Llama(model_path=path, n_gpu_layers=35, n_ctx=4096, verbose=False)\n"
                            "ValueError: Failed to load model from file: /models/x.gguf\n",
    "a Go stack trace": "goroutine 1 gp=0x140000b2c40 m=3 mp=0x14000081008 [syscall, locked to thread]\n"
                        "runtime.cgocall(0x10586b9d8, 0x1400008ac28)\n",
    "a table": "| GPU                         | driver   | compute capability | VRAM total     |\n"
               "|-----------------------------|----------|--------------------|----------------|\n"
               "| NVIDIA GeForce RTX 3090 Ti  | 550.54   | 8.6                | 24576 MiB      |\n",
    "a new sentence": "I tried every model in the folder and the server still crashes with this output\n"
                      "Loading model from /models/llama-3-8b.Q4_K_M.gguf\n",
    "a sentence that ended": "llama_new_context_with_model: failed to allocate the compute buffer for this model.\n"
                             "the next line starts in lower case\n",
    "an indented continuation block": "llama_model_load: error loading model: error loading model architecture\n"
                                      "    at loader.cpp:123\n",
    "a short line": "error loading model\narchitecture: 'x'\n",
    "a linker's two-line report": "/usr/bin/ld: ggml.o: in function `ggml_compute_forward_mul_mat_q_f32':\n"
                                  "ggml.c:(.text+0x2c65): undefined reference to `ggml_cuda_pool_malloc'\n",
    "a program's own prefix": "nvcc fatal   : Value 'native' is not defined for option 'gpu-architecture'\n"
                              "/usr/bin/nvcc: returned nonzero exit status\n",
    "a Markdown fence": "llama_new_context_with_model: n_ctx      = 4096 and everything else looks fine\n```\n",
    # two journal records: the prefix makes the first 72 characters wide, a soft-wrap width, and the next message
    # starts in lower case; but the program broke the line before journald added the prefix (ollama/ollama#8456's
    # `ollama create` lines, which would otherwise reach into the window of its `Error: invalid file magic`)
    "two journal records": "Dec 03 10:00:01 myhost ollama[812]: $ ollama create minicpm-v:test again\n"
                           "Dec 03 10:00:02 myhost ollama[812]: gathering model components from the Modelfile in this folder\n",
}


@pytest.mark.parametrize("name", sorted(NOT_JOINED))
def test_records_frames_and_tables_are_not_joined(name: str) -> None:
    assert _joined(NOT_JOINED[name]) == [], name


def test_a_journal_record_as_wide_as_a_wrap_width_is_no_wrap() -> None:
    first, second = NOT_JOINED["two journal records"].splitlines()
    assert len(first) == 72  # a soft-wrap width: without the record check the pair would be joined
    # a terminal that wrapped the record itself leaves the continuation without a prefix: that is still joined
    assert _joined(first + "\n" + second.split(": ", 1)[1] + "\n") == [1]


def test_a_plain_log_without_wraps_is_left_as_it_is() -> None:
    plain = b"a\nb\n"
    assert unwrap(plain) == (plain, None, None, None, None)


def test_joined_text_is_bounded_for_a_long_wrapped_paragraph() -> None:
    # one paragraph wrapped into 2,000 lines: each line carries at most a few pieces, not the rest of the paragraph
    words = " ".join(f"word{i}" for i in range(20000))
    import textwrap

    text = "\n".join(textwrap.wrap(words, 80)) + "\n"
    view = unwrap(text.encode())
    assert view.soft and len(view.soft) > 1000
    assert len(view.data) < 8 * len(text)  # soft joins at most 4 pieces; the 80-wide lines are hard wraps too


def test_a_continuation_may_start_with_the_space_the_wrap_moved() -> None:
    head = "llama_model_load: error loading model: error loading model architecture: unknown"
    assert _joined(f"{head[:-1]}\n model architecture: 'qwen3next'\nnext\n") == [1]
    # two spaces before a lower-case word: a hanging indent, read as the rest of the line too (below)
    assert _joined(f"{head[:-1]}\n  model architecture: 'qwen3next'\nnext\n") == [1]


# --- hanging indents: a line broken by hand, the rest indented (round 91's notes) ---------------------------

HANGING = [
    # (text, kb id): each was a blind miss of round 91 while only its pieces were read
    ("llama_model_load: error loading model: check_tensor_dims: tensor 'blk.48.nextn.eh_proj.weight'\n"
     "   not found\n", "model-tensor-mismatch"),
    ("ollama._types.ResponseError: registry.ollama.ai/library/llama3:latest\n"
     "   does not support tools (status code: 400)\n", "model-capability-unsupported"),
    ("send_error: task id = 0, error: request (134712 tokens) exceeds the available\n"
     "  context size (131072 tokens), try increasing it\n", "prompt-exceeds-context"),
    # Go's chain of errors broken where it had its space (the trailing space kept): no width tells, the `: ` does
    ('Error: max retries exceeded: Get "https://huggingface.co/v2/...": \n'
     "dial tcp 128.242.240.59:443: connectex: A connection attempt failed...\n", "model-download-network-error"),
]


@pytest.mark.parametrize(("text", "kb_id"), HANGING)
def test_a_hanging_indent_is_read_as_the_rest_of_its_line(text: str, kb_id: str) -> None:
    assert _joined(text) == [1]
    assert kb_id in _found(text)


NOT_HANGING = {
    "a block under a header": "ggml_cuda_init: found 1 CUDA devices:\n  device 0: rtx 3090, compute capability 8.6\n",
    "code under a Python frame": '  File "/app/llama_cpp/server/app.py", line 368, in create_chat_completion\n'
                                 "    first_response = await run_in_threadpool(next, iterator_or_completion)\n",
    "a return under a Python frame": '  File "/app/fastapi/routing.py", line 191, in run_endpoint_function\n'
                                     "    return await dependant.call(**values)\n",
    "a stack frame": "Error: llama runner process has terminated unexpectedly\n    at runner.go:12 (main)\n",
    "the same indent": "main: loading\n  llama_model_load: error loading model: check_tensor_dims\n  tensor not found in file\n",
    "a colon without its space": 'Error: max retries exceeded: Get "https://huggingface.co/v2/...":\n'
                                 "dial tcp 128.242.240.59:443: connectex: A connection attempt failed...\n",
    "a capitalised line": "llama_model_load: error loading model architecture\n    Device 0: NVIDIA GeForce RTX 3090\n",
}


@pytest.mark.parametrize("name", sorted(NOT_HANGING))
def test_an_indented_line_that_starts_its_own_record_is_not_joined(name: str) -> None:
    assert _joined(NOT_HANGING[name]) == [], name


# --- kb check reads an example's keyword as the prefilter does ---------------------------------------------

SIG = """[[signature]]
id = "demo-arch"
description = "d"
keywords = ["unknown demo architecture"]
regex = '''unknown demo architecture: '(?P<arch_name>[^'\\\\s]+)\''''
weight = 0.9
[signature.examples]
match = ['''demo_model_load: error loading model: error loading model architecture: unknown demo
architecture: 'chatglm\'''']
no_match = ['''general.architecture: 'llama\'''']
"""


def test_kb_check_finds_the_keyword_of_a_soft_wrapped_example(tmp_path: Path) -> None:
    from triage.kbtool import check_kb
    from triage.load import load_kb

    write_demo_kb(tmp_path, SIG)
    errors, _ = check_kb(load_kb([tmp_path], builtin=False, use_cache=False), timing=False, fixtures=[])
    assert errors == []
    cut = SIG.replace("error loading model architecture: unknown demo\narchitecture: 'chatglm", "error loading model\nquite: 'chatglm")
    (tmp_path / "signatures" / "demo-crash.toml").write_text(cut, encoding="utf-8")
    errors, _ = check_kb(load_kb([tmp_path], builtin=False, use_cache=False), timing=False, fixtures=[])
    assert any("examples.match[0]: contains none of the signature's keywords" in str(e) for e in errors), errors


def test_a_big_paste_is_not_looked_at() -> None:
    from triage.normalize import SOFT_LIMIT

    pair = "llama_model_load: error loading model: error loading model architecture: unknown model\narchitecture: 'x'\n"
    small = pair * 10
    big = pair * (SOFT_LIMIT // len(pair) + 1)
    assert _joined(small)[:1] == [1]
    assert unwrap(big.encode()).soft is None


CUT_SIG = """[[signature]]
id = "demo-cut"
description = "d"
keywords = ["demo backend failed"]
regex = '''demo backend failed at stage [a-z]{1,40} with code \\d{1,5} and a long tail of words that goes on'''
unless = ['''library=other''']
weight = 0.9
[signature.examples]
match = ['''demo backend failed at stage compute with code 12 and a long tail of words that goes on''']
no_match = ['''demo backend''']
"""


def test_a_guard_in_an_earlier_piece_vetoes_a_cut_last_piece(tmp_path: Path) -> None:
    """A line hard-wrapped at 80 columns whose last piece is cut: the partial match on that piece is vetoed by a
    guard in an earlier piece, as a whole match is (round 77n: an `unless` on Ollama's `library=metal` cleared the
    paste as given but not its wrap80 form)."""
    from triage.engine import Engine
    from triage.load import load_kb

    write_demo_kb(tmp_path, CUT_SIG)
    engine = Engine(load_kb([tmp_path], builtin=False, use_cache=False))
    head = 'time=2024 level=INFO msg="offload library=other layers=12 gpu=0 vram=8 extra=abcdef ('
    line = head + "x" * (80 - len(head)) + "demo backend failed at stage compute with code 12 and a long tail of wo"
    wrapped = "\n".join(line[i:i + 80] for i in range(0, len(line), 80)) + "\n"
    for text in (line + "\n", wrapped):
        assert engine.analyse(text).matches == []
    for text in (line.replace("library=other", "library=metal") + "\n", wrapped.replace("library=other", "library=metal")):
        assert [m.kb_id for m in engine.analyse(text).matches] == ["demo-crash"]


def test_a_code_span_line_as_wide_as_a_wrap_width_keeps_its_match() -> None:
    """A line written as an inline code span that comes out exactly 132 columns wide is read as a hard wrap and
    joined to the next line; cleaned alone that piece is opened and its slog message taken out (62 characters), so
    the cut measured from it fell before the match and the line was lost (round 82e's code-span form of
    obsidian-smart-composer#204's Ollama truncation line). The cut is now read from the joined line's own end."""
    line = ('time=2025-01-10T08:13:47.938Z level=WARN source=runner.go:129 msg="truncating input prompt" limit=2048 '
            'prompt=7948 keep=5 new=2048')
    text = f"`{line}`\n`[GIN] 2025/01/10 - 08:13:50 | 200 | 4.768963448s | POST \"/v1/chat/completions\"`\n"
    assert len(text.split("\n")[0]) == 132
    assert unwrap(text.encode()).wraps  # read as a hard wrap: the case this test is about
    assert "prompt-exceeds-context" in _found(text)
    assert "prompt-exceeds-context" in _found(f"{line}\nnext line\n")  # the plain form, as before
