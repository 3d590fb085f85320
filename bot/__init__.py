"""Adapters that put triage where people ask for help: Discord and GitHub.

They import `triage`; `triage` never imports them (the CLI stays light).
`main` is the `triage-bot` entry point: it imports the Discord bot only when
run, so an install without the `bot` extra gets one line, not a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["BOT_EXTRA_MODULES", "main"]

BOT_EXTRA_MODULES = frozenset({"discord", "aiohttp", "platformdirs"})  # what `pip install "triage[bot]"` brings


def main(argv: Sequence[str] | None = None) -> int:
    """`triage-bot`: run the Discord bot, or say which extra is missing (exit 2)."""
    try:
        from .discord_bot import main as run
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in BOT_EXTRA_MODULES:
            raise
        print('triage-bot: the Discord bot needs extra packages: pip install "triage[bot]"', file=sys.stderr)
        return 2
    return run(argv)
