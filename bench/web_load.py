"""Load on the web API: N concurrent POST /api/v1/triage of typical logs.

Starts `triage serve` (rate limit off) on a free loopback port in a subprocess,
sends the logs of tests/corpus all at once, and prints p50/p95/max latency and
the errors. A script, not a timed test:

    python bench/web_load.py [--requests 50] [--workers 1] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(port: int, workers: int) -> subprocess.Popen[bytes]:
    code = ("import sys; from triage.web.cli import serve_main; "
            f"sys.exit(serve_main(['--port', '{port}', '--rate-limit', '0', '--workers', '{workers}']))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start within 60 s")


async def _one(client: httpx.AsyncClient, url: str, body: bytes) -> tuple[float, str | None]:
    start = time.perf_counter()
    try:
        response = await client.post(url, content=body, headers={"content-type": "text/plain"})
        error = None if response.status_code == 200 else f"HTTP {response.status_code}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"
    return time.perf_counter() - start, error


async def _round(base: str, bodies: list[bytes]) -> tuple[list[float], list[str], float]:
    limits = httpx.Limits(max_connections=len(bodies), max_keepalive_connections=len(bodies))
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        start = time.perf_counter()
        results = await asyncio.gather(*(_one(client, f"{base}/api/v1/triage", b) for b in bodies))
        wall = time.perf_counter() - start
    return [r[0] for r in results], [r[1] for r in results if r[1]], wall


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=50, help="concurrent requests per round (default 50)")
    p.add_argument("--rounds", type=int, default=3, help="rounds (default 3; the first warms the server)")
    p.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default 1)")
    p.add_argument("--seed", type=int, default=15)
    args = p.parse_args()
    logs = sorted(CORPUS.glob("*.log"))
    rng = random.Random(args.seed)
    port = _free_port()
    proc = _start(port, args.workers)
    try:
        print(f"{len(logs)} corpus logs, {args.requests} concurrent requests x {args.rounds} rounds, "
              f"{args.workers} worker(s), {os.cpu_count()} CPUs")
        all_latencies: list[float] = []
        all_errors: list[str] = []
        for n in range(1, args.rounds + 1):
            picks = [rng.choice(logs) for _ in range(args.requests)]
            bodies = [path.read_bytes() for path in picks]
            latencies, errors, wall = asyncio.run(_round(f"http://127.0.0.1:{port}", bodies))
            size = statistics.median(len(b) for b in bodies) / 1024
            print(f"round {n}: median body {size:.1f} KiB, wall {wall * 1000:.0f} ms, "
                  f"p50 {_pct(latencies, 0.5) * 1000:.0f} ms, p95 {_pct(latencies, 0.95) * 1000:.0f} ms, "
                  f"max {max(latencies) * 1000:.0f} ms, errors {len(errors)}")
            all_latencies += latencies
            all_errors += errors
        print(f"all: {len(all_latencies)} requests, p50 {_pct(all_latencies, 0.5) * 1000:.0f} ms, "
              f"p95 {_pct(all_latencies, 0.95) * 1000:.0f} ms, max {max(all_latencies) * 1000:.0f} ms, "
              f"errors {len(all_errors)}" + (f" ({sorted(set(all_errors))[:3]})" if all_errors else ""))
        return 1 if all_errors else 0
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    raise SystemExit(main())
