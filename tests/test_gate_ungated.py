"""One signature, two readings (issue 14): `[signature.ungated]` is the weaker answer when the signature's positive
gate (`near`, `anywhere`) fails; named gate sets (`\\L<name>`, tables/gate-sets.toml) are expanded at load time."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import write_demo_kb

from triage.engine import Engine
from triage.errors import DataErrors
from triage.kbtool import check_kb
from triage.load import load_kb

# Gated on a ggml-family word anywhere; without one, a "possible" answer unless a torch traceback is there.
ANYWHERE_SIG = """[[signature]]
id = "demo-gpu-fault"
description = "d"
keywords = ["gpu fault"]
regex = '''GPU fault at (?P<addr>0x[0-9a-f]+)'''
unless = ['''RuntimeError''']
anywhere = ['''\\L<demo-family>|demo-server''']
unless_anywhere = ['''nvidia-smi has failed''']
weight = 0.9
[signature.ungated]
weight = 0.55
unless_anywhere = ['''Traceback \\(most recent call last\\)''']
[signature.examples]
match = ['''ggml_init: ok
GPU fault at 0x10''']
match_ungated = ['''GPU fault at 0x10''']
no_match = ['''RuntimeError: GPU fault at 0x10''']
"""

# Gated on a companion line nearby; `waive` keeps the anywhere gate for both readings.
NEAR_SIG = """[[signature]]
id = "demo-lost"
description = "d"
keywords = ["device lost"]
regex = '''device lost on (?P<dev>dev\\d)'''
near = ['''runner terminated''']
anywhere = ['''demo-app''']
window = 2
weight = 0.8
[signature.ungated]
weight = 0.5
waive = ["near"]
unless_near = ['''recovered''']
[signature.examples]
match = ['''demo-app
device lost on dev0
runner terminated''']
match_ungated = ['''demo-app
device lost on dev0''']
no_match = ['''device lost on dev0
runner terminated''']
"""

SETS = """description = "demo sets"
[set.demo-family]
description = "words of the demo runtimes"
patterns = ['ggml', 'llama', 'koboldcpp']
"""


def _kb(tmp: Path, sig: str = ANYWHERE_SIG, sets: str | None = SETS) -> Path:
    return write_demo_kb(tmp, sig, sets)


def _engine(tmp: Path, sig: str = ANYWHERE_SIG, sets: str | None = SETS) -> Engine:
    return Engine(load_kb([_kb(tmp, sig, sets)], builtin=False, use_cache=False))


def _errors(tmp: Path, sig: str = ANYWHERE_SIG, sets: str | None = SETS) -> list[str]:
    with pytest.raises(DataErrors) as info:
        load_kb([_kb(tmp, sig, sets)], builtin=False, use_cache=False)
    return [str(e) for e in info.value.errors]


def _answer(engine: Engine, log: str) -> tuple[float, str, list[str]] | None:
    """(confidence, certainty, evidence signature ids) of the demo entry, or None when it is not named."""
    for m in engine.analyse(log).matches:
        if m.kb_id == "demo-crash":
            return m.confidence, m.certainty, [e.signature for e in m.evidence]
    return None


# --- the two readings ---------------------------------------------------------------------------------------


def test_gate_present_answers_at_the_signature_weight(tmp_path: Path) -> None:
    answer = _answer(_engine(tmp_path), "llama_model_load: loading\nGPU fault at 0x10\n")
    assert answer == (0.9, "confident", ["demo-gpu-fault"])


def test_gate_absent_answers_at_the_ungated_weight_under_the_same_id(tmp_path: Path) -> None:
    answer = _answer(_engine(tmp_path), "some app\nGPU fault at 0x10\n")
    assert answer == (0.55, "possible", ["demo-gpu-fault"])


def test_ungated_veto_holds_only_for_the_ungated_reading(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    traceback = "Traceback (most recent call last):\nGPU fault at 0x10\n"
    assert _answer(engine, traceback) is None
    assert _answer(engine, "ggml: hi\n" + traceback) == (0.9, "confident", ["demo-gpu-fault"])


def test_signature_vetoes_hold_for_both_readings(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    assert _answer(engine, "nvidia-smi has failed\nGPU fault at 0x10\n") is None
    assert _answer(engine, "ggml\nnvidia-smi has failed\nGPU fault at 0x10\n") is None
    assert _answer(engine, "RuntimeError: GPU fault at 0x10\n") is None


def test_without_an_ungated_table_a_failed_gate_is_no_hit(tmp_path: Path) -> None:
    sig = ANYWHERE_SIG.split("[signature.ungated]")[0] + "[signature.examples]" + ANYWHERE_SIG.split("[signature.examples]")[1]
    sig = sig.replace("match_ungated = ['''GPU fault at 0x10''']\n", "")
    engine = _engine(tmp_path, sig)
    assert _answer(engine, "some app\nGPU fault at 0x10\n") is None
    assert _answer(engine, "ggml\nGPU fault at 0x10\n") == (0.9, "confident", ["demo-gpu-fault"])


def test_waived_near_gate_and_kept_anywhere_gate(tmp_path: Path) -> None:
    engine = _engine(tmp_path, NEAR_SIG)
    assert _answer(engine, "demo-app\ndevice lost on dev0\nrunner terminated\n") == (0.8, "confident", ["demo-lost"])
    assert _answer(engine, "demo-app\ndevice lost on dev0\nbye\n") == (0.5, "possible", ["demo-lost"])
    # the kept gate: without "demo-app" neither reading holds
    assert _answer(engine, "device lost on dev0\nrunner terminated\n") is None
    assert _answer(engine, "device lost on dev0\n") is None
    # the ungated reading's own near veto, also on the anchor line itself
    assert _answer(engine, "demo-app\ndevice lost on dev0\nrecovered\n") is None
    assert _answer(engine, "demo-app\ndevice lost on dev0 (recovered)\n") is None
    assert _answer(engine, "demo-app\ndevice lost on dev0\nrecovered\nrunner terminated\n") == (0.8, "confident", ["demo-lost"])


def test_both_readings_in_one_log_count_as_two_signatures(tmp_path: Path) -> None:
    """As the twins they replace did: the strongest weight plus 0.05 for the second reading."""
    log = "demo-app\ndevice lost on dev0\nrunner terminated\n" + "filler\n" * 6 + "device lost on dev1\n"
    answer = _answer(_engine(tmp_path, NEAR_SIG), log)
    assert answer is not None and answer[0] == pytest.approx(0.85)
    assert answer[2][:2] == ["demo-lost", "demo-lost"]


def test_a_repeated_line_keeps_its_reading(tmp_path: Path) -> None:
    """The per-line memo of a scan remembers the reading with the groups."""
    answer = _answer(_engine(tmp_path), "GPU fault at 0x10\nother\nGPU fault at 0x10\n")
    assert answer is not None and answer[:2] == (0.55, "possible")


# --- validation ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (("weight = 0.55", "weight = 0.9"), "signature[0].ungated.weight: 0.9 must be below the signature's weight 0.9"),
        (("weight = 0.55", "weight = 0.6"), "signature[0].ungated.weight: 0.6 would answer confidently; an ungated reading is a 'possible' answer, below 0.6"),
        (("weight = 0.55", "weight = 1.5"), "signature[0].ungated.weight: Input should be less than or equal to 1"),
        (("weight = 0.55", "weight = 0.55\nwaive = ['near']"), "signature[0].ungated.waive[0]: the signature has no 'near' gate to waive"),
        (("weight = 0.55", "weight = 0.55\nwaive = ['unless']"), "signature[0].ungated.waive[0]: Input should be 'near' or 'anywhere'"),
        (("weight = 0.55", "weight = 0.55\nwindow = 3"), "signature[0].ungated.window: Extra inputs are not permitted"),
        (("anywhere = ['''\\L<demo-family>|demo-server''']\n", ""), "signature[0].ungated: the signature has no positive gate (near or anywhere) to do without"),
        (("match_ungated = ['''GPU fault at 0x10''']\n", ""), "signature[0].examples.match_ungated: the ungated reading needs at least one example it accepts"),
    ],
)
def test_ungated_errors_name_file_and_field(tmp_path: Path, edit: tuple[str, str], expected: str) -> None:
    sig = ANYWHERE_SIG.replace(*edit)
    assert sig != ANYWHERE_SIG
    errors = _errors(tmp_path, sig)
    assert any(e.startswith("signatures/demo-crash.toml") or "demo-crash.toml: " in e for e in errors), errors
    assert any(expected in e for e in errors), errors


def test_match_ungated_without_an_ungated_reading_is_an_error(tmp_path: Path) -> None:
    sig = ANYWHERE_SIG.replace("[signature.ungated]\nweight = 0.55\nunless_anywhere = ['''Traceback \\(most recent call last\\)''']\n", "")
    assert "[signature.ungated]" not in sig
    errors = _errors(tmp_path, sig)
    assert any("signature[0].examples.match_ungated: there is no [signature.ungated] reading to match" in e for e in errors), errors


def test_kb_check_runs_each_reading_as_declared(tmp_path: Path) -> None:
    swapped = ANYWHERE_SIG.replace("match_ungated = ['''GPU fault at 0x10''']", "match_ungated = ['''ggml\nGPU fault at 0x10''']")
    swapped = swapped.replace("no_match = ['''RuntimeError: GPU fault at 0x10''']", "no_match = ['''GPU fault at 0x20''']")
    kb = load_kb([_kb(tmp_path, swapped)], builtin=False, use_cache=False)
    errors, _ = check_kb(kb, timing=False, fixtures=[])
    text = [str(e) for e in errors]
    assert any("signature[0].examples.match_ungated[0]: does not match (only in the gated reading)" in e for e in text), text
    assert any("signature[0].examples.no_match[0]: matches but must not (in the ungated reading)" in e for e in text), text


def test_kb_check_passes_good_readings_and_times_ungated_patterns(tmp_path: Path) -> None:
    kb = load_kb([_kb(tmp_path)], builtin=False, use_cache=False)
    errors, _ = check_kb(kb, timing=False, fixtures=[])
    assert errors == []
    slow = ANYWHERE_SIG.replace("'''Traceback \\(most recent call last\\)'''", "'''(a+)+b'''")
    kb = load_kb([_kb(tmp_path / "slow", slow)], builtin=False, use_cache=False)
    errors, _ = check_kb(kb, timing=True, fixtures=[])
    assert any("signature[0].ungated.unless_anywhere[0]: slow on hostile input" in str(e) for e in errors), errors


# --- named gate sets ---------------------------------------------------------------------------------------------


def test_named_set_is_expanded_at_load(tmp_path: Path) -> None:
    kb = load_kb([_kb(tmp_path)], builtin=False, use_cache=False)
    (sig,) = kb.signatures
    assert sig.anywhere_src == ("(?:ggml|llama|koboldcpp)|demo-server",)
    assert sig.sources().count("(?:ggml|llama|koboldcpp)|demo-server") == 1
    assert "gate-sets" not in kb.tables  # a set file is not a lookup table


def test_set_members_open_the_gate(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    for word in ("koboldcpp", "LLAMA", "ollama", "demo-server"):
        assert _answer(engine, f"{word}\nGPU fault at 0x10\n") == (0.9, "confident", ["demo-gpu-fault"]), word
    assert _answer(engine, "kobold\nGPU fault at 0x10\n") == (0.55, "possible", ["demo-gpu-fault"])


def test_unknown_set_names_file_field_and_name(tmp_path: Path) -> None:
    errors = _errors(tmp_path, ANYWHERE_SIG.replace("\\L<demo-family>", "\\L<demo-famliy>"))
    assert any("signature[0].anywhere[0]: unknown named set 'demo-famliy' (tables/gate-sets.toml defines: demo-family)" in e
               for e in errors), errors


def test_unknown_set_in_an_ungated_veto(tmp_path: Path) -> None:
    sig = ANYWHERE_SIG.replace("'''Traceback \\(most recent call last\\)'''", "'''\\L<nope>'''")
    errors = _errors(tmp_path, sig)
    assert any("signature[0].ungated.unless_anywhere[0]: unknown named set 'nope'" in e for e in errors), errors


def test_malformed_reference_and_a_set_in_the_anchor_regex_are_errors(tmp_path: Path) -> None:
    errors = _errors(tmp_path, ANYWHERE_SIG.replace("\\L<demo-family>", "\\L<Demo Family>"))
    assert any("signature[0].anywhere[0]: malformed named-set reference" in e for e in errors), errors
    in_regex = ANYWHERE_SIG.replace("regex = '''GPU fault", "regex = '''\\L<demo-family> GPU fault")
    errors = _errors(tmp_path / "b", in_regex)
    assert any("signature[0].regex[0]: named sets" in e and "not the anchor regex" in e for e in errors), errors


# A veto on the anchor line itself names a set too: the look-alike list is the same on the line or beside it.
UNLESS_SET_SIG = ANYWHERE_SIG.replace("unless = ['''RuntimeError''']", "unless = ['''RuntimeError''', '''\\L<demo-veto>''']")
LOOP_SETS = SETS + """[set.demo-a]
description = "a"
patterns = ['\\L<demo-b>']
[set.demo-b]
description = "b"
patterns = ['x', '\\L<demo-a>']
"""

VETO_SETS = SETS + """[set.demo-veto]
description = "another program's hint on the same line"
patterns = ['torch[.]cuda', 'TORCH_USE_CUDA_DSA']
"""


def test_named_set_in_unless_is_expanded_and_vetoes_the_line(tmp_path: Path) -> None:
    data = _kb(tmp_path, UNLESS_SET_SIG, VETO_SETS)
    kb = load_kb([data], builtin=False, use_cache=False)
    (sig,) = kb.signatures
    assert sig.unless_src == ("RuntimeError", "(?:torch[.]cuda|TORCH_USE_CUDA_DSA)")
    engine = Engine(kb)
    assert _answer(engine, "ggml\nGPU fault at 0x10\n") == (0.9, "confident", ["demo-gpu-fault"])
    assert _answer(engine, "ggml\nGPU fault at 0x10 (set TORCH_USE_CUDA_DSA)\n") is None
    # the veto is on the line only: the same words on another line leave the answer alone
    assert _answer(engine, "ggml\nTORCH_USE_CUDA_DSA\nGPU fault at 0x10\n") == (0.9, "confident", ["demo-gpu-fault"])


def test_a_set_may_name_another_set(tmp_path: Path) -> None:
    """One list in one place: a veto set built from the family words expands them where it is used."""
    nested = SETS + """[set.demo-veto]
