"""Run one function over many items on N cores: this process and N - 1 workers (`triage group`, `triage eval`).

This process is one of the N: it analyses items like each worker does and, between items, takes in the
workers' results and hands out their next batches. It alone owns the position in the item list, so a claim
needs no lock and no shared memory: a worker killed at any moment (out of memory, a crash in native code,
^C) cannot leave a lock held, and it costs only the batch it was analysing, reported through `lost`. Batches
shrink towards the end (guided scheduling), so a slow core or a neighbour's load evens out and the last
process finishes about one item after the others; each worker holds `AHEAD` batches, so it never waits for
this process to look up from its own batch. `jobs == 1` runs this same loop with no worker and no
multiprocessing import.

Workers are forked where fork is safe (not on macOS, absent on Windows) and inherit this process's state
(its Engine, already warmed); elsewhere they are spawned and run the task's `setup` first to build that state
themselves. A task without `setup` (its state cannot be rebuilt in a fresh interpreter) then runs here only.
Functions are named by module and attribute, so a spawned interpreter can import them.
"""

from __future__ import annotations

import importlib
import sys
import time
from collections import deque
from typing import Any, Callable, Iterator, Sequence

from .records import NamedTuple

__all__ = ["MAX_BATCH", "Task", "batch_end", "in_order", "results", "run"]

MAX_BATCH = 32  # items per batch at most: 32 typical logs are ~50 ms, small against a run, big against a claim
AHEAD = 2  # batches a worker holds (the one it analyses and the next), so it never waits for a claim
POLL_SECONDS = 0.005  # while analysing its own batch, this process looks at the workers' pipes this often


class Task(NamedTuple):
    """What every process runs, as names in `module` (a spawned interpreter imports them).

    analyse(item) -> result, never raising for a bad input (an exception ends the run, as it would serially);
    lost(item, why) -> the result for an item a worker took and never reported;
    setup(*setup_args), run once in a spawned worker to build what a forked one inherits (None: it cannot be
    rebuilt, so without fork everything runs in this process)."""

    module: str
    analyse: str
    lost: str
    setup: str | None = None
    setup_args: tuple[Any, ...] = ()

    def function(self, name: str) -> Callable[..., Any]:
        """The module's attribute now (a test's monkeypatch in this process, and in a forked one, is seen)."""
        found: Callable[..., Any] = getattr(importlib.import_module(self.module), name)
        return found


