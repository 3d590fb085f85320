"""What the log says about the setup: product, version, OS, GPUs, flags.

Each rule is a keyword (for the shared prefilter) plus a regex and a small
function that records what it found; rules run only on lines a keyword hit.
"""

from __future__ import annotations

import re
from typing import Callable

from .model import Facts, Gpu

__all__ = ["FACT_NAMES", "FACT_RULES", "FactRule", "finish_facts"]

FACT_NAMES = (
    "product",
    "product_name",
    "version",
    "build",
    "commit",
    "os",
    "backend",
    "gpu",
    "compute_capability",
    "compiled_archs",
    "metal_device",
    "model_file",
    "quant",
    "flag_quantkv",
    "flag_flash_attn",
    "flag_gpu_layers",
    "flag_ctx_size",
    "flag_cache_type_k",
    "flag_cache_type_v",
    "flag_port",
    "flag_parallel",
    "flag_batch_size",
    "flag_ubatch_size",
)

# Which product wins when a log shows several (a wrapper embeds llama.cpp).
PRODUCT_PRIORITY = (
    "koboldcpp",
    "ollama",
    "lmstudio",
    "llamafile",
    "text-generation-webui",
    "llama-cpp-python",
    "llama.cpp",
)


class FactState:
    """Mutable scratch space while rules run; `finish_facts` freezes it."""

    def __init__(self) -> None:
        self.facts = Facts()
        self.products: dict[str, int] = {}
        self.versions: dict[str, str] = {}
        self.os_score: dict[str, int] = {}
        self.backends: dict[str, None] = {}
        self.gpus: dict[str, Gpu] = {}
        self.kv_parts: dict[str, float] = {}

    def product(self, name: str, weight: int = 1, version: str | None = None) -> None:
        self.products[name] = self.products.get(name, 0) + weight
        if version and name not in self.versions:
            self.versions[name] = version

    def os(self, name: str, weight: int = 1) -> None:
        self.os_score[name] = self.os_score.get(name, 0) + weight

    def backend(self, name: str) -> None:
        self.backends.setdefault(name, None)

    def gpu(self, name: str, **kw: object) -> None:
        name = name.strip().strip('"')
        key = name or f"device {kw.get('index')}"
        old = self.gpus.get(key)
        values = {k: v for k, v in kw.items() if v not in (None, "")}
        if old is None:
            self.gpus[key] = Gpu(name=key, **values)  # type: ignore[arg-type]
        else:
            merged = {f: getattr(old, f) for f in ("compute_capability", "vram_mib", "free_mib", "backend", "index")}
            for k, v in values.items():
                if merged.get(k) is None:
                    merged[k] = v
            self.gpus[key] = Gpu(name=key, **merged)

    def flag(self, name: str, value: str) -> None:
        self.facts.flags.setdefault(name, value)

    def number(self, name: str, value: float) -> None:
        self.facts.numbers.setdefault(name, value)


Handler = Callable[[FactState, "re.Match[str]"], None]


class FactRule:
    """A keyword-gated fact extractor; its regex compiles on first use."""

    __slots__ = ("_pattern", "all_matches", "apply", "keywords", "raw", "source")

    def __init__(self, keywords: tuple[bytes, ...], source: str, apply: Handler, all_matches: bool, raw: bool = False) -> None:
        self.keywords = keywords
        self.source = source
        self.apply = apply
        self.all_matches = all_matches
        self.raw = raw  # match the line as written, before normalisation strips wrappers
        self._pattern: re.Pattern[str] | None = None

    @property
    def pattern(self) -> re.Pattern[str]:
        if self._pattern is None:
            self._pattern = re.compile(self.source, re.IGNORECASE)
        return self._pattern


def _mib(value: str, unit: str) -> float:
    v = float(value.replace(",", "."))
    unit = unit.lower()
    if unit.startswith("g"):
        return v * 1024
    if unit.startswith("k"):
        return v / 1024
    if unit in ("b", "bytes"):
        return v / (1024 * 1024)
    return v


