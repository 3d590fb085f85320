"""`triage eval DIR`: score the engine on a corpus (CONTRACT.md §4).

A corpus is a directory of `*.log` files with `expected.json`; a directory
whose subdirectories are corpora is scored as their union. An entry may carry
`"known_miss": ["id"]` with `"why"`: an id the log shows but the engine does
not find yet. It counts as a miss in recall, like any other, and is listed
apart with its reason, so an expectation is never emptied to match the output.

Many logs are scored on all cores (triage.jobs: this process and workers
that each hold one Engine); results are consumed in a fixed order, so the
figures are identical to the serial path.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

from .engine import Engine
from .errors import InputError
from .load import KnowledgeBase
from .records import NamedTuple

__all__ = ["EvalResult", "evaluate", "find_corpora", "format_eval", "load_expectations", "CORPUS_FORMAT"]

CORPUS_FORMAT = (
    "A corpus is a folder of *.log files plus an expected.json that says, per file, which KB ids must and must "
    'not be reported, e.g. {"crash.log": {"expect": ["cuda-oom"], "forbid": []}} ("forbid": ["*"]: nothing may '
    'match; "known_miss": ["id"] with "why": "...": an id the log shows that the engine does not find yet). '
    "A folder of such folders is scored as their union."
)
PARALLEL_MIN_CASES = 64  # below this a pool costs more than it saves
_SPEC_KEYS = {"expect": list, "forbid": list, "known_miss": list, "not_confident": list, "why": str}


class Outcome(NamedTuple):
    """What one log produced: plain data, so a worker process can send it back."""

    found: list[str]
    confident: list[str]  # the found ids answered with certainty "confident"
    hits: list[tuple[str, str, int]]  # (signature, kb_id, line)
    timeouts: list[str]
    signature_seconds: dict[str, float]
    slowest_regex: dict[str, float]
    seconds: float
    error: str | None
    report: Any  # the Report, only when a grouping score needs it


@dataclass(slots=True)
class EvalResult:
    cases: int = 0
    expected: dict[str, list[int]] = field(default_factory=dict)  # id -> [found, top1, total]
    forbidden: list[str] = field(default_factory=list)  # also confident answers a "not_confident" entry rules out
    confident_unnamed: list[str] = field(default_factory=list)  # confident answers on logs that name no id
    missed: list[str] = field(default_factory=list)
    known_misses: list[str] = field(default_factory=list)  # "label: id: why"
    known_found: list[str] = field(default_factory=list)  # known_miss ids that are now found
    unreadable: list[str] = field(default_factory=list)
    unlisted: list[str] = field(default_factory=list)  # *.log files expected.json does not mention
    signature_hits: dict[str, int] = field(default_factory=dict)
    precision: dict[str, tuple[int, int]] = field(default_factory=dict)  # sig -> (logs naming its id, logs forbidding it or naming others)
    signature_seconds: dict[str, float] = field(default_factory=dict)
    slowest_regex: dict[str, float] = field(default_factory=dict)
    overlaps: list[str] = field(default_factory=list)
    timeouts: list[str] = field(default_factory=list)
    durations: list[float] = field(default_factory=list)
    grouping: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        total = sum(v[2] for v in self.expected.values())
        return sum(v[0] for v in self.expected.values()) / total if total else 1.0

    @property
    def top1(self) -> float:
        total = sum(v[2] for v in self.expected.values())
        return sum(v[1] for v in self.expected.values()) / total if total else 1.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "recall": round(self.recall, 4),
            "top1": round(self.top1, 4),
            "per_id": {k: {"found": v[0], "top1": v[1], "total": v[2]} for k, v in sorted(self.expected.items())},
            "forbidden_hits": self.forbidden,
            "confident_on_logs_naming_no_id": self.confident_unnamed,
            "missed": self.missed,
            "known_misses": self.known_misses,
            "known_misses_now_found": self.known_found,
            "unreadable": self.unreadable,
            "unlisted_logs": self.unlisted,
            "signature_hits": dict(sorted(self.signature_hits.items())),
            "signature_precision": {
                k: {"right": g, "wrong": b, "precision": round(g / (g + b), 4) if g + b else None}
                for k, (g, b) in sorted(self.precision.items())
            },
            "slowest_signatures": [
                {"signature": k, "seconds": round(v, 6), "slowest_regex_seconds": round(self.slowest_regex.get(k, 0.0), 6)}
                for k, v in sorted(self.signature_seconds.items(), key=lambda kv: -kv[1])[:10]
            ],
            "shared_evidence": self.overlaps,
            "regex_timeouts": self.timeouts,
            "grouping": self.grouping,
        }


def find_corpora(directory: Path) -> list[Path]:
    if (directory / "expected.json").is_file():
        return [directory]
    return sorted(p.parent for p in directory.rglob("expected.json"))


def load_expectations(path: Path) -> dict[str, dict[str, Any]]:
    """expected.json, checked: errors name the file and the entry."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path}: {exc}") from exc
    if not isinstance(data, dict):
        raise InputError(f"{path}: must be a JSON object mapping log file names to expectations")
    for name, spec in data.items():
        if not isinstance(spec, dict):
            raise InputError(f"{path}: {name}: must be an object like {{\"expect\": [...], \"forbid\": [...]}}")
        for key, kind in _SPEC_KEYS.items():
            value = spec.get(key)
            if value is not None and (not isinstance(value, kind) or (kind is list and not all(isinstance(v, str) for v in value))):
                raise InputError(f"{path}: {name}.{key}: must be {'a list of KB ids' if kind is list else 'a string'}")
        if spec.get("known_miss") and not spec.get("why"):
            raise InputError(f"{path}: {name}.why: a known_miss needs the reason it is not found yet")
        both = sorted(set(spec.get("expect") or ()) & set(spec.get("known_miss") or ()))
        if both:  # the id would be scored twice: once as expected, once as a known miss
            raise InputError(f"{path}: {name}.known_miss: {', '.join(both)} is also in 'expect'; "
                             "a known miss replaces the expectation (move the id, keep the reason in 'why')")
    return data


