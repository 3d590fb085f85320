"""The Discord adapter: events, attachments and sending, nothing else.

Finding logs is `bot.extract`, the answer's layout is `bot.reply`, the
diagnosis is `triage.analyse`; this module wires them to discord.py. Every
send disables mentions, so a log full of @everyone pings nobody.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import sqlite3
import sys
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from triage.analyse import analyse, default_kb
from triage.decode import decode
from triage.errors import DataErrors, InputError
from triage.feedback import NO_MATCH, FeedbackStore, default_db_path
from triage.load import KnowledgeBase, load_kb
from triage.model import Report
from triage.suggest import search_kb

from . import reply
from .extract import LogCandidate, find_logs, is_text_attachment, looks_like_log
from .settings import Settings, SettingsError

__all__ = ["FEEDBACK_DOWN", "FEEDBACK_UP", "FeedbackView", "TriageBot", "create_bot", "main"]

log = logging.getLogger("triage.bot")

FEEDBACK_UP = "triage:feedback:up"  # persistent custom_ids: buttons keep working after a restart
FEEDBACK_DOWN = "triage:feedback:down"
OFFLOAD_BYTES = 32 * 1024  # below this analyse() takes a few ms; above it runs in a thread so the gateway never stalls
ANALYSIS_SLOTS = 2  # concurrent analyses; a burst of 8 MiB logs queues instead of eating every core
TRACKED_MAX = 10_000  # message id -> reply map for following edits and deletes (oldest forgotten first)
NO_PINGS = discord.AllowedMentions.none()


@dataclass(slots=True)
class Outcome:
    """What to send for one message; `report` is None for a notice (nothing analysed)."""

    embed: dict[str, Any]
    report: Report | None = None
    log_name: str = ""
    log_text: str = ""  # the log, kept for feedback export (which redacts it)

    @property
    def kb_id(self) -> str:
        return self.report.matches[0].kb_id if self.report and self.report.matches else NO_MATCH


@dataclass(slots=True)
class Tracked:
    """A user message the bot has looked at, and the reply it got (if any)."""

    fingerprint: str
    reply: discord.Message | None = None


@dataclass(slots=True)
class _Analysed:
    name: str
    report: Report
    text: str = field(repr=False)

    def rank(self) -> tuple[bool, float, int]:
        top = self.report.matches[0] if self.report.matches else None
        return (bool(self.report.confident), top.confidence if top else 0.0, len(self.report.key_lines))


def _analyse_one(raw: bytes | str, kb: KnowledgeBase) -> tuple[Report, str]:
    """Report plus the log as text (for the feedback store); runs in a worker thread for big logs."""
    report = analyse(raw, kb)
    text = raw if isinstance(raw, str) else decode(raw).decode("utf-8", "replace")
    return report, text


def _fingerprint(message: discord.Message) -> str:
    """Content plus attachment ids: an embed unfurl edits a message without changing this."""
    parts = [message.content, *(str(a.id) for a in message.attachments)]
    return hashlib.sha256("\x00".join(parts).encode("utf-8", "replace")).hexdigest()


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MiB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KiB"


class FeedbackView(discord.ui.View):
    """👍/👎 under each answer; fixed custom_ids so `add_view` serves old messages after a restart."""

    def __init__(self, bot: TriageBot) -> None:
        super().__init__(timeout=None)
        self.bot = bot

    @discord.ui.button(emoji="👍", label="Right", style=discord.ButtonStyle.secondary, custom_id=FEEDBACK_UP)
    async def up(self, interaction: discord.Interaction, button: discord.ui.Button[FeedbackView]) -> None:
        await self.bot.record_feedback(interaction, 1)

    @discord.ui.button(emoji="👎", label="Wrong", style=discord.ButtonStyle.secondary, custom_id=FEEDBACK_DOWN)
    async def down(self, interaction: discord.Interaction, button: discord.ui.Button[FeedbackView]) -> None:
        await self.bot.record_feedback(interaction, -1)


class TriageBot(commands.Bot):
    """commands.Bot with the triage listeners, slash commands and feedback store."""

    def __init__(self, settings: Settings, kb: KnowledgeBase) -> None:
        intents = discord.Intents.default()
        intents.message_content = True  # privileged: enable "Message Content Intent" in the Developer Portal
        super().__init__(command_prefix=commands.when_mentioned, intents=intents, allowed_mentions=NO_PINGS, help_command=None)
        self.settings = settings
        self.kb = kb
        self._tracked: OrderedDict[int, Tracked] = OrderedDict()
        self._slots = asyncio.Semaphore(ANALYSIS_SLOTS)
        self._user_cd = commands.CooldownMapping(commands.Cooldown(settings.user_rate.count, settings.user_rate.seconds), _key)
        self._channel_cd = commands.CooldownMapping(commands.Cooldown(settings.channel_rate.count, settings.channel_rate.seconds), _key)
        self._cooldown_noted: dict[int, float] = {}
        self._feedback: FeedbackStore | None = None
        _register_commands(self)

    # ---- lifecycle -------------------------------------------------------------------------------------------

    async def setup_hook(self) -> None:
        """Serve buttons on old replies, then publish the slash commands (guild-scoped ones appear at once)."""
        self.add_view(FeedbackView(self))
        try:
            if self.settings.guild:
                guild = discord.Object(id=self.settings.guild)
                self.tree.copy_global_to(guild=guild)
                synced = await self.tree.sync(guild=guild)
            else:
                synced = await self.tree.sync()
            log.info("synced %d application commands%s", len(synced), f" to guild {self.settings.guild}" if self.settings.guild else "")
        except discord.HTTPException as exc:
            log.warning("could not sync slash commands (was the bot invited with the applications.commands scope?): %s", exc)

    async def on_ready(self) -> None:
        log.info("logged in as %s; watching %s", self.user, sorted(self.settings.channels) or "every readable channel")

    @property
    def feedback(self) -> FeedbackStore:
        """Opened on first use, so creating a bot touches no files."""
        if self._feedback is None:
            self._feedback = FeedbackStore(self.settings.feedback_db or default_db_path())
        return self._feedback

    # ---- events ----------------------------------------------------------------------------------------------

    def _watched(self, message: discord.Message) -> bool:
        if message.author.bot or message.type not in (discord.MessageType.default, discord.MessageType.reply):
            return False
        channels = self.settings.channels
        if not channels or message.channel.id in channels:
            return True
        return getattr(message.channel, "parent_id", None) in channels  # threads and forum posts of a watched channel

    async def on_message(self, message: discord.Message) -> None:
        """Passive triage: answer pasted logs and text attachments, stay silent on chat."""
        if not self._watched(message):
            return
        if not self._has_log(message):
            return
        tracked = self._remember(message.id, Tracked(_fingerprint(message)))
        if not await self._allowed(message.author.id, message.channel.id, notify=message):
            return
        outcome = await self.triage(message.content, message.attachments, explicit=False)
        if outcome is not None:
            tracked.reply = await self._send_reply(message, outcome)

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        """Follow edits: new answer -> edit the reply; answer gone -> delete it; log added -> reply."""
        message = await self._edited_message(payload)
        if message is None or not self._watched(message):
            return
        tracked = self._tracked.get(message.id)
        fingerprint = _fingerprint(message)
        if tracked is None:
            if not self._has_log(message):
                return
            tracked = self._remember(message.id, Tracked(fingerprint))
        elif tracked.fingerprint == fingerprint:
            return  # an embed unfurl or a pin, not a change to the log
        tracked.fingerprint = fingerprint
        if not await self._allowed(message.author.id, message.channel.id, notify=None):
            return
        outcome = await self.triage(message.content, message.attachments, explicit=False) if self._has_log(message) else None
        if tracked.reply is None:
            if outcome is not None:
                tracked.reply = await self._send_reply(message, outcome)
            return
        if outcome is None:
            await self._delete_reply(tracked)
            return
        view = self._view(outcome)
        try:
            if view is None:
                tracked.reply = await tracked.reply.edit(embed=discord.Embed.from_dict(outcome.embed), view=None, allowed_mentions=NO_PINGS)
            else:
                tracked.reply = await tracked.reply.edit(embed=discord.Embed.from_dict(outcome.embed), view=view, allowed_mentions=NO_PINGS)
        except discord.NotFound:
            tracked.reply = None  # a moderator removed the reply; don't resurrect it
            return
        finally:
            _release(view)
        if outcome.report is not None:
            await self._store_reply(tracked.reply, message.id, outcome)

    async def _edited_message(self, payload: discord.RawMessageUpdateEvent) -> discord.Message | None:
        """The edited message: in the event since discord.py 2.5, from the API before that."""
        message: discord.Message | None = getattr(payload, "message", None)
        if message is not None:
            return message
        channel = self.get_channel(payload.channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            return None
        try:
            return await channel.fetch_message(payload.message_id)
        except discord.HTTPException:
            return None

    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        """The user deleted their log: delete the answer, and the stored copy of the log."""
        tracked = self._tracked.pop(payload.message_id, None)
        if tracked is not None:
            await self._delete_reply(tracked)

    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        for message_id in payload.message_ids:
            tracked = self._tracked.pop(message_id, None)
            if tracked is not None:
                await self._delete_reply(tracked)

    # ---- the work --------------------------------------------------------------------------------------------

    def _has_log(self, message: discord.Message) -> bool:
        return bool(find_logs(message.content)) or any(is_text_attachment(a.filename, a.content_type) for a in message.attachments)

    async def triage(
        self,
        content: str,
        attachments: Sequence[discord.Attachment],
        *,
        explicit: bool,
        extra: Sequence[LogCandidate] = (),
    ) -> Outcome | None:
        """Analyse every log in a message and pick the best answer; None means stay silent."""
        cap = self.settings.max_attachment_bytes
        limit = self.settings.max_logs_per_message
        notes: list[str] = []
        logs: list[tuple[str, bytes | str]] = [(c.source, c.text) for c in [*extra, *find_logs(content)]]
        texts = [a for a in attachments if is_text_attachment(a.filename, a.content_type)]
        files: set[str] = set()
        for att in texts:
            if len(logs) >= limit:
                notes.append(f"Only the first {limit} logs in a message are read; {att.filename} was skipped.")
                continue
            if att.size > cap:
                notes.append(f"{att.filename} ({_size(att.size)}) is over the {_size(cap)} limit, so I skipped it. "
                             "Please attach the last few hundred lines, from the start of loading to the crash.")
                continue
            try:
                data = await att.read()  # Discord's own CDN, through discord.py; never a URL from the text
            except discord.HTTPException as exc:
                notes.append(f"Could not download {att.filename} from Discord ({exc.status}); please try again.")
                continue
            if len(data) > cap:
                notes.append(f"{att.filename} ({_size(len(data))}) is over the {_size(cap)} limit, so I skipped it.")
                continue
            logs.append((att.filename, data))
            files.add(att.filename)
        if notes:
            explicit = True  # an attachment too big to read is almost always a log; say why there's no answer
        analysed: list[_Analysed] = []
        for name, raw in logs[:limit]:
            try:
                analysed.append(await self._analyse(name, raw))
            except InputError as exc:
                notes.append(f"{name} is not a text log ({exc}).")
        if not analysed:
            return Outcome(reply.notice_embed("I could not read a log here", notes)) if explicit and notes else None
        # Attaching a log is asking for help; attaching a character card or a story is not.
        explicit = explicit or any(a.name in files and (a.report.key_lines or looks_like_log(a.text[:20000])) for a in analysed)
        best = max(analysed, key=_Analysed.rank)
        if not reply.should_reply(best.report, explicit=explicit):
            return None
        for other in analysed:
            if other is not best and other.report.matches:
                top = other.report.matches[0]
                notes.append(f"{other.name} also shows `{top.kb_id}`: {top.title}")
        source = best.name if len(analysed) > 1 or best.name != "code block" else None
        embed = reply.report_embed(best.report, source=source, notes=notes, kb_url=self.settings.kb_url)
        return Outcome(embed, best.report, best.name, best.text)

    async def _analyse(self, name: str, raw: bytes | str) -> _Analysed:
        async with self._slots:
            t0 = time.perf_counter()
            if len(raw) > OFFLOAD_BYTES:
                report, text = await asyncio.to_thread(_analyse_one, raw, self.kb)
            else:
                report, text = _analyse_one(raw, self.kb)
        log.debug("analysed %s (%d bytes) in %.0f ms: %s", name, len(raw), (time.perf_counter() - t0) * 1000,
                  [m.kb_id for m in report.matches])
        return _Analysed(name, report, text)

    async def _allowed(self, user_id: int, channel_id: int, *, notify: discord.Message | None) -> bool:
        """Per-user and per-channel cooldowns; one short note per window, deleted after a while."""
        now = time.time()
        user = self._user_cd.get_bucket(user_id, now)
        channel = self._channel_cd.get_bucket(channel_id, now)
        assert user is not None and channel is not None
        wait = max(user.get_retry_after(now), channel.get_retry_after(now))
        if wait <= 0:
            user.update_rate_limit(now)
            channel.update_rate_limit(now)
            return True
        if notify is not None and self._cooldown_noted.get(user_id, 0.0) < now:
            if len(self._cooldown_noted) > TRACKED_MAX:
                self._cooldown_noted = {k: v for k, v in self._cooldown_noted.items() if v > now}
            self._cooldown_noted[user_id] = now + wait
            text = f"⏳ I'm answering too many logs right now; try again in {wait:.0f} s (or use /triage then)."
            try:
                await notify.reply(text, allowed_mentions=NO_PINGS, mention_author=False, delete_after=min(wait, 30.0))
            except discord.HTTPException as exc:
                log.warning("could not send the cooldown note: %s", exc)
        return False

    def _view(self, outcome: Outcome) -> FeedbackView | None:
        return FeedbackView(self) if outcome.report is not None else None

    async def _send_reply(self, message: discord.Message, outcome: Outcome) -> discord.Message | None:
        embed = discord.Embed.from_dict(outcome.embed)
        view = self._view(outcome)
        try:
            if view is None:
                sent = await message.reply(embed=embed, allowed_mentions=NO_PINGS, mention_author=False)
            else:
                sent = await message.reply(embed=embed, view=view, allowed_mentions=NO_PINGS, mention_author=False)
        except discord.HTTPException as exc:
            log.warning("could not reply to message %s in channel %s: %s", message.id, message.channel.id, exc)
            return None
        finally:
            _release(view)
        if outcome.report is not None:
            await self._store_reply(sent, message.id, outcome)
        return sent

    async def _store_reply(self, sent: discord.Message | discord.WebhookMessage, message_id: int | None, outcome: Outcome) -> None:
        await asyncio.to_thread(self.feedback.record_reply, sent.id, sent.channel.id, message_id, outcome.kb_id, outcome.log_name, outcome.log_text)

    async def _delete_reply(self, tracked: Tracked) -> None:
        sent, tracked.reply = tracked.reply, None
        if sent is None:
            return
        try:
            await sent.delete()
        except discord.NotFound:
            pass
        except discord.HTTPException as exc:
            log.warning("could not delete reply %s: %s", sent.id, exc)
        await asyncio.to_thread(self.feedback.forget_reply, sent.id)

    def _remember(self, message_id: int, tracked: Tracked) -> Tracked:
        self._tracked[message_id] = tracked
        self._tracked.move_to_end(message_id)
        while len(self._tracked) > TRACKED_MAX:
            self._tracked.popitem(last=False)
        return tracked

    async def record_feedback(self, interaction: discord.Interaction, vote: int) -> None:
        """A 👍/👎 click: store it and thank the clicker privately."""
        if interaction.message is None:
            return
        mark = "👍" if vote > 0 else "👎"
        try:
            kb_id = await asyncio.to_thread(self.feedback.record_vote, interaction.message.id, interaction.user.id, vote)
        except sqlite3.Error as exc:
            log.error("could not store feedback in %s: %s", self.feedback.path, exc)
            await interaction.response.send_message(f"{mark} Thanks, but I could not store the vote right now.", ephemeral=True)
            return
        if kb_id is None:
            text = f"{mark} Thanks. I no longer have the log for this answer, so the vote was not stored."
        else:
            what = f"`{kb_id}`" if kb_id else "the \"nothing matched\" answer"
            text = f"{mark} Thanks, recorded for {what}. Judged answers become test cases for the knowledge base."
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)

    async def answer_interaction(self, interaction: discord.Interaction, outcome: Outcome | None) -> None:
        """Send a slash command's or context menu's answer as a follow-up to the deferred response."""
        if outcome is None:  # explicit requests always produce an outcome; belt and braces
            await interaction.followup.send("I found no log to look at.", ephemeral=True)
            return
        embed = discord.Embed.from_dict(outcome.embed)
        view = self._view(outcome)
        try:
            if view is None:
                sent = await interaction.followup.send(embed=embed, allowed_mentions=NO_PINGS, wait=True)
            else:
                sent = await interaction.followup.send(embed=embed, view=view, allowed_mentions=NO_PINGS, wait=True)
        finally:
            _release(view)
        if outcome.report is not None:
            await self._store_reply(sent, None, outcome)


def _release(view: FeedbackView | None) -> None:
    """discord.py keeps a sent view for its message forever; the persistent one added in
    setup_hook answers every click, so the per-message copy is dropped at once."""
    if view is not None:
        view.stop()


def _key(key: int) -> int:
    """Cooldown buckets keyed by a plain id, so messages and interactions share them."""
    return key


def _register_commands(bot: TriageBot) -> None:
    """/triage, /kb search, /kb show and the "Triage this log" context menu."""

    async def allowed(interaction: discord.Interaction) -> bool:
        if await bot._allowed(interaction.user.id, interaction.channel_id or 0, notify=None):
            return True
        await interaction.response.send_message("⏳ Too many logs at once; please try again in a minute.", ephemeral=True)
        return False

    @app_commands.command(name="triage", description="Recognise a crash log: paste a line or attach the log file")
    @app_commands.describe(text="log text (slash options are one line; attach the file for a whole log)", file="the .log or .txt file")
    async def triage_command(interaction: discord.Interaction, text: str | None = None, file: discord.Attachment | None = None) -> None:
        if not text and file is None:
            await interaction.response.send_message("Give me the log: the `text` option or the `file` option.", ephemeral=True)
            return
        if not await allowed(interaction):
            return
        await interaction.response.defer(thinking=True)
        extra = [LogCandidate("text", text)] if text and not find_logs(text) else []
        outcome = await bot.triage(text or "", [file] if file else [], explicit=True, extra=extra)
        await bot.answer_interaction(interaction, outcome)

    async def triage_message(interaction: discord.Interaction, message: discord.Message) -> None:
        if not await allowed(interaction):
            return
        await interaction.response.defer(thinking=True)
        extra = [] if find_logs(message.content) or not message.content.strip() else [LogCandidate("message", message.content)]
        outcome = await bot.triage(message.content, message.attachments, explicit=True, extra=extra)
        await bot.answer_interaction(interaction, outcome)

    kb_group = app_commands.Group(name="kb", description="Look things up in the triage knowledge base")

    async def entry_choices(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        if current.strip():
            found = [(s.kb_id, s.title) for s in search_kb(bot.kb, current[:200], limit=25, cutoff=30.0)]
        else:
            found = [(e.id, e.title) for e in sorted(bot.kb.entries.values(), key=lambda e: e.id)][:25]
        return [app_commands.Choice(name=reply.clip(f"{kb_id}: {title}", 100), value=kb_id) for kb_id, title in found]

    @kb_group.command(name="search", description="Find KB entries by words from an error or a symptom")
    @app_commands.describe(query="words from the error message or the symptom")
    @app_commands.autocomplete(query=entry_choices)
    async def kb_search(interaction: discord.Interaction, query: str) -> None:
        if query in bot.kb.entries:
            results = [r for r in search_kb(bot.kb, bot.kb.entries[query].title, limit=5) if r.kb_id == query][:1] or search_kb(bot.kb, query, limit=8)
        else:
            results = search_kb(bot.kb, query[:200], limit=8)
        embed = discord.Embed.from_dict(reply.search_embed(query, results))
        await interaction.response.send_message(embed=embed, ephemeral=True, allowed_mentions=NO_PINGS)

    @kb_group.command(name="show", description="Show one KB entry: root cause, remedies, references")
    @app_commands.describe(entry="the entry's id (start typing to search)")
    @app_commands.autocomplete(entry=entry_choices)
    async def kb_show(interaction: discord.Interaction, entry: str) -> None:
        found = bot.kb.entries.get(entry.strip())
        if found is None:
            await interaction.response.send_message(f"No KB entry `{reply.clip(entry, 80)}`; try /kb search.", ephemeral=True, allowed_mentions=NO_PINGS)
            return
        embed = discord.Embed.from_dict(reply.entry_embed(found, kb_url=bot.settings.kb_url))
        await interaction.response.send_message(embed=embed, allowed_mentions=NO_PINGS)

    bot.tree.add_command(triage_command)
    bot.tree.add_command(kb_group)
    bot.tree.add_command(app_commands.ContextMenu(name="Triage this log", callback=triage_message))


def create_bot(settings: Settings | None = None) -> TriageBot:
    """A ready bot (CONTRACT.md §5); loads the KB now so a bad TRIAGE_KB_DIRS fails before login."""
    settings = settings or Settings()
    kb = load_kb(list(settings.kb_dirs)) if settings.kb_dirs else default_kb()
    return TriageBot(settings, kb)


def _fail(message: str) -> int:
    print(f"triage-bot: {message}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """`triage-bot`: configuration from the environment; exit 2 with one line on stderr when it can't start."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-h", "--help"):
        print("usage: triage-bot\n\nRuns the triage Discord bot. Set DISCORD_TOKEN; optional TRIAGE_CHANNELS (comma-separated ids), "
              "TRIAGE_GUILD, TRIAGE_KB_DIRS, TRIAGE_FEEDBACK_DB, TRIAGE_LOG_LEVEL, TRIAGE_MAX_ATTACHMENT_MIB, "
              "TRIAGE_USER_COOLDOWN and TRIAGE_CHANNEL_COOLDOWN (COUNT/SECONDS), TRIAGE_KB_URL.")
        return 0
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        return _fail(str(exc))
    if not settings.token:
        return _fail("DISCORD_TOKEN is not set: create a bot at https://discord.com/developers/applications and export its token")
    try:
        bot = create_bot(settings)
    except DataErrors as exc:
        return _fail(f"TRIAGE_KB_DIRS: {exc.errors[0]}" + (f" (and {len(exc.errors) - 1} more; run 'triage kb check')" if len(exc.errors) > 1 else ""))
    discord.utils.setup_logging(level=getattr(logging, settings.log_level))
    try:
        bot.run(settings.token, log_handler=None)
    except discord.LoginFailure:
        return _fail("Discord rejected DISCORD_TOKEN: copy a fresh token from the bot's page in the Developer Portal")
    except discord.PrivilegedIntentsRequired:
        return _fail("the Message Content intent is off: enable it under Bot > Privileged Gateway Intents in the Developer Portal")
    except (OSError, aiohttp.ClientError) as exc:
        # discord.py reconnects by itself once connected; failing to reach Discord at start is fatal.
        print(f"triage-bot: cannot reach Discord: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