def _cc(raw: str) -> str:
    """Ollama's '610' or llama.cpp's '6.1' -> '6.1'."""
    if "." in raw:
        return raw
    if len(raw) >= 3:
        value = int(raw)
        return f"{value // 100}.{(value % 100) // 10}"
    return f"{raw[0]}.{raw[1:]}" if len(raw) == 2 else raw


RULES: list[tuple[tuple[str, ...], str, Handler, bool, bool]] = []


def rule(keywords: tuple[str, ...], pattern: str, *, all_matches: bool = False, raw: bool = False) -> Callable[[Handler], Handler]:
    def deco(fn: Handler) -> Handler:
        RULES.append((keywords, pattern, fn, all_matches, raw))
        return fn

    return deco


# --- products and versions -------------------------------------------------


@rule(("koboldcpp",), r"Welcome to KoboldCpp - Version (?P<v>[0-9][\w.\-]*)")
def _kcpp_banner(s: FactState, m: re.Match[str]) -> None:
    s.product("koboldcpp", 10, m["v"])


@rule(("koboldcpp",), r"koboldcpp(?:[-_](?:linux|mac|x64|cu12|cu11|nocuda|oldpc|rocm|cuda|dev|experimental)|\.py|\.exe|_\w+\.(?:dll|so|dylib)|\b)")
def _kcpp_name(s: FactState, m: re.Match[str]) -> None:
    s.product("koboldcpp", 3)


@rule(("gpttype_", "load text model", "text model:", "blasthreads:"),
      r"\bgpttype_\w+|Load Text Model OK|Could not load text model|\[Threads: \d+, BlasThreads: \d+")
def _kcpp_markers(s: FactState, m: re.Match[str]) -> None:
    s.product("koboldcpp", 4)


@rule(("koboldcpp-",), r"koboldcpp-[a-z0-9_-]*?-(?P<v>\d+\.\d+(?:\.\d+)?)\b")
def _kcpp_file_version(s: FactState, m: re.Match[str]) -> None:
    s.product("koboldcpp", 1, m["v"])


@rule(("level=", "source="), r"^(?:\S+ )*time=\S+ level=[A-Z]+ source=[\w./-]+\.go:\d+ msg=", raw=True)
def _ollama_slog(s: FactState, m: re.Match[str]) -> None:
    s.product("ollama", 3)  # Go slog lines with source=*.go: Ollama's server log


@rule(("ollama",), r"\bollama\b")
def _ollama_name(s: FactState, m: re.Match[str]) -> None:
    s.product("ollama", 3)


@rule(("[gin]", "llama runner", "source=", "ollama_", ":11434"), r"\[GIN\]|llama runner|\bsource=\w+\.go:\d+|OLLAMA_[A-Z_]+|:11434\b")
def _ollama_markers(s: FactState, m: re.Match[str]) -> None:
    s.product("ollama", 4)


@rule(("(version ", "ollama version", "ollama-", "ollama:"),
      r"Listening on \S+ \(version (?P<v>\d+\.\d+\.\d+[\w.\-+]*)\)|ollama version(?: is)? (?P<v2>\d+\.\d+\.\d+[\w.\-]*)"
      r"|/ollama-(?P<v3>\d+\.\d+\.\d+)/|ollama/ollama:(?P<v4>\d+\.\d+\.\d+)")
def _ollama_version(s: FactState, m: re.Match[str]) -> None:
    s.product("ollama", 5, m["v"] or m["v2"] or m["v3"] or m["v4"])


@rule(("lm studio", "lmstudio", "lms ", "llmster", "(exit code:", "🥲", "downloadsdir"),
      r"LM Studio|lmstudio|\bllmster\b|\(Exit code: -?\d+\)|\blms (?:load|server|get|log)\b|🥲|\"downloadsDir\"")
def _lmstudio(s: FactState, m: re.Match[str]) -> None:
    s.product("lmstudio", 5)


@rule(("lm studio",), r"LM Studio (?:version )?v?(?P<v>\d+\.\d+\.\d+)")
def _lmstudio_version(s: FactState, m: re.Match[str]) -> None:
    s.product("lmstudio", 2, m["v"])


