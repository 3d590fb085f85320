"""`triage kb check` instantiates each signature's emitter format and tests its regex on the lines."""

from __future__ import annotations

import json
from pathlib import Path

from triage.kbtool import check_kb, emitter_lines, emitter_style, instantiate
from triage.load import KnowledgeBase, load_kb

ENTRY = """+++
id = "{id}"
title = "Crafted"
summary = "A crafted entry."
root_cause = "Crafted."
references = ["https://example.com/crafted"]
remedies = ["Nothing."]
+++
## What you see
A crafted line.
"""


def _kb_dir(tmp_path: Path, signatures: str, kb_id: str = "crafted-entry") -> Path:
    (tmp_path / "kb").mkdir()
    (tmp_path / "signatures").mkdir()
    (tmp_path / "kb" / f"{kb_id}.md").write_text(ENTRY.format(id=kb_id), encoding="utf-8")
    (tmp_path / "signatures" / f"{kb_id}.toml").write_text(signatures, encoding="utf-8")
    return tmp_path


def crafted_kb(kb_dir: Path, kb_id: str = "crafted-entry") -> KnowledgeBase:
    """The built-in data plus a crafted --kb-dir, checked for the crafted entry's signatures only."""
    kb = load_kb([kb_dir], use_cache=False, cache=None)
    kb.signatures = tuple(s for s in kb.signatures if s.kb_id == kb_id)
    return kb


def _fixtures(corpus: Path, logs: dict[str, str]) -> Path:
    """A fixture folder whose logs all expect the crafted entry (expected.json rewritten to list every log)."""
    corpus.mkdir(exist_ok=True)
    for name, text in logs.items():
        (corpus / name).write_text(text, encoding="utf-8")
    names = sorted(p.name for p in corpus.glob("*.log"))
    (corpus / "expected.json").write_text(json.dumps({n: {"expect": ["crafted-entry"]} for n in names}), encoding="utf-8")
    return corpus


def _errors(kb_dir: Path) -> list[str]:
    errors, _ = check_kb(crafted_kb(kb_dir), timing=False, fixtures=[], strict_emitters=True)
    return [str(e) for e in errors]


def test_printf_conversions_get_every_sample() -> None:
    lines = instantiate("%s: failed to allocate %.2f MiB on device %d (%zu bytes) at %p, code %#x%%\n")
    assert len(lines) >= 5
    assert any("my models/model-q4_0.gguf: " in ln for ln in lines)  # a path with a space
    assert any("C:\\Users\\user\\My Models\\model.gguf: " in ln for ln in lines)  # backslashes
    assert any("(null): " in ln for ln in lines)
    assert any(" 4096.25 MiB" in ln for ln in lines) and any(" 0.00 MiB" in ln for ln in lines)
    assert any("18446744073709551615 bytes" in ln for ln in lines)  # %zu is wide
    assert any("code 0xc000001d%" in ln for ln in lines)
    assert all(not ln.endswith("\n") for ln in lines)


def test_pri_macros_and_c_escapes() -> None:
    lines = instantiate('%s: this GGUF file is version %" PRIu32 " but only %d\\n')
    assert lines[0] == "llama: this GGUF file is version 0 but only 0"
    assert any("version 3221225501" in ln for ln in lines)


def test_go_python_and_cpp_holes() -> None:
    go = instantiate('error starting runner: %v %q', "go")
    assert any('"C:\\\\Users\\\\user\\\\My Models\\\\model.gguf"' in ln for ln in go)  # %q escapes
    assert any("<nil>" in ln for ln in go)
    py = instantiate("Could not load {name!r}: {code:d} {{literal}} {}", "python")
    assert any("'C:\\\\Users" in ln for ln in py) and all("{literal}" in ln for ln in py)
    cpp = instantiate("exception: {} at line {:d}", "printf")
    assert any("exception: (null) at line" in ln for ln in cpp)
    assert emitter_style("server/sched.go") == "go" and emitter_style("modules/x.py") == "python"
    assert emitter_style("ggml/src/ggml-metal.m") == "printf"


def test_wrappers_include_slog_for_go_and_log_prefix_for_llama_cpp() -> None:
    names = {name for name, _ in emitter_lines("ollama/ollama", "llm/server.go", "listen tcp %s")}
    assert "slog msg (level=ERROR)" in names and "journald prefix" in names
    names = {name for name, _ in emitter_lines("ggml-org/llama.cpp", "src/llama.cpp", "%s: error")}
    assert "llama.cpp log prefix" in names and not any(n.startswith("slog") for n in names)
    # CMake prints a build file's message(WARNING ...) at configure time, never through ggml's logger
    for build_file in ("ggml/src/CMakeLists.txt", "ggml/cmake/common.cmake", "src/Makefile"):
        names = {name for name, _ in emitter_lines("ggml-org/llama.cpp", build_file, "cuBLAS not found")}
        assert "llama.cpp log prefix" not in names and "journald prefix" in names, build_file


def test_regex_that_misses_a_path_with_spaces_is_reported(tmp_path: Path) -> None:
    sig = """
[[signature]]
id = "crafted-open-failed"
kb = "crafted-entry"
description = "crafted"
keywords = ["failed to open"]
regex = '''failed to open (?P<model_path>\\S+): No such file'''
emitter = { project = "ggml-org/llama.cpp", file = "src/llama-mmap.cpp", format = "failed to open %s: %s" }
[signature.examples]
match = ['''failed to open /m/x.gguf: No such file''']
no_match = ['''failed to open''']
"""
    errors = _errors(_kb_dir(tmp_path, sig))
    assert len(errors) == 1, errors
    assert "signatures/crafted-entry.toml: signature[0].emitter[0].format" in errors[0].replace("\\", "/")
    assert "accepts the path '/usr/lib/ollama/libggml-cuda.so' but not '/home/user/my models/model-q4_0.gguf'" in errors[0]