description = "a family word, then a torch hint"
patterns = ['\\L<demo-family> then torch[.]cuda']
"""
    kb = load_kb([_kb(tmp_path, UNLESS_SET_SIG, nested)], builtin=False, use_cache=False)
    (sig,) = kb.signatures
    assert sig.unless_src == ("RuntimeError", "(?:(?:ggml|llama|koboldcpp) then torch[.]cuda)")


def test_a_kb_dir_set_may_name_a_builtin_set(tmp_path: Path) -> None:
    from triage.datadir import builtin_dir

    if not (builtin_dir() / "tables" / "gate-sets.toml").is_file():
        pytest.skip("no built-in gate sets in this tree")
    sets = """description = "demo sets"
[set.demo-family]
description = "the built-in family words and the demo server"
patterns = ['\\L<ggml-family>', 'demo-server']
"""
    kb = load_kb([_kb(tmp_path, ANYWHERE_SIG, sets)], use_cache=False)
    demo = next(s for s in kb.signatures if s.id == "demo-gpu-fault")
    assert demo.anywhere_src[0].startswith("(?:(?:ggml|llama|koboldcpp|"), demo.anywhere_src
    assert Engine(kb).analyse(b"ggml_init: ok\nGPU fault at 0x10\n").matches[0].kb_id == "demo-crash"


def test_unknown_set_in_unless_names_the_field(tmp_path: Path) -> None:
    errors = _errors(tmp_path, UNLESS_SET_SIG, SETS)
    assert any("signature[0].unless[1]: unknown named set 'demo-veto' (tables/gate-sets.toml defines: demo-family)" in e
               for e in errors), errors


def test_without_a_set_file_a_reference_is_an_error(tmp_path: Path) -> None:
    errors = _errors(tmp_path, sets=None)
    assert any("unknown named set 'demo-family' (tables/gate-sets.toml defines: none loaded)" in e for e in errors), errors


@pytest.mark.parametrize(
    ("sets", "expected"),
    [
        (SETS.replace('description = "demo sets"\n', ""), "tables/gate-sets.toml: description: the gate-sets file needs"),
        (SETS + "values = 1\n", "tables/gate-sets.toml: set.demo-family.values: unknown field"),
        (SETS.replace("'koboldcpp'", "'kobold(cpp'"), "tables/gate-sets.toml: set.demo-family.patterns[2]: does not compile"),
        (SETS.replace("'koboldcpp'", "'\\L<other>'"), "tables/gate-sets.toml: set.demo-family.patterns[2]: names unknown set 'other'"),
        (SETS.replace("'koboldcpp'", "'\\L<demo-family>'"), "set.demo-family.patterns[2]: sets name each other in a loop (demo-family -> demo-family)"),
        (LOOP_SETS, "set.demo-b.patterns[1]: sets name each other in a loop (demo-a -> demo-b -> demo-a)"),
        (SETS.replace("patterns = ['ggml', 'llama', 'koboldcpp']", "patterns = []"), "tables/gate-sets.toml: set.demo-family.patterns: a list of non-empty"),
        (SETS.replace("[set.demo-family]", "[set.Demo_Family]"), "tables/gate-sets.toml: set.Demo_Family: a set name is kebab-case"),
        (SETS.replace('description = "words of the demo runtimes"\n', ""), "tables/gate-sets.toml: set.demo-family.description: say what"),
        ("description = 'x'\n", "tables/gate-sets.toml: set: needs at least one [set.<name>] table"),
    ],
)
def test_gate_set_file_errors_name_file_and_field(tmp_path: Path, sets: str, expected: str) -> None:
    errors = _errors(tmp_path, sets=sets)
    assert any(expected in e for e in errors), errors


def test_builtin_sets_load_and_kb_dir_sets_add_to_them(tmp_path: Path) -> None:
    from triage.datadir import builtin_dir

    builtin_sets = builtin_dir() / "tables" / "gate-sets.toml"
    if not builtin_sets.is_file():
        pytest.skip("no built-in gate sets in this tree")
    kb = load_kb([_kb(tmp_path)], use_cache=False)
    demo = next(s for s in kb.signatures if s.id == "demo-gpu-fault")
    assert demo.anywhere_src == ("(?:ggml|llama|koboldcpp)|demo-server",)
    assert not any("\\L<" in p for s in kb.signatures for p in s.sources())


# --- start-up cache -------------------------------------------------------------------------------------------


def test_cache_round_trip_keeps_the_ungated_reading(tmp_path: Path) -> None:
    data = _kb(tmp_path / "data", NEAR_SIG)
    cache = tmp_path / "cache"
    cold = load_kb([data], builtin=False, cache=cache)
    assert list(cache.glob("kb-*.pickle"))
    warm = load_kb([data], builtin=False, cache=cache)
    assert warm is not cold
    (c,), (w,) = cold.signatures, warm.signatures
    assert w.record() == c.record()
    assert (w.ungated_weight, w.ungated_waive, w.ungated_unless_near_src) == (0.5, ("near",), ("recovered",))
    assert "recovered" in {p for p, _ in warm.compiled}
    log = "demo-app\ndevice lost on dev0\nbye\n"
    assert _answer(Engine(warm), log) == _answer(Engine(cold), log) == (0.5, "possible", ["demo-lost"])


def test_kb_show_names_the_ungated_weight_and_the_expanded_gate(tmp_path: Path) -> None:
    from triage.kbtool import show_entry

    kb = load_kb([_kb(tmp_path)], builtin=False, use_cache=False)
    shown = show_entry(kb, "demo-crash") or ""
    assert "demo-gpu-fault (weight 0.9, 0.55 without its anywhere gate)" in shown
    assert "needs anywhere: (?:ggml|llama|koboldcpp)|demo-server" in shown


def test_kb_check_points_at_twins_that_should_be_one_signature(tmp_path: Path) -> None:
    gated = ANYWHERE_SIG.split("[signature.ungated]")[0] + "[signature.examples]" + ANYWHERE_SIG.split("[signature.examples]")[1]
    gated = gated.replace("match_ungated = ['''GPU fault at 0x10''']\n", "")
    twin = gated.replace('id = "demo-gpu-fault"', 'id = "demo-gpu-fault-bare"').replace("anywhere = [", "unless_anywhere = [", 1)
    twin = twin.replace("unless_anywhere = ['''nvidia-smi has failed''']\n", "").replace("weight = 0.9", "weight = 0.55")
    twin = twin.replace("match = ['''ggml_init: ok\nGPU fault at 0x10''']", "match = ['''GPU fault at 0x10''']")
    kb = load_kb([_kb(tmp_path, gated + "\n" + twin)], builtin=False, use_cache=False)
    assert [s.id for s in kb.signatures] == ["demo-gpu-fault", "demo-gpu-fault-bare"]
    errors, warnings = check_kb(kb, timing=False, fixtures=[])
    assert errors == []
    assert any("demo-gpu-fault-bare: the same line as demo-gpu-fault without its gate: write it as [signature.ungated]" in w
               for w in warnings), warnings
    merged = load_kb([_kb(tmp_path / "merged")], builtin=False, use_cache=False)
    assert not [w for w in check_kb(merged, timing=False, fixtures=[])[1] if "the same line as" in w]


# --- whole-log conditions that pin a line start, under a paste's line prefixes ------------------------------------

ANCHORED_SIG = """[[signature]]
id = "demo-anchored"
description = "d"
keywords = ["gpu fault"]
regex = '''GPU fault at (?P<addr>0x[0-9a-f]+)'''
anywhere = ['''^demo-server starting''']
unless_anywhere = ['''^SIMULATED: no device\\n(?!recovered)''']
weight = 0.9
[signature.examples]
match = ['''demo-server starting
GPU fault at 0x10''']
no_match = ['''GPU fault at 0x10''']
"""

PREFIXES = {
    "as given": "",
    "docker compose": "llm-1  | ",
    "journald": "Dec 03 10:00:01 host demo[42]: ",
    "ISO timestamp": "2024-05-01T10:00:00.123Z ",
    "quote": "> ",
}


@pytest.mark.parametrize("prefix", PREFIXES.values(), ids=list(PREFIXES))
def test_line_anchored_veto_and_gate_see_through_line_prefixes(tmp_path: Path, prefix: str) -> None:
    """A `^` in a whole-log condition means the start of a line as signatures see it, so a veto still vetoes and a
    gate still opens when every line of the paste carries a container's, logger's or quote's prefix."""
    engine = _engine(tmp_path, ANCHORED_SIG)

    def paste(*lines: str) -> str:
        return "".join(prefix + line + "\n" for line in lines)

    assert _answer(engine, paste("demo-server starting", "GPU fault at 0x10")) == (0.9, "confident", ["demo-anchored"])
    assert _answer(engine, paste("demo-server starting", "SIMULATED: no device", "bye", "GPU fault at 0x10")) is None
    # the veto's own look-ahead still reads the cleaned next line
    assert _answer(engine, paste("demo-server starting", "SIMULATED: no device", "recovered", "GPU fault at 0x10")) \
        == (0.9, "confident", ["demo-anchored"])
    # a prefix does not make a mid-line mention into a line start
    assert _answer(engine, paste("not demo-server starting", "GPU fault at 0x10")) is None