@rule(("llamafile",), r"(?<![|] )\bllamafile\b(?!\s*=\s*\d)")
def _llamafile(s: FactState, m: re.Match[str]) -> None:
    s.product("llamafile", 4)


@rule(("llamafile",), r"llamafile[ -]v?(?P<v>\d+\.\d+\.\d+)\b")
def _llamafile_version(s: FactState, m: re.Match[str]) -> None:
    s.product("llamafile", 2, m["v"])


@rule(("text-generation-webui", "text generation web ui", "oobabooga", "llamacppmodel", "load_model_wrapper", "llamacpp_hf", "textgen/modules"),
      r"text-generation-webui|Text generation web UI|oobabooga|LlamaCppModel|load_model_wrapper|llamacpp_HF|textgen[/\\]modules[/\\]")
def _tgwui(s: FactState, m: re.Match[str]) -> None:
    s.product("text-generation-webui", 6)


@rule(("llama_cpp", "llama-cpp-python", "failed to create llama_context", "failed to load model from file"),
      r"llama_cpp[/\\.](?!cuda\b)|llama-cpp-python|from llama_cpp import|No module named 'llama_cpp'"
      r"|ValueError: Failed to (?:create llama_context|load model from file)")
def _llama_cpp_python(s: FactState, m: re.Match[str]) -> None:
    s.product("llama-cpp-python", 4)


@rule(("llama_cpp_python", "llama-cpp-python"), r"llama[_-]cpp[_-]python(?:==|-|:?\s+)v?(?P<v>\d+\.\d+\.\d+)")
def _llama_cpp_python_version(s: FactState, m: re.Match[str]) -> None:
    s.product("llama-cpp-python", 2, m["v"])


@rule(("build", "version: "),
      r"(?:\bbuild(?: =|:|\s) ?|^version: )(?P<b>\d{1,6}) \((?P<c>[0-9a-f]{6,40})\)|\"build\":(?P<b2>\d+),\"commit\":\"(?P<c2>[0-9a-f]+)\"")
def _llamacpp_build(s: FactState, m: re.Match[str]) -> None:
    build = m["b"] or m["b2"]
    commit = m["c"] or m["c2"]
    if build and not s.facts.build:
        s.facts.build = build
        s.facts.commit = commit
    s.product("llama.cpp", 2, f"b{build}" if build and build != "1" else None)


@rule(("build/bin/llama-", "build\\bin\\", "llama.exe"), r"build[/\\]bin[/\\](?:Release[/\\])?llama-[\w-]+|\bllama(?:-[\w-]+)?\.exe\b")
def _llamacpp_binary(s: FactState, m: re.Match[str]) -> None:
    s.product("llama.cpp", 3)


@rule(("llama-server", "llama-cli", "./main ", "llama_model_load", "llama_new_context", "ggml_", "llama.cpp/", "llama.cpp\\"),
      r"\bllama-(?:server|cli)\b|\./main |llama_model_load|llama_new_context_with_model|llama_init_from_model|\bggml_\w+:|llama\.cpp[/\\]")
def _llamacpp_markers(s: FactState, m: re.Match[str]) -> None:
    s.product("llama.cpp", 1)


@rule(("whisper", "stable-diffusion", "sd.cpp", "nexa", "llama_cpp_dart", "java-llama"),
      r"\bwhisper_\w+:|whisper\.cpp|stable-diffusion\.cpp|\bsd\.cpp\b|\bnexa(?:-sdk|ai)?\b|llama_cpp_dart|java-llama")
def _other_ggml_app(s: FactState, m: re.Match[str]) -> None:
    # Another ggml-based program: its ggml_ lines must not make it "llama.cpp".
    s.product("other-ggml-app", 3)


# --- operating system --------------------------------------------------------


@rule((":\\", ".exe", ".dll", "winerror", "windows", "ps c:", "powershell"),
      r"\b[A-Za-z]:\\|\.exe\b|\.dll\b|WinError|\bWindows\b|^PS [A-Z]:|PowerShell")
def _windows(s: FactState, m: re.Match[str]) -> None:
    s.os("windows", 3)


