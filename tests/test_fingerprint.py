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
        # the Go runtime's crash header and frame locations (ollama#11491, #15059): the frame below names the crash
        "fatal error: fault",
        "Exception 0xc0000005 0x8 0x7ffb4994cb12 0x7ffb4994cb12",
        "unexpected fault address 0x3ae000000",
        "[signal 0xc0000005 code=0x0 addr=0x3ae000000 pc=0x7ff6bf7d7180]",
        "goroutine 24 gp=0xc000003a40 m=10 mp=0xc000700008 [running]:",
        "\tC:/hostedtoolcache/windows/go/1.24.0/x64/src/runtime/panic.go:1096 +0x4d fp=0xc0000490d0 sp=0xc0000490a0 pc=0x7ff621a761ed",
        # Ollama's status line, LM Studio's pop-up heading, LocalAI's dead gRPC backend
        'time=2025-07-01T20:41:24.587+08:00 level=INFO source=server.go:632 msg="waiting for server to become available" status="llm server error"',
        "Failed to send message",
        "Failed to regenerate message",
        "[llama-cpp] Fails: failed to load model with internal loader: could not load model: rpc error: code = Unavailable desc = error reading from server: EOF",
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
    # LM Studio wraps one template-parser message two ways (lmstudio-bug-tracker#660, #535)
    ("Failed to parse Jinja template: Parser Error: Expected closing statement token. OpenSquareBracket !== CloseStatement.",
     'Error rendering prompt with jinja template: "Error: Parser Error: Expected closing statement token. OpenSquareBracket !== CloseStatement.'),
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
    # LM Studio's template engine: a parser error vs a template's own raise (lmstudio-bug-tracker#660 vs #842)
    ("Failed to parse Jinja template: Parser Error: Expected closing statement token. OpenSquareBracket !== CloseStatement.",
     'Error rendering prompt with jinja template: "Cannot pass both content and thinking in an assistant message with tool calls!".'),
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


# Ollama's Go crash dumps (tests/grouping/round15): the header is the same for every crash, the first frame of
# Ollama's own code under it names the crash. Frames are read from the lines below the failure lines only.
MLX_15253 = """PS C:\\WINDOWS\\system32> ollama --version
Exception 0xc0000005 0x8 0xffffffffffffffff 0xffffffffffffffff
PC=0xffffffffffffffff
signal arrived during external code execution

runtime.cgocall(0x7ff6bf89c860, 0xc000045da0)
        runtime/cgocall.go:167 +0x3e fp=0xc000045d78 sp=0xc000045d10 pc=0x7ff6be79243e
github.com/ollama/ollama/x/imagegen/mlx._Cfunc_mlx_random_key(0xc0000802e0, 0x19d4de7e62f)
        _cgo_gotypes.go:1978 +0x50 fp=0xc000045da0 sp=0xc000045d78 pc=0x7ff6bee0ea50"""
MLX_15059 = """Exception 0xc0000005 0x8 0x7fff05cecb12 0x7fff05cecb12
PC=0x7fff05cecb12
signal arrived during external code execution

runtime.cgocall(...)
github.com/ollama/ollama/x/imagegen/mlx._Cfunc_mlx_random_key(...)
github.com/ollama/ollama/x/imagegen/mlx.RandomKey(...)"""
LOADALL_11255 = """Exception 0xc0000005 0x0 0x0 0x7fffb8f22f58
PC=0x7fffb8f22f58
signal arrived during external code execution

runtime.cgocall(0x7ff6979bc470, 0xc0005075a0)
        C:/hostedtoolcache/windows/go/1.24.0/x64/src/runtime/cgocall.go:167 +0x3e fp=0xc000507578 sp=0xc000507510 pc=0x7ff696cd2dbe
github.com/ollama/ollama/ml/backend/ggml/ggml/src._Cfunc_ggml_backend_load_all_from_path(0x19605379220)
        _cgo_gotypes.go:199 +0x45 fp=0xc0005075a0 sp=0xc000507578 pc=0x7ff697095c05"""
