"""bot.reply: Report -> embed dict within Discord's limits, with nothing that can ping."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.reply import (
    DESCRIPTION_MAX,
    EMBED_TOTAL_MAX,
    FIELD_NAME_MAX,
    FIELD_VALUE_MAX,
    FIELDS_MAX,
    FOOTER_MAX,
    TITLE_MAX,
    clip,
    embed_length,
    entry_embed,
    notice_embed,
    report_embed,
    search_embed,
    should_reply,
)
from conftest import analyse
from triage.load import KnowledgeBase
from triage.model import (
    Completeness,
    Evidence,
    Facts,
    KeyLine,
    Match,
    Report,
    Suggestion,
)

CORPUS = Path(__file__).resolve().parent / "corpus"
LOG = (CORPUS / "cuda-arch-mismatch__llamacpp4215-cuda-error-209-no-kernel-image.log").read_text(encoding="utf-8")


def assert_within_limits(embed: dict[str, Any]) -> None:
    assert embed_length(embed) <= EMBED_TOTAL_MAX
    assert len(embed["title"]) <= TITLE_MAX
    assert len(embed.get("description", "")) <= DESCRIPTION_MAX
    assert len(embed["footer"]["text"]) <= FOOTER_MAX
    assert len(embed["fields"]) <= FIELDS_MAX
    for f in embed["fields"]:
        assert 0 < len(f["name"]) <= FIELD_NAME_MAX
        assert 0 < len(f["value"]) <= FIELD_VALUE_MAX
        assert f["value"].count("```") % 2 == 0, f"unbalanced fence in {f['name']!r}"


def all_text(embed: dict[str, Any]) -> str:
    parts = [embed["title"], embed.get("description", ""), embed["footer"]["text"]]
    parts += [f["name"] + "\n" + f["value"] for f in embed["fields"]]
    return "\n".join(parts)


def huge_match(i: int, *, text: str = "x") -> Match:
    return Match(
        kb_id=f"entry-{i}", title=f"Problem {i} " + "t" * 400, confidence=0.9 - i / 100,
        certainty="confident" if i == 0 else "possible", kind="cause", variant=None,
        root_cause=("Root cause words " * 200).strip(), summary="s",
        remedies=[f"Remedy {n}: " + "do this and that " * 40 for n in range(12)],
        other_remedies=["other " * 300], affected=[], version_status="", version_note="1.61 is affected, fixed in 1.61.2",
        evidence=[Evidence(n * 1000, text * 5000, "sig") for n in range(30)], hit_count=30, labels=[],
        references=[f"https://example.org/{n}" for n in range(10)], source=f"kb/entry-{i}.md", confirm="confirm " * 300,
    )


def huge_report(n_matches: int = 40) -> Report:
    return Report(
        matches=[huge_match(i) for i in range(n_matches)],
        facts=Facts(product="koboldcpp", version="1.61", os="windows", backends=["cuda"], model_file="m" * 3000),
        key_lines=[KeyLine(n, "k" * 3000, 90) for n in range(50)],
        suggestions=[Suggestion(f"s-{n}", "title " * 50, 0.5) for n in range(10)],
        completeness=Completeness("complete", "reason " * 1000), followup="send more " * 500, line_count=100000,
    )


def test_real_log_names_the_entry_with_evidence_and_remedies() -> None:
    report = analyse(LOG)
    embed = report_embed(report)
    assert embed["title"] == report.matches[0].title
    assert "cuda-arch-mismatch" in embed["footer"]["text"]
    names = [f["name"] for f in embed["fields"]]
    assert names[0] == "Why (log line 1)"
    assert "Root cause" in names and "What to do" in names
    why = embed["fields"][0]["value"]
    assert why.startswith("```") and "no kernel image is available" in why
    assert "1. " in next(f["value"] for f in embed["fields"] if f["name"] == "What to do")
    assert_within_limits(embed)


def test_version_verdict_and_entry_link_are_shown() -> None:
    embed = report_embed(huge_report(1), kb_url="https://github.com/o/triage/blob/main/")
    assert embed["description"].startswith("**Version:** 1.61 is affected, fixed in 1.61.2")
    assert embed["url"] == "https://github.com/o/triage/blob/main/kb/entry-0.md"


def test_huge_report_is_cut_to_every_discord_limit() -> None:
    embed = report_embed(huge_report(), notes=["note " * 400] * 20)
    assert_within_limits(embed)
    names = [f["name"] for f in embed["fields"]]
    # the most important parts survive the cuts, in reading order
    assert names[:3] == ["Why (log lines 0, 1000, 2000, 3000, 4000…)", "Root cause", "What to do"]


def test_huge_unknown_report_is_cut_to_every_discord_limit() -> None:
    report = huge_report()
    report.matches = []
    embed = report_embed(report, source="x.log", notes=["n " * 2000])
    assert_within_limits(embed)
    assert embed["title"] == "No known problem recognised"
    assert embed["fields"][0]["name"] == "Key lines"


def test_evidence_line_cannot_close_the_fence_early() -> None:
    report = huge_report(1)
    report.matches[0].evidence = [Evidence(3, "``````` then **bold** @everyone", "sig")]
    embed = report_embed(report)
    why = embed["fields"][0]["value"]
    assert why.startswith("````````") and why.endswith("````````")
    assert_within_limits(embed)


@pytest.mark.parametrize("mention", ["@everyone", "@here", "<@123456789012345678>", "<@&123456789012345678>", "<@!123456789012345678>"])
def test_mentions_from_the_log_are_broken_everywhere(mention: str) -> None:
    report = huge_report(2)
    m = report.matches[0]
    m.title = f"title {mention}"
    m.root_cause = f"cause {mention}"
    m.remedies = [f"remedy {mention}"]
    m.evidence = [Evidence(1, f"line {mention}", "sig")]
    report.facts.model_file = f"{mention}.gguf"
    text = all_text(report_embed(report, notes=[f"note {mention}"], source=mention))
    assert mention not in text


def test_no_match_shows_key_lines_and_nearest_entries() -> None:
    report = analyse("loading...\nerror: something odd happened while loading the model\n")
    assert not report.matches
    embed = report_embed(report, source="crash.log")
    names = [f["name"] for f in embed["fields"]]
    assert "Key lines" in names
    assert "crash.log" in embed["description"]


def test_should_reply_only_passively_on_a_match() -> None:
    unknown = analyse("error: something odd happened\n")
    assert not should_reply(unknown, explicit=False)
    assert should_reply(unknown, explicit=True)
    assert should_reply(analyse(LOG), explicit=False)


@pytest.mark.parametrize(("text", "limit"), [("a" * 10, 10), ("word " * 100, 50), ("`code` and `more code here`", 20), ("x", 1)])
def test_clip_respects_the_limit(text: str, limit: int) -> None:
    out = clip(text, limit)
    assert len(out) <= limit
    if len(text) > limit:
        assert out.endswith("…")


def test_entry_search_and_notice_embeds_fit(kb: KnowledgeBase) -> None:
    for entry in kb.entries.values():
        embed = entry_embed(entry)
        assert embed["title"] == entry.title
        assert_within_limits(embed)
    assert_within_limits(search_embed("cuda", [Suggestion("cuda-oom", "CUDA out of memory", 0.8)]))
    assert search_embed("zzz", [])["title"] == "No KB entry matches"
    assert_within_limits(notice_embed("skipped", ["big.log is over the limit"] * 300))


def test_nearest_entries_field_says_no_runtime_was_recognised() -> None:
    """The Discord reply carries the same note as the CLI: suggestions rest on wording, and this paste names no
    llama.cpp-family program (Node's own EADDRINUSE)."""
    report = analyse("Error: listen EADDRINUSE: address already in use :::5000\n    at Server.setupListenHandle"
                     " [as _listen2] (node:net:1872:16)\n  code: 'EADDRINUSE',\n  syscall: 'listen',\n  port: 5000\n")
    assert report.suggestions and not report.matches
    field = next(f for f in report_embed(report)["fields"] if f["name"] == "Nearest KB entries")
    assert "port-already-in-use" in field["value"]
    assert "no llama.cpp-family program was recognised" in field["value"]