@rule(("/users/", "apple m", "darwin", "macos", "mac os", "/var/folders/", ".dylib", "mtlgpufamily", "ggml_metal"),
      r"/Users/|Apple M\d|darwin|mac ?OS|/var/folders/|\.dylib\b|MTLGPUFamily|ggml_metal")
def _macos(s: FactState, m: re.Match[str]) -> None:
    s.os("macos", 3)


@rule(("/home/", "linux", "/usr/lib", "/lib/x86_64", "ubuntu", "debian", "fedora", "systemd", "journalctl", "/tmp/_mei", ".so", "wsl"),
      r"/home/|linux|/usr/(?:local/)?lib|/lib/x86_64|Ubuntu|Debian|Fedora|systemd|journalctl|/tmp/_MEI|\.so\b|\bWSL\b|/mnt/[a-z]/")
def _linux(s: FactState, m: re.Match[str]) -> None:
    s.os("linux", 2)


# --- backends and GPUs -----------------------------------------------------------


@rule(("cuda", "cublas"), r"ggml_cuda|\bCUDA\d*\b|cuBLAS|cublas|\bcuda_v\d+|library=cuda")
def _cuda(s: FactState, m: re.Match[str]) -> None:
    s.backend("cuda")


@rule(("rocm", "hip", "gfx", "rocblas"), r"\bROCm\d*\b|hipBLAS|\bHIP\b|\bgfx\d{3,4}[a-z]?\b|rocBLAS|library=rocm")
def _rocm(s: FactState, m: re.Match[str]) -> None:
    s.backend("rocm")


@rule(("metal",), r"ggml_metal|\bMetal\b|ggml-metal")
def _metal(s: FactState, m: re.Match[str]) -> None:
    s.backend("metal")


@rule(("vulkan",), r"ggml_vulkan|\bVulkan\d*\b|ggml-vulkan")
def _vulkan(s: FactState, m: re.Match[str]) -> None:
    s.backend("vulkan")


@rule(("compute capability",),
      r"Device (?P<i>\d+): (?P<name>.+?), compute capability (?P<cc>\d+\.\d+)(?:, VMM: \w+)?", all_matches=True)
def _cuda_device(s: FactState, m: re.Match[str]) -> None:
    s.gpu(m["name"], compute_capability=m["cc"], index=int(m["i"]), backend="cuda")
    s.backend("cuda")


@rule(("device ",), r"Device (?P<i>\d+): (?P<name>[^,]+), (?P<gfx>gfx\d{3,4}[a-z]?)\b", all_matches=True)
def _rocm_device(s: FactState, m: re.Match[str]) -> None:
    s.gpu(m["name"], compute_capability=m["gfx"], index=int(m["i"]), backend="rocm")
    s.backend("rocm")


@rule(("inference compute",), r"inference compute\b.*", all_matches=True)
def _ollama_gpu(s: FactState, m: re.Match[str]) -> None:
    text = m.group(0)
    kv: dict[str, str] = dict(re.findall(r'(\w+)=("[^"]*"|\S+)', text))
    name = kv.get("name", kv.get("description", "")).strip('"')
    library = kv.get("library", "").strip('"')
    total = re.match(r'"?([\d.]+) ?([GMK]i?B)', kv.get("total", ""))
    avail = re.match(r'"?([\d.]+) ?([GMK]i?B)', kv.get("available", ""))
    compute = kv.get("compute", "").strip('"') or None
    if name or compute:
        s.gpu(
            name or f"{library} device",
            compute_capability=compute,
            vram_mib=int(_mib(total[1], total[2])) if total else None,
            free_mib=int(_mib(avail[1], avail[2])) if avail else None,
            backend="rocm" if library == "rocm" else library or None,
        )
    if library:
        s.backend("rocm" if library == "rocm" else library)


@rule(("cc=",), r'device="(?P<name>[^"]+)" cc=(?P<cc>\d{2,4})\b', all_matches=True)
def _ollama_skip_device(s: FactState, m: re.Match[str]) -> None:
    s.gpu(m["name"], compute_capability=_cc(m["cc"]), backend="cuda")