def test_regex_written_against_the_emitter_passes_in_every_wrapper(tmp_path: Path) -> None:
    sig = """
[[signature]]
id = "crafted-open-failed"
kb = "crafted-entry"
description = "crafted"
keywords = ["failed to open"]
regex = '''failed to open (?P<model_path>[^\\n]{1,500}?): No such file or directory'''
emitter = [
  { project = "ggml-org/llama.cpp", file = "src/llama-mmap.cpp", format = "%s: failed to open %s: No such file or directory\\n" },
  { project = "ollama/ollama", file = "llm/server.go", format = "failed to open %s: No such file or directory" },
]
[signature.examples]
match = ['''failed to open /m/x.gguf: No such file or directory''']
no_match = ['''failed to open''']
"""
    assert _errors(_kb_dir(tmp_path, sig)) == []


def test_format_without_the_keyword_is_reported(tmp_path: Path) -> None:
    sig = """
[[signature]]
id = "crafted-open-failed"
kb = "crafted-entry"
description = "crafted"
keywords = ["failed to open"]
regex = '''failed to open'''
emitter = { project = "ggml-org/llama.cpp", file = "src/llama.cpp", format = "%s: cannot open %s" }
[signature.examples]
match = ['''failed to open''']
no_match = ['''cannot open''']
"""
    errors = _errors(_kb_dir(tmp_path, sig))
    assert len(errors) == 1 and "none of the signature's keywords" in errors[0]


def test_unless_veto_on_the_printed_line_is_reported(tmp_path: Path) -> None:
    sig = """
[[signature]]
id = "crafted-open-failed"
kb = "crafted-entry"
description = "crafted"
keywords = ["failed to open"]
regex = '''failed to open'''
unless = ['''My Models''']
emitter = { project = "ggml-org/llama.cpp", file = "src/llama.cpp", format = "failed to open %s" }
[signature.examples]
match = ['''failed to open x''']
no_match = ['''failed to open C:/My Models/x''']
"""
    errors = _errors(_kb_dir(tmp_path, sig))
    assert len(errors) == 1 and "accepts the path" in errors[0] and "my models" in errors[0].lower()


def test_emitter_problems_are_warnings_unless_strict(tmp_path: Path) -> None:
    sig = """
[[signature]]
id = "crafted-open-failed"
kb = "crafted-entry"
description = "crafted"
keywords = ["failed to open"]
regex = '''failed to open (?P<model_path>\\S+): error'''
emitter = { project = "ggml-org/llama.cpp", file = "src/llama.cpp", format = "failed to open %s: error" }
[signature.examples]
match = ['''failed to open x: error''']
no_match = ['''cannot open''']
"""
    errors, warnings = check_kb(crafted_kb(_kb_dir(tmp_path, sig)), timing=False, fixtures=[], strict_emitters=False)
    assert errors == [] and any(".emitter[0].format: hole 1 (%s)" in w for w in warnings), warnings


def test_few_fixtures_listed_with_reason_and_stale_reason_flagged(tmp_path: Path) -> None:
    sig = """
[[signature]]
id = "crafted-one"
kb = "crafted-entry"
description = "crafted"
keywords = ["crafted failure"]
regex = '''crafted failure one'''
few_fixtures = "only one public report"
[signature.examples]
match = ['''crafted failure one''']
no_match = ['''crafted failure two''']

[[signature]]
id = "crafted-two"
kb = "crafted-entry"
description = "crafted"
keywords = ["crafted failure"]
regex = '''crafted failure two'''
few_fixtures = "was rare"
[signature.examples]
match = ['''crafted failure two''']
no_match = ['''crafted failure one''']
"""
    kb_dir = _kb_dir(tmp_path, sig)
    corpus = _fixtures(tmp_path / "fixtures", {"a.log": "crafted failure one\n", "b.log": "crafted failure two\n",
                                               "c.log": "crafted failure two\n"})
    _, warnings = check_kb(crafted_kb(kb_dir), timing=False, fixtures=[corpus])
    assert any("crafted-one: backed by 1 real fixture(s); reason: only one public report" in w for w in warnings), warnings
    assert any("crafted-two: backed by 2 real fixtures now; drop its few_fixtures reason" in w for w in warnings), warnings


def test_few_fixtures_without_a_reason_is_an_error(tmp_path: Path) -> None:
    """Issue 14: a signature backed by fewer than two real fixtures must say why; without a reason kb check fails."""
    sig = """
[[signature]]
id = "crafted-lonely"
kb = "crafted-entry"
description = "crafted"
keywords = ["crafted failure"]
regex = '''crafted failure one'''
[signature.examples]
match = ['''crafted failure one''']
no_match = ['''crafted failure two''']
"""
    kb_dir = _kb_dir(tmp_path, sig)
    corpus = _fixtures(tmp_path / "fixtures", {"a.log": "crafted failure one\n"})
    errors, _ = check_kb(crafted_kb(kb_dir), timing=False, fixtures=[corpus])
    assert [(e.field, "crafted-lonely is backed by 1 real fixture(s)" in e.message) for e in errors] == [
        ("signature[0].few_fixtures", True)], errors
    _fixtures(corpus, {"b.log": "crafted failure one again\n"})
    errors, _ = check_kb(crafted_kb(kb_dir), timing=False, fixtures=[corpus])
    assert errors == [], errors
