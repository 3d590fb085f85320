"""Does the log hold an answer, and if not, what exactly to ask for?

A volunteer's first reply to half of all crash reports is "please post the
full log"; this says it at once, in the product's own terms, and names the
facts already known so the user does not repeat them.
"""

from __future__ import annotations

import re
TYPE_CHECKING = False  # true for type checkers only: typing is not imported at run time (records.py says why)
if TYPE_CHECKING:
    from typing import Any

from .load import KnowledgeBase
from .model import Completeness, Facts, KeyLine, Match
from .normalize import lazy_regex
from .placeholders import fill

__all__ = ["assess", "followup_request"]

# Compiled on first use: a log with a known cause, the common case, never needs them.
_MID_LOAD = lazy_regex(
    r"^(?:llama_model_loader: |llm_load_print_meta: |print_info: |load_tensors: |llm_load_tensors: |llm_load_vocab: |load: "
    r"|llama_model_load_internal: |llama_kv_cache\w*: |llama_new_context_with_model: |llama_context: |llama_init_from_model: "
    r"|ggml_metal_init: |ggml_cuda_init: |ggml_vulkan: |gguf_init|llama_model_load: |common_init_from_params: |main: (?:build|seed|built)"
    r"|\s*Device \d+: |Loading model|Attempting to Load|Identified as |Using automatic RoPE|Initializing dynamic library"
    r"|srv\s+load_model|system_info|llama_load_model_from_file|llama_model_load_from_file"
    r"|\.{3,}\s*$|\s*\.\.\.\s*$|\[\.\.\.\]|.*msg=\"(?:starting llama server|waiting for|loading model|offload|llama runner started)"
    r"|.*(?:starting llama server|waiting for server to become available|waiting for llama runner to start responding)"
    r"|.*\bkv\s+\d+:\s|.*tensor|.*metadata)",
    re.IGNORECASE,
)
_TRACEBACK_FRAME = lazy_regex(r'^\s*File "[^"]+", line \d+|^\s{2,}\S.*$|^\s*[~^]{3,}\s*$|^\s*│')
_TRACEBACK_START = lazy_regex(r"Traceback \(most recent call last\)")
_EXCEPTION_LINE = lazy_regex(r"^\s*(?:[\w.]+\.)?\w*(?:Error|Exception|Interrupt|Exit)\b")


def _traceback_cut(tail: list[tuple[int, str]]) -> bool:
    """The paste ends inside a Python traceback, before the exception line."""
    if not tail or not _TRACEBACK_FRAME().match(tail[-1][1]):
        return False
    for _, text in reversed(tail[-40:]):
        if _EXCEPTION_LINE().match(text):
            return False
        if _TRACEBACK_START().search(text):
            return True
    return False


def assess(matches: list[Match], keylines: list[KeyLine], tail: list[tuple[int, str]]) -> Completeness:
    """complete | truncated | wrapper-only | no-error-line, with the reason."""
    if any(m.certainty == "confident" and m.kind == "cause" for m in matches):
        return Completeness("complete", "the log shows the failure and a known cause")
    last = tail[-1][1].strip() if tail else ""
    if _traceback_cut(tail):
        return Completeness("truncated", f"the paste stops inside a Python traceback, before the exception (last line: {last[:120]!r})")
    # Lines a wrapper entry already explains (exit codes, "runner terminated") are envelopes, not causes.
    wrapped = {ev.line for m in matches if m.kind == "wrapper" for ev in m.evidence}
    causes = [k for k in keylines if k.score >= 90 and k.line not in wrapped]
    if causes:
        return Completeness("complete", "the log has specific error lines, though no KB entry explains them")
    if last and _MID_LOAD().match(last):
        return Completeness("truncated", f"the log stops while the model is loading (last line: {last[:120]!r})")
    if keylines:
        closest = max(keylines, key=lambda k: (k.score, k.line))  # the envelope closest to the failure
        return Completeness(
            "wrapper-only",
            "the log shows only a wrapper or a generic follow-on error (" + closest.text[:100] + "); the cause was printed elsewhere",
        )
    return Completeness("no-error-line", "the log holds no error line at all")


def _known(facts: Facts) -> str:
    parts = []
    if facts.product:
        name = facts.product_name or facts.product
        parts.append(f"{name} {facts.version}" if facts.version else name)
    if facts.os:
        parts.append({"macos": "macOS", "linux": "Linux", "windows": "Windows"}.get(facts.os, facts.os))
    if facts.gpus:
        gpu = facts.gpus[0]
        parts.append(gpu.name + (f" (compute {gpu.compute_capability})" if gpu.compute_capability else ""))
    elif facts.backends:
        parts.append("/".join(facts.backends))
    if facts.model_file:
        parts.append(facts.model_file.replace("\\", "/").rsplit("/", 1)[-1])
    return ", ".join(parts)


def followup_request(completeness: Completeness, facts: Facts, kb: KnowledgeBase) -> str:
    """What to capture next, or '' when the log already holds the answer: the runtime's own request from
    products/<id>.toml, or the default one naming every runtime triage knows."""
    if completeness.verdict == "complete":
        return ""
    product = kb.products.get(facts.product or "")
    template = product.followup if product and product.followup else kb.followup_default
    if not template:
        return ""
    values = {
        "known": _known(facts) or "nothing yet",
        "product_name": facts.product_name or "the program",
        "runtimes": ", ".join(p.name for p in kb.listed_products),
    }
    values.update({k: v for k, v in facts.values().items() if v})
    text = fill(template, values) or template
    known = _known(facts)
    if known:
        text += f"\n\nAlready known from this log (no need to repeat): {known}."
    return text.strip()
