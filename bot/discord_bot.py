"""The Discord adapter: events, attachments and sending, nothing else.

Finding logs is `bot.extract`, the answer's layout is `bot.reply`, the
diagnosis is one `triage.engine.Engine` built at start; this module wires them
to discord.py. Every send disables mentions, so a log full of @everyone pings
nobody. What outlives a restart (reply ids, judged logs, fingerprint counts)
is in SQLite (`triage.feedback`); a log is written there only when someone
votes on its answer, redacted, and expires after the retention.
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
from discord.ext import commands, tasks

from triage.decode import decode
from triage.engine import Engine
from triage.errors import DataErrors, InputError
from triage.feedback import DAY, NO_MATCH, FeedbackStore, ReplyRef, default_db_path
from triage.load import KnowledgeBase, default_cache_dir
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
TRACKED_MAX = 10_000  # message id -> reply map for following edits (oldest forgotten first); deletes also use SQLite
PENDING_LOG_CHARS = 64 * 1024 * 1024  # answered logs kept in memory until a vote stores one (oldest dropped first)
NO_PINGS = discord.AllowedMentions.none()


@dataclass(slots=True)
class Outcome:
    """What to send for one message; `report` is None for a notice (nothing analysed)."""

    embed: dict[str, Any]
    report: Report | None = None
    log_name: str = ""
    log_text: str = ""  # the log as posted: held in memory until a vote stores it (redacted)

    @property
    def kb_id(self) -> str:
        return self.report.matches[0].kb_id if self.report and self.report.matches else NO_MATCH


@dataclass(slots=True)
class Tracked:
    """A user message the bot has looked at, and the reply it got (if any)."""

    key: str  # _content_key: what an edit must change to be re-triaged ('' after a restart: unknown)
    reply: discord.Message | None = None


@dataclass(slots=True)
class _Analysed:
    name: str
    report: Report
    text: str = field(repr=False)

    def rank(self) -> tuple[bool, float, int]:
        top = self.report.matches[0] if self.report.matches else None
        return (bool(self.report.confident), top.confidence if top else 0.0, len(self.report.key_lines))


def _analyse_one(raw: bytes | str, engine: Engine) -> tuple[Report, str]:
    """Report plus the log as text (for a vote to store); runs in a worker thread for big logs."""
    report = engine.analyse(raw)
    return report, _as_text(raw)


def _as_text(raw: bytes | str) -> str:
    return raw if isinstance(raw, str) else decode(raw).decode("utf-8", "replace")


def _product_name(kb: KnowledgeBase, product: str) -> str:
    """A runtime's display name, from products/."""
    return kb.product_name(product) or product


