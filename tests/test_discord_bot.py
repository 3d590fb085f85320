"""The real bot driven through dpytest, as a user in a support channel would.

dpytest fakes Discord's HTTP API and gateway; discord.py's own code runs
unchanged: events, attachment downloads, replies, edits, deletes, views and
the app-command tree. Interaction responses go through discord.py's webhook
adapter, which is swapped for a recorder (`FakeAdapter`). Each test runs its
own event loop with `asyncio.run`, so no pytest plugin is needed.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import discord
import discord.ext.test as dpytest
import pytest
from discord.ext.test import backend as back
from discord.ext.test import factories as facts
from discord.webhook.async_ import async_context

from bot import discord_bot
from bot.discord_bot import (
    FEEDBACK_DOWN,
    FEEDBACK_UP,
    FeedbackView,
    TriageBot,
    create_bot,
)
from bot.reply import EMBED_TOTAL_MAX, FIELD_VALUE_MAX, FIELDS_MAX
from bot.settings import Rate, Settings
from triage.cli import main as cli_main
from triage.feedback import FeedbackStore, export_corpus

CORPUS = Path(__file__).resolve().parent / "corpus"
ARCH_LOG_PATH = CORPUS / "cuda-arch-mismatch__llamacpp4215-cuda-error-209-no-kernel-image.log"
ARCH_LOG = ARCH_LOG_PATH.read_text(encoding="utf-8").replace("/home/user/", "/home/alice/")
OOM_LOG = (CORPUS / "cuda-oom__tgwui-5415-mixtral-cudamalloc-7825mib.log").read_text(encoding="utf-8")
ARCH_TITLE = "The CUDA build has no code for this GPU's architecture"
NO_PINGS = {"parse": [], "replied_user": False}
_ids = itertools.count(1_200_000_000_000_000_000)


@dataclass
class FakeAdapter:
    """Stands in for discord.py's webhook adapter: records interaction responses and follow-ups."""

    bot: TriageBot
    channel: discord.TextChannel
    responses: list[dict[str, Any]] = field(default_factory=list)
    followups: list[dict[str, Any]] = field(default_factory=list)

    async def create_interaction_response(self, interaction_id: int, token: str, **kwargs: Any) -> dict[str, Any]:
        self.responses.append(kwargs["params"].payload)
        return {"interaction": {"id": str(interaction_id), "type": 2}}

    async def execute_webhook(self, webhook_id: int, token: str, **kwargs: Any) -> dict[str, Any]:
        payload = kwargs["payload"]
        self.followups.append(payload)
        assert self.bot.user is not None
        embeds = [discord.Embed.from_dict(e) for e in payload.get("embeds", [])]
        data = facts.make_message_dict(self.channel, self.bot.user, next(_ids), content=payload.get("content") or "", embeds=embeds)
        data["channel_id"] = self.channel.id
        return data


@dataclass
class Harness:
    bot: TriageBot
    channel: discord.TextChannel
    members: list[discord.Member]
    payloads: list[dict[str, Any]]  # every message the bot sent, as sent to Discord's API
    adapter: FakeAdapter
    db: Path

    def sent(self) -> list[discord.Message]:
        out = []
        while not dpytest.sent_queue.empty():
            out.append(dpytest.sent_queue.get_nowait())
        return out

    async def user_edits(self, message: discord.Message, content: str) -> None:
        """A MESSAGE_UPDATE from the gateway, as Discord sends when the author edits."""
        data = facts.dict_from_message(message)
        data.update(content=content, channel_id=message.channel.id, guild_id=self.channel.guild.id, type=0,
                    edited_timestamp="2024-01-01T00:00:00+00:00")
        back.get_state().parse_message_update(data)  # type: ignore[arg-type]
        await dpytest.run_all_events()

    async def user_deletes(self, message: discord.Message) -> None:
        back.delete_message(message)
        await dpytest.run_all_events()

    async def post(self, content: str, *files: Path, member: int = 0) -> discord.Message:
        """A user message with real attachments: size and a file:// URL that discord.py downloads like a CDN one."""
        attachments = [back.make_attachment(path) for path in files]
        message = back.make_message(content, self.members[member], self.channel, attachments=attachments)
        await dpytest.run_all_events()
        return message

    async def still_exists(self, message: discord.Message) -> bool:
        try:
            await self.channel.fetch_message(message.id)
        except discord.NotFound:
            return False
        return True

    async def interact(self, payload_type: int, data: dict[str, Any], *, message: discord.Message | None = None) -> None:
        """An INTERACTION_CREATE from the gateway (slash command, context menu, button, autocomplete)."""
        channel = self.channel
        payload: dict[str, Any] = {
            "id": str(next(_ids)), "application_id": str(self.bot.user.id if self.bot.user else 1), "type": payload_type,
            "token": "interaction-token", "version": 1, "guild_id": str(channel.guild.id), "channel_id": str(channel.id),
            "channel": {"id": str(channel.id), "type": 0, "guild_id": str(channel.guild.id), "name": channel.name, "position": 0},
            "member": facts.dict_from_member(self.members[0]), "data": data, "attachment_size_limit": 25 * 1024 * 1024,
            "locale": "en-US",
        }
        if message is not None:
            payload["message"] = dict(facts.dict_from_message(message), channel_id=channel.id, type=0)
        back.get_state().parse_interaction_create(payload)  # type: ignore[arg-type]
        await settle()


