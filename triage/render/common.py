"""Wording shared by every renderer, so text, Markdown and Discord agree."""

from __future__ import annotations

from ..model import Facts, Fingerprint, Match, RemedyStep, names_itself, under_heading
from ..records import NamedTuple

__all__ = ["Step", "facts_rows", "facts_summary", "fingerprint_parts", "product_name", "remedy_list", "suggestions_note",
           "suggestions_sentence", "verdict_line"]

OS_NAMES = {"macos": "macOS", "linux": "Linux", "windows": "Windows"}
FINGERPRINT_CHARS = 160  # the fingerprint line stays one short line


def product_name(product: str, facts: Facts | None = None) -> str:
    """A runtime's display name: the one products/ gives (carried on Facts and RemedyStep), else the id."""
    if facts is not None and facts.product == product and getattr(facts, "product_name", None):
        return str(facts.product_name)
    return product


def suggestions_note(facts: Facts) -> str:
    """What the nearest entries rest on. They are chosen by wording alone; when no runtime was recognised the
    paste may come from another program (PyTorch's `no kernel image`, Node's `EADDRINUSE`), and every entry is
    about llama.cpp-family runtimes, so the reader is told to check that first (blind round 50n)."""
    if facts.product:
        return "by wording only"
    return "by wording only; no llama.cpp-family program was recognised in this paste, so they apply only if it came from one"


def suggestions_sentence(facts: Facts) -> str:
    """The same note as a sentence of its own (the web page, the Discord reply)."""
    note = suggestions_note(facts)
    return note[:1].upper() + note[1:] + "."


def verdict_line(match: Match) -> str:
    """The sentence on the user's version (rank.py words it from the facts)."""
    return match.version_note


class Step(NamedTuple):
    """One remedy as a renderer shows it: `label` names the runtime(s)/OS it is for when
    that is not the user's own ('' for steps that fit anyone or the detected runtime)."""

    label: str
    text: str


def _step(label: str, text: str) -> Step:
    """A labelled step, without saying the label twice: a text opening with "<label>:" loses that prefix (the
    label shows it), a text opening with the label in a sentence keeps its words and goes unlabelled."""
    said = label
    if not names_itself(text, said) and label.startswith("On "):  # "On Windows" beside "Windows: install ..."
        said = label[3:]
    if not names_itself(text, said):
        return Step(label, text)
    shown = under_heading(text, said)
    return Step(label, shown) if shown != text else Step("", text)


def _label(products: list[str], os_name: str | None, facts: Facts) -> str:
    systems = [o.strip() for o in (os_name or "").split(",") if o.strip()]  # "linux,windows": either
    os_part = " / ".join(OS_NAMES.get(o, o) for o in systems) if systems and facts.os not in systems else None
    names = ", ".join(products)
    if names and os_part:
        return f"{names} on {os_part}"
    if names:
        return names
    return f"On {os_part}" if os_part else ""


def remedy_list(match: Match, facts: Facts) -> list[Step]:
    """The remedies in the order to show them (issue 12 item 2).

    A detected runtime: `remedy_steps` as ranked (its own and generic ones). Unknown
    runtime: generic steps first, then each runtime's steps together, every one
    labelled with the runtime's display name ("KoboldCpp: ..."). A step given for
    several runtimes is shown once, naming them all.
    """
    steps: list[RemedyStep] = list(match.remedy_steps) or [RemedyStep(t) for t in match.remedies]
    if facts.product:
        out = []
        for s in steps:
            own = s.product is None or s.product == facts.product
            names = [] if own else [s.product_name or product_name(s.product or "")]
            out.append(_step(_label(names, s.os, facts), s.text))
        return out
    generic: list[Step] = []
    by_text: dict[tuple[str, str | None], list[str]] = {}
    for s in steps:
        if s.product is None:
            generic.append(_step(_label([], s.os, facts), s.text))
            continue
        names = by_text.setdefault((s.text, s.os), [])
        name = s.product_name or product_name(s.product)
        if name not in names:
            names.append(name)
    groups: dict[tuple[str, ...], list[Step]] = {}
    for (text, os_name), names in by_text.items():
        groups.setdefault(tuple(names), []).append(_step(_label(names, os_name, facts), text))
    return generic + [step for group in groups.values() for step in group]


def fingerprint_parts(fp: Fingerprint) -> tuple[str, str]:
    """(the failure text, shortened to one line; a note for a generic fingerprint or '')."""
    text = " ".join(fp.text.split())
    if len(text) > FINGERPRINT_CHARS:
        text = text[: FINGERPRINT_CHARS - 1].rstrip() + "…"
    note = "" if fp.specific else "generic: does not identify one bug"
    return text, note


def facts_rows(facts: Facts) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    if facts.product:
        name = product_name(facts.product, facts)
        rows.append(("Product", f"{name} {facts.version}" if facts.version else name))
    if facts.build and facts.product != "llama.cpp":
        rows.append(("llama.cpp build", f"b{facts.build}" + (f" ({facts.commit})" if facts.commit else "")))
    elif facts.commit:
        rows.append(("Commit", facts.commit))
    if facts.os:
        rows.append(("OS", OS_NAMES.get(facts.os, facts.os)))
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
