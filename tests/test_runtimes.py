"""Runtimes as data (products/), and remedies that fit the user's runtime and OS (issue 12)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, TESTS, fixture_expectations, shared_engine
from triage.engine import Engine
from triage.render import report_dict

RUNTIME_PREFIXES = (  # how SOURCES.tsv names a runtime -> its products/ id
    ("ik_llama.cpp", "ik_llama.cpp"),
    ("text-generation-webui", "text-generation-webui"),
    ("llama-cpp-python", "llama-cpp-python"),
    ("koboldcpp", "koboldcpp"),
    ("lm studio", "lmstudio"),
    ("ollama", "ollama"),
    ("llamafile", "llamafile"),
    ("llama.cpp", "llama.cpp"),
    ("jan", "jan"),
    ("localai", "localai"),
    ("gpt4all", "gpt4all"),
)


def _runtime(product_column: str) -> str | None:
    """The runtime a product column starts with, as a whole word ("LocalAIVtuber" is an app, not LocalAI)."""
    text = product_column.strip().lower()
    for prefix, pid in RUNTIME_PREFIXES:
        if text.startswith(prefix) and (len(text) == len(prefix) or not text[len(prefix)].isalnum()):
            return pid
    return None


def _positive_fixtures() -> list[tuple[Path, str, str]]:
    """(log, expected kb id, true runtime id) for every positive fixture whose runtime SOURCES.tsv names."""
    out = []
    runtimes: dict[Path, dict[str, str]] = {}
    for folder, name, spec in fixture_expectations():
        if folder not in runtimes:
            runtimes[folder] = _runtimes_by_file(folder)
        runtime, expect = runtimes[folder].get(name), spec.get("expect") or []
        if runtime and expect and (folder / name).is_file():
            out.append((folder / name, expect[0], runtime))
    return out


def _runtimes_by_file(folder: Path) -> dict[str, str]:
    """Log file name -> runtime id, from the folder's SOURCES.tsv (none without one)."""
    sources = folder / "SOURCES.tsv"
    if not sources.is_file():
        return {}
    with sources.open(encoding="utf-8") as fh:
        rows = [(row.get("file") or "", _runtime(row.get("product") or "")) for row in csv.DictReader(fh, delimiter="\t")]
    return {name: runtime for name, runtime in rows if name and runtime}


def test_eleven_runtimes_are_data() -> None:
    kb = shared_engine().kb
    wanted = {"llama.cpp", "koboldcpp", "llamafile", "ollama", "lmstudio", "text-generation-webui", "llama-cpp-python",
              "jan", "localai", "ik_llama.cpp", "gpt4all"}
    assert wanted <= {p.id for p in kb.listed_products}
    for product in kb.listed_products:
        assert product.followup and product.settings.get("gpu_layers") is not None or product.id == "gpt4all", product.id


def test_no_product_list_left_in_python() -> None:
    """Runtime knowledge lives in products/: no Python module names three or more runtimes as string literals."""
    import re

    ids = "|".join(re.escape(p.id) for p in shared_engine().kb.listed_products)
    literal = re.compile(rf"[\"']({ids})[\"']")
    offenders = {}
    for path in [*ROOT.glob("triage/**/*.py"), *ROOT.glob("bot/*.py")]:
        found = set(literal.findall(path.read_text(encoding="utf-8")))
        if len(found) >= 3:
            offenders[str(path.relative_to(ROOT))] = sorted(found)
    assert not offenders


