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


def build_suggestion_index(kb: KnowledgeBase) -> tuple[list[str], list[str]]:
    """(lines, kb_id of each) from every signature's positive examples; an Engine builds it once. The lines are
    stored already put through rapidfuzz's `default_process`, so a lookup processes only its query (processing
    every example line on each lookup was the largest single cost for a log nothing matched: 2 ms a call)."""
    from rapidfuzz import utils

    lines: list[str] = []
    owners: list[str] = []
    for sig in kb.signatures:
        for example in sig.examples_match + sig.examples_match_ungated:
            for line in example.splitlines():
                if len(line.strip()) >= 12:
                    lines.append(utils.default_process(line.strip()[:300]))
                    owners.append(sig.kb_id)
    return lines, owners


def suggest(
    kb: KnowledgeBase,
    keylines: list[KeyLine],
    index: Callable[[], tuple[list[str], list[str]]],
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

    lines, owners = index()
    best: dict[str, float] = {}
    for text in specific:
        for _, score, position in process.extract(
            utils.default_process(text[:300]), lines, scorer=fuzz.ratio, limit=10, score_cutoff=cutoff
        ):
            kb_id = owners[position]
            best[kb_id] = max(best.get(kb_id, 0.0), score)
    ranked = sorted(best.items(), key=lambda kv: -kv[1])[:limit]
    return [Suggestion(kb_id=k, title=kb.entries[k].title, score=round(s / 100, 2)) for k, s in ranked]
