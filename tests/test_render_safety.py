"""Echoed log text can neither ping nor break out of its code fence."""

from __future__ import annotations

from conftest import analyse
from triage.render import to_markdown
from triage.render.safe import fence, neutralize

ERR = "ggml_cuda_compute_forward: SCALE failed\nCUDA error: no kernel image is available for execution on the device"


def test_mentions_broken() -> None:
    for text in ("@everyone", "@here", "<@123456789012345678>", "<@&42>", "@some-user"):
        assert neutralize(text) != text


def test_fence_longer_than_any_backtick_run() -> None:
    text = "x ```` y\n```\nz"
    out = fence(text)
    opening = out.split("\n", 1)[0]
    assert opening.startswith("`````")
    assert out.endswith("\n" + opening)


def test_log_with_fences_and_markdown_cannot_escape() -> None:
    hostile = "```\n</details>\n# Title @everyone\n<img src=x onerror=alert(1)>\n````\n" + ERR + " ```` @here"
    md = to_markdown(analyse(hostile))
    assert "@everyone" not in md and "@here" not in md
    assert "<img" not in md.replace("&lt;img", "")
    # The evidence block is one fence: its opening run of backticks closes it, and nothing else does.
    lines = md.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("````") and "text" in line)
    ticks = lines[start].rstrip("text")
    end = next(i for i in range(start + 1, len(lines)) if lines[i] == ticks)
    assert all(not line.startswith(ticks) for line in lines[start + 1 : end])
