"""triage.jobs: every item once whatever the jobs, batches that shrink to one, results in order when asked,
and a worker that dies costs only the batch it was analysing (the ones it held but had not started are redone
here), never a hang; an exception in a worker ends the run as it would serially."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from triage import jobs
from triage.jobs import Task

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forked workers are Linux-only")
PARENT = os.getpid()


def square(item: int) -> tuple[int, int]:
    """The item's square and the process that computed it (this one when the parent is slowed down)."""
    if os.getpid() == PARENT:
        time.sleep(0.002)  # a slower parent: the workers surely take batches
    return item * item, os.getpid()


def lost(item: int, why: str) -> tuple[int, str]:
    return item, why


def dies_on_13(item: int) -> tuple[int, int]:
    if item == 13 and os.getpid() != PARENT:
        os._exit(9)  # killed mid-batch (out of memory, a crash in native code)
    return square(item)


def raises_on_7(item: int) -> tuple[int, int]:
    if item == 7:
        raise ValueError("bad item 7")
    return square(item)


def never_ready() -> None:
    os._exit(3)  # a spawned worker whose setup dies before it has taken anything


TASK = Task(__name__, "square", "lost")


@pytest.mark.parametrize(("total", "n"), [(1, 1), (7, 2), (100, 2), (10_000, 2), (999, 8)])
def test_batches_cover_every_item_once_and_shrink_to_one(total: int, n: int) -> None:
    batches, start = [], 0
    while start < total:
        end = jobs.batch_end(start, total, n)
        batches.append((start, end))
        start = end
    sizes = [end - start for start, end in batches]
    assert batches[-1][1] == total and max(sizes) <= jobs.MAX_BATCH
    assert sizes == sorted(sizes, reverse=True) and sizes[-1] == 1


@pytest.mark.parametrize("n", [1, 2, 3])
def test_every_item_once_and_in_order_when_asked(n: int) -> None:
    items = list(range(200))
    pairs = list(jobs.run(TASK, items, n))
    assert sorted(i for i, _ in pairs) == items
    assert all(result[0] == i * i for i, result in pairs)
    if sys.platform.startswith("linux"):
        assert len({pid for _, (_, pid) in pairs}) == n  # this process and each worker took batches
    assert [r[0] for r in jobs.in_order(jobs.run(TASK, items, n))] == [i * i for i in items]


def test_one_job_runs_here() -> None:
    assert {pid for _, (_, pid) in jobs.run(TASK, list(range(20)), 1)} == {PARENT}


def test_in_order_holds_a_result_until_those_before_it_are_in() -> None:
    assert list(jobs.in_order(iter([(2, "c"), (0, "a"), (3, "d"), (1, "b")]))) == ["a", "b", "c", "d"]


@linux_only
def test_a_dead_worker_costs_the_batch_it_analysed_not_a_hang() -> None:
    items = list(range(300))
    task = Task(__name__, "dies_on_13", "lost")
    pairs = list(jobs.run(task, items, 2))
    assert sorted(i for i, _ in pairs) == items  # each item once: analysed, or reported lost
    lost_items = sorted(i for i, r in pairs if isinstance(r[1], str))
    # the worker is handed the first batches before this process takes one: 13 is in the one it dies on
    assert 13 in lost_items and lost_items == list(range(lost_items[0], lost_items[-1] + 1))  # one batch
    assert all("ended early (exit code 9)" in r[1] for i, r in pairs if i in lost_items)
    assert all(r[0] == i * i for i, r in pairs if i not in lost_items)  # its unstarted batch was redone here


@linux_only
def test_an_exception_in_a_worker_ends_the_run_as_serially() -> None:
    task = Task(__name__, "raises_on_7", "lost")
    for n in (1, 2):
        with pytest.raises(ValueError, match="bad item 7"):
            list(jobs.run(task, list(range(100)), n))


def test_a_spawned_worker_that_dies_before_it_is_ready_loses_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    import multiprocessing

    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    task = Task(__name__, "square", "lost", setup="never_ready")
    pairs = list(jobs.run(task, list(range(30)), 2))
    assert sorted(i for i, _ in pairs) == list(range(30))
    assert all(r == (i * i, PARENT) for i, r in pairs)  # all redone here, none reported lost


def test_without_fork_a_task_without_setup_runs_here(monkeypatch: pytest.MonkeyPatch) -> None:
    import multiprocessing

    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    assert {pid for _, (_, pid) in jobs.run(TASK, list(range(30)), 2)} == {PARENT}


ORPHAN_SCRIPT = """
import os, signal, sys, time
from triage.jobs import Task, run

def slow(item):
    time.sleep(0.01)
    return os.getpid()

def lost(item, why):
    return None

seen = set()
for _, pid in run(Task("__main__", "slow", "lost"), list(range(2000)), 3):
    if pid != os.getpid():
        seen.add(pid)
    if len(seen) == 2:
        print(" ".join(map(str, sorted(seen))), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
"""


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8") as fh:
            return not any(line.startswith("State:") and "Z" in line.split()[1] for line in fh)
    except OSError:
        return False


@linux_only
def test_workers_end_when_this_process_is_killed(tmp_path: Path) -> None:
    """No claim lock and no copy of a sibling's pipe end: a worker sees the end of its orders and exits."""
    import signal
    import subprocess

    out = tmp_path / "pids"
    with out.open("w", encoding="utf-8") as fh:  # a file, not a pipe: a worker left running cannot hold this up
        subprocess.run([sys.executable, "-c", ORPHAN_SCRIPT], stdout=fh, stderr=subprocess.STDOUT, timeout=60)
    pids = [int(p) for p in out.read_text(encoding="utf-8").split()[:2] if p.isdigit()]
    assert len(pids) == 2, out.read_text(encoding="utf-8")
    deadline = time.monotonic() + 10
    try:
        while any(_running(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_running(p) for p in pids)
    finally:
        for pid in filter(_running, pids):
            os.kill(pid, signal.SIGKILL)


def test_group_on_one_job_imports_no_process_machinery() -> None:
    """`-j 1` is the plain loop: no multiprocessing, and no dataclasses (it imports inspect, ~1 MiB)."""
    from conftest import TESTS, imported_by_cli_run

    argv = ["group", "-j", "1", "--format", "json", str(TESTS / "logs" / "cuda-oom")]
    assert imported_by_cli_run(argv, ("multiprocessing", "dataclasses", "inspect")) == []
