"""Start-up cache (issue 16 item 3): precompiled patterns and the cache key.

A warm start must compile no signature or fact-rule regex (they come pickled from the cache, which holds
regex's compiled program), give the very same reports as a cold one, and notice every data change."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path
from typing import Any

import pytest
import regex

from triage import load, rx
from triage.engine import Engine
from triage.facts import FACT_FLAGS
from triage.load import REGEX_FLAGS, Patterns, _cache_path, builtin_dir
from triage.render import report_dict

TESTS = Path(__file__).resolve().parent
LOGS = sorted((TESTS / "corpus").glob("*.log"))[::25]


def _kb_sources(engine: Engine) -> set[str]:
    """Every signature pattern (ungated readings' vetoes included) and fact-rule pattern."""
    return {p for s in engine.kb.signatures for p in s.sources()} | {r.source for r in engine.fact_rules}


def test_warm_engine_compiles_no_kb_pattern(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Engine.build(cache_dir=tmp_path)  # cold: validates, precompiles and writes the cache
    warm = Engine.build(cache_dir=tmp_path)
    assert len(warm.kb.compiled) > 300
    compiled: list[str] = []
    real = regex.compile

    def counting(pattern: Any, flags: int = 0, *args: Any, **kwargs: Any) -> Any:
        compiled.append(pattern)
        return real(pattern, flags, *args, **kwargs)

    monkeypatch.setattr(regex, "compile", counting)
    matched = 0
    for log in LOGS:
        matched += bool(warm.analyse(log.read_bytes()).matches)
    assert matched >= len(LOGS) // 2
    assert not set(compiled) & _kb_sources(warm), sorted(set(compiled) & _kb_sources(warm))[:3]


def test_cached_kb_thaws_prose_and_examples_only_when_read(tmp_path: Path) -> None:
    """Entries and the signatures' prose, emitters and examples stay pickled in a warm KB until something reads
    them (a run renders the one or two entries it matched), and read back equal to the validated data."""
    Engine.build(cache_dir=tmp_path)
    warm = load.load_kb(cache=tmp_path)
    fresh = load.load_kb(cache=None)
    assert isinstance(warm.entries, load.FrozenEntries)
    assert not warm.entries._thawed
    assert all(type(sig._cold) is bytes for sig in warm.signatures)
    sig = warm.signatures[0]
    assert sig.examples_match == fresh.signatures[0].examples_match and sig.examples_match
    assert type(sig._cold) is tuple and all(type(s._cold) is bytes for s in warm.signatures[1:])
    assert [s.record() for s in warm.signatures] == [s.record() for s in fresh.signatures]
    kb_id = next(iter(fresh.entries))
    assert warm.entries[kb_id] == fresh.entries[kb_id] and list(warm.entries._thawed) == [kb_id]
    assert sorted(warm.entries) == sorted(fresh.entries) and len(warm.entries) == len(fresh.entries)
    assert dict(warm.entries.items()) == dict(fresh.entries.items())
    assert "no-such-id" not in warm.entries and warm.entries.get("no-such-id") is None
    # Pickled again (a worker process, a cache rewrite): the same data.
    assert [s.record() for s in pickle.loads(pickle.dumps(warm.signatures))] == [s.record() for s in fresh.signatures]
    assert pickle.loads(pickle.dumps(warm.entries)) == dict(fresh.entries)


def test_cached_signatures_thaw_only_when_a_run_reads_them(tmp_path: Path) -> None:
    """A warm run turns into objects only the signatures its log's keywords name (and those without keywords):
    the rest stay pickled. Their ids, entry ids and keywords are read from plain columns, equal to the data's."""
    Engine.build(cache_dir=tmp_path)
    warm = Engine.build(cache_dir=tmp_path)
    fresh = load.load_kb(cache=None)
    sigs = warm.kb.signatures
    assert isinstance(sigs, load.FrozenSignatures)
    assert len(sigs) == len(fresh.signatures) and sigs._thawed.count(None) == len(sigs)  # the index read columns only
    assert list(sigs.id) == [s.id for s in fresh.signatures]
    assert list(sigs.kb_id) == [s.kb_id for s in fresh.signatures]
    assert list(sigs.keywords) == [s.keywords for s in fresh.signatures]
    log = TESTS / "corpus" / "metal-init-failed__llamacpp6426-llama-cpp-python-server-m1.log"
    report = warm.analyse(log.read_bytes())
    assert report.matches and report.matches[0].kb_id == "metal-init-failed"
    thawed = len(sigs) - sigs._thawed.count(None)
    assert 0 < thawed < len(sigs) // 4, thawed
    target = fresh.signatures[-1]
    assert warm.kb.signature(target.id).record() == target.record()
    assert [s.id for s in warm.kb.signatures_for(target.kb_id)] == [s.id for s in fresh.signatures_for(target.kb_id)]
    with pytest.raises(KeyError):
        warm.kb.signature("no-such-signature")
    assert [s.id for s in sigs[2:5]] == [s.id for s in fresh.signatures[2:5]]


def test_precompiled_patterns_give_the_same_reports(tmp_path: Path) -> None:
    Engine.build(cache_dir=tmp_path)
    warm = Engine.build(cache_dir=tmp_path)
    fresh = Engine.build(cache_dir=None)
    assert not fresh.kb.compiled
    for log in LOGS:
        data = log.read_bytes()
        assert report_dict(warm.analyse(data)) == report_dict(fresh.analyse(data)), log.name


def test_a_damaged_or_foreign_entry_is_compiled_afresh() -> None:
    other = pickle.dumps(regex.compile("b+", REGEX_FLAGS))
    store = Patterns({("a+", REGEX_FLAGS): b"not a pickle", ("c+", FACT_FLAGS): other})
    for source, flags in (("a+", REGEX_FLAGS), ("c+", FACT_FLAGS), ("d+", FACT_FLAGS)):
        found = store.get(source, flags)
        assert found.pattern == rx.source(source, flags) and found.search(f"x{source[0] * 3}y")
        assert store.get(source, flags) is found  # compiled once


def test_precompile_leaves_out_what_does_not_compile() -> None:
    out = load.precompile([("ok(", REGEX_FLAGS), ("ok", REGEX_FLAGS), ("ok", REGEX_FLAGS)])
    assert list(out) == [("ok", REGEX_FLAGS)]
    assert pickle.loads(out[("ok", REGEX_FLAGS)]).search("OK")  # the signature flags: case-insensitive


def _copy_kb(tmp_path: Path) -> Path:
    src = builtin_dir()
    dst = tmp_path / "kb"
    for sub in ("signatures", "kb", "products", "tables", "fingerprints"):
        if (src / sub).is_dir():
            shutil.copytree(src / sub, dst / sub)
    return dst


def test_cache_key_follows_every_data_change(tmp_path: Path) -> None:
    kb = _copy_kb(tmp_path)
    root = tmp_path / "cache"
    key = _cache_path([kb], root)
    assert key is not None and key == _cache_path([kb], root)
    seen = {key}
    sig = sorted((kb / "signatures").glob("*.toml"))[0]
    entry = sorted((kb / "kb").glob("*.md"))[0]
    stat = sig.stat()
    os.utime(sig, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # touched
    for change in (
        lambda: None,
        lambda: sig.write_text(sig.read_text(encoding="utf-8") + "\n", encoding="utf-8"),  # edited
        lambda: (kb / "signatures" / "new.toml").write_text("", encoding="utf-8"),  # added
        lambda: entry.unlink(),  # removed
        lambda: (kb / "fingerprints" / "extra.toml").write_text("", encoding="utf-8"),  # a fingerprint file
        lambda: (kb / "tables" / "t.toml").write_text("", encoding="utf-8"),  # a table
    ):
        change()
        new = _cache_path([kb], root)
        assert new is not None and new not in seen
        seen.add(new)
    (kb / "signatures" / "notes.txt").write_text("not data", encoding="utf-8")
    assert _cache_path([kb], root) in seen  # files the loader never reads do not matter


def test_flat_kb_directory_is_keyed_by_its_own_files(tmp_path: Path) -> None:
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "a.toml").write_text("", encoding="utf-8")
    root = tmp_path / "cache"
    before = _cache_path([flat], root)
    (flat / "b.md").write_text("x", encoding="utf-8")
    assert before is not None and _cache_path([flat], root) not in (None, before)


def test_missing_data_directory_means_no_cache_path_error(tmp_path: Path) -> None:
    # A directory that vanished is reported by validation, not by the cache key.
    assert _cache_path([tmp_path / "gone"], tmp_path / "cache") is not None


def test_signature_patterns_fold_case_simply() -> None:
    """Full case folding is off for the signatures' flags (rx.compile): `ß` is not `SS` there, while plain case
    still folds. With it on, `regex` took over a second on a few hundred `i`s for a class holding `\\w` repeated in an
    alternation (`(?:sd|[\\w.-]{0,80}\\.llamafile)`); bench/'s crafted inputs measure the speed, this pins the switch."""
    assert rx.compile("ß", REGEX_FLAGS).search("SS") is None
    assert rx.compile("Killed", REGEX_FLAGS).search("KILLED")
    assert rx.compile("(?:sd|[\\w.-]{0,80}\\.llamafile)", REGEX_FLAGS).search("run ./Model.LLAMAFILE")
