"""Crash fingerprints: normalisation, generic lines, real pairs that must and must not agree, pinned ids."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from triage.errors import DataErrors
from triage.fingerprint import fingerprint, normalise
from triage.fingerprint_rules import load_fingerprint_rules
from triage.model import Evidence, KeyLine, Match

RULES = load_fingerprint_rules()


def fp(*lines: str, score: int = 90):  # type: ignore[no-untyped-def]
    return fingerprint([KeyLine(i + 1, text, score) for i, text in enumerate(lines)], [], RULES)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # wrapper prefixes: journald, docker compose, Ollama slog, LM Studio tags, llama.cpp's timestamp and level
        ("Apr 25 16:16:17 robert-desktop ollama[1890128]: ggml-alloc.c:819: GGML_ASSERT(talloc->buffer_id >= 0) failed",
         "ggml-alloc.c: GGML_ASSERT(talloc->buffer_id >= <n>) failed"),
        ("ollama                  | ggml-alloc.c:819: GGML_ASSERT(talloc->buffer_id >= 0) failed",
         "ggml-alloc.c: GGML_ASSERT(talloc->buffer_id >= <n>) failed"),
        ('time=2025-03-05T04:13:07.343-05:00 level=ERROR source=sched.go:456 msg="error loading llama server" '
         'error="llama runner process has terminated: exit status 2"',
         "error loading llama server: llama runner process has terminated: exit status 2"),
        ("[2024-12-11 21:39:23.552] [error] [WASI-NN] llama.cpp: error loading model: missing tensor 'blk.3.ffn_up'",
         "llama.cpp: error loading model: missing tensor 'blk.<n>.ffn_up'"),
        ("[56285] 0.54.236.075 E CUDA error: an illegal memory access was encountered",
         "CUDA error: an illegal memory access was encountered"),
        # paths keep their base name; user names go with the directories; line numbers go
        (r"D:\a\llama.cpp\llama.cpp\ggml\src\ggml.c:1721: GGML_ASSERT(tensor->op == GGML_OP_UNARY) failed",
         "ggml.c: GGML_ASSERT(tensor->op == GGML_OP_UNARY) failed"),
        ("/home/alice/src/llama.cpp/ggml/src/ggml-cuda/fattn-common.cuh:9198: GGML_ASSERT(x) failed",
         "fattn-common.cuh: GGML_ASSERT(x) failed"),
        # numbers, sizes, hex, model files and quant types vary between reporters
        ("llama_kv_cache_init: failed to allocate buffer for kv cache of size 1234.5 MiB at 0x7fff12345678",
         "llama_kv_cache_init: failed to allocate buffer for kv cache of size <n> MiB at <hex>"),
        ("ValueError: Failed to load model from file: /home/bob/models/llama-2-7b.Q4_K_M.gguf",
         "ValueError: Failed to load model from file: <model>"),
        # identifiers with digits and error codes stay
        ("ggml-cpu-aarch64.cpp:4012: GGML_ASSERT(nbw3 > 0) failed", "ggml-cpu-aarch64.cpp: GGML_ASSERT(nbw3 > <n>) failed"),
        ("OSError: [WinError 126] The specified module could not be found",
         "OSError: [WinError 126] The specified module could not be found"),
        # an assert condition with a division keeps its operator
        ("ggml.c:6399: GGML_ASSERT(c->ne[0] >= n_dims / 2) failed", "ggml.c: GGML_ASSERT(c->ne[<n>] >= n_dims / <n>) failed"),
    ],
)
def test_normalise(raw: str, expected: str) -> None:
    assert normalise(raw, RULES) == expected


@pytest.mark.parametrize(
    "line",
    [
        "Error: llama runner process has terminated: exit status 2",
        'time=2025-01-01T00:00:00Z level=ERROR source=sched.go:1 msg="error loading llama server" error="llama runner process has terminated: exit status 0xc0000409"',
        "Segmentation fault (core dumped)",
        "llama_load_model_from_file: failed to load model",
        "Failed to load model",
        "(Exit code: 18446744072635810000). Unknown error. Try a different model and/or config.",
        "Error: 500 Internal Server Error",
        "Traceback (most recent call last):",
        "/root/llama.cpp/ggml/src/ggml-cuda/ggml-cuda.cu:88: CUDA error",
        "ValueError: Failed to load model from file: /models/x.gguf",
        # GGML_ABORT("fatal error"): only the file, whose line moves between builds (llama.cpp#24400 vs #19220)
        "/kaggle/working/llama.cpp/ggml/src/ggml-cuda/fattn.cu:110: fatal error",
        "🥲 Failed to load the model",
        "**Error Details**",
        "SIGSEGV: segmentation violation",
        'GGML_ASSERT: C:\\Users\\jeff\\git\\ollama\\llm\\llama.cpp\\ggml-cuda.cu:244: !"CUDA error"',
        "llama_model_load: error loading model: llama_model_loader: failed to load model from /models/x.gguf",
    ],
)
def test_generic_lines_are_not_specific(line: str) -> None:
    result = fp(line)
    assert result is not None and not result.specific


def test_old_cuda_error_assert_gives_way_to_the_cuda_error() -> None:
    result = fp('GGML_ASSERT: C:\\x\\ggml-cuda.cu:244: !"CUDA error"',
                "CUDA error 2 at C:\\x\\ggml-cuda.cu:9198: out of memory")
    assert result is not None and result.specific and result.lines == (2,)
    assert result.text == "CUDA error: 2 at ggml-cuda.cu: out of memory"


def test_no_error_line_no_fingerprint() -> None:
    assert fingerprint([], [], RULES) is None


def test_specific_line_beats_wrapper_and_is_shown_short() -> None:
    result = fp("Error: llama runner process has terminated: exit status 2",
                "/app/ggml/src/ggml-cuda/fattn-common.cuh:745: GGML_ASSERT(Q->ne[3] == 1) failed")
    assert result is not None and result.specific
    assert result.text == "GGML_ASSERT(Q->ne[<n>] == <n>) in fattn-common.cuh"
    assert result.lines == (2,)


# Real lines from reports that maintainers treated as one bug (tests/grouping/SOURCES.tsv has the links).
SAME = [
    ("Error: llama runner process has terminated: GGML_ASSERT(tensor->op == GGML_OP_UNARY) failed",  # ollama#9563
     r"D:\a\llama.cpp\llama.cpp\ggml\src\ggml.c:1721: GGML_ASSERT(tensor->op == GGML_OP_UNARY) failed"),  # ollama#9515
    ("Apr 25 16:16:17 robert-desktop ollama[1890128]: ggml-alloc.c:819: GGML_ASSERT(talloc->buffer_id >= 0) failed",
     "ollama                  | ggml-alloc.c:819: GGML_ASSERT(talloc->buffer_id >= 0) failed"),  # ollama#10410/#10411
    ("llama_model_load: error loading model: done_getting_tensors: wrong number of tensors; expected 255, got 254",
     "\"cause\": \"llama.cpp error: 'done_getting_tensors: wrong number of tensors; expected 292, got 291'\","),
    ("Error: exception done_getting_tensors: wrong number of tensors; expected 255, got 254",
     "Error: llama runner process has terminated: error loading model: done_getting_tensors: wrong number of tensors; expected 724, got 723"),
    ("llama runner process has terminated: signal: abort trap error:error loading model vocabulary: unknown pre-tokenizer type: 'qwen2'",
     "llama_model_load: error loading model: error loading model vocabulary: unknown pre-tokenizer type: 'qwen2'"),
    ("llama_model_load: error loading model: error loading model architecture: unknown model architecture: 'gemma4' llama_model_load_from_file_impl: failed to load model",
     "error loading model: error loading model architecture: unknown model architecture: 'gemma4'"),
    ("/home/docker/llama.cpp/ggml/src/ggml-vulkan/ggml-vulkan.cpp:5059: GGML_ASSERT(nei0 * nei1 <= 3072) failed",
     "Processing Prompt [BLAS] (1024 / 2380 tokens)ggml/src/ggml-vulkan/ggml-vulkan.cpp:4367: GGML_ASSERT(nei0 * nei1 <= 3072) failed"),
    ("GGML_ASSERT: D:\\a\\llama.cpp\\llama.cpp\\ggml\\src\\ggml.c:13968: n_dims <= ne0",  # old format
     "/llama.cpp/ggml/src/ggml.c:14012: GGML_ASSERT(n_dims <= ne0) failed"),  # new format, same condition
]

DIFFERENT = [
    # same wrapper, different asserts (ollama#9563 vs ollama#13325)
    ("Error: llama runner process has terminated: GGML_ASSERT(tensor->op == GGML_OP_UNARY) failed",
     "Error: llama runner process has terminated: GGML_ASSERT(type >= 0 && type < GGML_TYPE_COUNT) failed"),
    # same loader error, different architecture
    ("unknown model architecture: 'gemma4'", "unknown model architecture: 'llama4'"),
    # same file, different conditions (ollama#7590 vs ollama#7748)
    ("ggml.c:6712: GGML_ASSERT(ggml_nelements(a) == ne0*ne1*ne2) failed",
     "ggml.c:4044: GGML_ASSERT(view_src == NULL || data_size == 0 || data_size + view_offs <= ggml_nbytes(view_src)) failed"),
    # an empty condition: the file is the bug
    ("ggml-metal.m:924: GGML_ASSERT(false) failed", "dmmv.cu:804: GGML_ASSERT(false) failed"),
    ("GGML_ASSERT: ggml-metal.m:924: !\"unsupported op\"", "GGML_ASSERT: ggml-cuda.cu:1234: !\"unsupported op\""),
    # MLX engine vs GGUF loader, same model family
    ("Error when loading model: ValueError: Model type mistral3 not supported.",
     "error loading model: error loading model architecture: unknown model architecture: 'mistral3'"),
]


@pytest.mark.parametrize(("a", "b"), SAME)
def test_same_bug_same_fingerprint(a: str, b: str) -> None:
    fa, fb = fp(a), fp(b)
    assert fa is not None and fb is not None
    assert fa.specific and fb.specific
    assert fa.id == fb.id, (fa.text, fb.text)


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_different_bugs_differ(a: str, b: str) -> None:
    fa, fb = fp(a), fp(b)
    assert fa is not None and fb is not None
    assert fa.id != fb.id, fa.text


def test_cuda_error_takes_its_function_from_the_evidence() -> None:
    """llama.cpp#16953 and #27430: one CUDA error text, two functions, two bugs."""
    def with_function(fn: str):  # type: ignore[no-untyped-def]
        match = Match("cuda-illegal-memory-access", "t", 0.9, "confident", "cause", None, "", "", [], [], [], "",
                      "", [Evidence(2, "CUDA error: an illegal memory access was encountered", "s"),
                           Evidence(3, f"  current device: 0, in function {fn} at /x/ggml-cuda.cu:2780", "s")],
                      1, [], [], "")
        return fingerprint([KeyLine(2, "CUDA error: an illegal memory access was encountered", 90)], [match], RULES)

    a, b = with_function("ggml_backend_cuda_synchronize"), with_function("ggml_backend_cuda_buffer_init_tensor")
    assert a is not None and b is not None and a.id != b.id
    assert a.lines == (2, 3)
    assert a.text == "CUDA error: an illegal memory access was encountered [in ggml_backend_cuda_synchronize]"


