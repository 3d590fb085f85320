"""Start-up without regex's Python layer (issue 16 item 3): precompiled patterns need only its C extension.

A warm `triage FILE` thaws every pattern it searches with from the start-up cache; importing the `regex`
package (its Unicode tables) was ~10 ms of every run. These tests hold the pieces that make that safe."""

from __future__ import annotations

import pickle
import pickletools
import subprocess
import sys
from pathlib import Path

import regex

from triage import rx
from triage.fingerprint import _expander
from triage.fingerprint_rules import load_fingerprint_rules, template_plan
from triage.load import _cache_path, builtin_dir, load_kb

TESTS = Path(__file__).resolve().parent
LOG = TESTS / "corpus" / "metal-init-failed__llamacpp6426-llama-cpp-python-server-m1.log"


def test_flag_values_are_regexs() -> None:
    assert (rx.IGNORECASE, rx.MULTILINE, rx.VERSION0, rx.VERSION1) == (
        int(regex.IGNORECASE), int(regex.MULTILINE), int(regex.VERSION0), int(regex.VERSION1))


def test_thawed_patterns_are_regex_patterns() -> None:
    blob = pickle.dumps(regex.compile(r"foo(?P<n>\d+)", rx.VERSION1 | rx.IGNORECASE))
    found = rx.loads(blob)
    assert isinstance(found, regex.Pattern)
    assert found.search("x FOO12").groupdict() == {"n": "12"}


def test_warm_run_never_imports_the_regex_package(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from triage.cli import main\n"
        f"code = main([{str(LOG)!r}])\n"
        "print(sorted(m for m in sys.modules if m == 'regex' or m.startswith('regex.')), code, file=sys.stderr)\n"
    )
    env = {"TRIAGE_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, check=True)  # cold: builds the cache
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, check=True)
    assert proc.stderr.decode().strip().splitlines()[-1] == "['regex._regex'] 0", proc.stderr.decode()


def test_the_cache_refers_to_no_regex_python_code(tmp_path: Path) -> None:
    load_kb(cache=tmp_path)
    path = _cache_path([builtin_dir()], tmp_path)
    assert path is not None
    globals_used: set[tuple[str, ...]] = set()
    strings: list[str] = []
    for op, arg, _ in pickletools.genops(Path(path).read_bytes()):
        if op.name in ("SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE"):
            strings.append(str(arg))
        elif op.name == "STACK_GLOBAL":
            globals_used.add((strings[-2], strings[-1]))
        elif op.name == "GLOBAL":
            globals_used.add(tuple(str(arg).split(" ", 1)))
    assert globals_used
    regex_globals = {g for g in globals_used if str(g[0]).startswith("regex")}
    assert regex_globals == {("regex._regex", "compile")}, regex_globals


def test_template_plans_expand_as_regex_does() -> None:
    rules = load_fingerprint_rules()
    plans = [r for r in rules.prefixes + rules.rewrites if r.plan is not None]
    assert plans  # the built-in rules do use backreferences
    pattern = regex.compile(r"(a)|(b)(c)?")
    for template in (r"[\1|\2]", r"\2\3-\1", r"x\g<1>y\n", "plain"):
        plan = template_plan(pattern, template)
        text = "ab abc ba"
        expected = pattern.sub(template, text)
        if plan is None:
            assert "\\" not in template
            continue
        assert pattern.sub(_expander(plan), text) == expected, template
