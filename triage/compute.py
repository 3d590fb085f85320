"""Values derived from the log's numbers, for remedies no other tool gives:
memory requested versus free, a smaller -ngl or context that fits, the
HSA_OVERRIDE_GFX_VERSION of a supported sibling, what a WinError means.

Pure functions of the regex groups and the facts; a value that cannot be
derived is simply absent, and the KB text falls back or drops that line.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False  # true for type checkers only: typing is not imported at run time (records.py says why)
from .model import Facts
from .normalize import lazy_regex

if TYPE_CHECKING:
    from typing import Sequence

    from .load import Product

__all__ = ["COMPUTED_NAMES", "SETTING_LABELS", "compute_values", "exit_code_hex", "fmt_mib", "parse_size_mib"]

# What each common setting is called in prose; each runtime's spelling is in products/<id>.toml [settings].
SETTING_LABELS = {
    "gpu_layers": "GPU layers",
    "context_size": "context size",
    "batch_size": "batch size",
    "ubatch_size": "micro-batch size",
    "kv_cache_type": "KV cache type",
    "flash_attention": "flash attention",
    "threads": "threads",
    "backend": "backend",
    "port": "port",
    "parallel": "parallel slots",
    "mmap": "memory mapping",
}

COMPUTED_NAMES = (
    "requested_mib",
    "free_mib",
    "total_mib",
    "shortfall_mib",
    "suggested_gpu_layers",
    "current_gpu_layers",
    "layers_total",
    "kv_size",
    "kv_per_1k_ctx",
    "ctx",
    "suggested_ctx",
    "hsa_override",
    "gfx_family",
    "missing_isa",
    "winerror_meaning",
    "old_gpu",
    "old_gpu_cc",
    "device_cc",
    "cmake_arch",
    "gpu_layers_flag",
    "ctx_flag",
    "ctx_divisor",
    "suggested_kv_size",
    "mem_shortfall",
    "exit_code_hex",
    "exit_code_meaning",
    "endpoint",
    "os_error",
    *(f"setting_{key}" for key in SETTING_LABELS),
)

def fmt_mib(mib: float) -> str:
    """A size for a reader: GiB from 1 GiB, KiB or bytes below 1 MiB, so a small request never reads as '0 MiB'."""
    if mib >= 1024:
        return f"{mib / 1024:.1f} GiB"
    if mib >= 1 or mib <= 0:
        return f"{mib:.0f} MiB"
    size = mib * 1024 * 1024
    if size >= 1024:
        return f"{size / 1024:.0f} KiB"
    count = round(size)
    return f"{count} byte" if count == 1 else f"{count} bytes"


def _num(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return float(value.replace(",", ""))
    except ValueError:
        return None


def _requested_mib(groups: dict[str, str]) -> float | None:
    mib = _num(groups.get("alloc_mib"))
    if mib is not None:
        return mib
    for key in ("alloc_bytes", "kv_alloc_bytes"):
        raw = _num(groups.get(key))
        if raw is not None:
            return raw / (1024 * 1024)
    gib = _num(groups.get("alloc_gib"))
    return gib * 1024 if gib is not None else None


_SIZE = lazy_regex(r"^\s*([\d.,]+)\s*([KMGT]?i?B|bytes?)?\s*$", re.IGNORECASE)


def parse_size_mib(text: str | None) -> float | None:
    """'164.8 GiB' / '615.4 MiB' / '1.5 TB' / '3959422976' (bytes) -> MiB."""
    if not text:
        return None
    m = _SIZE().match(text)
    if not m:
        return None
    try:
        value = float(m.group(1).replace(",", ""))
    except ValueError:
        return None
    unit = (m.group(2) or "B").upper()
    scale = {"K": 1 / 1024, "M": 1.0, "G": 1024.0, "T": 1024.0 * 1024}.get(unit[0])
    if scale is None:  # plain bytes
        return value / (1024 * 1024)
    return value * scale


def _power_of_two_floor(value: float) -> int:
    n = 512
    while n * 2 <= value:
        n *= 2
    return n


def exit_code_hex(raw: str) -> str | None:
    """A Windows exit code as printed (hex, signed or unsigned decimal) -> '0xc000001d'; None if not one."""
    text = raw.strip().lower()
    try:
        value = int(text, 16) if text.startswith("0x") else int(text)
    except ValueError:
        return None
    if value < 0:
        value &= 0xFFFFFFFF
    if value < 0x80000000 or value > 0xFFFFFFFF:
        return None  # a plain exit status, not an NTSTATUS
    return f"0x{value:08x}"


def _settings(product: Product | None, products: Sequence[Product]) -> dict[str, str]:
    """setting_<key>: the detected runtime's spelling; for an unknown runtime, the spellings of the main ones."""
    out: dict[str, str] = {}
    for key, label in SETTING_LABELS.items():
        if product is not None:
            if key in product.settings:
                out[f"setting_{key}"] = product.settings[key]
            continue
        spelled = [f"{p.name}: {p.settings[key]}" for p in products if key in p.settings][:4]
        if spelled:
            out[f"setting_{key}"] = f"the {label} setting ({'; '.join(spelled)})"
    if product is not None:  # older placeholder names
        if "gpu_layers" in product.settings:
            out["gpu_layers_flag"] = product.settings["gpu_layers"]
        if "context_size" in product.settings:
            out["ctx_flag"] = product.settings["context_size"]
    return out