@rule(("using device",), r"using device (?P<dev>\w+) \((?P<name>[^)]*)\)(?: \([^)]*\))? - (?P<free>\d+) MiB free", all_matches=True)
def _llamacpp_device(s: FactState, m: re.Match[str]) -> None:
    backend = "rocm" if m["dev"].lower().startswith(("rocm", "hip")) else "vulkan" if m["dev"].lower().startswith("vulkan") else "cuda" if m["dev"].lower().startswith("cuda") else None
    s.gpu(m["name"] or m["dev"], free_mib=int(m["free"]), backend=backend)


@rule(("ggml_vulkan:",), r"ggml_vulkan: (?P<i>\d+) = (?P<name>.+?)(?: \([^)]*driver[^)]*\))? \|", all_matches=True)
def _vulkan_device(s: FactState, m: re.Match[str]) -> None:
    s.gpu(m["name"], index=int(m["i"]), backend="vulkan")
    s.backend("vulkan")


@rule(("found device:", "gpu name:"), r"(?:found device|GPU name):\s+(?P<name>Apple [\w ]+?)\s*$")
def _metal_device(s: FactState, m: re.Match[str]) -> None:
    if not s.facts.metal_device:
        s.facts.metal_device = m["name"]
    s.gpu(m["name"], backend="metal")
    s.backend("metal")


@rule(("detected free gpu memory",), r"Detected Free GPU Memory: (?P<mb>\d+) MB")
def _kcpp_free(s: FactState, m: re.Match[str]) -> None:
    s.number("free_vram_mib", float(m["mb"]))


@rule(("compiled for:",), r"compiled for: (?P<archs>\d[\d, ]*\d|__CUDA_ARCH_LIST__)")
def _compiled_for(s: FactState, m: re.Match[str]) -> None:
    if not s.facts.compiled_archs:
        s.facts.compiled_archs = [a.strip() for a in m["archs"].split(",") if a.strip()]


@rule(("archs=",), r'archs="\[(?P<archs>[\d ]+)\]"')
def _ollama_archs(s: FactState, m: re.Match[str]) -> None:
    if not s.facts.compiled_archs:
        s.facts.compiled_archs = m["archs"].split()


# --- model and flags ---------------------------------------------------------------


_MODEL_PATH = r"(?P<path>[^\s'\"]+?\.(?:gguf|bin|ggml|llamafile))"


@rule((".gguf", ".bin", ".llamafile", ".ggml"),
      r"(?:-m|--model|model_path=|loading model from|Loading model:?|weights detected:|Loading|load_model: loading model|model=|from)\s*['\"]?" + _MODEL_PATH)
def _model(s: FactState, m: re.Match[str]) -> None:
    if not s.facts.model_file:
        s.facts.model_file = m["path"]


_QUANT = r"(?P<q>IQ[1-4]_(?:XXS|XS|S|M|NL|L)|Q[2-8]_K(?:_[SML]|_XL)?|Q[4-8]_[01]|Q4_[23]|BF16|F16|F32|MXFP4|TQ[12]_0)"


@rule(("ftype", "file type"), r"(?:model ftype|file type|ftype)\s*=\s*(?:\d+ \(mostly )?" + _QUANT, all_matches=False)
def _quant_meta(s: FactState, m: re.Match[str]) -> None:
    if not s.facts.quant:
        s.facts.quant = m["q"].upper()


@rule(("quantkv",), r"--quantkv(?:[= ](?P<v>\d))?|quantkv=(?P<v2>\d)")
def _quantkv(s: FactState, m: re.Match[str]) -> None:
    value = m["v"] or m["v2"] or "1"
    if value != "0":
        s.flag("quantkv", value)


@rule(("flashattention", "flash-attn", "-fa", "flash_attn"),
      r"--flashattention\b|flashattention=True|--flash-attn(?:[= ](?P<v>on|1|true|auto))?\b|(?<![\w-])-fa(?:\s+(?:on|1))?(?![\w-])|flash_attn\s*=\s*(?P<v2>1|true|enabled)\b")
def _flash_attn(s: FactState, m: re.Match[str]) -> None:
    s.flag("flash_attn", m["v"] or m["v2"] or "on")


