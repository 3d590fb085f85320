"""`triage-bot` installed without the `bot` extra: one line naming the extra, exit 2, no traceback.

The import of discord is blocked in a fresh interpreter (`sys.modules['discord'] = None` is
what Python itself does for a module that must not be found), then the console script's own
entry point, read from pyproject.toml, is called as the generated script calls it.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINE = 'triage-bot: the Discord bot needs extra packages: pip install "triage[bot]"\n'


def run_without(module: str, entry: str) -> subprocess.CompletedProcess[str]:
    target, _, func = entry.partition(":")
    code = (f"import sys; sys.modules[{module!r}] = None; sys.argv = ['triage-bot']; "
            f"from {target} import {func} as main; sys.exit(main())")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)


@pytest.mark.parametrize("module", ["discord", "aiohttp"])
def test_bot_main_without_the_extra_prints_one_line_and_exits_2(module: str) -> None:
    done = run_without(module, "bot:main")
    assert (done.returncode, done.stderr, done.stdout) == (2, LINE, "")


def test_the_console_script_is_the_guarded_entry_point() -> None:
    entry = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]["triage-bot"]
    done = run_without("discord", entry)
    assert (done.returncode, done.stderr) == (2, LINE), f"[project.scripts] triage-bot = {entry!r}: {done.stderr[-300:]}"


def test_a_missing_module_that_is_not_the_extra_is_not_hidden() -> None:
    code = "import sys; sys.modules['triage.engine'] = None; import bot; sys.exit(bot.main([]))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 1 and "triage.engine" in done.stderr  # a real bug shows its traceback
