"""The command as strangers use it (issue 11 items 2, 3, 10; issue 16 item 1): closed or full
streams, unusable cache directories, several files, JSON Lines, and one-line reasons."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

from triage import cli
from triage.cli import main

TESTS = Path(__file__).resolve().parent
GOOD = TESTS / "corpus" / "cuda-arch-mismatch__llamacpp4215-cuda-error-209-no-kernel-image.log"
HEALTHY = TESTS / "corpus" / "none__agixt-950-koboldcpp-1401-startup.log"
PY = sys.executable


def sh(script: str, env: dict[str, str] | None = None, user_env: bool = True) -> subprocess.CompletedProcess[bytes]:
    full = {**os.environ, **(env or {})} if user_env else env
    return subprocess.run(["sh", "-c", script], capture_output=True, timeout=120, env=full, cwd=TESTS.parent)


def one_line(proc: subprocess.CompletedProcess[bytes]) -> str:
    assert b"Traceback" not in proc.stderr, proc.stderr.decode()
    lines = proc.stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


# ------------------------------------------------------------------ closed and full streams


def test_standard_input_closed() -> None:
    proc = sh(f'"{PY}" -m triage <&-')
    assert proc.returncode == 2
    assert "standard input is closed" in one_line(proc)


def test_standard_output_closed() -> None:
    proc = sh(f'"{PY}" -m triage "{GOOD}" >&-')
    assert proc.returncode == 2
    assert "standard output is closed" in one_line(proc)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("args", [f'"{GOOD}"', f'--format json "{GOOD}"', "--version", "--help", "kb list"])
def test_standard_output_full(args: str) -> None:
    proc = sh(f'"{PY}" -m triage {args} >/dev/full')
    assert proc.returncode == 2
    assert "cannot write to standard output" in one_line(proc)


# ------------------------------------------------------------------ cache directories


def _drop_root(script: str) -> str:
    """As root, permission bits bind only without CAP_DAC_OVERRIDE: drop it for the child."""
    if os.geteuid() != 0:
        return script
    if not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv: permission bits cannot be tested")
    return f"setpriv --bounding-set=-dac_override,-dac_read_search {script}"


@pytest.mark.parametrize("mode", [0o000, 0o555, 0o333])
@pytest.mark.parametrize("variable", ["TRIAGE_CACHE_DIR", "XDG_CACHE_HOME", "HOME"])
def test_unusable_cache_directory_still_loads_the_kb(tmp_path: Path, mode: int, variable: str) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("TRIAGE_CACHE_DIR", "XDG_CACHE_HOME", "TRIAGE_NO_CACHE")}
    env[variable] = str(cache)
    if variable == "HOME":
        env.pop("XDG_CACHE_HOME", None)
    os.chmod(cache, mode)
    try:
        proc = sh(_drop_root(f'"{PY}" -m triage "{GOOD}"'), env=env, user_env=False)
    finally:
        os.chmod(cache, 0o755)
    assert b"Traceback" not in proc.stderr, proc.stderr.decode()
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"cuda-arch-mismatch" in proc.stdout


def test_cache_path_that_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = sh(f'"{PY}" -m triage "{GOOD}"', env={"TRIAGE_CACHE_DIR": str(blocker / "sub")})
    assert proc.returncode == 0 and b"Traceback" not in proc.stderr


# ------------------------------------------------------------------ several files, JSON Lines


def test_several_files_report_the_readable_and_name_the_skipped(tmp_path: Path) -> None:
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    missing = tmp_path / "missing.log"
    proc = sh(f'"{PY}" -m triage "{GOOD}" "{missing}" "{empty}"')
    assert proc.returncode == 2
    assert b"Traceback" not in proc.stderr
    assert b"cuda-arch-mismatch" in proc.stdout and f"==> {GOOD}".encode() in proc.stdout
    err = proc.stderr.decode().strip().splitlines()
    assert any("missing.log" in line and "no such file" in line for line in err)
    assert any("empty.log" in line and "empty" in line for line in err)
    assert len(err) == 3  # one line per skipped file, and the summary


def test_json_lines_one_object_per_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.log"
    proc = sh(f'"{PY}" -m triage --format json "{GOOD}" "{missing}" - < "{HEALTHY}"')
    assert proc.returncode == 2
    lines = proc.stdout.decode().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["schema"] == 1 and first["file"] == str(GOOD)
    assert second["file"] == "-"
    assert first["matches"][0]["kb_id"] == "cuda-arch-mismatch"


def test_json_for_one_file_is_one_line_and_one_object() -> None:
    proc = sh(f'"{PY}" -m triage --format json < "{GOOD}"')
    assert proc.returncode == 0
    assert proc.stdout.count(b"\n") == 1
    data = json.loads(proc.stdout)
    assert data["schema"] == 1 and data["file"] == "-"
    assert {"fingerprint", "diagnostics", "matches"} <= set(data)


def test_json_lines_survive_splitlines(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    log = tmp_path / "odd.log"
    log.write_text(GOOD.read_text(encoding="utf-8") + "GPU name:\u2028 weird\u2029 \x85 line\n", encoding="utf-8")
    main(["--format", "json", str(log), str(GOOD)])
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 2
    for line in out.splitlines():
        json.loads(line)


# ------------------------------------------------------------------ one-line reasons (item 10)


def test_empty_kb_dir_is_a_usage_error(tmp_path: Path) -> None:
    proc = sh(f'"{PY}" -m triage --kb-dir "{tmp_path}" "{GOOD}"')
    assert proc.returncode == 2
    assert "nothing to load" in one_line(proc)


def test_kb_search_without_result_says_so() -> None:
    proc = sh(f'"{PY}" -m triage kb search zzzzqqq')
    assert proc.returncode == 1
    assert "no KB entry matches" in one_line(proc)


@pytest.mark.parametrize("value", ["2", "-0.1"])
def test_eval_min_recall_out_of_range(value: str) -> None:
    proc = sh(f'"{PY}" -m triage eval tests/corpus --min-recall {value}')
    assert proc.returncode == 2
    assert "--min-recall" in one_line(proc)


def test_help_lists_every_subcommand() -> None:
    proc = sh(f'"{PY}" -m triage --help')
    assert proc.returncode == 0
    out = proc.stdout.decode()
    for words in ("triage eval", "kb check", "kb site", "feedback export", "triage serve", "triage group",
                  "triage mine", "JSON Lines", "Exit status"):
        assert words in out, words


def test_version_names_the_scanner() -> None:
    proc = sh(f'"{PY}" -m triage --version')
    assert proc.returncode == 0
    out = proc.stdout.decode()
    assert out.startswith("triage ")
    assert "scanner" in out and any(name in out for name in ("hyperscan", "ahocorasick", "python"))


def _own_kb_dir(tmp_path: Path) -> Path:
    (tmp_path / "kb").mkdir(parents=True)
    (tmp_path / "signatures").mkdir()
    src = (TESTS.parent / "kb" / "cuda-arch-mismatch.md").read_text(encoding="utf-8")
    (tmp_path / "kb" / "cuda-arch-mismatch.md").write_text(
        src.replace('title = "The CUDA build has no code', 'title = "OUR OWN: The CUDA build has no code'), encoding="utf-8"
    )
    return tmp_path


@pytest.mark.parametrize("order", ["before", "after"])
def test_kb_dir_before_or_after_the_kb_subcommand(tmp_path: Path, order: str, capsys: pytest.CaptureFixture[str]) -> None:
    own = str(_own_kb_dir(tmp_path))
    args = ["kb", "--kb-dir", own, "show", "cuda-arch-mismatch"] if order == "before" else ["kb", "show", "cuda-arch-mismatch", "--kb-dir", own]
    assert main(args) == 0
    assert "OUR OWN" in capsys.readouterr().out


def test_kb_dir_on_both_sides_loads_both(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    own = _own_kb_dir(tmp_path / "a")
    other = tmp_path / "b"
    (other / "kb").mkdir(parents=True)
    assert main(["kb", "--kb-dir", str(other), "show", "cuda-arch-mismatch", "--kb-dir", str(own)]) == 0
    assert "OUR OWN" in capsys.readouterr().out


# ------------------------------------------------------------------ one Engine, external subcommands


def test_one_engine_for_several_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from triage.engine import Engine

    calls: list[object] = []
    real = Engine.build.__func__  # type: ignore[attr-defined]

    def counting(cls: type[Engine], *args: object, **kwargs: object) -> Engine:
        calls.append(kwargs.get("cache_dir"))
        return real(cls, *args, **kwargs)  # type: ignore[no-any-return]

    monkeypatch.setattr(Engine, "build", classmethod(counting))
    monkeypatch.setenv("TRIAGE_CACHE_DIR", str(tmp_path / "cache"))
    assert main([str(GOOD), str(HEALTHY)]) == 0
    assert len(calls) == 1
    assert calls[0] is not None and os.fspath(calls[0]) == str(tmp_path / "cache")  # the CLI passes default_cache_root()


@pytest.mark.parametrize(("name", "module", "attr"), [("serve", "triage.web.cli", "serve_main"),
                                                      ("group", "triage.group", "group_main"),
                                                      ("mine", "triage.mine", "mine_main")])
def test_external_subcommands_dispatch(monkeypatch: pytest.MonkeyPatch, name: str, module: str, attr: str) -> None:
    seen: list[list[str]] = []
    fake = types.ModuleType(module)
    setattr(fake, attr, lambda argv: seen.append(argv) or 7)
    monkeypatch.setitem(sys.modules, module, fake)
    assert main([name, "--flag", "x"]) == 7
    assert seen == [["--flag", "x"]]


def test_serve_without_the_web_extra(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def missing(name: str) -> types.ModuleType:
        raise ModuleNotFoundError("No module named 'starlette'", name="starlette")

    monkeypatch.setattr(cli.importlib, "import_module", missing)
    assert main(["serve"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'pip install "triage[web]"' in err[0]


def test_missing_module_is_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def missing(name: str) -> types.ModuleType:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    monkeypatch.setattr(cli.importlib, "import_module", missing)
    assert main(["group", "x"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "triage group is not available" in err[0]


def test_kb_site_builds_with_one_engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from triage.engine import Engine

    got: list[tuple[object, Path]] = []
    fake = types.ModuleType("triage.web.site")
    fake.build_site = lambda engine, out: got.append((engine, out)) or 42  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "triage.web.site", fake)
    out = tmp_path / "site"
    assert main(["kb", "site", str(out), "--kb-dir", str(_own_kb_dir(tmp_path / "own"))]) == 0
    assert "wrote 42 pages" in capsys.readouterr().out
    engine, where = got[0]
    assert isinstance(engine, Engine) and where == out
    assert engine.kb.entries["cuda-arch-mismatch"].title.startswith("OUR OWN")


def test_unexpected_error_is_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("TRIAGE_DEBUG", raising=False)

    def boom(argv: list[str]) -> int:
        raise RuntimeError("kaputt")

    monkeypatch.setattr(cli, "_run_triage", boom)
    assert main([str(GOOD)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "kaputt" in err[0]
