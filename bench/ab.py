"""Per-log time of one checkout's engine on another checkout's logs: the A/B behind the README's per-log figures.

    git worktree add --detach /tmp/old <commit>
    python bench/ab.py /tmp/old .    # the old engine on today's logs
    python bench/ab.py . .           # today's engine on the same logs

Run the two alternately (twice each) on a quiet machine and compare the medians: both engines see the same logs,
so the difference is the code's (signatures, stages), not the corpus's. Each log is analysed once to warm up
(every pattern compiled) and then timed as the best of three runs; the user cache is off so neither side reads the
other's pickled KB.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    root, log_root = (str(Path(a).resolve()) for a in argv)
    sys.path.insert(0, root)
    os.environ["TRIAGE_NO_CACHE"] = "1"
    from triage.engine import Engine
    import triage.engine

    if not str(triage.engine.__file__).startswith(root):
        print(f"ab.py: imported triage from {triage.engine.__file__}, not {root}", file=sys.stderr)
        return 2
    logs = sorted(Path(log_root, "tests", "corpus").glob("*.log")) + sorted(Path(log_root, "tests", "logs").rglob("*.log"))
    blobs = [p.read_bytes() for p in logs]
    engine = Engine.build()
    for data in blobs:
        engine.analyse(data)
    times: list[float] = []
    for data in blobs:
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            engine.analyse(data)
            best = min(best, time.perf_counter() - t0)
        times.append(best * 1000)
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(f"{root}: {len(blobs)} logs, median {statistics.median(times):.2f} ms, p99 {p99:.2f} ms, total {sum(times) / 1000:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