def test_gate_pinning_a_line_end_reads_a_crlf_paste(tmp_path: Path) -> None:
    """A gate ending in `$` (a status line with nothing after it) still opens when the paste came with CRLF line
    ends: the whole-log condition is tried on the lines as signatures see them, carriage returns gone."""
    sig = ANCHORED_SIG.replace("anywhere = ['''^demo-server starting''']", "anywhere = ['''-- demo backend found[ \\t]*$''']")
    sig = sig.replace("match = ['''demo-server starting\nGPU fault at 0x10''']", "match = ['''-- demo backend found\nGPU fault at 0x10''']")
    engine = _engine(tmp_path, sig)
    assert _answer(engine, "-- demo backend found\nGPU fault at 0x10\n") == (0.9, "confident", ["demo-anchored"])
    assert _answer(engine, "-- demo backend found\r\nGPU fault at 0x10\r\n") == (0.9, "confident", ["demo-anchored"])
    assert _answer(engine, "-- demo backend found, or not\r\nGPU fault at 0x10\r\n") is None


# A second "possible" signature of the same entry: a shell's retelling, weight below CONFIDENT, no gate.
RETOLD_SIG = """
[[signature]]
id = "demo-fault-retold"
description = "d"
keywords = ["the gpu faulted"]
regex = '''the GPU faulted'''
weight = 0.5
[signature.examples]
match = ['''the GPU faulted''']
no_match = ['''the GPU is fine''']
"""


def test_possible_readings_together_stay_possible(tmp_path: Path) -> None:
    """Two readings that are each only "possible" (an ungated reading and a weak retelling) add up to no more than
    "possible": the paste still names no program of the family (before, 0.55 + 0.05 made a confident 0.60)."""
    engine = _engine(tmp_path, ANYWHERE_SIG + RETOLD_SIG)
    both = _answer(engine, "some app\nGPU fault at 0x10\nthe GPU faulted\n")
    assert both is not None and both[1] == "possible" and both[0] < 0.6
    gated = _answer(engine, "ggml\nGPU fault at 0x10\nthe GPU faulted\n")
    assert gated is not None and gated[1] == "confident" and gated[0] > 0.9