GOSTRING_11491 = """fatal error: fault
[signal 0xc0000005 code=0x0 addr=0x3ae000000 pc=0x7ff6bf7d7180]

goroutine 24 gp=0xc000003a40 m=10 mp=0xc000700008 [running]:
runtime.throw({0x7ff6c0a277d7?, 0x0?})
\tC:/hostedtoolcache/windows/go/1.24.0/x64/src/runtime/panic.go:1096 +0x4d fp=0xc0000490d0 sp=0xc0000490a0 pc=0x7ff6bf8461ed
indexbytebody()
github.com/ollama/ollama/ml/backend/ggml._Cfunc_GoString(...)
\t_cgo_gotypes.go:299
github.com/ollama/ollama/ml/backend/ggml.New({0xc000136000, 0x5e}, {0x6, 0x0, 0x31, {0x0, 0x0, 0x0}, 0x0})"""
GOSTRING_11721 = """goroutine 51 gp=0xc0006068c0 m=12 mp=0xc000600808 [running]:
runtime.throw({0x7ff791b19c06?, 0x0?})
\tC:/hostedtoolcache/windows/go/1.24.0/x64/src/runtime/panic.go:1096 +0x4d fp=0xc0000470c8 sp=0xc000047098 pc=0x7ff7909261ed
runtime.sigpanic()
github.com/ollama/ollama/ml/backend/ggml._Cfunc_GoString(...)
\t_cgo_gotypes.go:307
github.com/ollama/ollama/ml/backend/ggml.New({0xc0000381c0, 0x63}, {0x8, 0x0, 0x3f, {0x0, 0x0, 0x0}, 0x0})"""
PS_13754 = """panic: runtime error: slice bounds out of range [:12] with length 0

goroutine 1 [running]:
github.com/ollama/ollama/cmd.ListRunningHandler(0x140004a8c08, {0x10672b560, 0x0, 0x105876ff9?})
\t/Users/runner/work/ollama/ollama/cmd/cmd.go:802 +0x568
github.com/spf13/cobra.(*Command).execute(0x140004a8c08, {0x10672b560, 0x0, 0x0})"""
LS_PODMAN_2678 = """panic: runtime error: slice bounds out of range [:12] with length 0

goroutine 1 [running]:
github.com/ollama/ollama/cmd.ListHandler(0xc000246308, {0x7ff6f3f7f7a0, 0x0, 0x7ff6f343a048?})
        C:/a/ollama/ollama/cmd/cmd.go:456 +0x4ec"""


def dump(text: str, failure: int = 1):  # type: ignore[no-untyped-def]
    """The fingerprint of a pasted dump whose failure line is `failure`, with the lines under it, as the engine
    passes them."""
    lines = text.splitlines()
    below = [(n, line) for n, line in enumerate(lines, 1) if n > failure]
    return fingerprint([KeyLine(failure, lines[failure - 1], 60)], [], RULES, below)


def test_go_dump_header_alone_is_generic() -> None:
    alone = fingerprint([KeyLine(1, "Exception 0xc0000005 0x8 0x7fff05cecb12 0x7fff05cecb12", 60)], [], RULES)
    assert alone is not None and not alone.specific


@pytest.mark.parametrize(
    ("a", "line_a", "b", "text"),
    [
        (MLX_15253, 2, MLX_15059, "mlx._Cfunc_mlx_random_key()"),  # ollama#15253 and #15059: one MLX init crash
        (GOSTRING_11491, 1, GOSTRING_11721, "ggml.New()"),  # ollama#11491 and #11721: one unclean upgrade
    ],
)
def test_go_dumps_of_one_crash_share_their_first_own_frame(a: str, line_a: int, b: str, text: str) -> None:
    fa, fb = dump(a, line_a), dump(b)
    assert fa is not None and fb is not None and fa.specific and fb.specific
    assert fa.id == fb.id and fa.text == text