# Logs whose runtime column and content disagree, each checked by hand:
UNDETECTABLE = {
    # text-generation-webui logs that show only llama-cpp-python's own ValueError (its loader): no tgwui line at all.
    "unknown-pre-tokenizer__tgwui-6710-deepseek-r1-qwen-cpu-ubuntu.log",
    "tgwui-6710-deepseek-r1-qwen-cpu-ubuntu.log",
    # SOURCES names the bundled library (llama.cpp); the log is GPT4All's own chat binary and libllmodel.
    "gpt4all-511-ubuntu2004-libllama-glibc234.log",
    # llama-cpp-python with LLAMA_CPP_LIB pointing at a llama.cpp build: only the llama.cpp library path shows.
    "lcp-1346-llama-cpp-lib-env-undefined-llama-numa-init.log",
    # text-generation-webui on a Mac: only llama-cpp-python's lines, and a shell prompt in a folder named TextGen.
    "textgen-3538-m1-llamacpp-python-ggml-metal-738-not-implemented.log",
    # a ComfyUI node installing llama-cpp-python from text-generation-webui's wheel releases: the only runtime words
    # in the log are those wheels' URLs (`oobabooga/...`, `textgen-webui`), so tgwui is the reasonable reading.
    "r12-seargellm-28-comfyui-wheel-not-supported.log",
    # ik_llama.cpp's build banner (`version: 3838 (fc06bc9d)`) has llama.cpp's format; nothing else in the excerpt
    # names the fork.
    "r12-iklamacpp-693-gptoss-jinja-strftime-now-not-callable.log",
    # JamePeng's llama-cpp-python fork: the paste is the one assert line, whose source path is the wheel's CI checkout
    # of llama.cpp (`D:/a/llama.cpp/llama.cpp/src/...`); nothing in it says Python.
    "r17-context-shift-crash-jamepeng-70-qwen35-seq-add-n-pos-per-embd.log",
    # llama-cpp-python (llama.cpp#6529): the paste is one prose sentence quoting ggml-cuda's message with the build's
    # `/llama.cpp/ggml-cuda/convert.cu` path; "functionary v2" is the only hint of Python, and it is a model name.
    "r19-cuda-arch-mismatch-llamacpp-6529-2x3090-llamacpppython-compiled-for-520.log",
    # llama.cpp#24120: the reporter ran llama-server (b9430) on Jan's models folder to reproduce a Jan failure; the
    # paths (`~/Library/Application Support/Jan/data/llamacpp/...`) name Jan, the commands llama.cpp.
    "r28-vision-projector-unsupported-llamacpp-24120-gemma4uv-b9430-macos.log",
    # llama.cpp#9416: a self-built SYCL llama-server image published on Ollama's port (`-p 11434:11434`); a bare
    # `llama-server` names no runtime (Jan and Ollama run it too), so the port is the only runtime signal left.
    "r31-linux-shared-library-not-found-llamacpp-9416-sycl-docker-libllama.log",
    # llama.cpp#8996: llama.cpp's legacy converter copied into a folder the reporter named `ollama`
    # (`/mnt/.../ollama/convert.py`); that folder name is the only runtime word in the paste.
    "llamacpp-8996-convert-legacy-copied-basevocab-then-metadata.log",
    # ollama#1965: the issue title alone (`failed to apply lora adapter` with ggml adapter); it names no runtime, and
    # the message is llama.cpp's, which Ollama vendored.
    "r34-ollama-1965-ggml-adapter-failed-to-apply-title.log",
    # text-generation-webui#2899 (round 58b): the web UI's two lines are `INFO:Loading settings from settings.yaml...`
    # and `INFO:Loading <model>...`, which many Python programs print; the only program the paste names is the
    # llama-cpp-python build in pip's temporary folder, so that is the reasonable reading.
    "r58-textgen-2899-clblast-wheel-no-platform.log",
    # text-generation-webui#4615 (round 67a): three lines, the CUDA error with the path of jllllll's
    # llama-cpp-python-cuBLAS-wheels build and pyarrow's S3 notice at exit; no web UI line, so llama-cpp-python is
    # the reasonable reading.
    "r67-textgen-4615-llama-cpp-python-cublas-wheel-cuda-error-35.log",
    # lollms-webui#129 (round 71d): ParisNeo's "GPT4All UI" (later lollms-webui), not Nomic's GPT4All, whose runtime
    # column reads as gpt4all; the paste is llama.cpp's 2023 loader under a `models/llama_cpp/` folder and names no
    # UI, so the llama-cpp-python binding is the reasonable reading.
    "r71-lollms-webui-129-vicuna-q4-2-bad-f16-value-5.log",
    # round 91b: a hand-run `cmake .. -DGGML_CUDA=ON` in `~/text-generation-webui/repositories/llama.cpp/build` (a
    # Gemini chat export); the prompt's path is the only runtime word and it names the web UI, whose own remedy
    # (its installer's prebuilt wheels) is a fair first step for someone building inside its tree.
    "r91b-gemini-chatlog-wsl-llamacpp-ggml-cuda-nvcc-not-found.log",
    # round 92j: llama.cpp's `main` (2024) loading `../../ollama_gguf/gguf/command-r-plus.gguf`: the one product word
    # in the paste is that folder's name, so Ollama is what the text says; the run itself was llama.cpp's.
    "r92j-vllmexp-llamacpp-8207-rocm-2x7900xtx-command-r-plus-device0-oom.log",
    # round 92b: ik_llama.cpp's llama-quantize prints the same `main: build = ...` banner as llama.cpp's; only the
    # target type IQ2_BN (an ik_llama.cpp quant) hints at the fork, which the runtime markers do not read.
    "r92b-ik-llama-cpp-365-bitnet-b158-quantize.log",
}


