"""bot.reply for the public bot: remedies in the user's runtime's terms (issue 12), KB links
(web app, static site or GitHub), Markdown from logs escaped, the fingerprint line."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.reply import EMBED_TOTAL_MAX, FIELD_VALUE_MAX, embed_length, entry_url, literal, prose, remedy_lines, report_embed, trending_embed
from triage.feedback import Trend
from triage.model import Completeness, Evidence, Facts, Fingerprint, Match, RemedyStep, Report

STEPS = [
    RemedyStep("Use fewer GPU layers: `--gpulayers 20`.", "koboldcpp", None, "KoboldCpp"),
    RemedyStep("Close other programs that use the GPU."),
    RemedyStep("Set `num_gpu` lower in the Modelfile.", "ollama", None, "Ollama"),
    RemedyStep("Lower the context: `--contextsize 4096`.", "koboldcpp", None, "KoboldCpp"),
    RemedyStep("Set `HSA_OVERRIDE_GFX_VERSION=10.3.0`.", None, "linux"),
]


def match(steps: list[RemedyStep] = STEPS, title: str = "Out of GPU memory") -> Match:
    return Match("cuda-oom", title, 0.9, "confident", "cause", None, "The GPU ran out of memory.", "Summary.",
                 [s.text for s in steps], [], [], "unknown", "", [Evidence(3, "CUDA error: out of memory", "sig")], 1, [], [],
                 "kb/cuda-oom.md", remedy_steps=steps)


def report(m: Match, facts: Facts, fp: Fingerprint | None = None) -> Report:
    return Report([m], facts, [], [], Completeness("complete", ""), "", 10, fingerprint=fp)


def what_to_do(embed: dict[str, Any]) -> str:
    return "\n".join(f["value"] for f in embed["fields"] if f["name"].startswith("What to do"))


def test_unknown_runtime_generic_steps_first_then_each_runtime_under_its_name() -> None:
    lines = remedy_lines(match(), Facts())
    assert lines == [
        "1. Close other programs that use the GPU.",
        "2. **On Linux:** Set `HSA_OVERRIDE_GFX_VERSION=10.3.0`.",
        "3. **KoboldCpp:** Use fewer GPU layers: `--gpulayers 20`.",
        "4. **KoboldCpp:** Lower the context: `--contextsize 4096`.",
        "5. **Ollama:** Set `num_gpu` lower in the Modelfile.",
    ]
    assert what_to_do(report_embed(report(match(), Facts()))) == "\n".join(lines)


def test_known_runtime_keeps_the_given_order_and_names_only_other_runtimes() -> None:
    lines = remedy_lines(match(), Facts(product="koboldcpp", os="linux"))
    assert lines[0] == "1. Use fewer GPU layers: `--gpulayers 20`."
    assert lines[2] == "3. **Ollama:** Set `num_gpu` lower in the Modelfile."
    assert lines[4] == "5. Set `HSA_OVERRIDE_GFX_VERSION=10.3.0`."  # the user's OS: no label
    assert remedy_lines(match(), Facts(product="koboldcpp", os="windows"))[4] == "5. **On Linux:** Set `HSA_OVERRIDE_GFX_VERSION=10.3.0`."
    embed = report_embed(report(match(), Facts(product="koboldcpp", os="linux")))
    assert what_to_do(embed).startswith("1. Use fewer GPU layers")


def test_remedies_without_steps_fall_back_to_the_plain_list() -> None:
    m = match([])
    m.remedies = ["Do this.", "Then that."]
    m.remedy_steps = []
    assert remedy_lines(m, Facts()) == ["1. Do this.", "2. Then that."]


def test_a_step_for_several_runtimes_is_shown_once_naming_them_all() -> None:
    text = "Reinstall the CUDA wheel."
    steps = [RemedyStep(text, "llama-cpp-python", None, "llama-cpp-python"), RemedyStep(text, "text-generation-webui", None, "text-generation-webui")]
    assert remedy_lines(match(steps), Facts()) == ["1. **llama-cpp-python, text-generation-webui:** Reinstall the CUDA wheel."]


@pytest.mark.parametrize(
    ("base", "url"),
    [
        ("https://github.com/o/triage/blob/main/", "https://github.com/o/triage/blob/main/kb/cuda-oom.md"),
        ("https://github.com/o/triage/blob/v1", "https://github.com/o/triage/blob/v1/kb/cuda-oom.md"),
        ("https://triage.example.org", "https://triage.example.org/kb/cuda-oom/"),
        ("https://o.github.io/triage/", "https://o.github.io/triage/kb/cuda-oom/"),
        (None, None),
    ],
)
def test_kb_links_follow_where_the_kb_is_served(base: str | None, url: str | None) -> None:
    assert entry_url(base, "cuda-oom") == url
    assert report_embed(report(match(), Facts()), kb_url=base).get("url") == url


def test_a_title_value_from_the_log_is_escaped_but_kb_code_spans_stay_code() -> None:
    m = match(title="No code for [click](http://evil) **x** in `-ngl 99`")
    embed = report_embed(report(m, Facts()))
    assert embed["title"] == "No code for \\[click\\](http:\u200b//evil) \\*\\*x\\*\\* in `-ngl 99`"


def test_the_fingerprint_line_and_seen_count() -> None:
    fp = Fingerprint("v2-abc", "GGML_ASSERT(ne % 32 == 0) in mmq.cu", True, (3,))
    description = report_embed(report(match(), Facts(), fp), seen=4)["description"]
    assert "Fingerprint: `GGML_ASSERT(ne % 32 == 0) in mmq.cu`" in description
    assert "Seen 4 times in this server this week" in description
    assert "Seen" not in report_embed(report(match(), Facts(), fp), seen=1)["description"]
    generic = report_embed(report(match(), Facts(), fp._replace(specific=False)), seen=9)["description"]
    assert "Seen" not in generic and "does not identify one bug" in generic


def test_trending_embed_fits_discord_with_many_long_fingerprints() -> None:
    trends = [Trend(f"v2-{i}", "GGML_ASSERT(" + "x" * 900 + ")", 50 - i, ("cuda-oom",),
                    tuple((f"runtime{j}", tuple(f"1.{k}" for k in range(30))) for j in range(8)), 0.0) for i in range(30)]
    embed = trending_embed(trends, 7, {}, {"cuda-oom": "Out of GPU memory"})
    assert embed_length(embed) <= EMBED_TOTAL_MAX and all(len(f["value"]) <= FIELD_VALUE_MAX for f in embed["fields"])
    assert embed["fields"][0]["name"] == "1. 50 reports"


_LIVE = re.compile(r"(?<!\\)\[[^\]]*(?<!\\)\]\(|(?<!\\)\*\*|(?<!\\)<@|@everyone|@here|(?i:https?)://")


@given(st.text(alphabet="[]()*_~`|<>@#:/-\\ hptsxeveryone123\n", max_size=80))
def test_a_literal_value_never_renders_markdown(text: str) -> None:
    out = literal(text)
    assert not _LIVE.search(out), out
    assert "`" not in out.replace("\\`", "")


@given(st.text(alphabet="[]()*_~|<>@#:/-\\ hptsxeveryone123\n", max_size=60))
def test_prose_escapes_everything_outside_the_kbs_code_spans(value: str) -> None:
    out = prose(f"The GPU ({value}) failed; run `nvidia-smi` to see it.")
    assert out.endswith("run `nvidia-smi` to see it.")
    assert not _LIVE.search(out.replace("`nvidia-smi`", "")), out