# Pinned: the id must not change across runs, Python versions or platforms. A rules change that changes
# grouping bumps `version` in fingerprints/rules.toml, and these pins with it.
PINNED = [
    ("Error: llama runner process has terminated: GGML_ASSERT(tensor->op == GGML_OP_UNARY) failed", "v5-8a87e6588984"),
    ("ggml-alloc.c:819: GGML_ASSERT(talloc->buffer_id >= 0) failed", "v5-78cd858045ba"),
    ("error loading model: error loading model architecture: unknown model architecture: 'gemma4'", "v5-3f372e0022f2"),
    ("Error: llama runner process has terminated: exit status 0xc0000409", "v5-c2a527b3bada"),
]


@pytest.mark.parametrize(("line", "expected"), PINNED)
def test_pinned_ids(line: str, expected: str) -> None:
    result = fp(line)
    assert result is not None and result.id == expected


def test_hostile_lines_are_fast_and_stable() -> None:
    hostile = [
        "/" * 200_000,
        "a/" * 100_000 + "x.c:1: GGML_ASSERT(" + "(" * 50_000,
        "9" * 200_000,
        'time=1 level=ERROR msg="' + '\\"' * 100_000,
        "\\" * 100_000 + ":" * 100_000,
        "GGML_ASSERT: " + "a.c " * 50_000,
    ]
    start = time.perf_counter()
    first = [fp(h) for h in hostile]
    second = [fp(h) for h in hostile]
    assert time.perf_counter() - start < 5
    assert first == second