def test_remedy_one_is_the_users_runtime_or_generic() -> None:
    engine = shared_engine()
    wrong = []
    cases = _positive_fixtures()
    assert len(cases) > 300
    for path, kb_id, runtime in cases:
        report = engine.analyse(path.read_bytes(), redact=False)
        match = next((m for m in report.matches if m.kb_id == kb_id), None)
        if match is None or not match.remedy_steps:
            continue
        first = match.remedy_steps[0]
        if first.product not in (None, runtime) and path.name not in UNDETECTABLE:
            wrong.append((path.name, runtime, report.facts.product, first.product))
    assert not wrong


def test_a_fixed_version_is_never_told_to_update() -> None:
    """A real KoboldCpp 1.67 log (koboldcpp#906), its banner changed to 1.69.1, a release with the fix (1.68)."""
    log = (TESTS / "logs" / "first-five" / "kcpp-906-v167-quantkv-metal-924-unsupported-op.log").read_text(encoding="utf-8")
    assert "Version 1.67" in log
    report = shared_engine().analyse(log.replace("Version 1.67", "Version 1.69.1"), redact=False)
    match = report.matches[0]
    assert match.kb_id == "metal-quantkv-unsupported-op"
    assert match.version_status == "fixed"
    assert "already contains the fix" in match.version_note
    assert not [s for s in match.remedy_steps if s.text.lower().startswith(("update", "upgrade"))]
    affected = shared_engine().analyse(log, redact=False).matches[0]
    assert affected.version_status == "affected"
    assert any(s.text.lower().startswith("update") for s in affected.remedy_steps)


def test_windows_koboldcpp_rocm_log_gets_its_own_remedy_first_and_no_linux_one() -> None:
    report = shared_engine().analyse((TESTS / "corpus" / "rocm-unsupported-gfx__kcpp-676c-tensile-gfx1032-6600xt.log").read_bytes())
    assert (report.facts.product, report.facts.os) == ("koboldcpp", "windows")
    steps = report.matches[0].remedy_steps
    assert steps[0].product == "koboldcpp"
    assert not any("HSA_OVERRIDE_GFX_VERSION=" in s.text and s.os == "linux" for s in steps)


def test_no_fixture_on_windows_gets_a_linux_only_step() -> None:
    engine = shared_engine()
    for path in sorted(TESTS.glob("**/*.log")):
        report = engine.analyse(path.read_bytes(), redact=False)
        if report.facts.os != "windows":
            continue
        for match in report.matches:
            assert all(step.os in (None, "windows") or "windows" in (step.os or "") for step in match.remedy_steps), path.name


def test_unknown_runtime_names_a_runtime_on_every_runtime_specific_step() -> None:
    log = "error loading model: unknown model architecture: 'qwen35moe'\n"
    report = shared_engine().analyse(log)
    assert report.facts.product is None
    steps = report.matches[0].remedy_steps
    specific = [s for s in steps if s.product]
    assert specific and all(s.product_name for s in specific)
    generic_first = [s.product is None for s in steps]
    assert generic_first == sorted(generic_first, reverse=True)  # generic steps first, then each runtime's
    data = report_dict(report)["matches"][0]["remedy_steps"]
    assert [d["product"] for d in data] == [s.product for s in steps]
    assert [d["text"] for d in data] == report_dict(report)["matches"][0]["remedies"]


