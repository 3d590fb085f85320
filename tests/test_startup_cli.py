"""Start-up of the plain command (issue 16 item 3): what `triage x.log` imports, and the argument fast path.

`_fast_args` reads the common command lines without argparse; whenever it answers, the answer must be what
argparse gives for the same line, and whatever it declines argparse still reads or refuses as before."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from triage import cli

from conftest import imported_by_cli_run

TESTS = Path(__file__).resolve().parent
LOG = TESTS / "corpus" / "cuda-arch-mismatch__llamacpp4215-cuda-error-209-no-kernel-image.log"

TOKENS = [
    "a.log", "b.txt", "-", "", "eval.log", "--format", "json", "text", "markdown", "xml", "--color", "auto", "never",
    "always", "--width", "12", "0", "007", "-3", "٥", "+5", "--no-redact", "--no-redact=1", "--format=json",
    "--format=", "--width=9", "--color=never", "--kb-dir", "--kb-dir=x", "--", "-h", "--help", "--version", "--for",
    "--no", "-x", "--width=99999999999",
]


def _argparse(argv: list[str]) -> dict[str, object] | None:
    try:
        return vars(cli._main_parser().parse_args(argv))
    except (cli.UsageError, SystemExit):
        return None


def _fast(argv: list[str]) -> dict[str, object] | None:
    args = cli._fast_args(argv)
    return None if args is None else {name: getattr(args, name) for name in args.__slots__}


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=7))
def test_fast_path_agrees_with_argparse(argv: list[str]) -> None:
    fast = _fast(argv)
    if fast is not None:
        assert fast == _argparse(argv), argv


def test_fast_path_takes_the_common_lines() -> None:
    common = [
        ["x.log"], [], ["-"], ["a.log", "b.log"], ["--format", "json", "x.log"], ["x.log", "--format=markdown"],
        ["--no-redact", "--color", "never", "--width", "80", "x.log"], ["--format", "json", "-", "--no-redact"],
    ]
    for argv in common:
        fast = _fast(argv)
        assert fast is not None and fast == _argparse(argv), argv


def test_fast_path_leaves_the_rest_to_argparse() -> None:
    for argv in (["--help"], ["--version"], ["--kb-dir", "d", "x.log"], ["--form", "json"], ["a", "--no-redact", "b"],
                 ["--format", "xml"], ["--width", "+5"], ["--", "-x"], ["--format"], ["--no-redact=yes"]):
        assert cli._fast_args(argv) is None, argv


def test_plain_run_imports_no_argparse_or_json() -> None:
    assert imported_by_cli_run([str(LOG), "--width", "90"], ("argparse", "json", "gettext", "shutil")) == []


def test_usage_errors_are_unchanged() -> None:
    for argv, expected in (
        (["a.log", "--format", "json", "b.log"], "unrecognized arguments: b.log"),
        (["--format", "xml", "a.log"], "invalid choice: 'xml'"),
        (["--width", "wide"], "invalid int value: 'wide'"),
    ):
        proc = subprocess.run([sys.executable, "-m", "triage", *argv], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2 and expected in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_warm_process_imports_none_of_the_slow_modules(tmp_path: Path) -> None:
    """A warm `triage x.log` process (the console script's path, collector handling included) needs neither
    pathlib (with urllib.parse, ipaddress, fnmatch), threading, the regex package's Python layer, pickle.py, nor
    typing (the modules import its names for type checkers only: see triage/records.py)."""
    slow = ("pathlib", "urllib", "ipaddress", "fnmatch", "threading", "regex._main", "pickle", "pydantic", "argparse",
            "typing")
    code = (
        "import sys\n"
        "import triage.cli as cli\n"
        f"sys.argv = ['triage', {str(LOG)!r}]\n"
        "code = cli.main()\n"
        f"print(sorted(m for m in {slow!r} if m in sys.modules), code)\n"
    )
    env = {"TRIAGE_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=True)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[] 0", out.stdout + out.stderr


def test_file_names_are_read_as_pathlib_would_read_them() -> None:
    for name in ("", ".", "./", "a//b", "/x/./y/", "//x", "///x", "////x/", "../a/./b", "a/..", "~/x", " ", "./.", "x."):
        assert cli._as_path(name) == str(Path(name)), name
    for name in (str(LOG) + "/", str(LOG).replace("/", "//"), "./" + str(LOG.relative_to(Path.cwd()))
                 if LOG.is_relative_to(Path.cwd()) else str(LOG)):
        assert cli._read(name) == LOG.read_bytes()