@rule(("-ngl", "n-gpu-layers", "gpulayers", "gpu-layers", "num_gpu"),
      r"(?:(?<![\w-])-ngl|--n-gpu-layers|--gpu-layers|--gpulayers)[= ](?P<v>-?\d+)|gpulayers=(?P<v2>-?\d+)|\bnum_gpu[\"']?[=: ]+(?P<v3>-?\d+)")
def _gpu_layers(s: FactState, m: re.Match[str]) -> None:
    s.flag("gpu_layers", m["v"] or m["v2"] or m["v3"])


@rule(("-c ", "--ctx-size", "contextsize", "num_ctx", "--ctx_size"),
      r"(?:(?<![\w-])-c|--ctx-size|--ctx_size|--contextsize)[= ](?P<v>\d{3,7})\b|contextsize=(?P<v2>\d+)|\bnum_ctx[\"']?[=: ]+(?P<v3>\d+)")
def _ctx_flag(s: FactState, m: re.Match[str]) -> None:
    s.flag("ctx_size", m["v"] or m["v2"] or m["v3"])


@rule(("-ctk", "-ctv", "cache-type", "kv_cache_type", "type_k", "type_v"),
      r"(?:(?<![\w-])-ctk|--cache-type-k)[= ](?P<k>\w+)|(?:(?<![\w-])-ctv|--cache-type-v)[= ](?P<v>\w+)|OLLAMA_KV_CACHE_TYPE[=:]\s*\"?(?P<o>\w+)"
      r"|type_k = '(?P<k2>\w+)', type_v = '(?P<v2>\w+)'", all_matches=True)
def _cache_types(s: FactState, m: re.Match[str]) -> None:
    k = m["k"] or m["o"] or m["k2"]
    v = m["v"] or m["o"] or m["v2"]
    if k:
        s.flag("cache_type_k", k.lower())
    if v:
        s.flag("cache_type_v", v.lower())


@rule(("--port", "port=", "ollama_host"),
      r"--port[= ](?P<p>\d{2,5})\b|\bport=(?P<p2>\d{2,5})\b")
def _port(s: FactState, m: re.Match[str]) -> None:
    s.flag("port", m["p"] or m["p2"])


@rule(("ollama_num_parallel", "-np", "--parallel", "n_seq_max"),
      r"OLLAMA_NUM_PARALLEL[=:]\s*\"?(?P<a>\d+)|(?:(?<![\w-])-np|--parallel)[= ](?P<b>\d+)|n_seq_max\s*=\s*(?P<c>\d+)")
def _parallel(s: FactState, m: re.Match[str]) -> None:
    s.flag("parallel", m["a"] or m["b"] or m["c"])


@rule(("-ub", "-b ", "--batch-size", "--ubatch-size", "n_batch", "n_ubatch"),
      r"(?:(?<![\w-])-b|--batch-size)[= ](?P<b>\d+)|(?:(?<![\w-])-ub|--ubatch-size)[= ](?P<u>\d+)|\bn_batch\s*=\s*(?P<b2>\d+)|\bn_ubatch\s*=\s*(?P<u2>\d+)", all_matches=True)
def _batch(s: FactState, m: re.Match[str]) -> None:
    if m["b"] or m["b2"]:
        s.flag("batch_size", m["b"] or m["b2"])
    if m["u"] or m["u2"]:
        s.flag("ubatch_size", m["u"] or m["u2"])


# --- numbers for computed remedies ---------------------------------------------------


@rule(("n_ctx",), r"\bn_ctx\s*=\s*(?P<v>\d+)")
def _n_ctx(s: FactState, m: re.Match[str]) -> None:
    s.number("n_ctx", float(m["v"]))


@rule(("n_layer", "block_count"), r"\bn_layer\s*=\s*(?P<v>\d+)|\.block_count\s+u32\s+=\s+(?P<v2>\d+)")
def _n_layer(s: FactState, m: re.Match[str]) -> None:
    s.number("n_layer", float(m["v"] or m["v2"]))


@rule(("offloaded",), r"offloaded (?P<n>\d+)/(?P<total>\d+) layers to GPU")
def _offloaded(s: FactState, m: re.Match[str]) -> None:
    s.number("layers_offloaded", float(m["n"]))
    s.number("layers_total", float(m["total"]))