def _content_key(message: discord.Message) -> str:
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

    def __init__(self, settings: Settings, engine: Engine) -> None:
        intents = discord.Intents.default()
        intents.message_content = True  # privileged: enable "Message Content Intent" in the Developer Portal
        super().__init__(command_prefix=commands.when_mentioned, intents=intents, allowed_mentions=NO_PINGS, help_command=None)
        self.settings = settings
        self.engine = engine
        self._tracked: OrderedDict[int, Tracked] = OrderedDict()
        self._logs: OrderedDict[int, tuple[str, str]] = OrderedDict()  # reply id -> (log name, log), awaiting a vote
        self._log_chars = 0
        self._slots = asyncio.Semaphore(ANALYSIS_SLOTS)
        self._user_cd = commands.CooldownMapping(commands.Cooldown(settings.user_rate.count, settings.user_rate.seconds), _key)
        self._channel_cd = commands.CooldownMapping(commands.Cooldown(settings.channel_rate.count, settings.channel_rate.seconds), _key)
        self._cooldown_noted: dict[int, float] = {}
        self._feedback: FeedbackStore | None = None
        _register_commands(self)

    @property
    def kb(self) -> KnowledgeBase:
        return self.engine.kb

    # ---- lifecycle -------------------------------------------------------------------------------------------

    async def setup_hook(self) -> None:
        """Serve buttons on old replies, start the daily pruning (its first run is now), then
        publish the slash commands (guild-scoped ones appear at once)."""
        self.add_view(FeedbackView(self))
        if not self.prune_daily.is_running():
            self.prune_daily.start()
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

    async def close(self) -> None:
        self.prune_daily.cancel()
        await super().close()
        if self._feedback is not None:
            self._feedback.close()

    @tasks.loop(hours=24)
    async def prune_daily(self) -> None:
        await self.prune()

    async def prune(self) -> int:
        """Forget stored logs, reply ids and fingerprints older than TRIAGE_RETENTION_DAYS."""
        try:
            removed = await asyncio.to_thread(self.feedback.prune, self.settings.retention_days)
        except (sqlite3.Error, OSError) as exc:
            log.error("could not prune %s: %s", self.settings.feedback_db or "the feedback database", exc)
            return 0
        if removed:
            log.info("pruned %d stored rows older than %g days", removed, self.settings.retention_days)
        return removed

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
        tracked = self._remember(message.id, Tracked(_content_key(message)))
        if not await self._allowed(message.author.id, message.channel.id, notify=message):
            return
        outcome = await self.triage(message.content, message.attachments, explicit=False, guild_id=message.guild.id if message.guild else None,
                                    source_id=message.id)
        if outcome is not None:
            tracked.reply = await self._send_reply(message, outcome)

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        """Follow edits: new answer -> edit the reply; answer gone -> delete it; log added -> reply."""
        message = await self._edited_message(payload)
        if message is None or not self._watched(message):
            return
        tracked = self._tracked.get(message.id) or await self._restored(message.id)
        key = _content_key(message)
        if tracked is None:
            if not self._has_log(message):
                return
            tracked = self._remember(message.id, Tracked(key))
        elif tracked.key == key:
            return  # an embed unfurl or a pin, not a change to the log
        tracked.key = key
        if not await self._allowed(message.author.id, message.channel.id, notify=None):
            return
        outcome = None
        if self._has_log(message):
            outcome = await self.triage(message.content, message.attachments, explicit=False,
                                        guild_id=message.guild.id if message.guild else None, source_id=message.id)
        if tracked.reply is None:
            if outcome is not None:
                tracked.reply = await self._send_reply(message, outcome)
            return
        if outcome is None:
            await self._delete_reply(tracked.reply)
            tracked.reply = None
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
            await self._store_reply(tracked.reply, message.id, outcome, passive=True)

    async def _restored(self, message_id: int) -> Tracked | None:
        """After a restart: the passive reply to this message, from SQLite, so an edit edits
        (or removes) it instead of adding a second answer."""
        try:
            refs = await asyncio.to_thread(self.feedback.replies_to, message_id)
        except sqlite3.Error as exc:
            log.error("could not look up replies to message %s: %s", message_id, exc)
            return None
        ref = next((r for r in refs if r.passive), None)
        if ref is None:
            return None
        try:
            sent = await self._partial(ref).fetch()
        except discord.NotFound:
            await self._forget(ref.reply_id)  # a moderator removed it; don't resurrect it
            return None
        except discord.HTTPException as exc:
            log.warning("could not fetch reply %s: %s", ref.reply_id, exc)
            return None
        return self._remember(message_id, Tracked("", sent))

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
        """A user deleted their log: delete the answer and anything stored about it. Looked up
        in SQLite too, so it works after a restart and for "Triage this log" answers; the
        bot's own reply deleted (by a moderator) forgets its stored log as well."""
        await self._message_gone(payload.message_id)

    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        for message_id in payload.message_ids:
            await self._message_gone(message_id)

    async def _message_gone(self, message_id: int) -> None:
        tracked = self._tracked.pop(message_id, None)
        replies: dict[int, discord.Message | discord.PartialMessage] = {}
        if tracked is not None and tracked.reply is not None:
            replies[tracked.reply.id] = tracked.reply
        store = self.feedback
        try:
            stored, own = await asyncio.to_thread(lambda: (store.replies_to(message_id), store.reply(message_id)))
        except sqlite3.Error as exc:
            log.error("could not look up replies to message %s: %s", message_id, exc)
            stored, own = [], None
        for ref in stored:
            replies.setdefault(ref.reply_id, self._partial(ref))
        for sent in replies.values():
            await self._delete_reply(sent)
        if own is not None or message_id in self._logs:  # the deleted message was one of our replies
            await self._forget(message_id)

    def _partial(self, ref: ReplyRef) -> discord.PartialMessage:
        """A reply known only by ids (after a restart): deleting it needs nothing else."""
        channel = self.get_channel(ref.channel_id)
        guild_id = getattr(getattr(channel, "guild", None), "id", None)
        return self.get_partial_messageable(ref.channel_id, guild_id=guild_id).get_partial_message(ref.reply_id)

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
        guild_id: int | None = None,
        source_id: int | None = None,
    ) -> Outcome | None:
        """Analyse every log in a message and pick the best answer; None means stay silent.
        With a guild and a source (the message or interaction), the best log's fingerprint is
        counted for /trending, answered or not."""
        cap = self.settings.max_attachment_bytes
        limit = self.settings.max_logs_per_message
        notes: list[str] = []
        logs: list[tuple[str, bytes | str]] = [(c.source, c.text) for c in [*extra, *find_logs(content)]]
        texts = [a for a in attachments if is_text_attachment(a.filename, a.content_type)]
        files: set[str] = set()
        for att in texts:
            name = reply.name(att.filename)
            if len(logs) >= limit:
                notes.append(f"Only the first {limit} logs in a message are read; {name} was skipped.")
                continue
            if att.size > cap:
                notes.append(f"{name} ({_size(att.size)}) is over the {_size(cap)} limit, so I skipped it. "
                             "Please attach the last few hundred lines, from the start of loading to the crash.")
                continue
            try:
                data = await att.read()  # Discord's own CDN, through discord.py; never a URL from the text
            except discord.HTTPException as exc:
                notes.append(f"Could not download {name} from Discord ({exc.status}); please try again.")
                continue
            if len(data) > cap:
                notes.append(f"{name} ({_size(len(data))}) is over the {_size(cap)} limit, so I skipped it.")
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
                notes.append(f"{reply.name(name)} is not a text log ({reply.literal(str(exc))}).")
        if not analysed:
            return Outcome(reply.notice_embed("I could not read a log here", notes)) if explicit and notes else None
        # Attaching a log is asking for help; attaching a character card or a story is not.
        explicit = explicit or any(a.name in files and (a.report.key_lines or looks_like_log(a.text[:20000])) for a in analysed)
        best = max(analysed, key=_Analysed.rank)
        seen = await self._count(best.report, guild_id, source_id)
        if not reply.should_reply(best.report, explicit=explicit):
            return None
        for other in analysed:
            if other is not best and other.report.matches:
                top = other.report.matches[0]
                notes.append(f"{reply.name(other.name)} also shows `{top.kb_id}`: {reply.prose(top.title)}")
        source = best.name if len(analysed) > 1 or best.name != "code block" else None
        embed = reply.report_embed(best.report, source=source, notes=notes, kb_url=self.settings.kb_url, seen=seen)
        return Outcome(embed, best.report, best.name, best.text)

    async def _count(self, report: Report, guild_id: int | None, source_id: int | None) -> int:
        """Count a specific fingerprint in this server; reports of it in the last week."""
        fp = report.fingerprint
        if fp is None or not fp.specific or guild_id is None or source_id is None:
            return 0
        facts = report.facts
        version = facts.version or (f"b{facts.build}" if facts.build else "")
        kb_id = report.matches[0].kb_id if report.matches else NO_MATCH
        store = self.feedback
        try:
            return await asyncio.to_thread(store.record_fingerprint, guild_id, source_id, fp.id, fp.text, kb_id, facts.product or "",
                                           version, count_since=time.time() - reply.SEEN_DAYS * DAY)
        except sqlite3.Error as exc:
            log.error("could not count fingerprint in %s: %s", store.path, exc)
            return 0

    async def _analyse(self, name: str, raw: bytes | str) -> _Analysed:
        async with self._slots:
            t0 = time.perf_counter()
            if len(raw) > OFFLOAD_BYTES:
                report, text = await asyncio.to_thread(_analyse_one, raw, self.engine)
            else:
                report, text = _analyse_one(raw, self.engine)
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
            await self._store_reply(sent, message.id, outcome, passive=True)
        return sent

    async def _store_reply(self, sent: discord.Message | discord.WebhookMessage, message_id: int | None, outcome: Outcome, *,
                           passive: bool = False) -> None:
        """Ids to SQLite (for deletes and edits after a restart); the log stays in memory until a vote."""
        self._hold_log(sent.id, outcome.log_name, outcome.log_text)
        try:
            await asyncio.to_thread(self.feedback.record_reply, sent.id, sent.channel.id, message_id, outcome.kb_id, outcome.log_name,
                                    passive=passive)
        except sqlite3.Error as exc:
            log.error("could not store reply %s in %s: %s", sent.id, self.feedback.path, exc)

    def _hold_log(self, reply_id: int, name: str, text: str) -> None:
        old = self._logs.pop(reply_id, None)
        if old is not None:
            self._log_chars -= len(old[1])
        self._logs[reply_id] = (name, text)
        self._log_chars += len(text)
        while self._log_chars > PENDING_LOG_CHARS and len(self._logs) > 1:
            _, (_, dropped) = self._logs.popitem(last=False)
            self._log_chars -= len(dropped)

    async def _forget(self, reply_id: int) -> None:
        old = self._logs.pop(reply_id, None)
        if old is not None:
            self._log_chars -= len(old[1])
        try:
            await asyncio.to_thread(self.feedback.forget_reply, reply_id)
        except sqlite3.Error as exc:
            log.error("could not forget reply %s in %s: %s", reply_id, self.feedback.path, exc)

    async def _delete_reply(self, sent: discord.Message | discord.PartialMessage) -> None:
        """Delete a reply on Discord and everything stored about it."""
        try:
            await sent.delete()
        except discord.NotFound:
            pass
        except discord.HTTPException as exc:
            log.warning("could not delete reply %s: %s", sent.id, exc)
        await self._forget(sent.id)

    def _remember(self, message_id: int, tracked: Tracked) -> Tracked:
        self._tracked[message_id] = tracked
        self._tracked.move_to_end(message_id)
        while len(self._tracked) > TRACKED_MAX:
            self._tracked.popitem(last=False)
        return tracked

    async def _judged_log(self, reply_id: int) -> str | None:
        """The log a vote judges: in memory since the answer, or read again from the user's
        message (after a restart). None when it is gone: a deleted message, an expired
        /triage file, or a log that no longer has the same name."""
        held = self._logs.get(reply_id)
        if held is not None:
            return held[1]
        ref = await asyncio.to_thread(self.feedback.reply, reply_id)
        if ref is None or ref.message_id is None:
            return None
        channel = self.get_channel(ref.channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            return None
        try:
            message = await channel.fetch_message(ref.message_id)
        except discord.HTTPException:
            return None
        for candidate in find_logs(message.content):
            if candidate.source == ref.log_name:
                return candidate.text
        if ref.log_name == "message":
            return message.content
        for att in message.attachments:
            if att.filename == ref.log_name and att.size <= self.settings.max_attachment_bytes:
                try:
                    return await asyncio.to_thread(_as_text, await att.read())
                except (discord.HTTPException, InputError):
                    return None
        return None

    async def record_feedback(self, interaction: discord.Interaction, vote: int) -> None:
        """A 👍/👎 click: store it with the judged log (redacted) and thank the clicker privately."""
        if interaction.message is None:
            return
        mark = "👍" if vote > 0 else "👎"
        reply_id = interaction.message.id
        try:
            log_text = None if await asyncio.to_thread(self.feedback.has_log, reply_id) else await self._judged_log(reply_id)
            kb_id = await asyncio.to_thread(self.feedback.record_vote, reply_id, interaction.user.id, vote, log_text)
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

    async def answer_interaction(self, interaction: discord.Interaction, outcome: Outcome | None, *, message_id: int | None = None) -> None:
        """Send a slash command's or context menu's answer as a follow-up to the deferred response.
        `message_id`: the message a context-menu answer is about (its deletion deletes the answer)."""
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
            await self._store_reply(sent, message_id, outcome)


def _release(view: FeedbackView | None) -> None:
    """discord.py keeps a sent view for its message forever; the persistent one added in
    setup_hook answers every click, so the per-message copy is dropped at once."""
    if view is not None:
        view.stop()


def _key(key: int) -> int:
    """Cooldown buckets keyed by a plain id, so messages and interactions share them."""
    return key


def _register_commands(bot: TriageBot) -> None:
    """/triage, /trending, /kb search, /kb show and the "Triage this log" context menu."""

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
        outcome = await bot.triage(text or "", [file] if file else [], explicit=True, extra=extra,
                                   guild_id=interaction.guild_id, source_id=interaction.id)
        await bot.answer_interaction(interaction, outcome)

    async def triage_message(interaction: discord.Interaction, message: discord.Message) -> None:
        if not await allowed(interaction):
            return
        await interaction.response.defer(thinking=True)
        extra = [] if find_logs(message.content) or not message.content.strip() else [LogCandidate("message", message.content)]
        outcome = await bot.triage(message.content, message.attachments, explicit=True, extra=extra,
                                   guild_id=interaction.guild_id, source_id=message.id)
        await bot.answer_interaction(interaction, outcome, message_id=message.id)

    @app_commands.command(name="trending", description="The crashes reported most in this server over the last days")
    @app_commands.describe(days="how many days back (default 7)")
    async def trending(interaction: discord.Interaction, days: app_commands.Range[int, 1, 366] = reply.SEEN_DAYS) -> None:
        if interaction.guild_id is None:
            await interaction.response.send_message("Crash counts are kept per server; use this in a server.", ephemeral=True)
            return
        try:
            trends = await asyncio.to_thread(bot.feedback.trending, interaction.guild_id, time.time() - days * DAY)
        except sqlite3.Error as exc:
            log.error("could not read fingerprints from %s: %s", bot.feedback.path, exc)
            await interaction.response.send_message("I could not read the crash counts right now.", ephemeral=True)
            return
        names = {p: _product_name(bot.kb, p) for t in trends for p, _ in t.versions}
        titles = {k: e.title for k, e in bot.kb.entries.items()}
        embed = discord.Embed.from_dict(reply.trending_embed(trends, days, names, titles))
        await interaction.response.send_message(embed=embed, ephemeral=True, allowed_mentions=NO_PINGS)

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
    bot.tree.add_command(trending)
    bot.tree.add_command(kb_group)
    bot.tree.add_command(app_commands.ContextMenu(name="Triage this log", callback=triage_message))


def create_bot(settings: Settings | None = None) -> TriageBot:
    """A ready bot (CONTRACT.md §5); builds the Engine now so a bad TRIAGE_KB_DIRS fails before login."""
    settings = settings or Settings()
    return TriageBot(settings, Engine.build(settings.kb_dirs, cache_dir=default_cache_dir()))


def _fail(message: str) -> int:
    print(f"triage-bot: {message}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """`triage-bot`: configuration from the environment; exit 2 with one line on stderr when it can't start."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-h", "--help"):
        print("usage: triage-bot\n\nRuns the triage Discord bot. Set DISCORD_TOKEN; optional TRIAGE_CHANNELS (comma-separated ids), "
              "TRIAGE_GUILD, TRIAGE_KB_DIRS, TRIAGE_FEEDBACK_DB, TRIAGE_LOG_LEVEL, TRIAGE_MAX_ATTACHMENT_MIB, "
              "TRIAGE_USER_COOLDOWN and TRIAGE_CHANNEL_COOLDOWN (COUNT/SECONDS), TRIAGE_KB_URL, TRIAGE_RETENTION_DAYS.")
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
