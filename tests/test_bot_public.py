"""The Discord bot in front of strangers (issues 11, 12 and 13), driven through dpytest:
Markdown from a log renders as text, deletes reach SQLite after a restart, a log is kept
only when judged (redacted, and only for the retention), and crash fingerprints are
counted per server for /trending and "seen N times"."""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path
from typing import Any

import discord
import discord.ext.test as dpytest
import pytest
from discord.ext.test import factories as facts

from bot import discord_bot
from bot.discord_bot import FEEDBACK_UP, TriageBot
from bot.settings import Settings
from test_discord_bot import ARCH_LOG, ARCH_TITLE, OOM_LOG, Harness, assert_no_pings, fenced, run, running_bot
from triage.feedback import DAY, FeedbackStore
from triage.model import Completeness, Evidence, Facts, Fingerprint, KeyLine, Match, Report

HF = "hf_" + "aBcDeFgHiJkLmNoPqRsTuVwXyZ012345"


def evil_log(member_id: int) -> str:
    """A GPU name full of Markdown (as a crafted or odd log can carry) before a real error."""
    gpu = f"NVIDIA GeForce [click](http://evil.example) **x** `y` <@{member_id}> @everyone"
    return ("ggml_cuda_init: found 1 CUDA devices:\n"
            f"  Device 0: {gpu}, compute capability 6.1, VMM: yes\n"
            "llm_load_tensors: offloaded 33/33 layers to GPU\n"
            "CUDA error 209 at /home/alice/ggml-cuda.cu:6701: no kernel image is available for execution on the device\n")
SECRET_LOG = ARCH_LOG + f"\nHF_TOKEN={HF}\n"


def forget_memory(bot: TriageBot) -> None:
    """What a restart loses: every in-memory map of messages, replies and logs."""
    bot._tracked.clear()
    bot._logs.clear()
    bot._log_chars = 0


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as raw:
        return raw.execute(sql).fetchall()


def embed_texts(embed: dict[str, Any]) -> list[str]:
    return [embed.get("title", ""), embed.get("description", ""), embed.get("footer", {}).get("text", "")] + [
        part for f in embed.get("fields", []) for part in (f["name"], f["value"])
    ]


_CODE = re.compile(r"```.*?```|``.*?``|`[^`]*`", re.DOTALL)


def outside_code(text: str) -> str:
    return _CODE.sub("", text)


# ---- Markdown from the log is text ------------------------------------------------------------------------------