def test_a_runtime_added_from_a_kb_dir_without_code(tmp_path: Path) -> None:
    (tmp_path / "products").mkdir()
    (tmp_path / "products" / "acme-llm.toml").write_text(
        'name = "Acme LLM"\npriority = 80\n\n[[marker]]\nkeywords = ["acme-llm"]\nregex = \'\'\'\\bacme-llm\\b\'\'\'\nweight = 5\n\n'
        '[[version]]\nkeywords = ["acme-llm v"]\nregex = \'\'\'acme-llm v(?P<version>\\d+\\.\\d+\\.\\d+)\'\'\'\nweight = 5\n\n'
        '[settings]\ngpu_layers = "--offload N"\n\n'
        '[logs]\nfollowup = """Run `acme-llm --trace` and attach ~/.acme/acme.log from start to end."""\n',
        encoding="utf-8",
    )
    (tmp_path / "kb").mkdir()
    (tmp_path / "signatures").mkdir()
    (tmp_path / "kb" / "acme-oom.md").write_text(
        '+++\nid = "acme-oom"\ntitle = "Acme ran out of VRAM"\nsummary = "s"\nroot_cause = "r"\n'
        'references = ["https://example.org/acme/1"]\nremedies = [\n'
        '  { text = "Lower {{setting_gpu_layers}}.", products = ["acme-llm"] },\n  "Close other GPU programs.",\n]\n'
        '[[affected]]\nproduct = "acme-llm"\nversions = "<2.0"\nfixed_in = "2.0"\n+++\n',
        encoding="utf-8",
    )
    (tmp_path / "signatures" / "acme-oom.toml").write_text(
        '[[signature]]\nid = "acme-vram"\ndescription = "d"\nkeywords = ["acme vram exhausted"]\n'
        "regex = '''acme vram exhausted'''\nweight = 0.9\n"
        "[signature.examples]\nmatch = ['''acme vram exhausted''']\nno_match = ['''acme vram fine''']\n",
        encoding="utf-8",
    )
    engine = Engine.build([tmp_path])
    report = engine.analyse("acme-llm v1.2.0 starting\nacme vram exhausted\n")
    assert (report.facts.product, report.facts.version, report.facts.product_name) == ("acme-llm", "1.2.0", "Acme LLM")
    match = report.matches[0]
    assert match.remedy_steps[0].text == "Lower --offload N." and match.remedy_steps[0].product == "acme-llm"
    assert match.version_status == "affected"
    cut = engine.analyse("acme-llm v1.2.0 starting\nloading the model\n")
    assert "acme-llm --trace" in cut.followup


def test_engine_analyse_is_pure(tmp_path: Path) -> None:
    """Same report with the environment cleared, HOME unwritable and no cache (a subprocess, so nothing leaks)."""
    log = TESTS / "corpus" / "cuda-arch-mismatch__llamacpp4215-cuda-error-209-no-kernel-image.log"
    code = (
        "import json, sys\n"
        "from triage.engine import Engine\n"
        "from triage.render import report_dict\n"
        f"print(json.dumps(report_dict(Engine.build().analyse(open({str(log)!r}, 'rb').read()))))\n"
    )
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o500)
    clean = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "PYTHONPATH": str(ROOT)}
    bare = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=clean, timeout=120, check=True)
    normal = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(bare.stdout) == json.loads(normal.stdout)
    assert not list(home.iterdir())  # nothing was written


@pytest.mark.parametrize("name", ["ntstatus", "winerror", "gfx-siblings", "cpu-isa"])
def test_lookup_tables_are_data(name: str) -> None:
    assert shared_engine().kb.tables[name]


