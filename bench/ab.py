"""Per-log time of one checkout's engine on another checkout's logs: the A/B behind the README's per-log figures.

    git worktree add --detach /tmp/old <commit>
    python bench/ab.py /tmp/old .    # the old engine on today's logs
    python bench/ab.py . .           # today's engine on the same logs

Run the two alternately (twice each) on a quiet machine and compare the medians: both engines see the same logs,
so the difference is the code's (signatures, stages), not the corpus's. The timing is bench.py's corpus section
(`per_log_ms`), each log the best of three runs; the user cache is off so neither side reads the other's pickled KB.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    root, log_root = (Path(a).resolve() for a in argv)
    os.environ["TRIAGE_NO_CACHE"] = "1"
    sys.path.insert(0, str(root))
    import triage.engine  # first, so that bench.py (which puts its own checkout on the path) gets this one

    if not str(triage.engine.__file__).startswith(str(root)):
        print(f"ab.py: imported triage from {triage.engine.__file__}, not {root}", file=sys.stderr)
        return 2
    sys.path.insert(1, str(Path(__file__).resolve().parent))
    from bench import corpus_logs, median_p99_total, per_log_ms

    blobs = corpus_logs(log_root)
    times = per_log_ms(triage.engine.Engine.build(), blobs, best_of=3)
    print(f"{root}: {len(blobs)} logs, {median_p99_total(times)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
