"""Hits to ranked, filled-in matches.

Specific beats generic: a cause outranks a wrapper (exit codes, "runner
terminated"), and a match built only on generic symptoms is never confident.
"""

from __future__ import annotations

from .compute import compute_values
from .load import Entry, KnowledgeBase, Signature
from .model import Evidence, Facts, Hit, Match, Remedy, RemedyStep, names_itself
from .placeholders import fill
from .versions import verdict

__all__ = ["CONFIDENT", "rank"]

CONFIDENT = 0.6  # at or above: "confident"; below: "possible"
WRAPPER_CAP = 0.55
GENERIC_CAP = 0.45
# Readings that are each only "possible" (weights below CONFIDENT, ungated readings among them) stay possible
# together: two retellings of one event are not evidence of a runtime (a shell's `Killed` beside the kernel's OOM line
# of a faster-whisper run named no program of the family, yet added up to a confident 0.60).
POSSIBLE_CAP = 0.59
MAX_EVIDENCE = 6


def _values(
    hits: list[Hit], facts: Facts, entry: Entry, fixed_in: str | None, versions: str | None, kb: KnowledgeBase
) -> dict[str, str]:
    groups: dict[str, str] = {}
    for hit in hits:
        for key, value in hit.groups:
            groups.setdefault(key, value)
    values: dict[str, str] = {"title": entry.title, "kb_id": entry.id}
    if fixed_in:
        values["fixed_in"] = fixed_in
    if versions:
        values["affected_versions"] = versions
    values.update(facts.values())
    product = kb.products.get(facts.product or "")
    values.update(compute_values(groups, facts, kb.tables, product, kb.listed_products))
    values.update(groups)
    return values


def _remedies(
    items: list[Remedy], facts: Facts, values: dict[str, str], status: str, kb: KnowledgeBase, hint: str | None = None
) -> tuple[list[RemedyStep], list[str]]:
    """(steps shown, other runtimes' remedies). Steps that cannot apply are dropped: another OS, or "update to
    the fixed release" when the user's version already has the fix. A known runtime sees its own steps first,
    then the generic ones; an unknown one sees the generic steps, then each runtime's under its name.
    `hint`: the one runtime every matching signature belongs to, used when the log does not name its runtime."""
    product, os_name = facts.product or hint, facts.os
    own: list[RemedyStep] = []
    generic: list[RemedyStep] = []
    grouped: dict[str, list[RemedyStep]] = {}
    other: list[str] = []
    seen: set[str] = set()
    for item in items:
        if item.os and os_name and os_name not in item.os:
            continue
        if item.update and status == "fixed" and (not item.products or product in item.products):
            continue
        text = fill(item.text, values)
        if text is None or text in seen:
            continue
        seen.add(text)
        os_label = ",".join(item.os) or None
        if not item.products:
            generic.append(RemedyStep(text, None, os_label, None))
        elif product is None:
            first = item.products[0]
            names = " / ".join(kb.product_name(p) or p for p in item.products)
            grouped.setdefault(first, []).append(RemedyStep(text, first, os_label, names))
        elif product in item.products:
            own.append(RemedyStep(text, product, os_label, kb.product_name(product)))
        else:
            names = " / ".join(kb.product_name(p) or p for p in item.products)
            other.append(text if names_itself(text, names) else f"{names}: {text}")
    if product is not None:
        return own + generic, other
    order = {p.id: i for i, p in enumerate(kb.listed_products)}
    steps = list(generic)
    for pid in sorted(grouped, key=lambda p: order.get(p, len(order))):
        steps.extend(grouped[pid])
    return steps, other


def _confidence(entry: Entry, hits: list[Hit], sigs: dict[str, Signature], facts: Facts) -> float:
    # A signature's two readings (gated, ungated) count as two signatures, as the twins they replace did.
    used = {(h.signature, h.ungated) for h in hits}
    weights = []
    for sid, ungated in used:
        sig = sigs[sid]
        weight = sig.weight_of(ungated)
        if sig.products and facts.product and facts.product not in sig.products:
            weight *= 0.75
        weights.append(weight)
    conf = max(weights) + min(0.1, 0.05 * (len(used) - 1))
    if all(sigs[s].generic for s, _ in used):
        conf = min(conf, GENERIC_CAP)
    if max(weights) < CONFIDENT:
        conf = min(conf, POSSIBLE_CAP)
    if entry.kind == "wrapper":
        conf = min(conf, WRAPPER_CAP)
    return min(conf, 0.99)


