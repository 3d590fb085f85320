"""What the result page shows, as plain data: remedies grouped by runtime when the
runtime is unknown, and the log window around the evidence of a big log."""

from __future__ import annotations

import pytest

pytest.importorskip("jinja2")
pytest.importorskip("markdown_it")

from triage.model import Completeness, Evidence, Facts, KeyLine, Match, RemedyStep, Report  # noqa: E402
from triage.web.present import FULL_LOG_LINES, group_remedies, log_view  # noqa: E402
from triage.web.render import code_spans  # noqa: E402


def _match(steps: list[RemedyStep], evidence: list[Evidence] | None = None) -> Match:
    return Match(kb_id="x", title="t", confidence=0.9, certainty="confident", kind="cause", variant=None,
                 root_cause="r", summary="s", remedies=[s.text for s in steps], other_remedies=[], affected=[],
                 version_status="unknown", version_note="", evidence=evidence or [], hit_count=1, labels=[],
                 references=[], source="", remedy_steps=steps)


def _report(matches: list[Match], key_lines: list[KeyLine] | None = None) -> Report:
    return Report(matches=matches, facts=Facts(), key_lines=key_lines or [], suggestions=[],
                  completeness=Completeness("complete", "ok"), followup="", line_count=0)


STEPS = [
    RemedyStep("update", None, None),
    RemedyStep("cpu", "llama.cpp", None, "llama.cpp"),
    RemedyStep("kobold gpulayers", "koboldcpp", None, "KoboldCpp"),
    RemedyStep("cpu", "llamafile", None, "llamafile"),
    RemedyStep("set path", "koboldcpp", "windows", "KoboldCpp"),
    RemedyStep("general again", None, "linux", None),
]


def test_unknown_runtime_groups_under_display_names_generic_first() -> None:
    groups = group_remedies(_match(STEPS), product=None)
    assert [g.heading for g in groups] == [None, "llama.cpp / llamafile", "KoboldCpp"]
    assert groups[0].steps == [("update", None), ("general again", "Linux")]
    assert groups[1].steps == [("cpu", None)]  # one step for two runtimes, shown once
    assert groups[2].steps == [("kobold gpulayers", None), ("set path", "Windows")]


def test_known_runtime_keeps_the_ranked_order_in_one_list() -> None:
    groups = group_remedies(_match(STEPS[:3]), product="koboldcpp")
    assert len(groups) == 1 and groups[0].heading is None
    assert [t for t, _ in groups[0].steps] == ["update", "cpu", "kobold gpulayers"]


def test_no_remedies_no_groups() -> None:
    assert group_remedies(_match([]), product=None) == []


def test_short_log_is_shown_whole_with_marks() -> None:
    log = "one\ntwo\x1b[31m red\x1b[0m\r\nthree secret token=abcdef0123456789abcdef\n"
    report = _report([_match([], [Evidence(2, "two", "s")])], [KeyLine(3, "three")])
    lines, complete = log_view(log.encode(), report)
    assert complete
    assert [(l.number, l.css) for l in lines] == [(1, ""), (2, "hit"), (3, "key")]
    assert lines[1].text == "two red"  # colours and CR gone
    assert "abcdef0123456789" not in lines[2].text  # redacted like every other output


def test_big_log_is_windowed_around_evidence() -> None:
    n = FULL_LOG_LINES + 5000
    log = "".join(f"line {i}\n" for i in range(1, n + 1)).encode()
    report = _report([_match([], [Evidence(4000, "line 4000", "s")])])
    lines, complete = log_view(log, report)
    assert not complete
    numbers = [l.number for l in lines if l.number]
    assert 1 in numbers and n in numbers and 4000 in numbers and 3990 in numbers
    assert 2000 not in numbers
    gaps = [l.gap for l in lines if not l.number]
    assert gaps and sum(gaps) + len(numbers) == n
    hit = next(l for l in lines if l.number == 4000)
    assert hit.css == "hit" and hit.text == "line 4000"


def test_line_numbers_follow_the_input_with_crlf_and_utf16() -> None:
    text = "alpha\r\nbeta\r\ngamma\r\n"
    lines, _ = log_view(text.encode("utf-16"), _report([]))
    assert [(l.number, l.text) for l in lines] == [(1, "alpha"), (2, "beta"), (3, "gamma")]


def test_code_spans_escape_everything_but_backticks() -> None:
    html = str(code_spans("run `rm -rf <x>` then [a](javascript:alert(1)) <b>"))
    assert html == "run <code>rm -rf &lt;x&gt;</code> then [a](javascript:alert(1)) &lt;b&gt;"


def test_a_step_naming_its_runtime_is_not_prefixed_again_under_its_heading() -> None:
    steps = [RemedyStep("Windows: install the vendor's driver.", None, "windows", None),
             RemedyStep("LM Studio: change the models folder.", "lmstudio", None, "LM Studio"),
             RemedyStep("LM Studio runs GGUF files only.", "lmstudio", None, "LM Studio")]
    groups = group_remedies(_match(steps), product=None)
    assert groups[0].steps == [("install the vendor's driver.", "Windows")]  # not "[Windows] Windows: ..."
    assert groups[1].heading == "LM Studio"
    assert groups[1].steps == [("change the models folder.", None), ("LM Studio runs GGUF files only.", None)]
    known = group_remedies(_match(steps[:1]), product="ollama")
    assert known[0].steps == [("install the vendor's driver.", "Windows")]


def test_kb_page_groups_drop_the_heading_a_remedy_repeats() -> None:
    from triage.engine import Engine
    from triage.web.kbpages import entry_view

    kb = Engine.build().kb
    view = entry_view(kb, kb.entries["disk-space-exhausted"])
    texts = [(heading, r.text) for heading, rows in view.remedy_groups for r in rows]
    assert ("LM Studio", "LM Studio: change the models folder (My Models, the folder path at the top) to a drive with "
            "space, and delete incomplete downloads there.") not in texts
    assert any(h == "LM Studio" and t.startswith("change the models folder") for h, t in texts)
