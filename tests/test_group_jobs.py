"""`triage group`'s processes (triage.jobs): this one analyses too, every file is reported exactly once, and a
worker that dies costs the batch it was analysing (listed as skipped), not a hang."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from triage import group

CORPUS = sorted((Path(__file__).resolve().parent / "corpus").glob("*.log"))
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forked workers are Linux-only")


def _files(n: int) -> list[str]:
    return [str(CORPUS[i % len(CORPUS)]) for i in range(n)]


@pytest.mark.parametrize("jobs", [1, 2, 3])
def test_every_file_once_whatever_the_jobs(jobs: int) -> None:
    files = sorted({str(p) for p in CORPUS[:30]})
    results = list(group.analyse_files(files, (), jobs))
    assert sorted(r["file"] for r in results) == files
    single = sorted(group.analyse_files(files, (), 1), key=lambda r: r["file"])
    assert sorted(results, key=lambda r: r["file"]) == single


@linux_only
def test_workers_do_part_of_the_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """-j 2 really runs in two processes (the same file list, each batch in one of them)."""
    parent = os.getpid()
    real = group._analyse_one

    def tagged(path: str) -> group.LogResult:
        if os.getpid() == parent:
            time.sleep(0.01)  # a slow parent: the worker surely analyses batches
        return {**real(path), "pid": os.getpid()}

    monkeypatch.setattr(group, "_analyse_one", tagged)
    results = list(group.analyse_files(_files(60), (), 2))
    assert len(results) == 60
    pids = {r["pid"] for r in results}
    assert parent in pids and len(pids) == 2


@linux_only
def test_a_dead_worker_costs_its_files_not_a_hang(monkeypatch: pytest.MonkeyPatch) -> None:
    parent = os.getpid()
    real = group._analyse_one

    def fragile(path: str) -> group.LogResult:
        if os.getpid() != parent:
            os._exit(9)  # killed mid-batch (out of memory, a crash in native code)
        time.sleep(0.01)
        return real(path)

    monkeypatch.setattr(group, "_analyse_one", fragile)
    files = [f"{p}" for p in sorted({str(p) for p in CORPUS[:40]})]
    results = list(group.analyse_files(files, (), 2))
    assert sorted(r["file"] for r in results) == files  # each file once: analysed here, or reported lost
    lost = [r for r in results if "ended early" in r.get("skipped", "")]
    assert lost, "the worker was handed a batch before it died"
    assert all("exit code 9" in r["skipped"] and f"'triage {r['file']}'" in r["skipped"] for r in lost)
    doc = group.build_groups(results, "tag")
    assert {s["file"] for s in doc["skipped"]} == {r["file"] for r in lost}


def test_one_engine_build_per_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    """The tag and the analysis come from the same Engine: `triage group` builds it once."""
    builds = []
    real = group._init_worker

    def counting(dirs: list[str]) -> None:
        builds.append(list(dirs))
        real(dirs)

    monkeypatch.setattr(group, "_init_worker", counting)
    logs = tmp_path / "logs"
    logs.mkdir()
    for p in CORPUS[:3]:
        (logs / p.name).write_bytes(p.read_bytes())
    assert group.group_main(["--format", "json", "-j", "1", str(logs)]) == 0
    assert len(builds) == 1
    capsys.readouterr()
    builds.clear()
    list(group.analyse_files([str(p) for p in CORPUS[:2]], (), 1))  # a library call builds its own
    assert len(builds) == 1


def test_spawned_workers_build_their_own_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """macOS and Windows spawn: each worker loads the Engine itself; the results are the same."""
    import multiprocessing

    files = sorted({str(p) for p in CORPUS[:12]})
    single = sorted(group.analyse_files(files, (), 1), key=lambda r: r["file"])
    here: list[str] = []
    real = group._analyse_one

    def slow(path: str) -> group.LogResult:  # this process only: a spawned worker imports the real one
        here.append(path)
        time.sleep(0.2)
        return real(path)

    monkeypatch.setattr(group, "_analyse_one", slow)
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    spawned = sorted(group.analyse_files(files, (), 2), key=lambda r: r["file"])
    assert spawned == single
    assert 0 < len(here) < len(files), "the spawned worker analysed part of the files"