def _evidence(hits: list[Hit]) -> list[Evidence]:
    out: list[Evidence] = []
    seen: set[int] = set()
    seen_text: set[str] = set()
    for hit in hits:
        for line, text in ((hit.line, hit.text), *hit.context):
            if line in seen or not text.strip() or text.strip() in seen_text:
                continue
            seen.add(line)
            seen_text.add(text.strip())
            out.append(Evidence(line=line, text=text.strip()[:500], signature=hit.signature))
        if len(out) >= MAX_EVIDENCE:
            break
    return out[:MAX_EVIDENCE]


def _pick_variant(entry: Entry, hits: list[Hit], sigs: dict[str, Signature]) -> int | None:
    best: tuple[float, int] | None = None
    for i, variant in enumerate(entry.variants):
        score = max((sigs[h.signature].weight_of(h.ungated) for h in hits if h.signature in variant.signatures), default=0.0)
        if score and (best is None or score > best[0]):
            best = (score, i)
    return None if best is None else best[1]


def rank(hits: list[Hit], facts: Facts, kb: KnowledgeBase) -> list[Match]:
    sigs = {h.signature: kb.signature(h.signature) for h in hits}  # only the hits' own: the rest stay frozen
    by_kb: dict[str, list[Hit]] = {}
    for hit in hits:
        by_kb.setdefault(hit.kb_id, []).append(hit)
    matches: list[Match] = []
    for kb_id, kb_hits in by_kb.items():
        entry = kb.entries[kb_id]
        # Strongest evidence first, then by position.
        kb_hits.sort(key=lambda h: (-sigs[h.signature].weight_of(h.ungated), h.line))
        vi = _pick_variant(entry, kb_hits, sigs)
        variant = entry.variants[vi] if vi is not None else None
        affected_specs = list(variant.affected) if variant and variant.affected is not None else list(entry.affected)
        status, note, spec = verdict(facts.product, facts.version, affected_specs, kb.product_name(facts.product))
        if spec is None and affected_specs and not facts.product:
            spec = affected_specs[0]
            fixes = [f"{kb.product_name(a.product)} {a.fixed_in}" for a in affected_specs if a.fixed_in]
            if fixes:
                note = "Fixed in " + ", ".join(fixes) + " (the log does not say which program this is)."
        values = _values(kb_hits, facts, entry, spec.fixed_in if spec else None, spec.versions if spec else None, kb)
        cause = fill(variant.cause if variant else entry.root_cause, values)
        if cause is None:
            cause = fill(entry.root_cause, values) or entry.summary
        items = list(variant.remedies if variant else ()) + list(entry.remedies)
        hinted = {p for h in kb_hits for p in sigs[h.signature].products}
        hint = next(iter(hinted)) if len(hinted) == 1 and all(sigs[h.signature].products for h in kb_hits) else None
        steps, other = _remedies(items, facts, values, status, kb, hint)
        confidence = _confidence(entry, kb_hits, sigs, facts)
        ordered = sorted(kb_hits, key=lambda h: h.line)
        matches.append(
            Match(
                kb_id=kb_id,
                title=fill(variant.title if variant and variant.title else entry.title, values) or entry.title,
                confidence=confidence,
                certainty="confident" if confidence >= CONFIDENT else "possible",
                kind=entry.kind,
                variant=variant.id if variant else None,
                root_cause=cause,
                summary=fill(entry.summary, values) or entry.summary,
                remedies=[step.text for step in steps],
                other_remedies=other,
                remedy_steps=steps,
                affected=[
                    {k: v for k, v in {"product": a.product, "versions": a.versions, "fixed_in": a.fixed_in or ""}.items() if v}
                    for a in affected_specs
                ],
                version_status=status,
                version_note=note,
                evidence=_evidence(kb_hits[:1] + ordered),
                hit_count=len(kb_hits),
                labels=[f"triage:{kb_id}", *entry.labels],
                references=list(entry.references),
                source=f"kb/{kb_id}.md",
                values=values,
                confirm=fill(entry.confirm, values) or "" if entry.confirm else "",
            )
        )
    matches.sort(key=lambda m: (m.certainty != "confident", m.kind == "wrapper", -m.confidence, m.evidence[0].line if m.evidence else 0))
    return matches
