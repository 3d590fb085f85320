"""Speed figures for triage, each measured side by side in the same run.

    python bench/bench.py [--corpus DIR] [--repeat N]

1. a 50 MB log (healthy load lines plus one real error line): `triage` wall time
   vs `rg -c -F -f <all keywords>` (needs ripgrep: `apt-get install ripgrep`);
2. 1000 generated signatures vs the built-in set, in-process, on the same 1 MB log;
3. `triage` on a typical log vs `python -c pass` (start-up);
4. in-process median and p99 per log over a corpus (default ../shared/corpus).

A script, not a test: timings depend on the machine. Prints ratios.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from triage.analyse import analyse  # noqa: E402
from triage.load import load_kb  # noqa: E402
from triage.match import build_index, get_index  # noqa: E402

HEALTHY = ROOT / "tests" / "corpus" / "none__llamacpp-12295-server-embeddings-200-ok.log"
STARTUP = ROOT / "tests" / "corpus" / "none__agixt-950-koboldcpp-1401-startup.log"
ERROR = ROOT / "tests" / "corpus" / "cuda-arch-mismatch__dgx-spark-qwen-openclaw-3-scale-failed.log"
TYPICAL = ROOT / "tests" / "corpus" / "metal-init-failed__llamacpp6426-llama-cpp-python-server-m1.log"


def wall(cmd: list[str], repeat: int, stdin: Path | None = None) -> float:
    """Median wall time of a command, in seconds."""
    times = []
    for _ in range(repeat):
        with open(stdin, "rb") if stdin else open(os.devnull, "rb") as fh:
            t0 = time.perf_counter()
            subprocess.run(cmd, stdin=fh, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def make_big_log(path: Path, size: int) -> None:
    block = (STARTUP.read_bytes() + HEALTHY.read_bytes()) * 64
    with path.open("wb") as fh:
        written = 0
        while written < size:
            fh.write(block)
            written += len(block)
        fh.write(ERROR.read_bytes())


def triage_cmd() -> list[str]:
    exe = shutil.which("triage")
    return [exe] if exe else [sys.executable, "-m", "triage"]


def bench_big_log(tmp: Path, repeat: int) -> None:
    print("1. 50 MB log: triage vs ripgrep on the same keywords")
    log = tmp / "big.log"
    make_big_log(log, 50 * 1024 * 1024)
    kb = load_kb()
    keywords = tmp / "keywords.txt"
    keywords.write_bytes(b"\n".join(build_index(kb).keywords) + b"\n")
    t_triage = wall(triage_cmd() + [str(log)], repeat)
    rg = shutil.which("rg")
    if rg:
        t_rg = wall([rg, "-c", "-i", "-F", "-f", str(keywords), str(log)], repeat)
        print(f"   triage {t_triage * 1000:8.1f} ms   rg {t_rg * 1000:8.1f} ms   ratio {t_triage / t_rg:5.2f}x (goal <= 2x)")
    else:
        print(f"   triage {t_triage * 1000:8.1f} ms   (ripgrep not installed: apt-get install ripgrep)")
    data = log.read_bytes()
    t0 = time.perf_counter()
    analyse(data, kb)
    print(f"   in-process analyse {1000 * (time.perf_counter() - t0):.1f} ms; prefilter backend {get_index(kb).prefilter('sig', len(data))[0].name}")


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


def bench_many_signatures(tmp: Path, repeat: int) -> None:
    print("2. 1000 generated signatures vs the built-in set, same 1 MB log (in-process)")
    log = tmp / "one-mb.log"
    make_big_log(log, 1024 * 1024)
    data = log.read_bytes()
    builtin = load_kb()
    many = load_kb([generated_kb(tmp, 1000)])

    def per_run(kb: object) -> float:
        analyse(data, kb)  # type: ignore[arg-type]  # builds the index once
        times = []
        for _ in range(max(repeat, 5)):
            t0 = time.perf_counter()
            analyse(data, kb)  # type: ignore[arg-type]
            times.append(time.perf_counter() - t0)
        return statistics.median(times)

    t_builtin = per_run(builtin)
    t_many = per_run(many)
    print(
        f"   built-in {len(builtin.signatures)} sigs {t_builtin * 1000:7.2f} ms   "
        f"+1000 sigs ({len(many.signatures)}) {t_many * 1000:7.2f} ms   ratio {t_many / t_builtin:5.2f}x (goal <= 1.5x)"
    )


def bench_startup(repeat: int) -> None:
    print("3. triage on a typical log vs python -c pass")
    subprocess.run(triage_cmd() + [str(TYPICAL)], stdout=subprocess.DEVNULL, check=False)  # warm the KB cache
    t_py = wall([sys.executable, "-c", "pass"], repeat)
    t_triage = wall(triage_cmd() + [str(TYPICAL)], repeat)
    print(f"   triage {t_triage * 1000:7.1f} ms   python -c pass {t_py * 1000:6.1f} ms   ratio {t_triage / t_py:5.2f}x (goal <= 12x)")


def bench_corpus(corpus: Path) -> None:
    print(f"4. in-process time per log over {corpus}")
    kb = load_kb()
    logs = sorted(corpus.glob("*.log"))
    if not logs:
        print("   no logs found")
        return
    for path in logs:  # steady state: every signature compiled once, as in the bot or the Action
        analyse(path.read_bytes(), kb)
    times = []
    for path in logs:
        data = path.read_bytes()
        t0 = time.perf_counter()
        analyse(data, kb)
        times.append(time.perf_counter() - t0)
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(f"   {len(logs)} logs: median {statistics.median(times) * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms (goal: median < 2 ms)")
    cold = []
    for path in logs:
        data = path.read_bytes()
        fresh = load_kb()
        t0 = time.perf_counter()
        analyse(data, fresh)
        cold.append(time.perf_counter() - t0)
    print(f"   cold (new KB object per log, regexes compiled on first use): median {statistics.median(cold) * 1000:.2f} ms")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="triage-bench-") as tmp:
        bench_big_log(Path(tmp), args.repeat)
        bench_many_signatures(Path(tmp), args.repeat)
        bench_startup(args.repeat * 2)
        bench_corpus(args.corpus if args.corpus.is_dir() else ROOT / "tests" / "corpus")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
