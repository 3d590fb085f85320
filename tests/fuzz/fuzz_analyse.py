"""Coverage-guided fuzzing of the whole pipeline with atheris (not run in CI).

    pip install atheris
    python tests/fuzz/fuzz_analyse.py -max_total_time=600      # ten minutes
    python tests/fuzz/fuzz_analyse.py tests/fuzz/corpus -max_total_time=600   # keep a corpus

Seeds are the real logs of tests/corpus. Any exception other than InputError
(binary or empty input, which the CLI turns into exit 2) is a crash; so is a
report that echoes a raw '{{' placeholder or a render that fails.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from triage.engine import Engine
    from triage.errors import InputError
    from triage.render import to_json, to_markdown, to_text

KB = Engine.build()
SLOW = 5.0  # seconds; a single input taking longer is reported as a hang
_count = 0
_started = time.time()


def test_one_input(data: bytes) -> None:
    global _count
    _count += 1
    if _count % 20000 == 0:
        print(f"#{_count} inputs, {time.time() - _started:.0f}s", file=sys.stderr)
    t0 = time.perf_counter()
    try:
        report = KB.analyse(data)
    except InputError:
        return
    for text in (to_text(report), to_markdown(report), to_json(report)):
        if "{{" in text and "{{" not in data.decode("utf-8", "replace"):
            raise AssertionError("raw placeholder in output")
    elapsed = time.perf_counter() - t0
    if elapsed > SLOW:
        raise AssertionError(f"input of {len(data)} bytes took {elapsed:.1f}s")


def main() -> None:
    args = list(sys.argv)
    seeds = Path(__file__).resolve().parent.parent / "corpus"
    if not any(not a.startswith("-") for a in args[1:]):
        seed_dir = Path("/tmp/triage-fuzz-seeds")
        seed_dir.mkdir(exist_ok=True)
        for path in seeds.glob("*.log"):
            (seed_dir / path.name).write_bytes(path.read_bytes())
        args.append(str(seed_dir))
    atheris.Setup(args, test_one_input)
    try:
        atheris.Fuzz()
    finally:
        print(f"triage fuzz: {_count} inputs in {time.time() - _started:.0f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