def _no_corpus_message(directory: Path) -> str:
    logs = sum(1 for _ in directory.rglob("*.log"))
    found = f"found {logs} *.log file(s) but " if logs else ""
    return f"{directory}: {found}no expected.json here or below, so there is nothing to score. {CORPUS_FORMAT}"


# ---------------------------------------------------------------------------
# Running one log (in this process or a worker).
# ---------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def as_engine(target: Engine | KnowledgeBase) -> Engine:
    """The Engine to analyse with: built once per evaluation, never per log."""
    return target if isinstance(target, Engine) else Engine(target)


def _run_one(engine: Engine, path: Path, keep_report: bool) -> Outcome:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return Outcome([], [], [], [], {}, {}, 0.0, exc.strerror or str(exc), None)
    t0 = time.perf_counter()
    try:
        report = engine.analyse(raw, redact=False, timing=True)
        diag = report.diagnostics
        hits = [(str(sig), str(kb_id), int(line)) for sig, kb_id, line in diag.get("hits", [])]
        timeouts = [str(t) for t in diag.get("timeouts", [])]
        seconds = dict(diag.get("signature_seconds", {}))
        slowest = dict(diag.get("slowest_regex", {}))
    except InputError as exc:
        return Outcome([], [], [], [], {}, {}, 0.0, str(exc), None)
    elapsed = time.perf_counter() - t0
    found = [m.kb_id for m in report.matches]
    confident = [m.kb_id for m in report.matches if m.certainty == "confident"]
    return Outcome(found, confident, hits, timeouts, seconds, slowest, elapsed, None, report if keep_report else None)


def _warm_up(engine: Engine, sample: Path) -> None:
    """Compile what is compiled lazily (every signature's regexes, the keyword index) once, in
    the parent, so forked workers share it instead of each compiling it again."""
    for sig in engine.kb.signatures:
        for name in ("regexes", "unless", "near", "unless_near", "anywhere", "unless_anywhere"):
            getattr(sig, name)
    try:
        _run_one(engine, sample, False)
    except Exception:  # noqa: BLE001 - a failure here shows up again, per log, in the workers
        pass


def _init_worker(kb_dirs: list[str], cache_dir: str | None) -> None:
    """A spawned worker: build the Engine once from the same data (a forked one inherits this process's)."""
    _WORKER["engine"] = Engine.build([Path(d) for d in kb_dirs], Path(cache_dir) if cache_dir else None)


def _work(job: tuple[str, bool]) -> Outcome:
    return _run_one(_WORKER["engine"], Path(job[0]), job[1])


def _lost(job: tuple[str, bool], why: str) -> Outcome:
    """A log a worker process took and never reported (it was killed): unreadable, with the reason."""
    return Outcome([], [], [], [], {}, {}, 0.0, why, None)