def batch_end(start: int, total: int, jobs: int) -> int:
    """The end of the batch that starts at `start`: a quarter of each process's share of what is left, at
    most MAX_BATCH and at least one item."""
    return min(total, start + max(1, min(MAX_BATCH, (total - start) // (4 * jobs))))


def run(task: Task, items: Sequence[Any], jobs: int, *, warm: int = 0) -> Iterator[tuple[int, Any]]:
    """(index, result) for every item once, as they finish. `warm`: with forked workers, this process first
    analyses that many items itself (at most a 2 * jobs-th of them), so every worker starts with what they
    loaded and compiled instead of paying for it once per worker. Nothing starts before the first result is
    asked for, and no worker outlives the iteration (an early end terminates them)."""
    yield from _Run(task, list(items), jobs, warm).results()


def results(pairs: Iterator[tuple[int, Any]]) -> Iterator[Any]:
    """Just the results, as they finish."""
    return (result for _, result in pairs)


def in_order(pairs: Iterator[tuple[int, Any]]) -> Iterator[Any]:
    """The results in item order: each is held only until the ones before it are in."""
    waiting: dict[int, Any] = {}
    following = 0
    for index, result in pairs:
        waiting[index] = result
        while following in waiting:
            yield waiting.pop(following)
            following += 1


# ---------------------------------------------------------------- the worker side
def _worker(task: Task, items: list[Any], orders: Any, out: Any, spawned: bool, strays: list[Any]) -> None:
    """A worker: say it is ready, then analyse each batch it is handed and send (start, results); end on
    None, or when this process's end of the pipe closes (it is gone). An exception is sent, not printed."""
    for conn in strays:  # forked: the other workers' pipe ends, whose copies here would hide their ends
        conn.close()
    try:
        if spawned and task.setup is not None:
            task.function(task.setup)(*task.setup_args)
        analyse = task.function(task.analyse)
        out.send(None)
        while (order := orders.recv()) is not None:
            start, end = order
            try:
                batch: Any = [analyse(item) for item in items[start:end]]
            except Exception as exc:  # noqa: BLE001 - raised again in this run's process, as a serial run would
                batch = _picklable(exc)
            out.send((start, batch))
    except (EOFError, BrokenPipeError, KeyboardInterrupt):  # the parent is gone or the user pressed ^C
        return
    finally:
        out.close()


def _picklable(exc: Exception) -> Exception:
    import pickle

    try:
        pickle.dumps(exc)
    except Exception:  # noqa: BLE001 - any pickling failure: send its text instead
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


# ---------------------------------------------------------------- this process
class _Worker:
    """A worker process as this process sees it (plain class: dataclasses would import inspect at start-up)."""

    __slots__ = ("proc", "orders", "out", "held", "ready")

    def __init__(self, proc: Any, orders: Any, out: Any) -> None:
        self.proc = proc
        self.orders = orders  # this process writes (start, end) or None
        self.out = out  # this process reads None (ready) or (start, results)
        self.held: deque[tuple[int, int]] = deque()  # batches handed out, not reported yet
        self.ready = False  # it has built its state: the first held batch is the one it is analysing


class _Run:
    """One run over `items` (see the module's docstring)."""

    def __init__(self, task: Task, items: list[Any], jobs: int, warm: int) -> None:
        self.task, self.items = task, items
        self.analyse = task.function(task.analyse)
        self.jobs = max(1, min(jobs, len(items)))
        self.next = 0  # the start of the next batch to hand out
        self.redo: deque[tuple[int, int]] = deque()  # batches a dead worker held but had not started
        self.lost: list[tuple[int, int, str]] = []  # (start, end, why)
        self.workers: list[_Worker] = []  # the ones whose results pipe is open
        self.procs: list[Any] = []  # every worker process started
        self.head: list[tuple[int, Any]] = []
        if self.jobs > 1:
            self._start(warm)

    def _start(self, warm: int) -> None:
        import multiprocessing

        methods = multiprocessing.get_all_start_methods()
        fork = sys.platform != "darwin" and "fork" in methods  # fork is unsafe with macOS system libraries
        if not fork and self.task.setup is None:
            self.jobs = 1
            return
        ctx: Any = multiprocessing.get_context("fork" if fork else "spawn")
        warm = min(warm, len(self.items) // (2 * self.jobs)) if fork else 0
        self.head = [(i, self.analyse(self.items[i])) for i in range(warm)]
        self.next = warm
        pipes = []
        for _ in range(self.jobs - 1):
            order_read, order_write = ctx.Pipe(duplex=False)
            out_read, out_write = ctx.Pipe(duplex=False)
            _widen(out_write)
            pipes.append((order_read, order_write, out_read, out_write))
        import gc

        gc.freeze()  # in forked workers no GC pass touches (and so copies) the pages of what they inherit
        try:
            for k, (order_read, order_write, out_read, out_write) in enumerate(pipes):
                strays = ([c for j, p in enumerate(pipes) if j != k for c in p] + [order_write, out_read]) if fork else []
                proc = ctx.Process(target=_worker, daemon=True,
                                   args=(self.task, self.items, order_read, out_write, not fork, strays))
                proc.start()
                order_read.close()  # the worker's ends: closed here, so its end shows as end of file
                out_write.close()
                self.procs.append(proc)
                self.workers.append(_Worker(proc, order_write, out_read))
        finally:
            gc.unfreeze()  # the caller's own objects stay collectable
        for worker in self.workers:
            self._feed(worker)

    def _claim(self) -> tuple[int, int] | None:
        """The next batch: a dead worker's unstarted ones first, then the next of the list."""
        if self.redo:
            return self.redo.popleft()
        start, total = self.next, len(self.items)
        if start >= total:
            return None
        self.next = batch_end(start, total, self.jobs)
        return start, self.next

    def _feed(self, worker: _Worker) -> None:
        """Top the worker up to AHEAD batches; with nothing left for it, tell it to end."""
        try:
            while len(worker.held) < AHEAD and (batch := self._claim()) is not None:
                worker.held.append(batch)
                worker.orders.send(batch)
            if not worker.held:
                worker.orders.send(None)
        except OSError:  # it died: its pipe's end of file says so, and its batches are taken back then
            pass

    def results(self) -> Iterator[tuple[int, Any]]:
        """Every item's (index, result) once, as they finish."""
        try:
            yield from self.head
            while True:
                yield from self._take(block=False)
                batch = self._claim()
                if batch is not None:
                    yield from self._own(*batch)
                elif any(w.held for w in self.workers):
                    yield from self._take(block=True)
                else:
                    break
            for worker in self.workers:
                worker.orders.close()
            while self.workers:  # the ends of file of workers told to end
                yield from self._take(block=True)
            yield from self._lost()
        finally:
            for proc in self.procs:  # an early end (^C, the consumer stopped): no worker outlives the run
                if proc.is_alive():
                    proc.terminate()

    def _own(self, start: int, end: int) -> Iterator[tuple[int, Any]]:
        """Analyse a batch here, looking at the workers' pipes every POLL_SECONDS."""
        looked = time.perf_counter()
        for i in range(start, end):
            yield i, self.analyse(self.items[i])
            if self.workers and (now := time.perf_counter()) - looked >= POLL_SECONDS:
                looked = now
                yield from self._take(block=False)

    def _take(self, *, block: bool) -> Iterator[tuple[int, Any]]:
        """The workers' results that have arrived (block: wait for at least one message or end of file)."""
        if not self.workers:
            return
        from multiprocessing.connection import wait

        ready: list[Any] = wait([w.out for w in self.workers], None if block else 0)
        for worker in [w for w in self.workers if w.out in ready]:
            try:
                message = worker.out.recv()
            except (EOFError, OSError):  # the worker ended (told to, or not): its pipe is closed
                self._ended(worker)
                continue
            if message is None:
                worker.ready = True
                continue
            start, batch = message
            if isinstance(batch, BaseException):
                raise batch
            worker.held.popleft()
            self._feed(worker)
            yield from enumerate(batch, start)

    def _ended(self, worker: _Worker) -> None:
        """A worker's pipe closed: the batch it was analysing is lost, the ones it had not started are redone."""
        self.workers.remove(worker)
        worker.out.close()
        worker.orders.close()
        worker.proc.join(timeout=5)
        if worker.held and worker.ready:  # not ready: it died building its state, before taking any batch
            start, end = worker.held.popleft()
            why = f"the worker process analysing it ended early (exit code {worker.proc.exitcode or '?'})"
            self.lost.append((start, end, why))
        self.redo.extend(worker.held)
        worker.held.clear()

    def _lost(self) -> Iterator[tuple[int, Any]]:
        lost = self.task.function(self.task.lost)
        for start, end, why in sorted(self.lost):
            for i in range(start, end):
                yield i, lost(self.items[i], why)


def _widen(conn: Any) -> None:
    """Linux: a 1 MiB pipe (64 KiB by default), so a worker does not wait while this process analyses a
    slow item before it next reads. Elsewhere, or refused: the default."""
    try:
        import fcntl

        fcntl.fcntl(conn.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    except (ImportError, OSError, ValueError):
        pass