def test_a_runtime_only_signature_orders_the_remedies_when_the_log_names_no_runtime() -> None:
    """A two-line paste that only KoboldCpp prints (its context-shift message) gets KoboldCpp's steps first."""
    engine = shared_engine()
    sigs = [s for s in engine.kb.signatures if s.products == ("koboldcpp",)]
    checked = 0
    for sig in sigs:
        report = engine.analyse(sig.examples_match[0], redact=False)
        match = next((m for m in report.matches if m.kb_id == sig.kb_id), None)
        if report.facts.product is not None or match is None or not any(s.product == "koboldcpp" for s in match.remedy_steps):
            continue
        assert match.remedy_steps[0].product in ("koboldcpp", None)
        assert not any(s.product not in ("koboldcpp", None) for s in match.remedy_steps), sig.id
        checked += 1
    assert checked


@pytest.mark.parametrize(("line", "product"), [
    ("May 24 22:58:23 pleiades ollama[1391]: load_tensors: offloaded 5/37 layers to GPU", "ollama"),
    ("ollama            | gguf_init_from_file_impl: failed to read tensor info", "ollama"),
    ("ollama-1  | llama_model_load: error loading model: unknown model architecture: 'qwen35'", "ollama"),
    ("ollama-webui  | llama_model_load: error loading model: unknown model architecture: 'qwen35'", None),
    ("May 24 22:58:23 pleiades llama-server[1391]: load_tensors: offloaded 5/37 layers to GPU", None),
    ("localai-api-1  | 4:50PM DBG GRPC(llama-2-13b.Q4_K_M.gguf-127.0.0.1:39449): stderr llama_load_model_from_file: failed",
     "localai"),
    ('time=2026-01-05T10:00:00Z level=DEBUG msg="GRPC stderr" id=qwen3-127.0.0.1:40123 line="CUDA error: out of memory"',
     "localai"),
    ("api-1  | 4:50PM DBG GRPC(gpt-oss-127.0.0.1:39449): stderr llama_model_load: error loading model", "localai"),
    ("[Context Shifting: Erased 143 tokens at position 1379]", "koboldcpp"),
    ("Processing Prompt [BLAS] (62 / 62 tokens)CUDA error: an illegal memory access was encountered", "koboldcpp"),
    ("Generating (47 / 2048 tokens)[WinError -529697949] Windows Error 0xe06d7363", "koboldcpp"),
    ("slot update_slots: id  0 | task 0 | prompt processing progress, n_past = 512, n_tokens = 512", None),
    ("  current device: 0, in function ggml_backend_cuda_device_get_memory at //ml/backend/ggml/ggml/src/ggml-cuda/"
     "ggml-cuda.cu:2740", "ollama"),
    ('500 Internal Server Error: llama-server process has terminated: exit status 1: alloc_tensor_range: failed', "ollama"),
    ("loading library /tmp/ollama1758121582/cuda_v11/libext_server.so", "ollama"),
    ('Error rendering prompt with jinja template: "Unknown test: sequence".', "lmstudio"),
    ("2026-01-01 08:05:07 [DEBUG]\n llama_model_load: error loading model: missing tensor 'blk.24.attn_k.weight'", "lmstudio"),
    ("2026-01-01 08:05:07 [DEBUG] llama_model_load: error loading model: missing tensor 'blk.24.attn_k.weight'", None),
    ("    at file:///C:/Users/u/AppData/Local/Programs/LM%20Studio/resources/app/.webpack/renderer/main_window.js:155:4",
     "lmstudio"),
    ("Failed to load model 'TheBloke • falcon chat 180B q6_k gguf'", "lmstudio"),
    ("ValueError: Model path does not exist: models\\llama-2-7b-chat.ggmlv3.q2_K.bin", "llama-cpp-python"),
    ("AttributeError: function 'llama_get_kv_self' not found. Did you mean: 'llama_get_model'?", "llama-cpp-python"),
])
def test_a_service_prefix_names_the_runtime(line: str, product: str | None) -> None:
    """journald's `ollama[pid]:` and compose's `ollama  |` are stripped before markers read a line; the raw markers
    still see them, and LocalAI's relay of its backend's lines (`GRPC(<model>-<addr>): stderr`, slog since Dec 2025)."""
    assert shared_engine().analyse(line + "\n", redact=False).facts.product == product