@rule(("layers.model",), r"layers\.requested=(?P<req>-?\d+) layers\.model=(?P<model>\d+) layers\.offload=(?P<off>\d+)")
def _ollama_layers(s: FactState, m: re.Match[str]) -> None:
    s.number("layers_total", float(m["model"]))
    s.number("layers_offloaded", float(m["off"]))


@rule(("memory.available",), r'memory\.available="\[(?P<v>[\d.]+) (?P<u>[GMK]i?B)')
def _ollama_avail(s: FactState, m: re.Match[str]) -> None:
    s.number("free_vram_mib", _mib(m["v"], m["u"]))


@rule(("memory.required.kv",), r'memory\.required\.kv="(?P<v>[\d.]+) (?P<u>[GMK]i?B)"')
def _ollama_kv(s: FactState, m: re.Match[str]) -> None:
    s.number("kv_mib", _mib(m["v"], m["u"]))


@rule(("memory.weights.total",), r'memory\.weights\.total="(?P<v>[\d.]+) (?P<u>[GMK]i?B)"')
def _ollama_weights(s: FactState, m: re.Match[str]) -> None:
    s.number("weights_mib", _mib(m["v"], m["u"]))


@rule(("kv self size", "kv buffer size", "llama_kv_cache"),
      r"KV self size\s*=\s*(?P<v>[\d.]+) MiB|llama_kv_cache\w*:\s+size\s*=\s*(?P<v3>[\d.]+) MiB"
      r"|(?P<dev>(?:CUDA|ROCm|Vulkan|Metal|CPU)\d*)\s+KV buffer size\s*=\s*(?P<v2>[\d.]+) MiB", all_matches=True)
def _kv_size(s: FactState, m: re.Match[str]) -> None:
    if m["v"] or m["v3"]:
        s.number("kv_mib", float(m["v"] or m["v3"]))
    elif m["v2"]:
        # Per-device KV buffers add up to the cache size when no total is printed.
        s.kv_parts[m["dev"]] = float(m["v2"])


@rule(("model size", "file size"), r"(?:model|file) size\s*=\s*(?P<v>[\d.]+) (?P<u>[GMK]i?B)")
def _model_size(s: FactState, m: re.Match[str]) -> None:
    s.number("model_mib", _mib(m["v"], m["u"]))


def _compile() -> list[FactRule]:
    out = []
    for keywords, pattern, fn, all_matches, raw in RULES:
        out.append(FactRule(tuple(k.lower().encode() for k in keywords), pattern, fn, all_matches, raw))
    return out


FACT_RULES: list[FactRule] = _compile()

_QUANT_IN_NAME = re.compile(r"(?<![A-Za-z0-9])" + _QUANT + r"(?![A-Za-z0-9])", re.IGNORECASE)


def finish_facts(state: FactState) -> Facts:
    facts = state.facts
    other = state.products.pop("other-ggml-app", 0)
    if other and state.products.get("llama.cpp", 0) <= other + 2:
        state.products.pop("llama.cpp", None)  # ggml lines of whisper.cpp & co. are not llama.cpp
    if state.products:
        best = max(state.products.items(), key=lambda kv: (kv[1] >= 3, -PRODUCT_PRIORITY.index(kv[0]), kv[1]))
        # Wrappers beat the llama.cpp they embed once they are clearly present.
        strong = [p for p in PRODUCT_PRIORITY if state.products.get(p, 0) >= 3]
        facts.product = strong[0] if strong else best[0]
        facts.version = state.versions.get(facts.product)
    if state.os_score:
        facts.os = max(state.os_score.items(), key=lambda kv: kv[1])[0]
    facts.backends = list(state.backends)
    facts.gpus = list(state.gpus.values())
    if "kv_mib" not in facts.numbers and state.kv_parts:
        facts.numbers["kv_mib"] = sum(state.kv_parts.values())
    if not facts.quant and facts.model_file:
        m = _QUANT_IN_NAME.search(facts.model_file)
        if m:
            facts.quant = m["q"].upper()
    return facts
