"""Score crash grouping on a corpus of known duplicates (`groups.json`).

Pairwise, like the issue asks: same-bug pairs that share a specific
fingerprint (recall), hard-negative pairs that wrongly share one, and all
different-bug pairs that do (false merges). `triage eval` calls these when
the corpus directory has a `groups.json`.
"""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path
from typing import Any, Mapping

from .errors import DataError, DataErrors
from .fingerprint_rules import FingerprintRules, load_fingerprint_rules
from .model import Fingerprint, Report
from .records import NamedTuple

__all__ = ["GroupingScore", "format_grouping", "grouping_score", "load_groups"]


class GroupingScore(NamedTuple):
    logs: int
    same_pairs: int
    same_shared: int
    hard_pairs: int
    hard_shared: int
    diff_pairs: int
    diff_shared: int
    split: list[tuple[str, str]]  # same-bug pairs that did not share a specific fingerprint
    merged_hard: list[tuple[str, str]]  # hard negatives that did
    merged: list[tuple[str, str]]  # any different-bug pair that did
    fingerprints: dict[str, Fingerprint | None]

    @property
    def recall(self) -> float:
        return self.same_shared / self.same_pairs if self.same_pairs else 1.0

    @property
    def false_merge_rate(self) -> float:
        return self.diff_shared / self.diff_pairs if self.diff_pairs else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "logs": self.logs,
            "same_bug_pairs": self.same_pairs,
            "same_bug_pairs_sharing": self.same_shared,
            "recall": round(self.recall, 4),
            "hard_negative_pairs": self.hard_pairs,
            "hard_negative_pairs_sharing": self.hard_shared,
            "different_bug_pairs": self.diff_pairs,
            "different_bug_pairs_sharing": self.diff_shared,
            "false_merge_rate": round(self.false_merge_rate, 4),
            "split": [list(p) for p in self.split],
            "merged_hard_negatives": [list(p) for p in self.merged_hard],
            "merged": [list(p) for p in self.merged],
        }


def load_groups(corpus_dir: Path) -> tuple[dict[str, list[str]], list[tuple[str, str]]] | None:
    """`groups.json` of a corpus, or None when it has none; DataErrors when malformed."""
    path = Path(corpus_dir) / "groups.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataErrors([DataError(str(path), "", f"cannot read: {exc}")]) from None
    errors: list[DataError] = []
    groups = data.get("groups") if isinstance(data, dict) else None
    if not isinstance(groups, dict) or not all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(f, str) for f in v) for k, v in groups.items()
    ):
        errors.append(DataError(str(path), "groups", "must map a group name to a list of log file names"))
        groups = {}
    hard = data.get("hard_negatives", []) if isinstance(data, dict) else []
    if not isinstance(hard, list) or not all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(f, str) for f in p) for p in hard
    ):
        errors.append(DataError(str(path), "hard_negatives", "must be a list of [a.log, b.log] pairs"))
        hard = []
    seen: dict[str, str] = {}
    for name, files in groups.items():
        for file in files:
            if file in seen:
                errors.append(DataError(str(path), f"groups.{name}", f"{file} is also in group {seen[file]!r}"))
            seen[file] = name
            if not (Path(corpus_dir) / file).is_file():
                errors.append(DataError(str(path), f"groups.{name}", f"no file {file}"))
    for a, b in hard:
        for file in (a, b):
            if not (Path(corpus_dir) / file).is_file():
                errors.append(DataError(str(path), "hard_negatives", f"no file {file}"))
        if a in seen and seen.get(a) == seen.get(b):
            errors.append(DataError(str(path), "hard_negatives", f"{a} and {b} are in the same group"))
    if errors:
        raise DataErrors(errors)
    return {k: list(v) for k, v in groups.items()}, [(a, b) for a, b in hard]


def _fingerprint_of(value: Report | Fingerprint | None, rules: FingerprintRules | None) -> Fingerprint | None:
    """The report's own fingerprint, or one computed here until the engine fills it in."""
    if value is None or isinstance(value, Fingerprint):
        return value
    if value.fingerprint is not None:
        return value.fingerprint
    from .fingerprint import fingerprint

    return fingerprint(value.key_lines, value.matches, rules or load_fingerprint_rules())


def _shares(a: Fingerprint | None, b: Fingerprint | None) -> bool:
    return a is not None and b is not None and a.specific and b.specific and a.id == b.id


def grouping_score(
    corpus_dir: Path,
    reports: Mapping[str, Report | Fingerprint | None],
    rules: FingerprintRules | None = None,
) -> GroupingScore | None:
    """Pairwise grouping figures over the corpus logs in `reports` (file name -> report).

    None when the corpus has no `groups.json`; DataErrors when it is malformed.
    `rules` is used only for reports the engine has not fingerprinted yet.
    """
    loaded = load_groups(corpus_dir)
    if loaded is None:
        return None
    groups, hard = loaded
    if rules is None and any(isinstance(v, Report) and v.fingerprint is None for v in reports.values()):
        rules = load_fingerprint_rules()
    prints = {name: _fingerprint_of(value, rules) for name, value in sorted(reports.items())}
    group_of = {f: g for g, files in groups.items() for f in files}
    same_pairs = same_shared = diff_pairs = diff_shared = 0
    split: list[tuple[str, str]] = []
    merged: list[tuple[str, str]] = []
    for a, b in combinations(sorted(prints), 2):
        shared = _shares(prints[a], prints[b])
        if a in group_of and group_of.get(a) == group_of.get(b):
            same_pairs += 1
            same_shared += shared
            if not shared:
                split.append((a, b))
        else:
            diff_pairs += 1
            diff_shared += shared
            if shared:
                merged.append((a, b))
    merged_hard = [(a, b) for a, b in hard if a in prints and b in prints and _shares(prints[a], prints[b])]
    return GroupingScore(
        logs=len(prints),
        same_pairs=same_pairs,
        same_shared=same_shared,
        hard_pairs=sum(1 for a, b in hard if a in prints and b in prints),
        hard_shared=len(merged_hard),
        diff_pairs=diff_pairs,
        diff_shared=diff_shared,
        split=split,
        merged_hard=merged_hard,
        merged=merged,
        fingerprints=prints,
    )


def format_grouping(score: GroupingScore) -> str:
    """The figures as `triage eval` prints them, with the pairs that went wrong."""
    out = [  # no heading: `triage eval` prints "<corpus>: " before the first line
        f"same-bug pairs sharing a specific fingerprint: {score.same_shared}/{score.same_pairs} ({score.recall:.0%})",
        f"  hard-negative pairs sharing one: {score.hard_shared}/{score.hard_pairs}",
        f"  different-bug pairs sharing one: {score.diff_shared}/{score.diff_pairs} ({score.false_merge_rate:.2%})",
    ]
    for a, b in score.split:
        fa, fb = score.fingerprints.get(a), score.fingerprints.get(b)
        out.append(f"  split: {a} [{fa.text if fa else '-'}] / {b} [{fb.text if fb else '-'}]")
    for a, b in score.merged:
        fa = score.fingerprints.get(a)
        tag = " (hard negative)" if (a, b) in score.merged_hard or (b, a) in score.merged_hard else ""
        out.append(f"  merged{tag}: {a} / {b} [{fa.text if fa else '-'}]")
    return "\n".join(out)
