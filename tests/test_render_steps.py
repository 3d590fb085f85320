"""Text and Markdown: remedies in the user's runtime's terms (issue 12 item 2), the fingerprint
line (issue 13), and wrapping that never breaks a code span or a hyphenated name (issue 11 item 9)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triage.model import Completeness, Evidence, Facts, Fingerprint, Match, RemedyStep, Report
from triage.render import to_markdown, to_text
from triage.render.common import remedy_list
from triage.render.text import wrap

TESTS = Path(__file__).resolve().parent

STEPS = [
    RemedyStep("Use the CPU or Vulkan.", None, None, None),
    RemedyStep("Pass `--usevulkan`.", "koboldcpp", None, "KoboldCpp"),
    RemedyStep("Set `OLLAMA_LLM_LIBRARY=cpu`.", "ollama", None, "Ollama"),
    RemedyStep("Rebuild with `-DGGML_CUDA=ON`.", "llama.cpp", None, "llama.cpp"),
    RemedyStep("Rebuild with `-DGGML_CUDA=ON`.", "llamafile", None, "llamafile"),
    RemedyStep("Set `HSA_OVERRIDE_GFX_VERSION=10.3.0`.", None, "linux", None),
    RemedyStep("Reinstall the ROCm build.", "koboldcpp", "windows", "KoboldCpp"),
]


def _match(steps: list[RemedyStep]) -> Match:
    return Match(
        kb_id="cuda-arch-mismatch", title="The CUDA build has no code for this GPU", confidence=0.9,
        certainty="confident", kind="cause", variant=None, root_cause="Built for other archs.", summary="s",
        remedies=[s.text for s in steps], other_remedies=[], affected=[], version_status="unknown", version_note="",
        evidence=[Evidence(3, "CUDA error: no kernel image is available", "sig")], hit_count=1,
        labels=["triage:cuda-arch-mismatch"], references=[], source="kb/cuda-arch-mismatch.md", remedy_steps=steps,
    )


def _report(steps: list[RemedyStep], facts: Facts | None = None, fingerprint: Fingerprint | None = None) -> Report:
    return Report(matches=[_match(steps)], facts=facts or Facts(), key_lines=[], suggestions=[],
                  completeness=Completeness("complete", ""), followup="", line_count=3, fingerprint=fingerprint)


def test_unknown_runtime_generic_first_then_each_runtime_named() -> None:
    steps = remedy_list(_match(STEPS), Facts())
    assert [s.label for s in steps] == ["", "On Linux", "KoboldCpp", "KoboldCpp on Windows", "Ollama", "llama.cpp, llamafile"]
    assert steps[0].text == "Use the CPU or Vulkan." and steps[1].text.startswith("Set `HSA_OVERRIDE")
    assert sum(1 for s in steps if "GGML_CUDA" in s.text) == 1  # one step for two runtimes, naming both


def test_known_runtime_keeps_the_ranked_order() -> None:
    own = [STEPS[1], STEPS[0], STEPS[6]]
    steps = remedy_list(_match(own), Facts(product="koboldcpp", os="windows"))
    assert [(s.label, s.text) for s in steps] == [("", own[0].text), ("", own[1].text), ("", own[2].text)]
    other_os = remedy_list(_match(own), Facts(product="koboldcpp", os="linux"))
    assert other_os[2].label == "On Windows"
    either = remedy_list(_match([RemedyStep("Reboot.", None, "linux,windows", None)]), Facts())
    assert either[0].label == "On Linux / Windows"
    assert remedy_list(_match([RemedyStep("Reboot.", None, "linux,windows", None)]), Facts(os="windows"))[0].label == ""


def test_every_runtime_specific_remedy_is_named_in_text_and_markdown() -> None:
    report = _report(STEPS)
    text, md = to_text(report), to_markdown(report)
    assert "KoboldCpp: Pass `--usevulkan`." in text
    assert "Ollama: Set `OLLAMA_LLM_LIBRARY=cpu`." in text
    assert "**KoboldCpp:** Pass `--usevulkan`." in md
    assert "**llama.cpp, llamafile:** Rebuild" in md
    numbered = [line for line in text.splitlines() if re.match(r"  \d+\. ", line)]
    assert len(numbered) == 6
    assert numbered[0].endswith("Use the CPU or Vulkan.")


def test_remedies_without_steps_still_show() -> None:
    m = _match([])
    m.remedies = ["Only a plain remedy."]
    report = Report(matches=[m], facts=Facts(), key_lines=[], suggestions=[], completeness=Completeness("complete", ""),
                    followup="", line_count=1)
    assert "1. Only a plain remedy." in to_text(report)


def test_fingerprint_line() -> None:
    fp = Fingerprint("fp1-abc", "GGML_ASSERT(ne % QK == 0) in fattn-common.cuh", True, (3,))
    text, md = to_text(_report(STEPS, fingerprint=fp)), to_markdown(_report(STEPS, fingerprint=fp))
    assert "Fingerprint: `GGML_ASSERT(ne % QK == 0) in fattn-common.cuh`" in text
    assert "**Fingerprint:** `GGML_ASSERT(ne % QK == 0) in fattn-common.cuh`" in md
    assert "generic" not in text
    generic = Fingerprint("fp1-def", "llama runner process has terminated: exit status <n>", False, (9,))
    line = next(l for l in to_text(_report(STEPS, fingerprint=generic)).splitlines() if l.startswith("Fingerprint"))
    assert "generic" in line
    assert "Fingerprint" not in to_text(_report(STEPS))


def test_fingerprint_line_stays_short_and_fenced() -> None:
    fp = Fingerprint("fp1-x", "x" * 500 + " `evil` @everyone", True, (1,))
    md = to_markdown(_report(STEPS, fingerprint=fp))
    line = next(l for l in md.splitlines() if l.startswith("**Fingerprint:**"))
    assert len(line) < 220 and "@everyone" not in line


# ------------------------------------------------------------------ wrapping

NAMES = ["`llama-cpp-python`", "llama-cpp-python", "ggml-metal.metal", "`ggml-metal.metal`",
         "`cmake -B build -DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=61`", "https://github.com/ggml-org/llama.cpp/pull/11775",
         "`--gpu-layers 0`", "text-generation-webui"]
words = st.lists(st.sampled_from(["the", "model", "fails", "to", "load;", "use", "a", "rebuild", "with"] + NAMES),
                 min_size=1, max_size=60)


@settings(max_examples=200, deadline=None)
@given(words, st.integers(min_value=40, max_value=140))
def test_wrap_never_breaks_a_code_span_or_a_hyphenated_name(parts: list[str], width: int) -> None:
    text = " ".join(parts)
    out = wrap(text, width, "  3. ", "     ")
    for line in out.splitlines():
        assert line.count("`") % 2 == 0, line  # every code span opens and closes on one line
        body = line.strip()
        assert not body.endswith("-") and not re.match(r"\d+\. -", body), line
    tokens = " ".join(line.strip() for line in out.splitlines()).replace("  3. ", "")
    assert re.sub(r"^3\. ", "", tokens) == text
    for line in out.splitlines():
        if len(line) > width:
            assert " " not in line.strip()[3:] or "`" in line, line  # only one unbreakable token may overflow


def test_text_output_wraps_at_100_in_a_pipe() -> None:
    log = TESTS / "corpus" / "cuda-arch-mismatch__llamacpp4215-cuda-error-209-no-kernel-image.log"
    env = {**os.environ, "COLUMNS": "60"}
    proc = subprocess.run([sys.executable, "-m", "triage", str(log)], capture_output=True, timeout=60, env=env)
    out = proc.stdout.decode()
    prose = [line for line in out.splitlines() if not line.lstrip().startswith("line ")]
    assert max(len(line) for line in prose if "`" not in line) <= 100
    assert any(len(line) > 60 for line in prose)  # not the 60 of COLUMNS: stdout is not a terminal
    assert "llama-cpp-python" not in out or all(not l.endswith("llama-") for l in out.splitlines())


def test_width_option() -> None:
    log = TESTS / "corpus" / "cuda-arch-mismatch__llamacpp4215-cuda-error-209-no-kernel-image.log"
    proc = subprocess.run([sys.executable, "-m", "triage", "--width", "60", str(log)], capture_output=True, timeout=60)
    prose = [line for line in proc.stdout.decode().splitlines()
             if not line.lstrip().startswith("line ") and "`" not in line and "http" not in line]
    assert max(len(line) for line in prose if not line.startswith(("The CUDA", "Fingerprint"))) <= 60


@pytest.mark.parametrize("width", [40, 72, 100])
def test_wrap_keeps_paragraphs_and_indent(width: int) -> None:
    out = wrap("first paragraph here\nsecond `a b c` one", width, "  ")
    assert out.splitlines() == ["  first paragraph here", "  second `a b c` one"]


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_text_output_wraps_to_the_terminal_width() -> None:
    import pty

    log = TESTS / "corpus" / "cuda-arch-mismatch__llamacpp4215-cuda-error-209-no-kernel-image.log"
    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": "70", "LINES": "40"}
    proc = subprocess.Popen([sys.executable, "-m", "triage", "--color", "never", str(log)], stdout=slave,
                            stderr=subprocess.DEVNULL, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(master)
    out = b"".join(chunks).decode().replace("\r\n", "\n")
    prose = [line for line in out.splitlines() if not line.lstrip().startswith("line ") and "`" not in line
             and "http" not in line and not line.startswith("The CUDA")]
    assert prose and max(len(line) for line in prose) <= 70, out
    assert any(60 < len(line) <= 70 for line in prose)


def test_facts_show_the_runtime_display_name() -> None:
    from triage.render.common import facts_rows

    facts = Facts(product="koboldcpp", version="1.40.1")
    facts.product_name = "KoboldCpp"  # set by the engine from products/koboldcpp.toml
    assert ("Product", "KoboldCpp 1.40.1") in facts_rows(facts)


def test_a_remedy_naming_its_own_runtime_is_not_labelled_twice() -> None:
    """Many KB remedies open with their runtime ("LM Studio: change ...", "Ollama in Docker: ..."); the label the
    renderers add for an unknown runtime must not repeat it ("LM Studio: LM Studio: ...")."""
    steps = [
        RemedyStep("LM Studio: change the models folder.", "lmstudio", None, "LM Studio"),
        RemedyStep("Ollama in Docker: mount a volume.", "ollama", None, "Ollama"),
        RemedyStep("January builds need `--foo`.", "jan", None, "Jan"),
        RemedyStep("Windows: install the vendor's driver.", None, "windows", None),
    ]
    shown = remedy_list(_match(steps), Facts())
    assert ("LM Studio", "change the models folder.") in shown
    assert ("", "Ollama in Docker: mount a volume.") in shown
    assert ("Jan", "January builds need `--foo`.") in shown  # a word that merely starts with the name keeps it
    assert ("On Windows", "install the vendor's driver.") in shown  # not "On Windows: Windows: ..."
    text = to_text(_report(steps))
    assert "LM Studio: LM Studio" not in text and "LM Studio: change the models folder." in text
    assert "Ollama: Ollama" not in text
    markdown = to_markdown(_report(steps))
    assert "**LM Studio:** change the models folder." in markdown


def test_other_runtimes_remedies_are_not_prefixed_twice() -> None:
    from triage.engine import Engine

    engine = Engine.build()
    report = engine.analyse(b"ollama version is 0.6.0\nError: write /root/.ollama/models/blobs/sha256-1-partial: "
                            b"no space left on device\n")
    other = [m for m in report.matches if m.kb_id == "disk-space-exhausted"][0].other_remedies
    assert other and not any(r.lower().startswith(("lm studio: lm studio", "localai: localai")) for r in other)