def test_go_dumps_with_one_header_and_different_frames_differ() -> None:
    """ollama#15059 (MLX init) and #11255 (backend loading): the same Windows exception header."""
    mlx, loadall = dump(MLX_15059), dump(LOADALL_11255)
    assert mlx is not None and loadall is not None and mlx.specific and loadall.specific
    assert mlx.id != loadall.id and loadall.text == "src._Cfunc_ggml_backend_load_all_from_path()"


def test_go_panic_takes_the_function_that_panicked() -> None:
    """`ollama ps` (ollama#13754) and `ollama ls` against Podman AI Lab (#2678) print one panic message."""
    ps, ls = dump(PS_13754), dump(LS_PODMAN_2678)
    assert ps is not None and ls is not None and ps.id != ls.id
    assert ps.text == "panic: runtime error: slice bounds out of range [:<n>] with length <n> [cmd.ListRunningHandler()]"
    assert ps.lines == (1, 4)


def test_only_frames_are_read_from_below() -> None:
    """A line under the failure line that is not a stack frame never becomes the fingerprint, and a frame needs
    Go's arguments: a Python traceback's code line, a C backtrace line and a source listing are not frames."""
    below = [(2, "llama_model_load: error loading model: something else entirely"),
             (3, "    self.init_model()"),
             (4, "/build/bin/libggml-cuda.so.0(_Z24ggml_cuda_flash_attn_extR25ggml_backend_cuda_contextP11ggml_tensor+0x1ab3)[0x7fa006e26d13]"),
             (5, "llama.py(289):         self.verbose = verbose"),
             (6, "torch._C._cuda_init()")]
    result = fingerprint([KeyLine(1, "fatal error: fault", 90)], [], RULES, below)
    assert result is not None and not result.specific and result.lines == (1,)


def test_a_failure_line_beats_a_frame() -> None:
    """The frame names the crash only when every error line is a wrapper (a Metal assertion over a Go dump)."""
    below = [(2, "github.com/ollama/ollama/llama._Cfunc_llama_init_from_model(0x600003b9c000, {0x800, 0x200})")]
    key = [KeyLine(1, "-[MTLComputePipelineDescriptorInternal setComputeFunction:withType:]:722: failed assertion", 90)]
    result = fingerprint(key, [], RULES, below)
    assert result is not None and result.lines == (1,)


def test_lines_below_are_bounded() -> None:
    """At most MAX_BELOW lines are read: a frame further down a huge paste is not looked at."""
    below = [(n, "github.com/x/y/z.F" + "(" * 300 + "{") for n in range(2, 20_000)]
    below[10_000] = (10_002, "github.com/ollama/ollama/cmd.ListHandler(0xc000246308, {0x7ff6f3f7f7a0, 0x0})")
    start = time.perf_counter()
    result = fingerprint([KeyLine(1, "fatal error: fault", 90)], [], RULES, below)
    assert time.perf_counter() - start < 5
    assert result is not None and not result.specific
    near = fingerprint([KeyLine(1, "fatal error: fault", 90)], [], RULES, [below[10_000]])
    assert near is not None and near.specific and near.text == "cmd.ListHandler()"


# Pinned: the id must not change across runs, Python versions or platforms. A rules change that changes
# grouping bumps `version` in fingerprints/rules.toml, and these pins with it.
PINNED = [
    ("Error: llama runner process has terminated: GGML_ASSERT(tensor->op == GGML_OP_UNARY) failed", "v6-2ea8a3d4c89e"),
    ("ggml-alloc.c:819: GGML_ASSERT(talloc->buffer_id >= 0) failed", "v6-f53034ef0c19"),
    ("error loading model: error loading model architecture: unknown model architecture: 'gemma4'", "v6-693a969ad70c"),
    ("Error: llama runner process has terminated: exit status 0xc0000409", "v6-84a6a248b9b3"),
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