def _outcomes(engine: Engine, jobs: list[tuple[Path, bool]], workers: int, kb_dirs: Sequence[Path] | None) -> Iterator[Outcome]:
    """Outcomes in job order, on `workers` processes (triage.jobs) when there are enough logs to pay."""
    from .jobs import Task, in_order, run

    if workers <= 1 or len(jobs) < PARALLEL_MIN_CASES:
        workers = 1
    else:
        _warm_up(engine, jobs[0][0])
    setup: str | None = None  # without the extra KB directories a fresh process cannot rebuild this KB
    args: tuple[Any, ...] = ()
    if kb_dirs is not None and workers > 1:
        from .load import default_cache_dir

        cache = default_cache_dir()
        setup, args = "_init_worker", ([str(d) for d in kb_dirs], str(cache) if cache else None)
    _WORKER["engine"] = engine  # this process analyses with it, and forked workers inherit it
    try:
        task = Task(__name__, "_work", "_lost", setup=setup, setup_args=args)
        yield from in_order(run(task, [(str(p), keep) for p, keep in jobs], workers))
    finally:
        _WORKER.pop("engine", None)


def _progress(total: int) -> Any:
    """A tqdm bar on a terminal only; nothing otherwise."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, file=sys.stderr, unit="log", leave=False, desc="triage eval")


# ---------------------------------------------------------------------------
# Scoring.
# ---------------------------------------------------------------------------


def evaluate(
    directory: Path,
    engine: Engine | KnowledgeBase,
    *,
    jobs: int | None = None,
    kb_dirs: Sequence[Path] | None = None,
) -> EvalResult:
    """Score every corpus at or below `directory`.

    `jobs`: worker processes (None: all cores when there are many logs; 1:
    serial). `kb_dirs`: the extra KB directories `kb` was built from, so a
    spawned worker can build the same Engine (not needed where fork exists).
    """
    engine = as_engine(engine)
    kb = engine.kb
    corpora = find_corpora(directory)
    if not corpora:
        raise InputError(_no_corpus_message(directory))
    result = EvalResult()
    cases: list[tuple[Path, str, dict[str, Any]]] = []
    grouped: dict[Path, Any] = {}
    from . import fingerprint_eval as grouping
    for corpus in corpora:
        expectations = load_expectations(corpus / "expected.json")
        listed = set(expectations)
        result.unlisted.extend(f"{corpus.name}/{p.name}" for p in sorted(corpus.glob("*.log")) if p.name not in listed)
        if (corpus / "groups.json").is_file():
            grouped[corpus] = {}
        cases.extend((corpus, name, spec) for name, spec in sorted(expectations.items()))
    workers = jobs if jobs is not None else (os.cpu_count() or 1)
    job_list = [(corpus / name, corpus in grouped) for corpus, name, _ in cases]
    bar = _progress(len(cases))
    try:
        for (corpus, name, spec), outcome in zip(cases, _outcomes(engine, job_list, workers, kb_dirs)):
            _score(corpus, name, spec, kb, outcome, result)
            if corpus in grouped and outcome.report is not None:
                grouped[corpus][name] = outcome.report
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    for corpus, reports in grouped.items():
        score = grouping.grouping_score(corpus, reports)
        if score is not None:
            result.grouping.append(f"{corpus.name}: {grouping.format_grouping(score)}")
    return result


def _score(corpus: Path, name: str, spec: dict[str, Any], kb: KnowledgeBase, outcome: Outcome, result: EvalResult) -> None:
    label = f"{corpus.name}/{name}"
    if outcome.error is not None:
        result.unreadable.append(f"{label}: {outcome.error}")
        return
    result.cases += 1
    result.durations.append(outcome.seconds)
    for sid, secs in outcome.signature_seconds.items():
        result.signature_seconds[sid] = result.signature_seconds.get(sid, 0.0) + secs
    for sid, secs in outcome.slowest_regex.items():
        result.slowest_regex[sid] = max(result.slowest_regex.get(sid, 0.0), secs)
    result.timeouts.extend(f"{label}: {t}" for t in outcome.timeouts)
    found = outcome.found
    expect: list[str] = spec.get("expect", [])
    known: list[str] = spec.get("known_miss", [])
    forbid: list[str] = spec.get("forbid", [])
    for kb_id in [*expect, *known]:
        stats = result.expected.setdefault(kb_id, [0, 0, 0])
        stats[2] += 1
        if kb_id in found:
            stats[0] += 1
            if kb_id in known:
                result.known_found.append(f"{label}: {kb_id} is found now: move it from known_miss to expect")
        elif kb_id in known:
            result.known_misses.append(f"{label}: {kb_id}: {spec.get('why', '')}")
        else:
            result.missed.append(f"{label}: expected {kb_id}, got {found or 'nothing'}")
        if found and found[0] == kb_id:
            stats[1] += 1
    bad = found if "*" in forbid else [f for f in found if f in forbid]
    for kb_id in bad:
        result.forbidden.append(f"{label}: {kb_id}")
    for kb_id in outcome.confident:
        if kb_id in spec.get("not_confident", []) and kb_id not in bad:
            result.forbidden.append(f"{label}: {kb_id} answered confidently (at most 'possible' allowed)")
    named = set(expect) | set(known)
    if not named and outcome.confident:
        result.confident_unnamed.append(f"{label}: {', '.join(outcome.confident)}")
    for sid, kb_id in sorted({(s, k) for s, k, _ in outcome.hits}):
        result.signature_hits[sid] = result.signature_hits.get(sid, 0) + 1
        good, wrong = result.precision.get(sid, (0, 0))
        if kb_id in named:
            good += 1
        elif kb_id in forbid or "*" in forbid or named:
            wrong += 1
        result.precision[sid] = (good, wrong)
    claims: dict[int, set[str]] = {}
    for _sid, kb_id, line in outcome.hits:
        claims.setdefault(line, set()).add(kb_id)
    for line, ids in sorted(claims.items()):
        if len(ids) > 1:
            result.overlaps.append(f"{label}:{line}: {', '.join(sorted(ids))}")


def format_eval(result: EvalResult, kb: KnowledgeBase | None = None) -> str:
    out = [f"cases: {result.cases}"]
    out.append("per id (found/total, top-1):")
    for kb_id, (found, top1, total) in sorted(result.expected.items()):
        flag = "" if found == total else "   <-- missed"
        out.append(f"  {kb_id:42} {found}/{total}  top-1 {top1}/{total}{flag}")
    for line in result.missed:
        out.append(f"  missed: {line}")
    if result.known_misses:
        out.append(f"known misses (counted as misses in recall): {len(result.known_misses)}")
        out.extend(f"  {k}" for k in result.known_misses)
    for line in result.known_found:
        out.append(f"  {line}")
    out.append("signatures: logs hit, and precision (hits on logs naming its id / hits on logs naming or forbidding ids):")
    weights = {s.id: (s.weight, s.ungated_weight) for s in kb.signatures} if kb is not None else {}
    for sid, n in sorted(result.signature_hits.items(), key=lambda kv: (-kv[1], kv[0])):
        good, wrong = result.precision.get(sid, (0, 0))
        prec = f"{good / (good + wrong):.2f} ({good}/{good + wrong})" if good + wrong else "  -"
        main, ungated = weights.get(sid, (None, None))
        weight = f"  weight {main:.2f}" if main is not None else ""
        weight += f" (ungated {ungated:.2f})" if ungated is not None else ""
        out.append(f"  {sid:52} {n:4}  precision {prec}{weight}")
    out.append("slowest signatures (total seconds, slowest single regex):")
    for sid, secs in sorted(result.signature_seconds.items(), key=lambda kv: -kv[1])[:8]:
        out.append(f"  {sid:48} {secs * 1000:8.2f} ms  {result.slowest_regex.get(sid, 0) * 1000:6.2f} ms")
    if result.overlaps:
        out.append("lines claimed by two entries:")
        out.extend(f"  {o}" for o in result.overlaps)
    if result.timeouts:
        out.append("regex timeouts:")
        out.extend(f"  {t}" for t in result.timeouts)
    if result.unreadable:
        out.append("unreadable:")
        out.extend(f"  {u}" for u in result.unreadable)
    if result.unlisted:
        out.append(f"logs not in expected.json (not scored): {len(result.unlisted)}")
        out.extend(f"  {u}" for u in result.unlisted)
    if result.grouping:
        out.append("grouping:")
        out.extend(f"  {g}" for g in result.grouping)
    durations = sorted(result.durations)
    if durations:
        median = durations[len(durations) // 2]
        p99 = durations[min(len(durations) - 1, int(len(durations) * 0.99))]
        out.append(f"time per log: median {median * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms")
    out.append(f"confident answers on logs that name no id: {len(result.confident_unnamed)}")
    out.extend(f"  {c}" for c in result.confident_unnamed)
    out.append(f"forbidden hits: {len(result.forbidden)}")
    out.extend(f"  FORBIDDEN {f}" for f in result.forbidden)
    known = f" ({len(result.known_misses)} known misses counted)" if result.known_misses else ""
    out.append(f"recall: {result.recall:.3f}  top-1: {result.top1:.3f}{known}")
    return "\n".join(out)
