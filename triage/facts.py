"""What the log says about the setup: product, version, OS, GPUs, flags.

Each rule is a keyword (for the shared prefilter) plus a regex and a small
function that records what it found; rules run only on lines a keyword hit.
"""

from __future__ import annotations

import re
TYPE_CHECKING = False  # true for type checkers only: typing is not imported at run time (records.py says why)
from . import rx
from .model import Facts, Gpu
from .normalize import lazy_regex

if TYPE_CHECKING:
    from typing import Callable, Iterable, Sequence

    import regex

    from .load import Patterns, Product
    from .normalize import Log

__all__ = ["FACT_FLAGS", "FACT_NAMES", "FACT_RULES", "FactRule", "FactState", "extract_facts", "finish_facts", "product_rules", "static_rules"]

FACT_LINES = 60  # per rule: the first and last lines its keywords hit are plenty
FACT_LINE_CAP = 2048  # characters of a line a fact rule reads

FACT_TIMEOUT = 0.05  # seconds per search; the patterns are linear, this is the safety net
FACT_FLAGS = rx.IGNORECASE | rx.VERSION0

FACT_NAMES = (
    "product",
    "product_name",
    "runtimes",
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
        self.fallback_model: str | None = None

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


if TYPE_CHECKING:
    Handler = Callable[[FactState, "regex.Match[str]"], None]


class FactRule:
    """A keyword-gated fact extractor; its regex compiles (or comes precompiled from `patterns`, the Engine's
    store) on first use, and every search has a timeout."""

    __slots__ = ("_pattern", "_patterns", "all_matches", "apply", "keywords", "raw", "source")

    def __init__(self, keywords: tuple[bytes, ...], source: str, apply: Handler, all_matches: bool, raw: bool = False,
                 patterns: Patterns | None = None) -> None:
        self.keywords = keywords
        self.source = source
        self.apply = apply
        self.all_matches = all_matches
        self.raw = raw  # match the line as written, before normalisation strips wrappers
        self._pattern: regex.Pattern[str] | None = None
        self._patterns = patterns

    @property
    def pattern(self) -> regex.Pattern[str]:
        if self._pattern is None:
            store = self._patterns
            self._pattern = store.get(self.source, FACT_FLAGS) if store is not None else rx.compile(self.source, FACT_FLAGS)
        return self._pattern

    def run(self, state: FactState, text: str) -> bool:
        """Apply the rule to one line; False when a search timed out (the line then adds no fact)."""
        try:
            if self.all_matches:
                for m in self.pattern.finditer(text, timeout=FACT_TIMEOUT):
                    self.apply(state, m)
            else:
                found = self.pattern.search(text, timeout=FACT_TIMEOUT)
                if found:
                    self.apply(state, found)
        except TimeoutError:
            return False
        return True


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


# --- operating system --------------------------------------------------------


@rule((":\\", ".exe", ".dll", "winerror", "windows", "ps c:", "powershell"),
      r"\b[A-Za-z]:\\|\.exe\b|\.dll\b|WinError|\bWindows\b|^PS [A-Z]:|PowerShell")
def _windows(s: FactState, m: regex.Match[str]) -> None:
    s.os("windows", 3)


@rule(("/users/", "apple m", "darwin", "macos", "mac os", "/var/folders/", ".dylib", "mtlgpufamily", "ggml_metal"),
      r"/Users/|Apple M\d|darwin|mac ?OS|/var/folders/|\.dylib\b|MTLGPUFamily|ggml_metal")
def _macos(s: FactState, m: regex.Match[str]) -> None:
    s.os("macos", 3)


@rule(("/home/", "linux", "/usr/lib", "/lib/x86_64", "ubuntu", "debian", "fedora", "systemd", "journalctl", "/tmp/_mei", ".so", "wsl"),
      r"/home/|linux|/usr/(?:local/)?lib|/lib/x86_64|Ubuntu|Debian|Fedora|systemd|journalctl|/tmp/_MEI|\.so\b|\bWSL\b|/mnt/[a-z]/")
def _linux(s: FactState, m: regex.Match[str]) -> None:
    s.os("linux", 2)


# --- backends and GPUs -----------------------------------------------------------


@rule(("cuda", "cublas"), r"ggml_cuda|\bCUDA\d*\b|cuBLAS|cublas|\bcuda_v\d+|library=cuda")
def _cuda(s: FactState, m: regex.Match[str]) -> None:
    s.backend("cuda")


@rule(("rocm", "hip", "gfx", "rocblas"), r"\bROCm\d*\b|hipBLAS|\bHIP\b|\bgfx\d{3,4}[a-z]?\b|rocBLAS|library=rocm")
def _rocm(s: FactState, m: regex.Match[str]) -> None:
    s.backend("rocm")


@rule(("metal",), r"ggml_metal|\bMetal\b|ggml-metal")
def _metal(s: FactState, m: regex.Match[str]) -> None:
    s.backend("metal")


@rule(("vulkan",), r"ggml_vulkan|\bVulkan\d*\b|ggml-vulkan")
def _vulkan(s: FactState, m: regex.Match[str]) -> None:
    s.backend("vulkan")


@rule(("compute capability",),
      r"Device (?P<i>\d+): (?P<name>[^\n]{1,200}?), compute capability (?P<cc>\d+\.\d+)(?:, VMM: \w+)?", all_matches=True)
def _cuda_device(s: FactState, m: regex.Match[str]) -> None:
    s.gpu(m["name"], compute_capability=m["cc"], index=int(m["i"]), backend="cuda")
    s.backend("cuda")


@rule(("device ",), r"Device (?P<i>\d+): (?P<name>[^,\n]{1,200}), (?P<gfx>gfx\d{3,4}[a-z]?)\b", all_matches=True)
def _rocm_device(s: FactState, m: regex.Match[str]) -> None:
    s.gpu(m["name"], compute_capability=m["gfx"], index=int(m["i"]), backend="rocm")
    s.backend("rocm")


@rule(("inference compute",), r"inference compute\b[^\n]{0,2000}", all_matches=True)
def _ollama_gpu(s: FactState, m: regex.Match[str]) -> None:
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
def _ollama_skip_device(s: FactState, m: regex.Match[str]) -> None:
    s.gpu(m["name"], compute_capability=_cc(m["cc"]), backend="cuda")


@rule(("using device",), r"using device (?P<dev>\w{1,40}) \((?P<name>[^)]{0,200})\)(?: \([^)]{0,200}\))? - (?P<free>\d+) MiB free", all_matches=True)
def _llamacpp_device(s: FactState, m: regex.Match[str]) -> None:
    backend = "rocm" if m["dev"].lower().startswith(("rocm", "hip")) else "vulkan" if m["dev"].lower().startswith("vulkan") else "cuda" if m["dev"].lower().startswith("cuda") else None
    s.gpu(m["name"] or m["dev"], free_mib=int(m["free"]), backend=backend)


@rule(("ggml_vulkan:",), r"ggml_vulkan: (?P<i>\d+) = (?P<name>[^|\n]{1,200}?)(?: \([^()|\n]{0,120}driver[^()|\n]{0,120}\))? \|", all_matches=True)
def _vulkan_device(s: FactState, m: regex.Match[str]) -> None:
    s.gpu(m["name"], index=int(m["i"]), backend="vulkan")
    s.backend("vulkan")


@rule(("found device:", "gpu name:"), r"(?:found device|GPU name):[ \t]{1,40}(?P<name>Apple(?: \w{1,30}){1,6})[ \t]*$")
def _metal_device(s: FactState, m: regex.Match[str]) -> None:
    if not s.facts.metal_device:
        s.facts.metal_device = m["name"]
    s.gpu(m["name"], backend="metal")
    s.backend("metal")


@rule(("detected free gpu memory",), r"Detected Free GPU Memory: (?P<mb>\d+) MB")
def _kcpp_free(s: FactState, m: regex.Match[str]) -> None:
    s.number("free_vram_mib", float(m["mb"]))


@rule(("compiled for:",), r"compiled for: (?P<archs>\d[\d, ]*\d|__CUDA_ARCH_LIST__)")
def _compiled_for(s: FactState, m: regex.Match[str]) -> None:
    if not s.facts.compiled_archs:
        s.facts.compiled_archs = [a.strip() for a in m["archs"].split(",") if a.strip()]


@rule(("archs=",), r'archs="\[(?P<archs>[\d ]+)\]"')
def _ollama_archs(s: FactState, m: regex.Match[str]) -> None:
    if not s.facts.compiled_archs:
        s.facts.compiled_archs = m["archs"].split()


# --- model and flags ---------------------------------------------------------------


_MODEL_PATH = r"(?P<path>[^\s'\"]{1,400}?\.(?:gguf|bin|ggml|llamafile))(?![\w.-])"


@rule((".gguf", ".bin", ".llamafile", ".ggml"),
      r"(?:(?<![\w-])(?:-m|--model)(?:[ \t]{1,8}|=)|model_path=|loading model from[ \t]{0,8}|Loading model:?[ \t]{0,8}|weights detected:[ \t]{0,8}|\bLoading[ \t]{1,8}|load_model: loading model[ \t]{0,8}|\bmodel=|\bfrom[ \t]{1,8}|\bmodel[ \t]{1,8}(?=['\"])|text model:[ \t]{0,8})['\"]?" + _MODEL_PATH)
def _model(s: FactState, m: regex.Match[str]) -> None:
    if not s.facts.model_file:
        s.facts.model_file = m["path"]


@rule((".gguf", ".llamafile"), r"(?<![^\s'\"=(])(?P<path>[^\s'\"*]{0,400}?[\w-]\.(?-i:gguf|llamafile))(?![\w.-])")
def _model_token(s: FactState, m: regex.Match[str]) -> None:
    # Fallback: a whole path token ending in .gguf/.llamafile anywhere (a launcher's arguments, a UI message).
    s.fallback_model = s.fallback_model or m["path"]


_QUANT = r"(?P<q>IQ[1-4]_(?:XXS|XS|S|M|NL|L)|Q[2-8]_K(?:_[SML]|_XL)?|Q[4-8]_[01]|Q4_[23]|BF16|F16|F32|MXFP4|TQ[12]_0)"


@rule(("ftype", "file type"), r"(?:model ftype|file type|ftype)\s*=\s*(?:\d+ \(mostly )?" + _QUANT, all_matches=False)
def _quant_meta(s: FactState, m: regex.Match[str]) -> None:
    if not s.facts.quant:
        s.facts.quant = m["q"].upper()


@rule(("quantkv",), r"--quantkv(?:[= ](?P<v>\d))?|quantkv=(?P<v2>\d)")
def _quantkv(s: FactState, m: regex.Match[str]) -> None:
    value = m["v"] or m["v2"] or "1"
    if value != "0":
        s.flag("quantkv", value)


@rule(("flashattention", "flash-attn", "-fa", "flash_attn"),
      r"--flashattention\b|flashattention=True|--flash-attn(?:[= ](?P<v>on|1|true|auto))?\b|(?<![\w-])-fa(?:\s+(?:on|1))?(?![\w-])|flash_attn\s*=\s*(?P<v2>1|true|enabled)\b")
def _flash_attn(s: FactState, m: regex.Match[str]) -> None:
    s.flag("flash_attn", m["v"] or m["v2"] or "on")


@rule(("-ngl", "n-gpu-layers", "gpulayers", "gpu-layers", "num_gpu"),
      r"(?:(?<![\w-])-ngl|--n-gpu-layers|--gpu-layers|--gpulayers)[= ](?P<v>-?\d+)|gpulayers=(?P<v2>-?\d+)|\bnum_gpu[\"']?[=: ]+(?P<v3>-?\d+)")
def _gpu_layers(s: FactState, m: regex.Match[str]) -> None:
    s.flag("gpu_layers", m["v"] or m["v2"] or m["v3"])


@rule(("-c ", "--ctx-size", "contextsize", "num_ctx", "--ctx_size"),
      r"(?:(?<![\w-])-c|--ctx-size|--ctx_size|--contextsize)[= ](?P<v>\d{3,7})\b|contextsize=(?P<v2>\d+)|\bnum_ctx[\"']?[=: ]+(?P<v3>\d+)")
def _ctx_flag(s: FactState, m: regex.Match[str]) -> None:
    s.flag("ctx_size", m["v"] or m["v2"] or m["v3"])


@rule(("-ctk", "-ctv", "cache-type", "kv_cache_type", "type_k", "type_v"),
      r"(?:(?<![\w-])-ctk|--cache-type-k)[= ](?P<k>\w+)|(?:(?<![\w-])-ctv|--cache-type-v)[= ](?P<v>\w+)|OLLAMA_KV_CACHE_TYPE[=:]\s*\"?(?P<o>\w+)"
      r"|type_k = '(?P<k2>\w+)', type_v = '(?P<v2>\w+)'", all_matches=True)
def _cache_types(s: FactState, m: regex.Match[str]) -> None:
    k = m["k"] or m["o"] or m["k2"]
    v = m["v"] or m["o"] or m["v2"]
    if k:
        s.flag("cache_type_k", k.lower())
    if v:
        s.flag("cache_type_v", v.lower())


@rule(("--port", "port=", "ollama_host"),
      r"--port[= ](?P<p>\d{2,5})\b|\bport=(?P<p2>\d{2,5})\b")
def _port(s: FactState, m: regex.Match[str]) -> None:
    s.flag("port", m["p"] or m["p2"])


@rule(("ollama_num_parallel", "-np", "--parallel", "n_seq_max"),
      r"OLLAMA_NUM_PARALLEL[=:]\s*\"?(?P<a>\d+)|(?:(?<![\w-])-np|--parallel)[= ](?P<b>\d+)|n_seq_max\s*=\s*(?P<c>\d+)")
def _parallel(s: FactState, m: regex.Match[str]) -> None:
    s.flag("parallel", m["a"] or m["b"] or m["c"])


@rule(("-ub", "-b ", "--batch-size", "--ubatch-size", "n_batch", "n_ubatch"),
      r"(?:(?<![\w-])-b|--batch-size)[= ](?P<b>\d+)|(?:(?<![\w-])-ub|--ubatch-size)[= ](?P<u>\d+)|\bn_batch\s*=\s*(?P<b2>\d+)|\bn_ubatch\s*=\s*(?P<u2>\d+)", all_matches=True)
def _batch(s: FactState, m: regex.Match[str]) -> None:
    if m["b"] or m["b2"]:
        s.flag("batch_size", m["b"] or m["b2"])
    if m["u"] or m["u2"]:
        s.flag("ubatch_size", m["u"] or m["u2"])


# --- numbers for computed remedies ---------------------------------------------------


@rule(("n_ctx",), r"\bn_ctx\s*=\s*(?P<v>\d+)")
def _n_ctx(s: FactState, m: regex.Match[str]) -> None:
    s.number("n_ctx", float(m["v"]))


@rule(("n_layer", "block_count"), r"\bn_layer\s*=\s*(?P<v>\d+)|\.block_count\s+u32\s+=\s+(?P<v2>\d+)")
def _n_layer(s: FactState, m: regex.Match[str]) -> None:
    s.number("n_layer", float(m["v"] or m["v2"]))


@rule(("offloaded",), r"offloaded (?P<n>\d+)/(?P<total>\d+) layers to GPU")
def _offloaded(s: FactState, m: regex.Match[str]) -> None:
    s.number("layers_offloaded", float(m["n"]))
    s.number("layers_total", float(m["total"]))


@rule(("layers.model",), r"layers\.requested=(?P<req>-?\d+) layers\.model=(?P<model>\d+) layers\.offload=(?P<off>\d+)")
def _ollama_layers(s: FactState, m: regex.Match[str]) -> None:
    s.number("layers_total", float(m["model"]))
    s.number("layers_offloaded", float(m["off"]))


@rule(("memory.available",), r'memory\.available="\[(?P<v>[\d.]+) (?P<u>[GMK]i?B)')
def _ollama_avail(s: FactState, m: regex.Match[str]) -> None:
    s.number("free_vram_mib", _mib(m["v"], m["u"]))


@rule(("memory.required.kv",), r'memory\.required\.kv="(?P<v>[\d.]+) (?P<u>[GMK]i?B)"')
def _ollama_kv(s: FactState, m: regex.Match[str]) -> None:
    s.number("kv_mib", _mib(m["v"], m["u"]))


@rule(("memory.weights.total",), r'memory\.weights\.total="(?P<v>[\d.]+) (?P<u>[GMK]i?B)"')
def _ollama_weights(s: FactState, m: regex.Match[str]) -> None:
    s.number("weights_mib", _mib(m["v"], m["u"]))


@rule(("kv self size", "kv buffer size", "llama_kv_cache"),
      r"KV self size\s*=\s*(?P<v>[\d.]+) MiB|llama_kv_cache\w*:\s+size\s*=\s*(?P<v3>[\d.]+) MiB"
      r"|(?P<dev>(?:CUDA|ROCm|Vulkan|Metal|CPU)\d*)\s+KV buffer size\s*=\s*(?P<v2>[\d.]+) MiB", all_matches=True)
def _kv_size(s: FactState, m: regex.Match[str]) -> None:
    if m["v"] or m["v3"]:
        s.number("kv_mib", float(m["v"] or m["v3"]))
    elif m["v2"]:
        # Per-device KV buffers add up to the cache size when no total is printed.
        s.kv_parts[m["dev"]] = float(m["v2"])


@rule(("model size", "file size"), r"(?:model|file) size\s*=\s*(?P<v>[\d.]+) (?P<u>[GMK]i?B)")
def _model_size(s: FactState, m: regex.Match[str]) -> None:
    s.number("model_mib", _mib(m["v"], m["u"]))


def static_rules(patterns: Patterns | None = None) -> list[FactRule]:
    """Fresh rule objects for the facts that are not about a runtime (OS, backends, GPUs, flags, numbers)."""
    return [FactRule(tuple(k.lower().encode() for k in keywords), pattern, fn, all_matches, raw, patterns)
            for keywords, pattern, fn, all_matches, raw in RULES]


FACT_RULES: list[FactRule] = static_rules()  # for tools that only need the static rules' keywords

_QUANT_IN_NAME = lazy_regex(r"(?<![A-Za-z0-9])" + _QUANT + r"(?![A-Za-z0-9])", re.IGNORECASE)  # when the metadata had none


def product_rules(products: Iterable[Product], patterns: Patterns | None = None) -> list[FactRule]:
    """Fact rules from products/: each marker adds its weight to the runtime; a version marker also names the
    version (group `version*`) or, for llama.cpp-style builds, the build and commit (`build*`, `commit*`)."""
    rules: list[FactRule] = []
    for product in products:
        for marker in product.markers:
            rules.append(FactRule(marker.keywords, marker.regex, _marker_handler(product, marker.weight, marker.version),
                                  all_matches=False, raw=marker.raw, patterns=patterns))
    return rules


def _first_group(m: regex.Match[str], prefix: str) -> str | None:
    for name, value in m.groupdict().items():
        if value and name.startswith(prefix):
            return str(value)
    return None


def _marker_handler(product: Product, weight: int, is_version: bool) -> Handler:
    pid = product.id

    def apply(s: FactState, m: regex.Match[str]) -> None:
        if not is_version:
            s.product(pid, weight)
            return
        version = _first_group(m, "version")
        build = _first_group(m, "build")
        if build:
            if not s.facts.build:
                s.facts.build = build
                s.facts.commit = _first_group(m, "commit")
            version = version or (f"b{build}" if build != "1" else None)
        s.product(pid, weight, version)

    return apply


def finish_facts(state: FactState, products: dict[str, Product]) -> Facts:
    """Pick the runtime (wrappers beat the llama.cpp they embed once clearly present), OS, GPUs and derived facts."""
    facts = state.facts
    for product in products.values():
        if not product.hidden:
            continue
        score = state.products.pop(product.id, 0)
        for other in product.suppresses:
            if score and state.products.get(other, 0) <= score + 2:
                state.products.pop(other, None)  # e.g. ggml lines of whisper.cpp & co. are not llama.cpp
    scores = {pid: score for pid, score in state.products.items() if pid in products}
    if scores:
        def priority(pid: str) -> int:
            return products[pid].priority

        strong = sorted((p for p, sc in scores.items() if sc >= 3), key=lambda p: (-priority(p), p))
        best = max(scores.items(), key=lambda kv: (kv[1] >= 3, priority(kv[0]), kv[1]))[0]
        facts.product = strong[0] if strong else best
        facts.version = state.versions.get(facts.product)
        facts.product_name = products[facts.product].name
    if state.os_score:
        facts.os = max(state.os_score.items(), key=lambda kv: kv[1])[0]
    facts.backends = list(state.backends)
    facts.gpus = list(state.gpus.values())
    if "kv_mib" not in facts.numbers and state.kv_parts:
        facts.numbers["kv_mib"] = sum(state.kv_parts.values())
    if not facts.model_file and state.fallback_model:
        facts.model_file = state.fallback_model
    if not facts.quant and facts.model_file:
        m = _QUANT_IN_NAME().search(facts.model_file)
        if m:
            facts.quant = m["q"].upper()
    return facts


def extract_facts(
    log: Log,
    rules: Sequence[FactRule],
    rule_keywords: Sequence[Sequence[int]],
    hits_by_kw: Sequence[Sequence[int]],
    products: dict[str, Product],
) -> tuple[Facts, int]:
    """The facts stage: each rule on the lines its keywords hit (the prefilter's offsets).

    Bounded by counts: at most FACT_LINES lines from each end per rule, FACT_LINE_CAP characters per line.
    Returns the facts and the number of searches that timed out.
    """
    state = FactState()
    timeouts = 0
    for rule, kw_ids in zip(rules, rule_keywords):
        offsets: list[int] = []
        for k in kw_ids:
            offsets.extend(hits_by_kw[k])
        if not offsets:
            continue
        starts = log.line_starts(offsets)
        if len(starts) > 2 * FACT_LINES:
            starts = starts[:FACT_LINES] + starts[-FACT_LINES:]
        seen: set[str] = set()
        for start in starts:
            text = (log.raw_at(start).rstrip("\r") if rule.raw else log.text_at(start))[:FACT_LINE_CAP]
            if text in seen:  # a repeated line adds no new fact
                continue
            seen.add(text)
            if not rule.run(state, text):
                timeouts += 1
    return finish_facts(state, products), timeouts