def test_markdown_in_a_log_value_never_becomes_a_link_emphasis_or_ping(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_bot(tmp_path) as h:
            await dpytest.message(fenced(evil_log(h.members[1].id)))
            (sent,) = h.sent()
            embed = h.payloads[0]["embeds"][0]
            assert_no_pings(h.payloads[0])
            setup = next(f["value"] for f in embed["fields"] if f["name"].startswith("Your setup"))
            assert "click" in setup and "evil" in setup  # the GPU name is shown ...
            for text in embed_texts(embed):  # ... and nowhere can it render as Markdown
                plain = outside_code(text)
                assert not re.search(r"(?<!\\)\[click(?<!\\)\]\(", plain), text
                assert "http://evil" not in plain, text  # no bare link either
                assert not re.search(r"(?<!\\)\*\*x", plain), text
                assert not re.search(r"(?<!\\)<@", plain), text
            assert sent.embeds[0].title == ARCH_TITLE

    run(scenario)


def test_a_file_name_is_shown_as_code(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_bot(tmp_path) as h:
            path = tmp_path / "[x](http:evil)**b**.log"
            path.write_text(ARCH_LOG, encoding="utf-8")
            await h.post("", path)
            description = h.payloads[0]["embeds"][0]["description"]
            assert f"`{path.name}`" in description

    run(scenario)


# ---- deletes, after a restart too -------------------------------------------------------------------------------


def test_deleting_the_message_after_a_restart_deletes_the_reply_and_its_rows(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_bot(tmp_path) as h:
            msg = await dpytest.message(fenced(ARCH_LOG))
            reply = h.sent()[0]
            await h.interact(3, {"custom_id": FEEDBACK_UP, "component_type": 2}, message=reply)
            assert rows(h.db, "SELECT reply_id, message_id FROM replies") == [(reply.id, msg.id)]
            assert len(rows(h.db, "SELECT 1 FROM logs")) == 1
            forget_memory(h.bot)
            await h.user_deletes(msg)
            assert not await h.still_exists(reply)
            assert rows(h.db, "SELECT 1 FROM replies") == rows(h.db, "SELECT 1 FROM logs") == rows(h.db, "SELECT 1 FROM votes") == []

    run(scenario)


def test_an_edit_after_a_restart_edits_or_removes_the_old_reply(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_bot(tmp_path) as h:
            msg = await dpytest.message(fenced(OOM_LOG))
            reply = h.sent()[0]
            forget_memory(h.bot)
            await h.user_edits(msg, fenced(ARCH_LOG))
            assert h.sent() == []  # edited in place, not a second answer
            assert (await h.channel.fetch_message(reply.id)).embeds[0].title == ARCH_TITLE
            forget_memory(h.bot)
            await h.user_edits(msg, "never mind, fixed it")
            assert not await h.still_exists(reply)
            assert rows(h.db, "SELECT 1 FROM replies") == []

    run(scenario)


def test_deleting_a_message_deletes_the_triage_this_log_answer(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_bot(tmp_path) as h:
            target = await dpytest.message("it just closes, no error shown")
            msg_data = dict(facts.dict_from_message(target), channel_id=h.channel.id, type=0)
            data = {"id": "2", "name": "Triage this log", "type": 3, "target_id": str(target.id),
                    "resolved": {"messages": {str(target.id): msg_data}}}
            await h.interact(2, data)
            assert h.adapter.followups[0]["embeds"][0]["title"] == "No known problem recognised"
            ((reply_id, message_id),) = rows(h.db, "SELECT reply_id, message_id FROM replies")
            assert message_id == target.id
            forget_memory(h.bot)
            deleted: list[int] = []

            async def delete(self: discord.PartialMessage, *, delay: float | None = None) -> None:
                deleted.append(self.id)

            with pytest.MonkeyPatch.context() as mp:
                mp.setattr(discord.PartialMessage, "delete", delete)
                await h.user_deletes(target)
            assert deleted == [reply_id]
            assert rows(h.db, "SELECT 1 FROM replies") == []

    run(scenario)


def _fake_message(h: Harness, message_id: int) -> discord.Message:
    assert h.bot.user is not None
    data = facts.make_message_dict(h.channel, h.bot.user, message_id, content="")
    return discord.Message(state=h.channel._state, channel=h.channel, data=data)  # type: ignore[arg-type]


def test_a_deleted_triage_reply_takes_its_stored_log_with_it(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_bot(tmp_path) as h:
            line = "CUDA error 209 at ggml-cuda.cu:6701: no kernel image is available for execution on the device"
            await h.interact(2, {"id": "1", "name": "triage", "type": 1, "options": [{"name": "text", "type": 3, "value": line}]})
            ((reply_id,),) = rows(h.db, "SELECT reply_id FROM replies")
            reply = _fake_message(h, reply_id)
            await h.interact(3, {"custom_id": FEEDBACK_UP, "component_type": 2}, message=reply)
            assert len(rows(h.db, "SELECT 1 FROM logs")) == 1  # voted while the log was in memory
            forget_memory(h.bot)
            h.bot._connection.parse_message_delete({"id": str(reply_id), "channel_id": str(h.channel.id), "guild_id": str(h.channel.guild.id)})
            await dpytest.run_all_events()
            assert rows(h.db, "SELECT 1 FROM replies") == rows(h.db, "SELECT 1 FROM logs") == []

    run(scenario)


# ---- a log is kept only when judged, redacted, for the retention ------------------------------------------------


def test_an_answered_log_is_not_stored_until_someone_votes_and_then_redacted(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_bot(tmp_path) as h:
            await dpytest.message(fenced(SECRET_LOG))
            reply = h.sent()[0]
            assert rows(h.db, "SELECT 1 FROM logs") == []
            on_disk = b"".join(p.read_bytes() for p in h.db.parent.glob(h.db.name + "*"))  # the database and its WAL
            assert HF.encode() not in on_disk and b"alice" not in on_disk
            await h.interact(3, {"custom_id": FEEDBACK_UP, "component_type": 2}, message=reply)
            stored = FeedbackStore(h.db).stored_log(reply.id)
            assert stored is not None and "no kernel image is available" in stored
            assert HF not in stored and "alice" not in stored

    run(scenario)


def test_a_vote_after_a_restart_reads_the_log_again_from_the_message(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_bot(tmp_path) as h:
            await dpytest.message(fenced(ARCH_LOG))
            reply = h.sent()[0]
            forget_memory(h.bot)
            await h.interact(3, {"custom_id": FEEDBACK_UP, "component_type": 2}, message=reply)
            assert "cuda-arch-mismatch" in h.adapter.responses[-1]["data"]["content"]
            stored = FeedbackStore(h.db).stored_log(reply.id)
            assert stored is not None and "no kernel image is available" in stored

    run(scenario)


def test_a_vote_whose_log_is_gone_is_not_stored(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_bot(tmp_path) as h:
            line = "CUDA error 209 at ggml-cuda.cu:6701: no kernel image is available for execution on the device"
            await h.interact(2, {"id": "1", "name": "triage", "type": 1, "options": [{"name": "text", "type": 3, "value": line}]})
            ((reply_id,),) = rows(h.db, "SELECT reply_id FROM replies")
            forget_memory(h.bot)  # a /triage text answer: after a restart its log exists nowhere
            await h.interact(3, {"custom_id": FEEDBACK_UP, "component_type": 2}, message=_fake_message(h, reply_id))
            assert "no longer have the log" in h.adapter.responses[-1]["data"]["content"]
            assert rows(h.db, "SELECT 1 FROM votes") == []

    run(scenario)


def test_old_rows_are_pruned_when_the_bot_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "fb.sqlite3"
    store = FeedbackStore(db)
    store.record_reply(1, 10, 100, "cuda-oom", "a.log")
    store.record_vote(1, 7, 1, ARCH_LOG)
    store.record_fingerprint(5, 100, "v2-x", "x", "", "", "", now=time.time() - 40 * DAY)
    with sqlite3.connect(db) as raw:
        raw.execute("UPDATE replies SET created = ?", (time.time() - 40 * DAY,))
        raw.execute("UPDATE logs SET stored = ?", (time.time() - 40 * DAY,))

    async def scenario() -> None:
        bot = discord_bot.create_bot(Settings.from_env({"TRIAGE_FEEDBACK_DB": str(db), "TRIAGE_RETENTION_DAYS": "30"}))
        assert bot.settings.retention_days == 30

        async def sync(*, guild: discord.abc.Snowflake | None = None) -> list[Any]:
            return []

        monkeypatch.setattr(bot.tree, "sync", sync)
        await bot._async_setup_hook()
        await bot.setup_hook()
        for _ in range(100):
            if not rows(db, "SELECT 1 FROM replies"):
                break
            await asyncio_sleep()
        assert bot.prune_daily.is_running()
        await bot.close()
        assert not bot.prune_daily.is_running()

    run(scenario)
    assert rows(db, "SELECT 1 FROM replies") == rows(db, "SELECT 1 FROM logs") == rows(db, "SELECT 1 FROM fingerprints") == []


async def asyncio_sleep() -> None:
    import asyncio

    await asyncio.sleep(0.01)


def test_bad_retention_exits_2_naming_the_variable(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "x")
    monkeypatch.setenv("TRIAGE_RETENTION_DAYS", "forever")
    assert discord_bot.main([]) == 2
    assert capsys.readouterr().err == "triage-bot: TRIAGE_RETENTION_DAYS: expected a positive number of days, got 'forever'\n"


# ---- fingerprints: seen before, /trending -----------------------------------------------------------------------


def crafted(fp: Fingerprint | None, *, kb_id: str | None = None, product: str = "ollama", version: str = "0.5.1") -> Report:
    """A report as the engine gives it, with the fingerprint under test."""
    matches = []
    if kb_id:
        matches.append(Match(kb_id, "A known crash", 0.9, "confident", "cause", None, "Because.", "Summary.", ["Do this."], [],
                             [], "unknown", "", [Evidence(2, "GGML_ASSERT(x) failed", "sig")], 1, [], [], f"kb/{kb_id}.md"))
    return Report(matches, Facts(product=product, version=version), [KeyLine(2, "GGML_ASSERT(x) failed", 9)], [],
                  Completeness("complete", ""), "", 3, fingerprint=fp)


ASSERT_FP = Fingerprint("v2-0123456789ab", "GGML_ASSERT(ne % 32 == 0) in ggml-cuda/mmq.cu", True, (2,))
GENERIC_FP = Fingerprint("v2-generic0000", "llama runner process has terminated: exit status 2", False, (2,))


def feed(monkeypatch: pytest.MonkeyPatch, reports: list[Report]) -> None:
    queue = list(reports)

    def analyse_one(raw: bytes | str, engine: Any) -> tuple[Report, str]:
        return queue.pop(0), raw if isinstance(raw, str) else raw.decode()

    monkeypatch.setattr(discord_bot, "_analyse_one", analyse_one)


def trending(days: int | None = None) -> dict[str, Any]:
    options = [] if days is None else [{"name": "days", "type": 4, "value": days}]
    return {"id": "9", "name": "trending", "type": 1, "options": options}


def test_a_crash_seen_before_in_this_server_says_so_and_trending_lists_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    feed(monkeypatch, [crafted(ASSERT_FP, product="ollama", version="0.5.1"),
                       crafted(ASSERT_FP, product="ollama", version="0.5.2"),
                       crafted(GENERIC_FP, product="koboldcpp", version="1.62"),
                       crafted(ASSERT_FP, kb_id="cuda-oom", product="koboldcpp", version="1.62")])

    async def scenario() -> None:
        async with running_bot(tmp_path) as h:
            log = "```\nggml_cuda_init: found 1 CUDA devices\nGGML_ASSERT(x) failed\n```"
            await h.interact(2, {"id": "1", "name": "triage", "type": 1, "options": [{"name": "text", "type": 3, "value": log}]})
            first = h.adapter.followups[-1]["embeds"][0]["description"]
            assert "Fingerprint: `GGML_ASSERT(ne % 32 == 0) in ggml-cuda/mmq.cu`" in first and "Seen" not in first
            await dpytest.message(log, member=1)  # passive: unknown crash, no reply, but counted
            assert h.sent() == []
            await dpytest.message(log, member=1)  # a generic fingerprint: never counted
            await dpytest.message(log)
            (reply,) = h.sent()
            assert "Seen 3 times in this server this week" in (reply.embeds[0].description or "")
            await h.interact(2, trending())
            response = h.adapter.responses[-1]
            assert response["data"]["flags"] == 64  # only the moderator who asked sees it
            embed = response["data"]["embeds"][0]
            assert embed["title"] == "Most reported crashes, last 7 days"
            (field,) = embed["fields"]
            assert field["name"] == "1. 3 reports"
            assert "GGML_ASSERT(ne % 32 == 0) in ggml-cuda/mmq.cu" in field["value"]
            assert "`cuda-oom`" in field["value"]
            assert "Ollama 0.5.1, 0.5.2" in field["value"] and "KoboldCpp 1.62" in field["value"]
            assert "exit status 2" not in str(embed)  # the generic fingerprint is left out
            await h.interact(2, trending(1))
            assert "last 1 day" in h.adapter.responses[-1]["data"]["embeds"][0]["title"]

    run(scenario)


def test_trending_with_nothing_reported_says_so(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_bot(tmp_path) as h:
            await h.interact(2, trending(3))
            embed = h.adapter.responses[-1]["data"]["embeds"][0]
            assert embed["title"] == "No crash reports yet" and "3 days" in embed["description"]

    run(scenario)


def test_the_engines_own_fingerprint_is_counted_end_to_end(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_bot(tmp_path) as h:
            for member in (0, 1, 0):
                await dpytest.message(fenced(ARCH_LOG), member=member)
            replies = h.sent()
            assert [r.embeds[0].title for r in replies] == [ARCH_TITLE] * 3
            fp = h.bot.engine.analyse(ARCH_LOG).fingerprint
            if fp is None or not fp.specific:
                pytest.skip("the engine gives this log no specific fingerprint yet")
            assert f"Fingerprint: `{fp.text}`" in (replies[0].embeds[0].description or "")
            assert "Seen 3 times in this server this week" in (replies[2].embeds[0].description or "")
            await h.interact(2, trending())
            (field,) = h.adapter.responses[-1]["data"]["embeds"][0]["fields"]
            assert field["name"] == "1. 3 reports" and "`cuda-arch-mismatch`" in field["value"]

    run(scenario)


# ---- issue 11 item 6, the Discord path: no secret in the embed or the stored log ---------------------------------

SECRETS = {
    "bearer": "Zx9qLmN0pQrStUvWxYz12", "token": "ghx9qLmN0pQrStUv", "password": "hunter2pass",
    "aws": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "asia": "ASIAIOSFODNN7EXAMPLE", "ipv6": "2001:db8::1",
    "ipv6-zone": "fe80::1%eth0", "windows-user": "bobsmith", "ipv4": "192.168.1.42", "home": "alice",
}
SECRETS_LOG = (
    f'curl -H "Authorization: Bearer {SECRETS["bearer"]}" http://localhost:11434/api/generate\n'
    f"Authorization: token {SECRETS['token']}\n"
    f"curl -u admin:{SECRETS['password']} http://example.com\n"
    f"AWS_SECRET_ACCESS_KEY={SECRETS['aws']}\n"
    f"aws key {SECRETS['asia']}\n"
    f"listening on [{SECRETS['ipv6']}]:8080 and {SECRETS['ipv6-zone']}\n"
    f"loading c:\\users\\{SECRETS['windows-user']}\\models\\x.gguf\n"
    f"ggml_cuda_init: found 1 CUDA devices: driver 550.54.14, CUDA 12.4, compute capability 8.6\n"
    f"llama_model_load: error loading model: failed to open /home/{SECRETS['home']}/models/x.gguf: No such file or directory\n"
    f"Error: listen tcp {SECRETS['ipv4']}:11434: bind: address already in use\n"
)


def test_no_secret_reaches_the_embed_or_the_stored_log(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_bot(tmp_path) as h:
            path = tmp_path / "server.log"
            path.write_text(SECRETS_LOG, encoding="utf-8")
            await h.post("", path)
            reply = h.sent()[0]
            shown = str(h.payloads[0])
            await h.interact(3, {"custom_id": FEEDBACK_UP, "component_type": 2}, message=reply)
            stored = FeedbackStore(h.db).stored_log(reply.id)
            assert stored is not None and "address already in use" in stored and "550.54.14" in stored
            left = {name: secret for name, secret in SECRETS.items() if secret in shown or secret in stored}
            assert not left

    run(scenario)
