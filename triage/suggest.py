"""Nearest KB entries for a log nothing matched (rapidfuzz, imported lazily)."""

from __future__ import annotations

from .load import KnowledgeBase
from .model import KeyLine, Suggestion

__all__ = ["search_kb", "suggest"]


def _documents(kb: KnowledgeBase) -> dict[str, str]:
    docs: dict[str, str] = {}
    for entry in kb.entries.values():
        parts = [entry.id.replace("-", " "), entry.title, entry.summary]
        parts += [s.description for s in kb.signatures_for(entry.id)]
        parts += [ex for s in kb.signatures_for(entry.id) for ex in s.examples_match[:2]]
        docs[entry.id] = " ".join(parts)
    return docs


def search_kb(kb: KnowledgeBase, query: str, limit: int = 5, cutoff: float = 40.0) -> list[Suggestion]:
    from rapidfuzz import fuzz, process, utils

    docs = _documents(kb)
    results = process.extract(
        query, docs, scorer=fuzz.token_set_ratio, processor=utils.default_process, limit=limit, score_cutoff=cutoff
    )
    return [Suggestion(kb_id=key, title=kb.entries[key].title, score=round(score / 100, 2)) for _, score, key in results]


def suggest(kb: KnowledgeBase, keylines: list[KeyLine], limit: int = 3) -> list[Suggestion]:
    """Entries whose wording is closest to the log's most specific error lines."""
    specific = [k.text for k in keylines if k.score >= 60][:3]
    if not specific:
        return []
    from rapidfuzz import fuzz, process, utils

    docs = _documents(kb)
    best: dict[str, float] = {}
    for line in specific:
        for _, score, key in process.extract(
            line[:300], docs, scorer=fuzz.partial_token_set_ratio, processor=utils.default_process, limit=limit, score_cutoff=60
        ):
            best[key] = max(best.get(key, 0.0), score)
    ranked = sorted(best.items(), key=lambda kv: -kv[1])[:limit]
    return [Suggestion(kb_id=k, title=kb.entries[k].title, score=round(s / 100, 2)) for k, s in ranked]
