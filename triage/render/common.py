"""Wording shared by every renderer, so text, Markdown and Discord agree."""

from __future__ import annotations

from ..model import PRODUCT_NAMES, Facts, Match

__all__ = ["facts_summary", "facts_rows", "verdict_line"]

_OS = {"macos": "macOS", "linux": "Linux", "windows": "Windows"}


def verdict_line(match: Match) -> str:
    """The sentence on the user's version (rank.py words it from the facts)."""
    return match.version_note


def facts_rows(facts: Facts) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    if facts.product:
        name = PRODUCT_NAMES.get(facts.product, facts.product)
        rows.append(("Product", f"{name} {facts.version}" if facts.version else name))
    if facts.build and facts.product != "llama.cpp":
        rows.append(("llama.cpp build", f"b{facts.build}" + (f" ({facts.commit})" if facts.commit else "")))
    elif facts.commit:
        rows.append(("Commit", facts.commit))
    if facts.os:
        rows.append(("OS", _OS.get(facts.os, facts.os)))
    if facts.backends:
        rows.append(("Backend", ", ".join(facts.backends)))
    for gpu in facts.gpus[:4]:
        extra = []
        if gpu.compute_capability:
            cc = gpu.compute_capability
            extra.append(cc if cc.startswith("gfx") else f"CC {cc}")
        if gpu.vram_mib:
            extra.append(f"{gpu.vram_mib} MiB")
        if gpu.free_mib is not None:
            extra.append(f"{gpu.free_mib} MiB free")
        rows.append(("GPU", gpu.name + (f" ({', '.join(extra)})" if extra else "")))
    if facts.compiled_archs:
        rows.append(("Compiled CUDA archs", ", ".join(facts.compiled_archs)))
    if facts.model_file:
        rows.append(("Model", facts.model_file))
    if facts.quant:
        rows.append(("Quant", facts.quant))
    if facts.flags:
        rows.append(("Flags", ", ".join(f"{k}={v}" for k, v in facts.flags.items())))
    return rows


def facts_summary(facts: Facts) -> str:
    return " · ".join(f"{k}: {v}" for k, v in facts_rows(facts))
