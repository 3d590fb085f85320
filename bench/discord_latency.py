"""The Discord bot's time from a user's message to its reply, measured through dpytest.

    python bench/discord_latency.py [--repeat N]

Drives the real bot (on_message, attachment.read(), analyse, embed, send) with
dpytest's fake gateway and HTTP, so the figures are the bot's own work; Discord's
network round trips (typically 50-300 ms each way, plus the CDN download of an
attachment) come on top. Cases: a typical pasted log (a ~25 kB load log ending
in a real error, in a code block), a 5 MB attachment with the error at the end,
and the typical paste sent right behind the 5 MB attachment (is the loop free?).
A script, not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import discord
import discord.ext.test as dpytest
from discord.ext.test import backend as back

from bot.discord_bot import create_bot
from bot.settings import Rate, Settings

ERROR = (ROOT / "tests/corpus/cuda-arch-mismatch__llamacpp4215-cuda-error-209-no-kernel-image.log").read_text(encoding="utf-8")
LOAD_LINES = [
    "llama_model_loader: - kv  {i:>3}:                       llama.attention.head_count u32              = 32",
    "llm_load_tensors: offloading {i} repeating layers to GPU",
    "llama_new_context_with_model: n_ctx      = 4096",
    "ggml_cuda_init: GGML_CUDA_FORCE_MMQ:    no",
    "llm_load_print_meta: model type       = 8B",
    "load_tensors: layer {i:>3} assigned to device CUDA0, is_swa = 0",
]


def load_log(size: int) -> str:
    """Healthy loading output up to `size` bytes, then the real error line."""
    lines: list[str] = []
    total = 0
    i = 0
    while total < size:
        line = LOAD_LINES[i % len(LOAD_LINES)].format(i=i)
        lines.append(line)
        total += len(line) + 1
        i += 1
    return "\n".join(lines) + "\n" + ERROR


async def measure(repeat: int, tmp: Path) -> dict[str, list[float]]:
    bot = create_bot(Settings(feedback_db=tmp / "fb.sqlite3", user_rate=Rate(10_000, 1), channel_rate=Rate(10_000, 1)))
    await bot._async_setup_hook()
    bot._connection._intents.members = True
    bot._connection.member_cache_flags = discord.MemberCacheFlags.all()
    dpytest.configure(bot)
    sent_at: list[float] = []
    sent_for_file: list[bool] = []  # did this reply answer the attachment?
    original = bot.http.send_message

    async def record(channel_id: int, *, params: Any) -> Any:
        channel = sys._getframe(1).f_locals.get("channel")  # noqa: F841 - dpytest reads it from its caller's frame
        sent_at.append(time.perf_counter())
        sent_for_file.append("koboldcpp.log" in str(params.payload.get("embeds", "")))
        return await original(channel_id, params=params)

    bot.http.send_message = record  # type: ignore[method-assign]
    config = dpytest.get_config()
    member, channel = config.members[0], config.channels[0]
    typical = load_log(25_000)
    big = tmp / "koboldcpp.log"
    big.write_text(load_log(5_000_000), encoding="utf-8")
    cases = {
        f"typical pasted log ({len(typical) / 1000:.0f} kB, code block)": ("```\n" + typical + "\n```", None, repeat),
        f"attachment ({big.stat().st_size / 1e6:.1f} MB)": ("here is the log", big, max(3, repeat // 4)),
    }
    results: dict[str, list[float]] = {}
    for name, (content, path, n) in cases.items():
        times: list[float] = []
        for _ in range(n + 1):  # the first run warms caches and is dropped
            attachments = [back.make_attachment(path)] if path else []
            sent_at.clear()
            t0 = time.perf_counter()
            back.make_message(content, member, channel, attachments=attachments)
            await dpytest.run_all_events()
            assert len(sent_at) == 1, "expected exactly one reply"
            reply = await dpytest.sent_queue.get()
            assert reply.embeds[0].title and "CUDA" in reply.embeds[0].title, reply.embeds[0].title
            times.append(sent_at[0] - t0)
        results[name] = times[1:]
    # The event loop must stay responsive: a typical paste right behind a 5 MB attachment.
    times = []
    for _ in range(max(3, repeat // 4)):
        sent_at.clear()
        sent_for_file.clear()
        back.make_message("here is the log", member, channel, attachments=[back.make_attachment(big)])
        t0 = time.perf_counter()
        back.make_message("```\n" + typical + "\n```", member, channel)
        await dpytest.run_all_events()
        assert len(sent_at) == 2
        times.append(next(t for t, f in zip(sent_at, sent_for_file, strict=True) if not f) - t0)
        await dpytest.empty_queue()
    results["typical paste while a 5 MB log is analysed"] = times
    await dpytest.empty_queue()
    bot.ws = None  # type: ignore[assignment]
    await bot.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = asyncio.run(measure(args.repeat, Path(tmp)))
    print(f"{'case':45} {'runs':>4} {'median':>9} {'p95':>9} {'max':>9}")
    for name, times in results.items():
        ordered = sorted(times)
        p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
        print(f"{name:45} {len(times):>4} {statistics.median(times) * 1000:>7.1f}ms {p95 * 1000:>7.1f}ms {max(times) * 1000:>7.1f}ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
