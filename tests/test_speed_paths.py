"""The fast paths of issue 16 give the same answers as the plain ones (behaviour checks, nothing timed)."""

from __future__ import annotations

import mmap
import sys
from pathlib import Path
from typing import Any, cast

import pytest

from triage import group
from triage.engine import Engine
from triage.match import scan
from triage.normalize import COUNT_CHUNK, Log, normalize

ROOT = Path(__file__).resolve().parent.parent
CORPUS = sorted((ROOT / "tests" / "corpus").glob("*.log"))


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.build()


def _summary(engine: Engine, data: bytes) -> tuple[object, ...]:
    r = engine.analyse(data)
    return (
        [(m.kb_id, m.certainty, m.confidence, [(e.line, e.text) for e in m.evidence]) for m in r.matches],
        r.facts,
        r.key_lines,
        r.line_count,
        r.completeness,
    )


def test_fast_scanner_on_small_logs_changes_no_answer(engine: Engine) -> None:
    """`triage group` workers scan every log with the fast scanner (small_log = 0): same reports."""
    bulk = Engine(engine.kb)
    bulk.index.small_log = 0
    plain = Engine(engine.kb)
    plain.index.backend = "python"  # never warms up: bytes.find on every log
    for path in CORPUS[::3]:
        data = path.read_bytes()
        assert _summary(bulk, data) == _summary(plain, data), path.name


def test_a_long_lived_engine_warms_up_to_the_fast_scanner(engine: Engine) -> None:
    """The bot, `triage serve` and `triage eval` keep one Engine: after WARM_SCANS small logs it builds the fast
    scanner and uses it for every later log, with the same reports; a one-shot run stays on bytes.find."""
    from triage.match import WARM_SCANS
    from triage.prefilter import available_backends

    served = Engine(engine.kb)
    plain = Engine(engine.kb)
    plain.index.backend = "python"
    data = [p.read_bytes() for p in CORPUS]
    assert len(data) > WARM_SCANS + 10
    assert served.index.scanner(1000) == "python"
    for blob in data[:WARM_SCANS]:
        served.analyse(blob)
    assert served.index.scanner(1000) == "python"  # not yet: a short session never pays the build
    for blob in data[WARM_SCANS:]:
        assert _summary(served, blob) == _summary(plain, blob)
    assert served.index.scanner(1000) == available_backends()[0]  # the fastest one this machine has


def test_candidate_signatures_come_from_the_keyword_hits(engine: Engine) -> None:
    """The keyword -> signatures map names exactly the signatures a keyword belongs to."""
    index = engine.index
    for i, ids in enumerate(index.sig_keywords):
        for k in ids:
            assert i in index.kw_sigs[k]
    for k, sigs in index.kw_sigs.items():
        assert all(k in index.sig_keywords[s] for s in sigs)
    assert index.nokw_sigs == [i for i, s in enumerate(engine.kb.signatures) if not s.keywords]


def test_only_one_signature_is_still_honoured(engine: Engine) -> None:
    data = (ROOT / "tests" / "corpus").joinpath(CORPUS[0].name).read_bytes()
    everything = scan(normalize(data), engine.kb.signatures, engine.index)
    if not everything.hits:
        pytest.skip("first corpus log has no hit")
    first = everything.hits[0].signature.id
    alone = scan(normalize(data), engine.kb.signatures, engine.index, only={first})
    assert {h.signature.id for h in alone.hits} == {first}


def _mapped(tmp_path: Path, data: bytes) -> mmap.mmap:
    path = tmp_path / "big.log"
    path.write_bytes(data)
    with path.open("rb") as fh:
        return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)