async def settle() -> None:
    """Let tasks discord.py started outside dpytest's event wrappers (views, app commands) finish."""
    for _ in range(50):
        await dpytest.run_all_events()
        pending = [t for t in asyncio.all_tasks() if not t.done() and t.get_name().startswith(("discord-ui-view-dispatch", "CommandTree"))]
        if not pending:
            return
        await asyncio.sleep(0.01)


@asynccontextmanager
async def running_bot(tmp_path: Path, **overrides: Any) -> AsyncIterator[Harness]:
    db = tmp_path / "feedback.sqlite3"
    bot = create_bot(Settings(feedback_db=db, **overrides))
    await bot._async_setup_hook()  # what login() does first: binds the bot to this event loop
    # dpytest builds members through the member cache; the real bot needs no members intent.
    bot._connection._intents.members = True
    bot._connection.member_cache_flags = discord.MemberCacheFlags.all()
    dpytest.configure(bot, members=2)
    bot._connection._command_tree = bot.tree  # dpytest's state replaces the one the tree registered with
    bot.add_view(FeedbackView(bot))  # as setup_hook does at login (dpytest never logs in)
    payloads: list[dict[str, Any]] = []
    original = bot.http.send_message

    async def record(channel_id: int, *, params: Any) -> Any:
        channel = sys._getframe(1).f_locals.get("channel")  # noqa: F841 - dpytest reads it from its caller's frame
        payloads.append(params.payload)
        return await original(channel_id, params=params)

    bot.http.send_message = record  # type: ignore[method-assign]
    config = dpytest.get_config()
    channel = config.channels[0]
    adapter = FakeAdapter(bot, channel)
    token = async_context.set(adapter)  # type: ignore[arg-type]
    try:
        yield Harness(bot, channel, list(config.members), payloads, adapter, db)
    finally:
        await settle()
        async_context.reset(token)
        await dpytest.empty_queue()
        bot.ws = None  # type: ignore[assignment]  # dpytest's fake socket has no connection to close
        await bot.close()


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(scenario())  # type: ignore[arg-type]


def fenced(text: str) -> str:
    return f"here's my log, any idea?\n```\n{text}\n```"


PING = re.compile(r"@everyone|@here|<@[!&]?\d+>")


def assert_no_pings(payload: dict[str, Any]) -> None:
    """Mentions are off for the message, and no text would ping even if they were on."""
    assert payload["allowed_mentions"] == NO_PINGS
    assert PING.search(json.dumps(payload, ensure_ascii=False)) is None


# ---- passive triage ---------------------------------------------------------------------------------------------


