"""Speed figures for triage, each a ratio measured side by side in the same run (issue 16).

    python bench/bench.py [--repeat N] [--only NAME ...] [--group-logs 10000]

1. big:      a 50 MB log (healthy load lines plus one real error): `triage` wall time vs
             `rg -c -i -F -f <every keyword>` (ripgrep: `apt-get install ripgrep`); default install
             (the scanner `triage --version` names) and, for reference, the pure-Python fallback;
2. startup:  `triage` on a typical log vs `python -c pass`;
3. crafted:  keyword-stuffed lines of 8 KB, 2 KB and 300 chars (and lines of a keyword beside runs of `i`, which
             full case folding expands) with one real error at the end, in-process, at 1, 2, 8 and 50 MB:
             seconds and MB/s (must stay linear or better; any 1 MB input <= 1 s);
4. redact:   whole-log redaction (`triage.redact.redact_log`) MB/s at 1, 8 and 50 MB;
5. group:    `triage group` over 10,000 logs made by repeating tests/corpus and tests/logs with varied
             numbers and paths, on `-j 1` and `-j 2` (best of --repeat rounds each, with each round's ratio
             and how busy other processes kept the machine);
6. sigs:     1000 generated signatures vs the built-in set, in-process, on the same 1 MB log;
7. corpus:   in-process median and p99 per log over tests/corpus and tests/logs.

A script, not a test: timings depend on the machine (and on its neighbours: CPU times are shown
where wall time would measure them). Every figure is the median of --repeat runs; commands are timed
by hyperfine when it is installed (`apt-get install hyperfine ripgrep`), the two sides of a ratio in
alternating rounds so that the machine's speed changing during the run weighs on both alike.

Measured as a user runs it: the package's bytecode compiled (pip does that at install; a checkout with
PYTHONDONTWRITEBYTECODE set would otherwise recompile every edited module on every run) and the start-up
cache warm, in a cache directory of the bench's own (another process's data edits cannot evict it midway).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from triage.engine import Engine  # noqa: E402
from triage.load import default_cache_dir  # noqa: E402
from triage.prefilter import available_backends  # noqa: E402

HEALTHY = ROOT / "tests" / "corpus" / "none__llamacpp-12295-server-embeddings-200-ok.log"
STARTUP = ROOT / "tests" / "corpus" / "none__agixt-950-koboldcpp-1401-startup.log"
ERROR = ROOT / "tests" / "corpus" / "cuda-arch-mismatch__dgx-spark-qwen-openclaw-3-scale-failed.log"
TYPICAL = ROOT / "tests" / "corpus" / "metal-init-failed__llamacpp6426-llama-cpp-python-server-m1.log"
REAL_ERROR = ERROR.read_bytes()  # a real crash report (cuda-arch-mismatch) after the stuffing
MB = 1024 * 1024


CPU_SECONDS: dict[str, float] = {}  # command -> mean user+system seconds of its last timing (hyperfine only)


def hyperfine(hf: str, cmds: list[list[str]], runs: int, warmup: int, env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """hyperfine's JSON results for the commands (no shell), in their order."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "hf.json"
        subprocess.run([hf, "-N", "-w", str(warmup), "-r", str(runs), "--export-json", str(out), *map(shlex.join, cmds)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=env)
        results: list[dict[str, Any]] = json.loads(out.read_text())["results"]
        return results


def run_once(cmd: list[str], env: dict[str, str] | None = None) -> float:
    """Wall seconds of one run of a command, its input and output discarded."""
    t0 = time.perf_counter()
    subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
                   env=env)
    return time.perf_counter() - t0


def wall(cmd: list[str], repeat: int, env: dict[str, str] | None = None) -> float:
    """Median wall time of a command, in seconds (output discarded). With `hyperfine` installed
    (`apt-get install hyperfine`) it does the timing: no shell, warm-up runs, no Python parent in the way."""
    hf = shutil.which("hyperfine")
    if hf and repeat >= 3:
        result = hyperfine(hf, [cmd], runs=repeat, warmup=2, env=env)[0]
        CPU_SECONDS[shlex.join(cmd)] = float(result["user"]) + float(result["system"])
        return float(result["median"])
    return statistics.median(run_once(cmd, env) for _ in range(repeat))