@pytest.mark.parametrize("trailing_newline", [True, False])
def test_a_memory_mapped_log_reads_like_bytes(tmp_path: Path, trailing_newline: bool) -> None:
    """Counting newlines chunk by chunk, the last byte, lower-casing and decoding agree with bytes."""
    block = b"".join(p.read_bytes() for p in CORPUS[:20])
    data = block * (2 * COUNT_CHUNK // len(block) + 2)
    data = data if trailing_newline else data.rstrip(b"\n") + b" end"
    m = _mapped(tmp_path, data)
    try:
        a, b = Log(data), Log(m)
        assert b.n_lines == a.n_lines and b.newlines == a.newlines
        starts = [0, 1 + data.find(b"\n"), data.rfind(b"\n", 0, len(data) // 2) + 1, data.rfind(b"\n", 0, len(data) - 10) + 1]
        assert b.line_numbers(starts) == a.line_numbers(starts)
        assert b.tail(12) == a.tail(12)
        assert [b.text_at(s) for s in starts] == [a.text_at(s) for s in starts]
        assert b.neighbours(starts[2], 3, 3) == a.neighbours(starts[2], 3, 3)
        assert b.region_text(COUNT_CHUNK, COUNT_CHUNK + 5000) == a.region_text(COUNT_CHUNK, COUNT_CHUNK + 5000)
        assert b.lower == a.lower
    finally:
        m.close()


def test_a_memory_mapped_big_log_gets_the_same_report(tmp_path: Path, engine: Engine) -> None:
    healthy = (ROOT / "tests" / "corpus" / "none__llamacpp-12295-server-embeddings-200-ok.log").read_bytes()
    error = (ROOT / "tests" / "corpus" / "cuda-arch-mismatch__dgx-spark-qwen-openclaw-3-scale-failed.log").read_bytes()
    data = healthy * (5 * 1024 * 1024 // len(healthy) + 1) + error
    m = _mapped(tmp_path, data)
    try:
        from_map = engine.analyse(cast(Any, m))  # the CLI hands big files over memory-mapped
        from_bytes = engine.analyse(data)
    finally:
        m.close()
    assert [x.kb_id for x in from_map.matches] == [x.kb_id for x in from_bytes.matches] == ["cuda-arch-mismatch"]
    assert from_map.line_count == from_bytes.line_count
    assert from_map.key_lines == from_bytes.key_lines
    assert from_map.facts == from_bytes.facts


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the forked pool is Linux-only")
def test_forked_pool_reports_every_file_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The parent analyses the first logs before forking, then shares the rest with the worker: each file once."""
    monkeypatch.setattr(group, "WARM_LOGS", 3)
    files = [str(p) for p in CORPUS[:24]]
    pooled = sorted(group.analyse_files(files, (), 2), key=lambda r: r["file"])
    single = sorted(group.analyse_files(files, (), 1), key=lambda r: r["file"])
    assert [r["file"] for r in pooled] == sorted(files)
    assert pooled == single


def test_a_big_logs_anywhere_regions_are_not_lowered_one_by_one(monkeypatch: pytest.MonkeyPatch, engine: Engine) -> None:
    """Above 4 MiB each anchor line has its own `anywhere` region, a new string of up to 3 MiB: lower-casing each for
    the literal pre-check cost 11.8 s on 6 MB of crafted lines (1.4 s after). The regions' literals are looked up in
    the log's haystack, built once; the report is the one the error gets on its own."""
    from triage import match

    healthy = (ROOT / "tests" / "corpus" / "none__llamacpp-12295-server-embeddings-200-ok.log").read_bytes()
    error = (ROOT / "tests" / "corpus" / "metal-init-failed__llamacpp6426-llama-cpp-python-server-m1.log").read_bytes()
    keywords = b"".join(k + b" ./" + b"i" * 200 + b"\n" for k in engine.index.keywords[:400] if 3 <= len(k) <= 40)
    data = (healthy + keywords) * (5 * 1024 * 1024 // len(healthy + keywords) + 1) + error
    lowered: list[int] = []
    regions: list[int] = []
    real_haystack, real_rules_out = match.haystack, match._Work.rules_out

    def counting_haystack(text: str) -> str:
        if len(text) > 65536:
            lowered.append(len(text))
        return real_haystack(text)

    def counting_rules_out(self: Any, source: str, text: str, log: Log | None = None) -> bool:
        if log is not None:
            regions.append(len(text))
        return real_rules_out(self, source, text, log)

    monkeypatch.setattr(match, "haystack", counting_haystack)
    monkeypatch.setattr(match._Work, "rules_out", counting_rules_out)
    big = engine.analyse(data)
    assert regions, "no anywhere condition read a region: the test no longer covers the path"
    assert len(lowered) <= 2  # the log's text and, at most, its cleaned form
    assert [m.kb_id for m in big.matches][:1] == [m.kb_id for m in engine.analyse(error).matches][:1] == ["metal-init-failed"]


def test_a_regions_literal_check_never_rules_out_what_the_region_holds(engine: Engine) -> None:
    """Soundness of the shortcut above: wherever the region's own haystack holds a pattern's literal, the whole log's
    does (a region is the log's head and a slice of it); patterns whose literals hold a newline lower the region."""
    from triage.match import _Work

    lines = [b"ggml_metal_init: error: %d llama.cpp failed CUDA error %d" % (i, i) for i in range(200)]
    data = b"\n".join(lines * 600) + "\nwhisper ß İ ü ollama\n".encode()
    log = normalize(data)
    assert len(log.data) > 4 * 1024 * 1024
    patterns = [p for s in engine.kb.signatures for p in (*s.anywhere_src, *s.unless_anywhere_src)][:400]
    assert patterns
    plain = _Work(engine.index.literals, engine.index.patterns)
    shortcut = _Work(engine.index.literals, engine.index.patterns)
    for lo, hi in ((1024 * 1024 + 17, 3 * 1024 * 1024 + 5), (len(data) - 2 * 1024 * 1024, len(data))):
        region = log.region_text(lo, hi)
        for p in patterns:
            if not plain.rules_out(p, region):
                assert not shortcut.rules_out(p, region, log), p


def test_the_big_text_haystacks_a_scan_keeps_are_bounded(engine: Engine) -> None:
    """Whole-log texts keep their haystack by identity; a caller that builds a new big string per call (a region of a
    big log, say) must not make the scan hold one haystack per call (megabytes each)."""
    from triage.match import BIG_TEXTS_KEPT, _Work

    work = _Work(engine.index.literals, engine.index.patterns)
    pattern = engine.kb.signatures[0].regexes_src[0]
    texts = [("ggml_metal_init: error %d\n" % i) * 4000 for i in range(BIG_TEXTS_KEPT + 6)]
    for text in texts:
        assert len(text) > 65536
        work.rules_out(pattern, text)
    assert len(work.big) <= BIG_TEXTS_KEPT
    log = normalize(texts[0].encode())
    newline_pattern = "first line\\nsecond line"
    for _ in range(3):
        work.rules_out(newline_pattern, log.region_text(0, len(log.data) // 2), log)
    assert len(work.big) <= BIG_TEXTS_KEPT and not work.lowered.get(texts[0])