def compute_values(
    groups: dict[str, str],
    facts: Facts,
    tables: dict[str, dict[str, str]] | None = None,
    product: Product | None = None,
    products: Sequence[Product] = (),
) -> dict[str, str]:
    """Every computed placeholder value; `tables` are the validated tables/ files, `product` the detected runtime's
    products/ entry and `products` every listed runtime (for spellings when the runtime is unknown)."""
    tables = tables or {}
    out: dict[str, str] = _settings(product, products)

    requested = _requested_mib(groups)
    free = facts.numbers.get("free_vram_mib")
    total = None
    for gpu in facts.gpus:
        if free is None and gpu.free_mib is not None:
            free = float(gpu.free_mib)
        if total is None and gpu.vram_mib is not None:
            total = float(gpu.vram_mib)
    if requested is not None:
        out["requested_mib"] = fmt_mib(requested)
    if free is not None:
        out["free_mib"] = fmt_mib(free)
    if total is not None:
        out["total_mib"] = fmt_mib(total)
    if requested is not None and free is not None and requested > free:
        out["shortfall_mib"] = fmt_mib(requested - free)

    out.update(_gpu_layers(requested, free, facts))
    out.update(_context(groups, requested, free, facts, bool(product and product.context_per_slot)))
    out.update(_system_memory(groups))

    gfx = (groups.get("gfx") or "").lower()
    if gfx:
        sibling = tables.get("gfx-siblings", {}).get(gfx)
        if sibling:
            out["hsa_override"] = sibling
        out["gfx_family"] = gfx

    isa = groups.get("isa")
    if isa:
        out["missing_isa"] = isa.upper()
    else:
        instr = (groups.get("instruction") or "").lower()
        for needle, name in tables.get("cpu-isa", {}).items():
            if needle in instr:
                out["missing_isa"] = name
                break

    code = groups.get("winerror")
    if code:
        meaning = tables.get("winerror", {}).get(code)
        hexcode = exit_code_hex(code)
        if meaning is None and hexcode:
            meaning = tables.get("ntstatus", {}).get(hexcode)
        if meaning:
            out["winerror_meaning"] = meaning
    exit_code = groups.get("exit_code")
    if exit_code:
        hexcode = exit_code_hex(exit_code)
        if hexcode:
            out["exit_code_hex"] = hexcode
            meaning = tables.get("ntstatus", {}).get(hexcode)
            if meaning:
                out["exit_code_meaning"] = meaning

    out.update(_endpoint(groups, tables))

    old = [g for g in facts.gpus if g.compute_capability and _cc_value(g.compute_capability) is not None
           and _cc_value(g.compute_capability) < 6.1 and g.backend in (None, "cuda")]  # type: ignore[operator]
    if old:
        out["old_gpu"] = old[0].name
        out["old_gpu_cc"] = old[0].compute_capability or ""

    arch = groups.get("device_arch")
    if arch and arch.isdigit() and len(arch) >= 2:
        major, minor = int(arch) // 100 if len(arch) >= 3 else int(arch[0]), (int(arch) % 100) // 10 if len(arch) >= 3 else int(arch[1:])
        out["device_cc"] = f"{major}.{minor}"
        out["cmake_arch"] = f"{major}{minor}"
    elif facts.gpus and facts.gpus[0].compute_capability and "." in (facts.gpus[0].compute_capability or ""):
        cc = facts.gpus[0].compute_capability or ""
        out["device_cc"] = cc
        out["cmake_arch"] = cc.replace(".", "")
    return out


def _endpoint(groups: dict[str, str], tables: dict[str, dict[str, str]]) -> dict[str, str]:
    """Where a client failed to connect, as one phrase (`host:port`, the host, or `port N`), and what an HTTP
    library's result number means when the log prints a number instead of the OS error. A captured `os_error`
    group still wins: the rank stage lays the groups over these values."""
    out: dict[str, str] = {}
    host, port = groups.get("host"), groups.get("port")
    if host and port:
        out["endpoint"] = f"{host}:{port}"
    elif host:
        out["endpoint"] = host
    elif port:
        out["endpoint"] = f"port {port}"
    result = groups.get("godot_result")
    if result:
        meaning = tables.get("godot-http-result", {}).get(result)
        if meaning:
            out["os_error"] = meaning
    return out


HEADROOM_MIB = 1024.0  # VRAM left for the KV cache, compute buffers and the driver


