"""Remove secrets and personal data from everything a report echoes.

Keeps what diagnosis needs: versions (1.61.2, 0.8.1), build numbers (b4567),
driver (550.54.14) and CUDA (12.4) versions, compute capabilities (6.1),
loopback addresses, and IP-shaped version strings such as 1.20.11.01.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Callable

from .model import Evidence, Facts, KeyLine, Match, Report

__all__ = ["redact_report", "redact_text"]

_TOKENS = re.compile(
    r"\bhf_[A-Za-z0-9]{30,}\b"  # Hugging Face
    r"|\bsk-(?:proj-|ant-)?[A-Za-z0-9_\-]{20,}"  # OpenAI / Anthropic style
    r"|\bgh[pousr]_[A-Za-z0-9]{30,}\b|\bgithub_pat_[A-Za-z0-9_]{22,}\b"  # GitHub
    r"|\b[MNO][A-Za-z\d_-]{23,27}\.[A-Za-z\d_-]{6}\.[A-Za-z\d_-]{27,40}\b"  # Discord bot token
    r"|\bxox[abpr]-[A-Za-z0-9-]{10,}"  # Slack
    r"|\bAKIA[0-9A-Z]{16}\b"  # AWS access key
    r"|\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"  # JWT
)
_ASSIGNED_SECRET = re.compile(
    r"(?i)\b((?:hf_|hugging_?face_?|openai_|github_|discord_)?(?:api[_-]?key|token|secret|password|passwd|auth))(\s*[=:]\s*[\"']?)([^\s\"',;]{6,})"
)
_URL_CREDENTIALS = re.compile(r"(?<=://)()[^/\s:@]+:[^/\s@]+@")
_HOME = re.compile(
    r"(?<=[\\/])(?P<pre>(?:Users|home|Documents and Settings)(?:\\\\|\\|/))(?P<user>[^\\/\s\"'<>|:*?]+)"
)
_WSL_HOME = re.compile(r"(?P<pre>/mnt/[a-z]/Users/)(?P<user>[^/\s\"']+)")
_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_PROMPT = re.compile(r"\b(?P<user>[a-z_][a-z0-9_.-]{0,31})@(?P<host>[A-Za-z0-9][A-Za-z0-9.-]{0,62})(?=[:\s\]])")
_HOSTNAME = re.compile(r"\b(?:DESKTOP|LAPTOP|WIN)-[A-Z0-9]{5,}\b|\b[\w-]+-(?:MacBook|MBP|iMac|Mac-mini|Mac-Studio)(?:-[\w-]+)?(?:\.local)?\b")
_IPV4 = re.compile(r"(?<![\w.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?![\w.]*\d)(?!\.\d)")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}(?![\w:])")
_VERSION_CONTEXT = re.compile(r"(?i)(?:version|ver\.?|v|build|driver|release)\s*[:=]?\s*$")
_MASS_MENTION = re.compile(r"@(everyone|here)\b|<@([!&]?\d{5,})>")
_KEEP_IPS = {"127.0.0.1", "0.0.0.0", "255.255.255.255"}


def _ip(m: re.Match[str], text: str) -> str:
    parts = m.groups()
    whole = m.group(0)
    if whole in _KEEP_IPS:
        return whole
    if any(len(p) > 1 and p.startswith("0") for p in parts) or any(int(p) > 255 for p in parts):
        return whole  # 1.20.11.01 and 10.0.19045.0 are versions, not addresses
    if _VERSION_CONTEXT.search(text[max(0, m.start() - 12) : m.start()]):
        return whole
    return "<ip>"


@lru_cache(maxsize=4096)
def redact_text(text: str) -> tuple[str, int]:
    """(redacted text, number of items removed). Cached: KB prose repeats across reports."""
    if not text:
        return text, 0
    count = 0

    def sub(pattern: re.Pattern[str], repl: str | Callable[[re.Match[str]], str], s: str) -> str:
        nonlocal count
        out, n = pattern.subn(repl, s)
        count += n
        return out

    lowered = text.lower()
    # Cheap substring guards first: most lines hold none of these, and whole logs are big.
    text = sub(_TOKENS, "<token>", text)
    if any(k in lowered for k in ("key", "token", "secret", "passw", "auth")):
        text = sub(_ASSIGNED_SECRET, lambda m: f"{m.group(1)}{m.group(2)}<secret>", text)
    if "://" in text:
        text = sub(_URL_CREDENTIALS, "<credentials>@", text)
    if "users" in lowered or "home" in lowered or "documents and settings" in lowered:
        text = sub(_HOME, lambda m: m.group("pre") + ("<user>" if m.group("user").lower() not in ("shared", "public", "default") else m.group("user")), text)
        text = sub(_WSL_HOME, lambda m: m.group("pre") + "<user>", text)
    if "@" in text:
        text = sub(_EMAIL, "<email>", text)
        text = sub(_PROMPT, "<user>@<host>", text)
    if "-" in text:
        text = sub(_HOSTNAME, "<host>", text)
    original = text

    def ip_or_version(m: re.Match[str]) -> str:
        nonlocal count
        out = _ip(m, original)
        count += out == "<ip>"
        return out

    text = _IPV4.sub(ip_or_version, text)
    if text.count(":") >= 7:
        text = sub(_IPV6, "<ip>", text)
    # Never carry a ping into any output format, JSON included (consumers post it).
    if "@" in text:
        text = sub(_MASS_MENTION, lambda m: f"@\u200b{m.group(1)}" if m.group(1) else f"<@\u200b{m.group(2)}>", text)
    return text, count


def _r(text: str, counter: list[int]) -> str:
    out, n = redact_text(text)
    counter[0] += n
    return out


def redact_report(report: Report) -> Report:
    counter = [0]
    matches = []
    for m in report.matches:
        matches.append(
            m.replace(
                root_cause=_r(m.root_cause, counter),
                remedies=[_r(t, counter) for t in m.remedies],
                other_remedies=[_r(t, counter) for t in m.other_remedies],
                evidence=[Evidence(e.line, _r(e.text, counter), e.signature) for e in m.evidence],
                confirm=_r(m.confirm, counter),
                values={},
            )
        )
    facts: Facts = report.facts.replace()
    if facts.model_file:
        facts.model_file = _r(facts.model_file, counter)
    keylines = [KeyLine(k.line, _r(k.text, counter), k.score) for k in report.key_lines]
    followup = _r(report.followup, counter)
    completeness = report.completeness._replace(reason=_r(report.completeness.reason, counter))
    return report.replace(  # type: ignore[no-any-return]
        matches=matches,
        facts=facts,
        key_lines=keylines,
        followup=followup,
        completeness=completeness,
        redactions=counter[0],
    )