def wall_pair(a: list[str], b: list[str], repeat: int) -> tuple[float, float]:
    """Median wall times of two commands timed in alternating rounds (each round: a few runs of one, then of
    the other), so that a change in the machine's speed during the run (neighbours come and go) weighs on
    both sides of the ratio alike; a block of one command's runs and then a block of the other's would charge
    such a change to one side only. Timed by hyperfine when installed (three runs each per round, one warm-up)."""
    hf = shutil.which("hyperfine")
    times: tuple[list[float], list[float]] = ([], [])
    cpu: tuple[list[float], list[float]] = ([], [])
    if hf and repeat >= 3:
        for _ in range(max(3, repeat // 3)):
            for side, result in enumerate(hyperfine(hf, [a, b], runs=3, warmup=1)):
                times[side].extend(float(t) for t in result["times"])
                cpu[side].append(float(result["user"]) + float(result["system"]))
        for cmd, side_cpu in zip((a, b), cpu):
            CPU_SECONDS[shlex.join(cmd)] = statistics.mean(side_cpu)
        return statistics.median(times[0]), statistics.median(times[1])
    for _ in range(repeat):
        for side, cmd in enumerate((a, b)):
            times[side].append(run_once(cmd))
    return statistics.median(times[0]), statistics.median(times[1])


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(median wall, median CPU) seconds of an in-process call."""
    walls, cpus = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus)


def triage_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "triage"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "triage"]


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def make_big_log(path: Path, size: int) -> None:
    block = (STARTUP.read_bytes() + HEALTHY.read_bytes()) * 64
    with path.open("wb") as fh:
        written = 0
        while written < size:
            fh.write(block)
            written += len(block)
        fh.write(ERROR.read_bytes())


def bench_big(tmp: Path, engine: Engine, repeat: int) -> None:
    print("1. 50 MB log: triage vs ripgrep on the same keywords")
    log = tmp / "big.log"
    make_big_log(log, 50 * MB)
    keywords = tmp / "keywords.txt"
    keywords.write_bytes(b"\n".join(engine.index.keywords) + b"\n")
    subprocess.run(triage_cmd() + [str(log)], stdout=subprocess.DEVNULL, check=False)  # warm caches
    rg = shutil.which("rg")
    scanner = engine.index.scanner(log.stat().st_size)
    n_kw = len(engine.index.keywords)
    if rg:
        t_triage, t_rg = wall_pair(triage_cmd() + [str(log)], [rg, "-c", "-i", "-F", "-f", str(keywords), str(log)], repeat)
        print(f"   default install ({scanner}): triage {t_triage * 1000:7.0f} ms   rg ({n_kw} keywords) "
              f"{t_rg * 1000:6.0f} ms   ratio {t_triage / t_rg:5.2f}x (goal <= 1.5x: {verdict(t_triage <= 1.5 * t_rg)})")
    else:
        t_triage = wall(triage_cmd() + [str(log)], repeat)
        print(f"   triage {t_triage * 1000:8.1f} ms   (ripgrep not installed: apt-get install ripgrep)")
    data = log.read_bytes()
    cells = []
    for backend in available_backends():
        forced = Engine(engine.kb, prefilter=backend, cache_dir=default_cache_dir())
        forced.analyse(data)
        w, c = timed(lambda: forced.analyse(data), max(1, repeat // 2))
        cells.append(f"{backend} {w * 1000:.0f} ms ({c * 1000:.0f} ms CPU)")
    print("   in-process analyse by scanner: " + ", ".join(cells))


def bench_startup(repeat: int) -> None:
    print("2. triage on a typical log vs python -c pass")
    subprocess.run(triage_cmd() + [str(TYPICAL)], stdout=subprocess.DEVNULL, check=False)  # warm the KB cache
    t_triage, t_py = wall_pair(triage_cmd() + [str(TYPICAL)], [sys.executable, "-c", "pass"], repeat)
    print(f"   triage {t_triage * 1000:6.1f} ms   python -c pass {t_py * 1000:5.1f} ms   ratio {t_triage / t_py:5.2f}x "
          f"(goal <= 5x: {verdict(t_triage <= 5 * t_py)})")
    c_py = CPU_SECONDS.get(shlex.join([sys.executable, "-c", "pass"]))
    c_triage = CPU_SECONDS.get(shlex.join(triage_cmd() + [str(TYPICAL)]))
    if c_py and c_triage:  # what neighbours on a shared machine cannot add to: time on the CPU (mean)
        print(f"   CPU (user+system, mean): triage {c_triage * 1000:6.1f} ms   python -c pass {c_py * 1000:5.1f} ms   "
              f"ratio {c_triage / c_py:5.2f}x")


def stuffed_line(words: list[bytes], width: int, rng: random.Random) -> bytes:
    """One line of `width` bytes made of signature and fact keywords and near-miss words."""
    out = bytearray()
    while len(out) < width:
        out += rng.choice(words) + rng.choice([b" ", b": ", b" 0x1f ", b" failed ", b" error: ", b"/"])
    return bytes(out[:width]) + b"\n"


def letter_run_line(words: list[bytes], rng: random.Random) -> bytes:
    """A keyword twice, each before a run of 200 `i`s where the signatures' path classes repeat (after `./`, before
    `.llamafile`): with full case folding on (U+0130 folds to `i` plus a combining dot) such lines cost seconds per
    MB; rx.compile turns it off."""
    word = rng.choice(words)
    return word + b" ./" + b"i" * 200 + b" " + word + b" " + b"i" * 200 + b".llamafile\n"


def make_crafted(engine: Engine, width: int | None, size: int, seed: int = 7) -> bytes:
    """`size` bytes of crafted lines, `width` bytes each (None: letter-run lines), then one real error."""
    rng = random.Random(seed)
    words = [k for k in engine.index.keywords if 3 <= len(k) <= 40]
    if width is None:
        lines = [letter_run_line(words, rng) for _ in range(512)]
    else:
        lines = [stuffed_line(words, width, rng) for _ in range(64)]
    block = b"".join(lines)
    body = block * (max(1, size - len(REAL_ERROR)) // len(block) + 1)
    return body[: size - len(REAL_ERROR)].rsplit(b"\n", 1)[0] + b"\n" + REAL_ERROR


def bench_crafted(engine: Engine, repeat: int, sizes: list[int]) -> None:
    print("3. worst-case crafted input (keyword-stuffed lines + one real error at the end), in-process")
    for width in (8192, 2048, 300, None):
        cells = []
        worst_1mb = 0.0
        found = True
        for mb in sizes:
            data = make_crafted(engine, width, mb * MB)
            report = engine.analyse(data)  # also warms every regex the input reaches
            found = found and any(m.kb_id == "cuda-arch-mismatch" for m in report.matches)
            w, c = timed(lambda: engine.analyse(data), repeat if mb <= 8 else max(1, repeat // 2))
            if mb == 1:
                worst_1mb = w
            cells.append(f"{mb:>2} MB {w:6.2f} s {mb / c:6.1f} MB/s")
        label = "keyword + letter-run lines" if width is None else f"{width:>4}-char lines"
        print(f"   {label}: " + " | ".join(cells)
              + f"   1 MB <= 1 s: {verdict(worst_1mb <= 1.0)}; real error found: {verdict(found)}")
    print("   (MB/s from CPU time; linear means MB/s does not fall as the size grows)")


def bench_redact(repeat: int, sizes: list[int]) -> None:
    print("4. whole-log redaction (triage.redact.redact_log)")
    from triage.redact import redact_log

    base = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in sorted((ROOT / "tests").rglob("*.log")))
    base += "\nHF_TOKEN=hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ012345 from C:\\Users\\jdoe\\m.gguf at 192.168.1.42\n"
    cells = []
    for mb in sizes:
        text = (base * (mb * MB // len(base) + 1))[: mb * MB]
        size = len(text.encode("utf-8")) / 1e6
        w, c = timed(lambda: redact_log(text), repeat if mb <= 8 else max(1, repeat // 2))
        cells.append(f"{mb:>2} MB {size / w:5.1f} MB/s wall, {size / c:5.1f} MB/s CPU")
    print("   " + " | ".join(cells))


_NUM = re.compile(rb"(?<![A-Za-z])\d{3,}")
_HOME = re.compile(rb"(/home/|/Users/|\\Users\\)([A-Za-z0-9_.-]+)")


def make_group_corpus(out: Path, count: int) -> int:
    """`count` logs: the real fixtures repeated, each copy with other long numbers and user paths."""
    sources = sorted((ROOT / "tests" / "corpus").glob("*.log")) + sorted((ROOT / "tests" / "logs").rglob("*.log"))
    texts = [p.read_bytes() for p in sources]
    rng = random.Random(16)
    total = 0
    for i in range(count):
        data = texts[i % len(texts)]
        if i >= len(texts):
            data = _NUM.sub(lambda m: str(rng.randrange(10 ** (len(m.group()) - 1), 10 ** len(m.group()))).encode(), data)
            data = _HOME.sub(lambda m: m.group(1) + f"user{i}".encode(), data)
        sub = out / f"{i // 1000:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"log-{i:05d}.log").write_bytes(data)
        total += len(data)
    return total


def _busy_seconds() -> float | None:
    """CPU seconds every process on the machine has used so far (Linux /proc/stat), or None elsewhere."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            fields = fh.readline().split()[1:]
    except OSError:
        return None
    ticks = [int(f) for f in fields[:8]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait


def wall_and_neighbours(cmd: list[str]) -> tuple[float, float | None]:
    """One run's wall time, and how many cores other processes kept busy meanwhile on average (the
    machine's busy CPU time minus the command's own): a ratio of -j 1 to -j 2 is only a ratio of the
    software when that is near 0, since -j 1 leaves a core to the neighbours and -j 2 shares both."""
    import resource

    before, own0 = _busy_seconds(), resource.getrusage(resource.RUSAGE_CHILDREN)
    elapsed = run_once(cmd)
    after, own1 = _busy_seconds(), resource.getrusage(resource.RUSAGE_CHILDREN)
    if before is None or after is None:
        return elapsed, None
    own = (own1.ru_utime - own0.ru_utime) + (own1.ru_stime - own0.ru_stime)
    return elapsed, max(0.0, (after - before - own) / elapsed)


def bench_group(tmp: Path, count: int, repeat: int) -> None:
    print(f"5. triage group over {count} logs (real fixtures repeated with varied numbers and paths)")
    corpus = tmp / "tracker"
    size = make_group_corpus(corpus, count)
    subprocess.run(triage_cmd() + [str(TYPICAL)], stdout=subprocess.DEVNULL, check=False)  # a warm cache for both
    runs: dict[int, list[tuple[float, float | None]]] = {1: [], 2: []}
    # --repeat rounds (the runs per figure, as for the others), each -j 1 then -j 2 back to back; the best of
    # each side: neighbours on a shared machine, and the VM's host, only ever add time
    for _ in range(max(1, repeat)):
        for jobs in (1, 2):
            runs[jobs].append(wall_and_neighbours(triage_cmd() + ["group", "--format", "json", "-j", str(jobs), str(corpus)]))
    best = {jobs: min(t) for jobs, t in runs.items()}
    times = {jobs: b[0] for jobs, b in best.items()}
    speedup = times[1] / times[2]
    print(f"   {size / 1e6:.0f} MB: -j 1 {times[1]:5.1f} s ({count / times[1]:4.0f} logs/s)   -j 2 {times[2]:5.1f} s "
          f"({count / times[2]:4.0f} logs/s)   speed-up {speedup:4.2f}x (goal >= 1.8x: {verdict(speedup >= 1.8)}; "
          f"-j 2 < 60 s: {verdict(times[2] < 60)})   cores here: {os.cpu_count()}")
    pairs = ", ".join(f"{a[0] / b[0]:.2f}x" for a, b in zip(runs[1], runs[2]))
    print(f"   each round's -j 1 / -j 2 (the runs back to back): {pairs}")
    if all(b[1] is not None for b in best.values()):
        print(f"   other processes kept {best[1][1]:.2f} cores busy during the best -j 1 run, {best[2][1]:.2f} during "
              f"the best -j 2 (all runs: -j 1 {_loads(runs[1])}; -j 2 {_loads(runs[2])}); "
              "near 0 is a quiet machine, only then is the speed-up the software's")


def _loads(runs: list[tuple[float, float | None]]) -> str:
    return ", ".join(f"{t:.1f} s at {load:.2f}" for t, load in runs if load is not None)


def generated_kb(tmp: Path, count: int) -> Path:
    rng = random.Random(42)
    root = tmp / "gen"
    (root / "signatures").mkdir(parents=True)
    (root / "kb").mkdir()
    words = ["tensor", "buffer", "kernel", "device", "context", "loader", "vocab", "shader", "queue", "runner"]
    for i in range(count):
        kb_id = f"gen-{i:04d}"
        w1, w2 = rng.choice(words), rng.choice(words)
        token = f"zq{i:04d}x"
        (root / "kb" / f"{kb_id}.md").write_text(
            f'+++\nid = "{kb_id}"\ntitle = "generated {i}"\nsummary = "s"\nroot_cause = "r"\n'
            f'references = ["https://example.org/{i}"]\nremedies = ["x"]\n+++\nbody\n',
            encoding="utf-8",
        )
        (root / "signatures" / f"{kb_id}.toml").write_text(
            f'[[signature]]\nid = "{kb_id}-sig"\ndescription = "d"\nkeywords = ["{token} {w1}"]\n'
            f"regex = '''{token} {w1} (?P<n>\\d+) {w2}'''\n"
            f'[signature.examples]\nmatch = ["{token} {w1} 12 {w2}"]\nno_match = ["{token} {w1} x {w2}"]\n',
            encoding="utf-8",
        )
    return root


def bench_many_signatures(tmp: Path, engine: Engine, repeat: int) -> None:
    print("6. 1000 generated signatures vs the built-in set, same 1 MB log (in-process)")
    log = tmp / "one-mb.log"
    make_big_log(log, MB)
    data = log.read_bytes()
    many = Engine.build([generated_kb(tmp, 1000)])
    engine.analyse(data)
    many.analyse(data)
    t_builtin, _ = timed(lambda: engine.analyse(data), max(repeat, 5))
    t_many, _ = timed(lambda: many.analyse(data), max(repeat, 5))
    print(f"   built-in {len(engine.kb.signatures)} sigs {t_builtin * 1000:6.2f} ms   +1000 sigs "
          f"({len(many.kb.signatures)}) {t_many * 1000:6.2f} ms   ratio {t_many / t_builtin:5.2f}x (goal <= 1.5x)")


def corpus_logs(root: Path) -> list[bytes]:
    """The fixtures of tests/corpus and tests/logs under a checkout, as bytes (also read by bench/ab.py)."""
    paths = sorted((root / "tests" / "corpus").glob("*.log")) + sorted((root / "tests" / "logs").rglob("*.log"))
    return [p.read_bytes() for p in paths]


def per_log_ms(engine: Engine, blobs: list[bytes], best_of: int = 1) -> list[float]:
    """Milliseconds per log, sorted, each the best of `best_of` runs, after one warm-up pass over every log (steady
    state: every signature compiled once, as in the bot or the Action)."""
    for data in blobs:
        engine.analyse(data)
    times = []
    for data in blobs:
        best = float("inf")
        for _ in range(best_of):
            t0 = time.perf_counter()
            engine.analyse(data)
            best = min(best, time.perf_counter() - t0)
        times.append(best * 1000)
    return sorted(times)


def median_p99_total(times: list[float]) -> str:
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    return f"median {statistics.median(times):.2f} ms, p99 {p99:.2f} ms, total {sum(times) / 1000:.2f} s"


def bench_corpus(engine: Engine) -> None:
    blobs = corpus_logs(ROOT)
    print(f"7. in-process time per log over tests/corpus and tests/logs ({len(blobs)} logs)")
    print(f"   {median_p99_total(per_log_ms(engine, blobs))} (goal: median < 2 ms)")


def compile_bytecode() -> int:
    """Bring the package's bytecode up to date (what pip does at install); the number of modules compiled."""
    import compileall

    before = {p: p.stat().st_mtime_ns for p in (ROOT / "triage").rglob("*.pyc")}
    compileall.compile_dir(str(ROOT / "triage"), quiet=1)
    after = {p: p.stat().st_mtime_ns for p in (ROOT / "triage").rglob("*.pyc")}
    return sum(1 for p, t in after.items() if before.get(p) != t)


SECTIONS = ("big", "startup", "crafted", "redact", "group", "sigs", "corpus")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    p.add_argument("--group-logs", type=int, default=10000)
    p.add_argument("--sizes", type=int, nargs="+", default=[1, 2, 8, 50], help="crafted-input sizes in MB")
    args = p.parse_args()
    compiled = compile_bytecode()
    cache = tempfile.TemporaryDirectory(prefix="triage-bench-cache-")
    os.environ["TRIAGE_CACHE_DIR"] = cache.name  # read by this process's Engine and every triage command timed
    engine = Engine.build(cache_dir=default_cache_dir())
    if compiled:
        print(f"(compiled the bytecode of {compiled} edited modules first, as an install does)")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, {len(engine.kb.signatures)} signatures, "
          f"{len(engine.index.keywords)} keywords, scanner on big logs: {engine.index.scanner(64 * MB)}")
    with tempfile.TemporaryDirectory(prefix="triage-bench-") as tmp_name:
        tmp = Path(tmp_name)
        if "big" in args.only:
            bench_big(tmp, engine, args.repeat)
        if "startup" in args.only:
            bench_startup(args.repeat * 4)
        if "crafted" in args.only:
            bench_crafted(engine, args.repeat, args.sizes)
        if "redact" in args.only:
            bench_redact(args.repeat, [s for s in (1, 8, 50) if s <= max(args.sizes)])
        if "group" in args.only:
            bench_group(tmp, args.group_logs, args.repeat)
        if "sigs" in args.only:
            bench_many_signatures(tmp, engine, args.repeat)
        if "corpus" in args.only:
            bench_corpus(engine)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