def _gpu_layers(requested: float | None, free: float | None, facts: Facts) -> dict[str, str]:
    """A concrete, smaller GPU layer count to try after an out-of-memory.

    Per-layer size comes from the model (model size or Ollama's weights total
    over the layer count) or, failing that, from the failed request over the
    layers that were being offloaded. The budget is the free VRAM minus
    headroom; without a free figure, a request that failed proves free memory
    was below it, so the budget is the request minus headroom.
    """
    out: dict[str, str] = {}
    n_layer = facts.numbers.get("n_layer")
    layers_total = facts.numbers.get("layers_total") or n_layer
    current = _num(facts.flags.get("gpu_layers"))
    offloaded = facts.numbers.get("layers_offloaded")
    if layers_total:
        out["layers_total"] = str(int(layers_total))
    if current is not None and current >= 0:
        out["current_gpu_layers"] = str(int(current))
    layers_on_gpu = current if current is not None and current > 0 else offloaded
    if layers_total and layers_on_gpu is not None and layers_on_gpu > layers_total:
        layers_on_gpu = layers_total + 1  # "-ngl 999" means all layers plus the output layer
    model_mib = facts.numbers.get("model_mib") or facts.numbers.get("weights_mib")
    repeating = n_layer or layers_total
    per_layer = None
    if model_mib and repeating:
        per_layer = model_mib / repeating
    elif requested and layers_on_gpu:
        per_layer = requested / layers_on_gpu
    if per_layer:
        if free is not None:
            budget = free - HEADROOM_MIB
        elif requested is not None:
            budget = requested - max(HEADROOM_MIB, per_layer)
        else:
            budget = None
        if budget is not None:
            fit = int(max(budget, 0) // per_layer)
            if layers_total:
                fit = min(fit, int(layers_total))
            if layers_on_gpu:
                fit = min(fit, int(layers_on_gpu) - 1)
            out["suggested_gpu_layers"] = str(max(fit, 0))
            return out
    if layers_on_gpu and layers_on_gpu > 1:
        out["suggested_gpu_layers"] = str(int(layers_on_gpu // 2))
    return out


def _context(
    groups: dict[str, str], requested: float | None, free: float | None, facts: Facts, per_slot: bool
) -> dict[str, str]:
    """KV cache size, its cost per 1,024 tokens, and a context that fits.

    The KV size is the logged one (llama.cpp KV self size, Ollama
    memory.required.kv) or a failed KV allocation (group kv_alloc_bytes).
    A runtime whose context setting is per parallel slot (products/:
    context_per_slot, e.g. Ollama's num_ctx) gets it divided by the slot count.
    """
    out: dict[str, str] = {}
    kv = facts.numbers.get("kv_mib")
    kv_alloc = _num(groups.get("kv_alloc_bytes"))
    if not kv and kv_alloc:
        kv = kv_alloc / (1024 * 1024)
    ctx = _num(facts.flags.get("ctx_size")) or facts.numbers.get("n_ctx")
    parallel = _num(facts.flags.get("parallel")) or 1.0
    if kv:
        out["kv_size"] = fmt_mib(kv)
    if ctx:
        out["ctx"] = str(int(ctx))
    budget_mib = None  # memory the KV cache may use
    if kv and requested is not None and free is not None and requested > free:
        budget_mib = kv - (requested - free) - 256
    elif kv and free is not None and kv > free * 0.5:
        budget_mib = free * 0.5
    suggested = None
    if kv and ctx:
        per_1k = kv / ctx * 1024
        out["kv_per_1k_ctx"] = fmt_mib(per_1k)
        if budget_mib is not None and budget_mib > 0:
            tokens = budget_mib / per_1k * 1024
            if per_slot and parallel > 1:
                tokens /= parallel
            suggested = _power_of_two_floor(tokens)
            if suggested >= ctx:
                suggested = None
    if suggested is None and ctx and ctx > 8192:
        suggested = 8192
    if suggested is not None:
        out["suggested_ctx"] = str(suggested)
        if kv and ctx:
            tokens_total = suggested * (parallel if per_slot else 1.0)
            out["suggested_kv_size"] = fmt_mib(kv / ctx * tokens_total)
    if kv and free is not None and kv > free * 0.5 and "suggested_ctx" not in out:
        n = 2
        while kv / n > max(free * 0.5, 1.0):
            n *= 2
        out["ctx_divisor"] = str(n)
    return out


def _system_memory(groups: dict[str, str]) -> dict[str, str]:
    """Ollama's 'requires more system memory (X) than is available (Y)'."""
    required = parse_size_mib(groups.get("required_mem"))
    available = parse_size_mib(groups.get("available_mem"))
    if required is not None and available is not None and required > available:
        return {"mem_shortfall": fmt_mib(required - available)}
    return {}


def _cc_value(cc: str) -> float | None:
    try:
        return float(cc)
    except ValueError:
        return None
