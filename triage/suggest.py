"""Nearest KB entries for a log nothing matched (rapidfuzz, imported lazily)."""

from __future__ import annotations

from collections.abc import Callable

from .load import KnowledgeBase
from .model import KeyLine, Suggestion

__all__ = ["build_suggestion_index", "search_kb", "suggest"]


def _documents(kb: KnowledgeBase) -> dict[str, str]:
    docs: dict[str, str] = {}
    for entry in kb.entries.values():
        parts = [entry.id.replace("-", " "), entry.title, entry.summary]
        parts += [s.description for s in kb.signatures_for(entry.id)]
        parts += [ex for s in kb.signatures_for(entry.id) for ex in s.examples_match[:2] + s.examples_match_ungated[:2]]
        docs[entry.id] = " ".join(parts)
    return docs


def search_kb(kb: KnowledgeBase, query: str, limit: int = 5, cutoff: float = 40.0) -> list[Suggestion]:
    from rapidfuzz import fuzz, process, utils

    docs = _documents(kb)
    results = process.extract(
        query, docs, scorer=fuzz.token_set_ratio, processor=utils.default_process, limit=limit, score_cutoff=cutoff
    )
    return [Suggestion(kb_id=key, title=kb.entries[key].title, score=round(score / 100, 2)) for _, score, key in results]


CONTEXT_WEIGHT = 0.75  # an example's context line counts this much of its similarity (1.00 -> 0.75)


def build_suggestion_index(kb: KnowledgeBase) -> tuple[list[str], list[str], list[float]]:
    """(lines, kb_id of each, weight of each) from every signature's positive examples; an Engine builds it once. The lines are
    stored already put through rapidfuzz's `default_process`, so a lookup processes only its query (processing
    every example line on each lookup was the largest single cost for a log nothing matched: 2 ms a call)."""
    from rapidfuzz import utils

    found: dict[str, set[str]] = {}
    weight: dict[str, float] = {}
    for sig in kb.signatures:
        words = [k.decode("utf-8", "replace") for k in sig.keywords]
        for example in sig.examples_match + sig.examples_match_ungated:
            lines = [line.strip() for line in example.splitlines() if len(line.strip()) >= 12]
            # The lines that carry one of the signature's keywords are its evidence; the rest of a multi-line example
            # is context (the command typed, a pull that failed first): a log showing only that context is less near
            # (round 94p: Ollama's bare `Error: pull model manifest: file does not exist` was 1.00 near an entry whose
            # example merely printed it before its own error).
            evidence = {line for line in lines if any(w in line.lower() for w in words)} or set(lines)
            for line in lines:
                key = utils.default_process(line[:300])
                found.setdefault(key, set()).add(sig.kb_id)
                weight[key] = max(weight.get(key, 0.0), 1.0 if line in evidence else CONTEXT_WEIGHT)
    # A line the examples of two or more entries share (a traceback header, `Segmentation fault (core dumped)`) cannot
    # tell them apart, so only lines of one entry are kept.
    kept = [(line, next(iter(ids))) for line, ids in found.items() if len(ids) == 1]
    return [line for line, _ in kept], [owner for _, owner in kept], [weight[line] for line, _ in kept]


def suggest(
    kb: KnowledgeBase,
    keylines: list[KeyLine],
    index: Callable[[], tuple[list[str], list[str], list[float]]],
    limit: int = 3,
    cutoff: float = 60.0,
) -> list[Suggestion]:
    """Entries whose example lines look most like the log's specific error lines.

    Similarity is rapidfuzz's normalised edit-distance ratio of whole lines, so a
    shared word ("model", "failed") alone does not make a suggestion. `index` is called only when the log has a
    specific line to compare: most logs nothing matched have none, and building the index (and importing
    rapidfuzz) costs a one-shot `triage` about 6 ms.

    Only the log's best tier of lines is compared: when it has a specific error line (score 90), a generic one beside
    it ("main: exiting due to model loading error") would otherwise pull in whichever entry happens to quote that
    boilerplate in an example, at a score of 1.00 (docker/model-runner#672, round 94f)."""
    top = max((k.score for k in keylines), default=0)
    specific = [k.text for k in keylines if k.score >= max(60, top)][:4]
    if not specific:
        return []
    from rapidfuzz import fuzz, process, utils

    lines, owners, weights = index()
    best: dict[str, float] = {}
    for text in specific:
        for _, score, position in process.extract(
            utils.default_process(text[:300]), lines, scorer=fuzz.ratio, limit=10, score_cutoff=cutoff
        ):
            kb_id, weighted = owners[position], score * weights[position]
            if weighted >= cutoff:
                best[kb_id] = max(best.get(kb_id, 0.0), weighted)
    ranked = sorted(best.items(), key=lambda kv: -kv[1])[:limit]
    return [Suggestion(kb_id=k, title=kb.entries[k].title, score=round(s / 100, 2)) for k, s in ranked]