def _write(tmp: Path, name: str, text: str) -> Path:
    folder = tmp / "fingerprints"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return tmp


def test_bad_rules_name_file_and_field(tmp_path: Path) -> None:
    kb = _write(tmp_path, "local.toml", '[[kind]]\nid = "bad"\ndescription = "x"\nregex = "(unclosed"\npriority = 5\n')
    with pytest.raises(DataErrors) as err:
        load_fingerprint_rules([kb])
    message = str(err.value)
    assert "local.toml" in message and "kind.bad.regex" in message


def test_rules_refuse_a_leading_wildcard_and_unknown_fields(tmp_path: Path) -> None:
    kb = _write(tmp_path, "local.toml", '[[generic]]\nid = "g"\ndescription = "x"\nregex = ".*boom"\nwhat = 1\n')
    with pytest.raises(DataErrors) as err:
        load_fingerprint_rules([kb])
    assert "generic.g.regex" in str(err.value) and "generic.g.what" in str(err.value)


def test_local_rules_change_the_id_prefix(tmp_path: Path) -> None:
    kb = _write(tmp_path, "local.toml",
                '[[generic]]\nid = "my-wrapper"\ndescription = "our launcher\'s own exit line"\nregex = "^launcher failed"\n')
    local = load_fingerprint_rules([kb])
    assert local.tag.startswith(RULES.tag + "x") and local.tag != RULES.tag
    result = fingerprint([KeyLine(1, "launcher failed: see above", 60)], [], local)
    assert result is not None and not result.specific and result.id.startswith(local.tag + "-")


def test_only_builtin_rules_set_the_version(tmp_path: Path) -> None:
    kb = _write(tmp_path, "local.toml", "version = 9\n")
    with pytest.raises(DataErrors, match="version"):
        load_fingerprint_rules([kb])