def test_pasted_log_in_a_code_block_gets_exactly_one_reply_naming_the_entry(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_bot(tmp_path) as h:
            msg = await dpytest.message(fenced(ARCH_LOG))
            sent = h.sent()
            assert len(sent) == 1
            embed = sent[0].embeds[0]
            assert embed.title == ARCH_TITLE
            assert "cuda-arch-mismatch" in (embed.footer.text or "")
            assert "no kernel image is available" in embed.fields[0].value
            payload = h.payloads[0]
            assert payload["message_reference"]["message_id"] == msg.id  # a reply to the user's message
            assert_no_pings(payload)
            buttons = [c for row in payload["components"] for c in row["components"]]
            assert [b["custom_id"] for b in buttons] == [FEEDBACK_UP, FEEDBACK_DOWN]

    run(scenario)


def test_pasted_console_text_without_a_code_block_is_answered(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_bot(tmp_path) as h:
            await dpytest.message(ARCH_LOG)
            sent = h.sent()
            assert len(sent) == 1 and sent[0].embeds[0].title == ARCH_TITLE

    run(scenario)


def test_the_same_log_as_an_attachment_gets_exactly_one_reply(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_bot(tmp_path) as h:
            await h.post("it crashes on start", ARCH_LOG_PATH)
            sent = h.sent()
            assert len(sent) == 1
            assert sent[0].embeds[0].title == ARCH_TITLE
            assert ARCH_LOG_PATH.name in (sent[0].embeds[0].description or "")
            assert_no_pings(h.payloads[0])

    run(scenario)


def test_several_attachments_are_all_read_and_the_best_answer_given(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_bot(tmp_path) as h:
            chat = tmp_path / "notes.txt"
            chat.write_text("my setup: windows 11, 3060\n", encoding="utf-8")
            image = tmp_path / "screenshot.png"
            image.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
            await h.post("", chat, image, ARCH_LOG_PATH)
            sent = h.sent()
            assert len(sent) == 1 and sent[0].embeds[0].title == ARCH_TITLE

    run(scenario)


@pytest.mark.parametrize(
    "text",
    [
        "hello! anyone got koboldcpp running on a 3060?",
        "my kobold crashed with a cuda error, what do I do",
        "try `--usecublas` and ```--gpulayers 20```",
        "```\nprint('hello world, this is python code not a log')\n```",
    ],
)
def test_plain_chat_gets_no_reply(tmp_path: Path, text: str) -> None:
    async def scenario() -> None:
        async with running_bot(tmp_path) as h:
            await dpytest.message(text)
            assert dpytest.verify().message().nothing()
            assert h.payloads == []

    run(scenario)


def test_unwatched_channel_and_other_bots_are_ignored(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_bot(tmp_path, channels=frozenset({42})) as h:
            await dpytest.message(fenced(ARCH_LOG))
            assert h.payloads == []

    run(scenario)


def test_a_log_attachment_nothing_matches_still_gets_key_lines(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_bot(tmp_path) as h:
            path = tmp_path / "crash.log"
            path.write_text("loading model\nerror: something odd happened while loading the model\n", encoding="utf-8")
            await h.post("", path)
            embed = h.sent()[0].embeds[0]
            assert embed.title == "No known problem recognised"
            assert embed.fields[0].name == "Key lines"

    run(scenario)


def test_a_text_attachment_that_is_not_a_log_gets_no_reply(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_bot(tmp_path) as h:
            card = tmp_path / "Seraphina.json"
            card.write_text(json.dumps({"name": "Seraphina", "description": "A kind guardian of the forest."}), encoding="utf-8")
            await h.post("my new character card!", card)
            assert h.payloads == []

    run(scenario)


def test_an_attachment_over_the_cap_gets_a_polite_note(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_bot(tmp_path, max_attachment_bytes=1024) as h:
            big = tmp_path / "huge.log"
            big.write_text(ARCH_LOG * 50, encoding="utf-8")
            await h.post("", big)
            embed = h.sent()[0].embeds[0]
            assert "huge.log" in (embed.description or "") and "over the 1 KiB limit" in (embed.description or "")
            assert_no_pings(h.payloads[0])
            assert "components" not in h.payloads[0] or not h.payloads[0]["components"]  # nothing to judge

    run(scenario)


def test_a_huge_log_is_cut_to_discords_limits(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_bot(tmp_path) as h:
            long_line = ARCH_LOG.strip() + " " + "0x7ffd_deadbeef " * 400
            body = "\n".join([long_line] * 200 + [OOM_LOG] * 20 + ["x" * 5000] * 50)
            path = tmp_path / "huge.log"
            path.write_text(body, encoding="utf-8")
            await h.post("", path)
            embed = h.sent()[0].embeds[0]
            assert embed.title == ARCH_TITLE or "CUDA" in (embed.title or "")
            assert len(embed) <= EMBED_TOTAL_MAX
            assert len(embed.fields) <= FIELDS_MAX
            assert all(len(f.value or "") <= FIELD_VALUE_MAX for f in embed.fields)

    run(scenario)


def test_everyone_inside_a_log_never_pings(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_bot(tmp_path) as h:
            hostile = ("CUDA error 209 at /home/@everyone/ggml-cuda.cu:6701: no kernel image is available for execution "
                       f"on the device @everyone @here <@{h.members[1].id}> <@!{h.members[1].id}>")
            await dpytest.message(fenced(hostile + "\n@everyone look"))
            sent = h.sent()
            assert len(sent) == 1
            assert_no_pings(h.payloads[0])
            assert "@\u200beveryone" in sent[0].embeds[0].fields[0].value

    run(scenario)


# ---- following the conversation --------------------------------------------------------------------------------


def test_an_edit_is_followed_and_a_gone_match_removes_the_reply(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_bot(tmp_path) as h:
            msg = await dpytest.message(fenced(OOM_LOG))
            reply = h.sent()[0]
            first = reply.embeds[0].title
            await h.user_edits(msg, fenced(ARCH_LOG))
            assert h.sent() == []  # edited in place, not a second reply
            edited = await h.channel.fetch_message(reply.id)
            assert edited.embeds[0].title == ARCH_TITLE != first
            await h.user_edits(msg, "never mind, fixed it")
            assert not await h.still_exists(reply)

    run(scenario)


def test_an_unfurl_edit_changes_nothing_and_an_added_log_gets_a_reply(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_bot(tmp_path) as h:
            msg = await dpytest.message(fenced(ARCH_LOG))
            reply = h.sent()[0]
            await h.user_edits(msg, msg.content)  # same content: e.g. Discord adding a link preview
            assert await h.still_exists(reply)
            chat = await dpytest.message("it crashed, log coming")
            await h.user_edits(chat, fenced(ARCH_LOG))
            assert [m.embeds[0].title for m in h.sent()] == [ARCH_TITLE]

    run(scenario)


def test_a_delete_is_followed(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_bot(tmp_path) as h:
            msg = await dpytest.message(fenced(ARCH_LOG))
            reply = h.sent()[0]
            assert FeedbackStore(h.db).judgements() == [] and await h.still_exists(reply)
            await h.user_deletes(msg)
            assert not await h.still_exists(reply)

    run(scenario)


# ---- manners under load ----------------------------------------------------------------------------------------


def test_per_user_cooldown_sends_one_short_note_then_stays_quiet(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_bot(tmp_path, user_rate=Rate(1, 60.0)) as h:
            await dpytest.message(fenced(ARCH_LOG))
            await dpytest.message(fenced(ARCH_LOG))
            await dpytest.message(fenced(ARCH_LOG))
            sent = h.sent()
            assert len(sent) == 2
            assert sent[0].embeds[0].title == ARCH_TITLE
            assert sent[1].content.startswith("⏳") and not sent[1].embeds
            assert all(p["allowed_mentions"] == NO_PINGS for p in h.payloads)
            await dpytest.message(fenced(ARCH_LOG), member=1)  # someone else is not held up
            assert len(h.sent()) == 1

    run(scenario)


def test_per_channel_cooldown_holds_everyone(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_bot(tmp_path, channel_rate=Rate(1, 60.0)) as h:
            await dpytest.message(fenced(ARCH_LOG), member=0)
            await dpytest.message(fenced(ARCH_LOG), member=1)
            sent = h.sent()
            assert sent[0].embeds and sent[1].content.startswith("⏳")

    run(scenario)


def test_big_logs_are_analysed_off_the_event_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[bool] = []
    real = discord_bot._analyse_one

    def spy(raw: bytes | str, kb: Any) -> Any:
        import threading

        threads.append(threading.current_thread() is threading.main_thread())
        return real(raw, kb)

    monkeypatch.setattr(discord_bot, "_analyse_one", spy)

    async def scenario() -> None:
        async with running_bot(tmp_path) as h:
            path = tmp_path / "big.log"
            path.write_text("loading\n" * 20000 + ARCH_LOG, encoding="utf-8")
            await h.post("", path)
            assert h.sent()[0].embeds[0].title == ARCH_TITLE
            await dpytest.message(fenced(ARCH_LOG), member=1)
            h.sent()

    run(scenario)
    assert threads == [False, True]  # the 160 kB file in a worker thread, the small paste inline


# ---- feedback, slash commands, context menu -------------------------------------------------------------------


def test_feedback_click_is_recorded_and_exported_as_a_corpus_triage_eval_reads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async def scenario() -> None:
        async with running_bot(tmp_path) as h:
            await dpytest.message(fenced(ARCH_LOG))
            reply = h.sent()[0]
            await h.interact(3, {"custom_id": FEEDBACK_UP, "component_type": 2}, message=reply)
            assert h.adapter.responses[-1]["data"]["flags"] == 64  # the thank-you is ephemeral
            assert "cuda-arch-mismatch" in h.adapter.responses[-1]["data"]["content"]
            assert FeedbackStore(h.db).votes(reply.id) == {h.members[0].id: 1}

    run(scenario)
    out = tmp_path / "judged"
    assert export_corpus(tmp_path / "feedback.sqlite3", out) == 1
    expected = json.loads((out / "expected.json").read_text(encoding="utf-8"))
    assert list(expected.values()) == [{"expect": ["cuda-arch-mismatch"], "forbid": []}]
    log_text = next(out.glob("*.log")).read_text(encoding="utf-8")
    assert "no kernel image is available" in log_text and "alice" not in log_text  # stored redacted
    capsys.readouterr()
    assert cli_main(["eval", str(out), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["per_id"]["cuda-arch-mismatch"] == {"found": 1, "top1": 1, "total": 1}


def test_thumbs_down_forbids_the_answer(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_bot(tmp_path) as h:
            await dpytest.message(fenced(OOM_LOG))
            reply = h.sent()[0]
            await h.interact(3, {"custom_id": FEEDBACK_DOWN, "component_type": 2}, message=reply)

    run(scenario)
    out = tmp_path / "judged"
    assert export_corpus(tmp_path / "feedback.sqlite3", out) == 1
    (rule,) = json.loads((out / "expected.json").read_text(encoding="utf-8")).values()
    assert rule["expect"] == [] and len(rule["forbid"]) == 1


def test_slash_triage_with_text_answers_publicly_with_buttons(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_bot(tmp_path) as h:
            line = "CUDA error 209 at ggml-cuda.cu:6701: no kernel image is available for execution on the device"
            await h.interact(2, {"id": "1", "name": "triage", "type": 1, "options": [{"name": "text", "type": 3, "value": line}]})
            assert h.adapter.responses[0]["type"] == 5  # deferred: "triage is thinking…"
            (followup,) = h.adapter.followups
            assert followup["embeds"][0]["title"] == ARCH_TITLE
            assert followup["allowed_mentions"] == {"parse": []}
            assert followup["components"]

    run(scenario)


def test_slash_triage_with_an_attachment(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_bot(tmp_path) as h:
            attachment = {"id": "77", "filename": "koboldcpp.log", "size": ARCH_LOG_PATH.stat().st_size,
                          "url": ARCH_LOG_PATH.as_uri(), "proxy_url": ARCH_LOG_PATH.as_uri(), "content_type": "text/plain"}
            data = {"id": "1", "name": "triage", "type": 1, "options": [{"name": "file", "type": 11, "value": "77"}],
                    "resolved": {"attachments": {"77": attachment}}}
            await h.interact(2, data)
            assert h.adapter.followups[0]["embeds"][0]["title"] == ARCH_TITLE

    run(scenario)


def test_context_menu_triages_a_message_and_explains_no_match(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_bot(tmp_path) as h:
            target = await dpytest.message("it just closes, no error shown")
            assert h.sent() == []  # passive: silence
            msg_data = dict(facts.dict_from_message(target), channel_id=h.channel.id, type=0)
            data = {"id": "2", "name": "Triage this log", "type": 3, "target_id": str(target.id),
                    "resolved": {"messages": {str(target.id): msg_data}}}
            await h.interact(2, data)
            assert h.adapter.followups[0]["embeds"][0]["title"] == "No known problem recognised"

    run(scenario)


def test_kb_autocomplete_search_and_show(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_bot(tmp_path) as h:
            auto = {"id": "3", "name": "kb", "type": 1, "options": [
                {"name": "show", "type": 1, "options": [{"name": "entry", "type": 3, "value": "cuda arch", "focused": True}]}]}
            await h.interact(4, auto)
            choices = h.adapter.responses[-1]["data"]["choices"]
            assert "cuda-arch-mismatch" in [c["value"] for c in choices]
            assert all(len(c["name"]) <= 100 for c in choices)
            show = {"id": "3", "name": "kb", "type": 1, "options": [
                {"name": "show", "type": 1, "options": [{"name": "entry", "type": 3, "value": "cuda-arch-mismatch"}]}]}
            await h.interact(2, show)
            assert h.adapter.responses[-1]["data"]["embeds"][0]["title"] == ARCH_TITLE
            search = {"id": "3", "name": "kb", "type": 1, "options": [
                {"name": "search", "type": 1, "options": [{"name": "query", "type": 3, "value": "no kernel image"}]}]}
            await h.interact(2, search)
            assert "cuda-arch-mismatch" in h.adapter.responses[-1]["data"]["embeds"][0]["description"]

    run(scenario)


def test_setup_hook_registers_the_buttons_and_syncs_commands_to_the_dev_guild(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int | None] = []

    async def scenario() -> None:
        bot = create_bot(Settings(feedback_db=tmp_path / "fb.sqlite3", guild=1234))
        assert {c.name for c in bot.tree.get_commands()} == {"triage", "trending", "kb", "Triage this log"}

        async def sync(*, guild: discord.abc.Snowflake | None = None) -> list[Any]:
            synced.append(guild.id if guild else None)
            return []

        monkeypatch.setattr(bot.tree, "sync", sync)
        await bot._async_setup_hook()
        await bot.setup_hook()  # what login() runs before connecting
        assert synced == [1234]
        assert {c.name for c in bot.tree.get_commands(guild=discord.Object(1234))} == {"triage", "trending", "kb", "Triage this log"}
        assert [v.timeout for v in bot.persistent_views] == [None]
        await bot.close()

    run(scenario)


# ---- starting up -----------------------------------------------------------------------------------------------


def test_missing_token_exits_2_with_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    assert discord_bot.main([]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "DISCORD_TOKEN is not set" in err


def test_rejected_token_exits_2_with_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    async def reject(self: discord.Client, token: str) -> None:
        raise discord.LoginFailure("Improper token has been passed.")

    monkeypatch.setenv("DISCORD_TOKEN", "not-a-token")
    monkeypatch.setenv("TRIAGE_FEEDBACK_DB", str(tmp_path / "fb.sqlite3"))
    monkeypatch.setattr(discord.Client, "login", reject)
    monkeypatch.setattr(discord.utils, "setup_logging", lambda **kwargs: None)
    assert discord_bot.main([]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "rejected DISCORD_TOKEN" in err


def test_bad_setting_exits_2_naming_the_variable(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "x")
    monkeypatch.setenv("TRIAGE_CHANNELS", "general")
    assert discord_bot.main([]) == 2
    assert capsys.readouterr().err == "triage-bot: TRIAGE_CHANNELS: expected comma-separated numeric ids, got 'general'\n"


def test_settings_from_env() -> None:
    s = Settings.from_env({"DISCORD_TOKEN": " t ", "TRIAGE_CHANNELS": "1, 2", "TRIAGE_GUILD": "3", "TRIAGE_LOG_LEVEL": "debug",
                           "TRIAGE_MAX_ATTACHMENT_MIB": "2", "TRIAGE_USER_COOLDOWN": "5/30", "TRIAGE_KB_DIRS": "/a"})
    assert (s.token, s.channels, s.guild, s.log_level) == ("t", frozenset({1, 2}), 3, "DEBUG")
    assert s.max_attachment_bytes == 2 * 1024 * 1024 and s.user_rate == Rate(5, 30.0) and s.kb_dirs == (Path("/a"),)
    assert Settings.from_env({}) == Settings()
