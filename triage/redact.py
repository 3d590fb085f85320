"""Remove secrets and personal data from what leaves the engine.

Only what came from the log is redacted: log lines (evidence, key lines), facts,
the fingerprint text and the placeholder values filled into KB text. The KB's
own prose is never rewritten (a remedy that says `C:\\Users\\...` keeps it).

Keeps what diagnosis needs: versions (1.61.2, glibc 2.31.0.1), build numbers
(b4567), driver (550.54.14) and CUDA (12.4) versions, compute capabilities
(6.1), loopback and wildcard addresses, and IP-shaped version strings such as
1.20.11.01.

Speed: every rule is line-local, so a whole log (`redact_log`) is searched for
cheap literal triggers first (C-speed scans) and only the lines they hit run the
rules those triggers belong to.
"""

from __future__ import annotations

import re
from functools import lru_cache
TYPE_CHECKING = False  # true for type checkers only: typing is not imported at run time (records.py says why)
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable, Iterator

from .model import Evidence, Facts, KeyLine, Match, Report
from .normalize import lazy_regex
from .records import NamedTuple

__all__ = ["redact_log", "redact_report", "redact_text", "redact_values"]

SMALL = 4096  # below this many characters, run every rule directly (cheaper than finding triggers)
HYPERSCAN_BYTES = 2_000_000  # from here one Hyperscan pass beats a find() per trigger (its database takes ~0.1 s to build)

# Placeholder values that are never personal: KB-derived, or version-like facts an
# IP-shaped guess would wrongly eat (LM Studio 0.3.5.1).
SAFE_VALUES = frozenset({
    "title", "kb_id", "fixed_in", "affected_versions", "product", "product_name", "version", "build", "commit",
    "os", "backend", "compute_capability", "compiled_archs", "quant",
})

_HEX = "[0-9A-Fa-f]"
_KEEP_IPS = frozenset({"127.0.0.1", "0.0.0.0", "255.255.255.255", "::", "::1"})
_KEEP_USERS = frozenset({"shared", "public", "default", "all users", "...", "…", "username", "user", "you", "yourname", "name"})
_VERSION_CONTEXT = lazy_regex(  # compiled when an IPv4-shaped string first needs it
    r"(?i)(?:version|ver\.?|v|build|driver|release|g?libc|glibc_|cuda|rocm|hip|vulkan|runtime|sdk|python|torch|"
    r"firmware|bios|kernel|nvcc|msvc|gcc|clang)[ \t]*[:=]?[ \t]*$"
)


class _Rule(NamedTuple):
    name: str
    pattern: Callable[[], re.Pattern[str]]  # compiled on first call (see _c)
    # (match) -> (replacement, the personal item removed or None when nothing was)
    repl: Callable[[re.Match[str]], tuple[str, str | None]]
    triggers: tuple[_Trigger, ...]  # cheap searches that find every line this rule can change


def _fixed(token: str) -> Callable[[re.Match[str]], tuple[str, str | None]]:
    return lambda m: (token, m.group(0))


def _keep_prefix(token: str, group: int = 2) -> Callable[[re.Match[str]], tuple[str, str | None]]:
    return lambda m: (m.group(1) + token, m.group(group))


def _assigned(m: re.Match[str]) -> tuple[str, str | None]:
    value = m.group(3)
    if value.isdigit() or value.lower() in ("true", "false", "none", "null", "required", "optional"):
        return m.group(0), None  # `EOT token = 128009`, `use_auth_token: true`
    return m.group(1) + m.group(2) + "<secret>", value


def _home(m: re.Match[str]) -> tuple[str, str | None]:
    user = m.group("user")
    if user.lower() in _KEEP_USERS or user[0] in "$%{<":
        return m.group(0), None
    # A non-ASCII user folder is itself a cause (older Windows builds could not open such paths,
    # janhq/jan#1713), so the marker keeps that fact while the name goes.
    marker = "<user>" if user.isascii() else "<user-non-ascii>"
    return m.group("pre") + marker, user


def _ipv4(m: re.Match[str]) -> tuple[str, str | None]:
    whole = m.group(0)
    parts = m.groups()
    if whole in _KEEP_IPS:
        return whole, None
    if any(len(p) > 1 and p.startswith("0") for p in parts) or any(int(p) > 255 for p in parts):
        return whole, None  # 1.20.11.01 and 10.0.19045.0 are versions, not addresses
    if _VERSION_CONTEXT().search(m.string, max(0, m.start() - 14), m.start()):
        return whole, None  # glibc 2.31.0.1, driver 31.0.15.3
    return "<ip>", whole


def _ipv6(m: re.Match[str]) -> tuple[str, str | None]:
    whole = m.group(0)
    if whole in _KEEP_IPS or not any(c.isdigit() for c in whole):
        return whole, None  # [::]:8080, [::1], and `dead::beef`-like identifiers
    return "<ip>", whole


def _mention(m: re.Match[str]) -> tuple[str, str | None]:
    # Broken up, not removed: never counted as a personal item.
    return (f"@\u200b{m.group(1)}" if m.group(1) else f"<@\u200b{m.group(2)}>"), None


def _c(pattern: str) -> Callable[[], re.Pattern[str]]:
    """A rule's pattern, compiled on first use: most rules never run on a typical log (their trigger is
    absent), and compiling all of them cost ~5 ms of every CLI start. ASCII classes: \\d, \\w and \\b mean
    what the byte-level triggers see, so the triggered path and the direct path agree on every input."""
    return lazy_regex(pattern, re.ASCII)


class _Trigger(NamedTuple):
    """A cheap search over the log's ASCII bytes (non-ASCII characters become '?', so
    offsets stay those of the text): a literal, found in the lowered copy when
    `caseless`, or a bytes regex (`source`, compiled on first use) that starts with a literal.

    A rule's triggers are a necessary condition: text none of them occurs in is text the rule's pattern
    cannot match, so skipping the rule there changes nothing."""

    literal: bytes = b""
    caseless: bool = False
    source: bytes | None = None
    gate: tuple[bytes, ...] = ()  # for a regex: one of these is in every text it matches (checked first, cheaply)

    @property
    def pattern(self) -> re.Pattern[bytes] | None:
        return None if self.source is None else _trigger_re(self.source)


@lru_cache(maxsize=None)
def _trigger_re(source: bytes) -> re.Pattern[bytes]:
    return re.compile(source)


def _lit(*words: str) -> tuple[_Trigger, ...]:
    return tuple(_Trigger(w.encode()) for w in words)


def _ci(*words: str) -> tuple[_Trigger, ...]:
    return tuple(_Trigger(w.lower().encode(), caseless=True) for w in words)


def _rx(pattern: bytes, caseless: bool = False, gate: tuple[bytes, ...] = ()) -> tuple[_Trigger, ...]:
    return (_Trigger(source=pattern, caseless=caseless, gate=gate),)


# Every pattern is line-local ([ \t], never \s) with bounded repeats, and every rule
# is idempotent: its output ("<token>", "<user>", ...) can never match it again. IPv4
# runs last because it reads the text before an address ("glibc 2.31.0.1" is a version):
# it must see that text as the other rules leave it.
RULES: tuple[_Rule, ...] = (
    _Rule(
        "token",
        _c(
            r"\bhf_[A-Za-z0-9]{30,}\b"  # Hugging Face
            r"|\bsk-(?:proj-|ant-)?[A-Za-z0-9_\-]{20,}"  # OpenAI / Anthropic style
            r"|\bgh[pousr]_[A-Za-z0-9]{30,}\b|\bgithub_pat_[A-Za-z0-9_]{22,}\b"  # GitHub
            r"|\b[MNO][A-Za-z\d_-]{23,27}\.[A-Za-z\d_-]{6}\.[A-Za-z\d_-]{27,40}\b"  # Discord bot token
            r"|\bxox[abpr]-[A-Za-z0-9-]{10,}"  # Slack
            r"|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"  # AWS access key ids (long-term and temporary)
            r"|\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"  # JWT
        ),
        _fixed("<token>"),
        _lit("hf_", "sk-", "github_pat_", "xox", "eyJ")
        + _rx(rb"gh[pousr]_", gate=(b"gh",)) + _rx(rb"A[KS]IA", gate=(b"IA",)) + _rx(rb"\.[A-Za-z\d_-]{6}\.[A-Za-z\d_-]{27}"),
    ),
    _Rule(
        "authorization",
        _c(r"(?i)\b((?:proxy-)?authorization[\"']?[ \t]*[:=][ \t]*[\"']?(?:(?:bearer|token|basic|digest)[ \t]+)?)"
           r"(?!<|(?:bearer|token|basic|digest)\b)([^\s\"',;]{3,})"),
        _keep_prefix("<secret>"),
        _ci("authorization"),
    ),
    _Rule(
        "bearer",
        _c(r"(?i)\b(bearer[ \t]+)([A-Za-z0-9._~+/=-]{8,})"),
        _keep_prefix("<secret>"),
        _ci("bearer"),
    ),
    _Rule(
        "user-option",  # curl -u user:pass, --user=user:pass
        _c(r"(?<!\S)((?:-u|--user)(?:[ \t]+|=)?[\"']?)([^\s:\"'@<]{1,64}:(?![\\/])[^\s\"']{1,256})"),
        _keep_prefix("<credentials>"),
        _lit("-u"),
    ),
    _Rule(
        "assigned-secret",  # HF_TOKEN=..., AWS_SECRET_ACCESS_KEY=..., password: ...
        _c(
            r"(?i)(?=[kstp])((?:key|token|secret|passw(?:or)?d|pwd)[A-Za-z0-9_-]{0,20})"
            r"([ \t]*[=:][ \t]*[\"']?)(?!<)([^\s\"',;]{6,})"
        ),
        _assigned,
        # "passw" may be followed by "ord" or "d" and then the pattern's 20 characters
        tuple(_Trigger(source=w + rb"[a-z0-9_-]{0,%d}[ \t]*[=:]" % n, caseless=True, gate=(w,))
              for w, n in ((b"key", 20), (b"token", 20), (b"secret", 20), (b"passw", 23), (b"pwd", 20))),
    ),
    _Rule("url-credentials", _c(r"(?<=://)[^/\s:@<]{1,256}:[^/\s@]{1,256}@"), _fixed("<credentials>@"), _lit("@")),
    _Rule(
        "home",
        _c(
            r"(?<=[\\/])(?P<pre>(?:[Uu]sers|USERS|home|Documents and Settings)(?:\\\\|\\|/))"
            r"(?P<user>[^\\/\s\"'<>|:*?`]{1,128})"
        ),
        _home,
        _rx(rb"[\\/](?:users|home|documents and settings)[\\/]", caseless=True,
            gate=(b"users", b"home", b"documents and settings")),  # either separator on each side
    ),
    _Rule("email", _c(r"\b[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24}\b"),
          _fixed("<email>"), _lit("@")),
    _Rule(
        "prompt",  # user@host: in shell prompts; not a package pinned to a version (npm's `inflight@1.0.6:` and
        # `name@3.0.0-beta.44`): a host of one to three numbers is a version (a prompt's bare IP address has four)
        _c(r"\b(?P<user>[a-z_][a-z0-9_.-]{0,31})@(?!\d{1,9}(?:\.\d{1,9}){0,2}(?:-[A-Za-z0-9.]{1,40})?(?=[:\s\]]))"
           r"(?P<host>[A-Za-z0-9][A-Za-z0-9.-]{0,62})(?=[:\s\]])"),
        lambda m: ("<user>@<host>", m.group(0)),
        _lit("@"),
    ),
    _Rule(
        "hostname",
        _c(r"\b(?:DESKTOP|LAPTOP|WIN)-[A-Z0-9]{5,}\b|\b[\w-]{1,64}-(?:MacBook|MBP|iMac|Mac-mini|Mac-Studio)(?:-[\w-]{1,64})?(?:\.local)?\b"),
        _fixed("<host>"),
        _lit("DESKTOP-", "LAPTOP-", "WIN-", "Mac", "MBP"),
    ),
    _Rule(
        "ipv6",
        _c(
            rf"(?<![\w:])(?:(?:{_HEX}{{1,4}}:){{7}}{_HEX}{{1,4}}"
            rf"|(?:{_HEX}{{1,4}}(?::{_HEX}{{1,4}}){{0,6}})?::(?:{_HEX}{{1,4}}(?::{_HEX}{{1,4}}){{0,6}})?)"
            r"(?:%[0-9A-Za-z_.-]{1,32})?(?![\w:])"
        ),
        _ipv6,
        _lit("::") + _rx(f":{_HEX}{{1,4}}:{_HEX}{{1,4}}:{_HEX}{{1,4}}:{_HEX}{{1,4}}:{_HEX}{{1,4}}:{_HEX}{{1,4}}:".encode()),
    ),
    _Rule(
        "ipv4",
        _c(r"(?<![\w.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?![\w.]*\d)(?!\.\d)"),
        _ipv4,
        _rx(rb"\.\d{1,3}\.\d{1,3}\.\d"),
    ),
    # Never carry a ping into any output format, JSON included (consumers post it).
    _Rule("mention", _c(r"@(everyone|here)\b|<@([!&]?\d{5,})>"), _mention, _lit("@")),
)


def _apply(text: str, rules: Iterable[_Rule], removed: list[str]) -> str:
    for rule in rules:
        def sub(m: re.Match[str], rule: _Rule = rule) -> str:
            out, item = rule.repl(m)
            if item is not None:
                removed.append(item)
            return out

        text = rule.pattern().sub(sub, text)
    return text


def _hits(trig: _Trigger, buf: bytes) -> Iterator[int]:
    """One position per line where the trigger occurs (the fallback without Hyperscan)."""
    if trig.pattern is not None:
        line_end = -1
        for m in trig.pattern.finditer(buf):
            if m.start() > line_end:
                yield m.start()
                line_end = buf.find(b"\n", m.start())
                if line_end < 0:
                    return
        return
    pos = buf.find(trig.literal)
    while pos >= 0:
        yield pos
        line_end = buf.find(b"\n", pos)
        if line_end < 0:
            return
        pos = buf.find(trig.literal, line_end)


TRIGGERS: tuple[_Trigger, ...] = tuple(dict.fromkeys(t for rule in RULES for t in rule.triggers))
_RULE_TRIGGERS = tuple(tuple(TRIGGERS.index(t) for t in rule.triggers) for rule in RULES)
_HYPERSCAN: list[Any] = []  # [database or None], built on first use
_STATE: dict[str, Any] = {}  # "scratch": a threading.local (made on first need: few runs redact a log this big)


def _scratches() -> Any:
    """Where each thread keeps its Hyperscan scratch (a scratch is per thread: the bot redacts in workers)."""
    import threading

    return _STATE.setdefault("scratch", threading.local())


def _hyperscan() -> Any:
    if not _HYPERSCAN:
        try:
            import hyperscan

            db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            db.compile(
                expressions=[t.source if t.source is not None else re.escape(t.literal) for t in TRIGGERS],
                ids=list(range(len(TRIGGERS))),
                elements=len(TRIGGERS),
                flags=[hyperscan.HS_FLAG_CASELESS if t.caseless else 0 for t in TRIGGERS],
            )
            _HYPERSCAN.append(db)
        except Exception:  # noqa: BLE001 - optional: the find() fallback gives the same lines
            _HYPERSCAN.append(None)
    return _HYPERSCAN[0]


def _trigger_lines(raw: bytes) -> list[set[int]]:
    """For each trigger, the start offsets of the lines it occurs on."""
    found: list[set[int]] = [set() for _ in TRIGGERS]
    db = _hyperscan() if len(raw) >= HYPERSCAN_BYTES else None
    if db is not None:
        import hyperscan

        store = _scratches()
        scratch = getattr(store, "scratch", None)
        if scratch is None:
            scratch = store.scratch = hyperscan.Scratch(db)
        ends: list[list[int]] = [[] for _ in TRIGGERS]

        def on_match(index: int, start: int, end: int, flags: int, context: object) -> None:
            ends[index].append(end - 1)  # triggers never span a line end: end-1 is on the match's line

        db.scan(raw, match_event_handler=on_match, scratch=scratch)
        for index, positions in enumerate(ends):
            found[index] = {raw.rfind(b"\n", 0, pos) + 1 for pos in positions}
        return found
    low = raw.lower()
    for index, trig in enumerate(TRIGGERS):
        found[index] = {raw.rfind(b"\n", 0, pos) + 1 for pos in _hits(trig, low if trig.caseless else raw)}
    return found


def _present(trig: _Trigger, raw: bytes, low: bytes) -> bool:
    buf = low if trig.caseless else raw
    if trig.gate and not any(g in buf for g in trig.gate):
        return False
    pattern = trig.pattern
    return trig.literal in buf if pattern is None else pattern.search(buf) is not None


def _apply_small(text: str, removed: list[str]) -> str:
    """Every rule in order, as `_apply`, skipping a rule none of whose triggers is in the text as the rules
    before it left it (it could not match: see _Trigger); most rules are never compiled in a typical run."""
    raw = low = b""
    stale = True
    for rule, indexes in zip(RULES, _RULE_TRIGGERS):
        if stale:
            raw = text.encode("ascii", "replace")
            low = raw.lower()
            stale = False
        if not any(_present(TRIGGERS[i], raw, low) for i in indexes):
            continue
        done = _apply(text, (rule,), removed)
        if done != text:
            text, stale = done, True
    return text


def _redact(text: str, removed: list[str]) -> str:
    """Redact `text`, appending each removed item to `removed`."""
    if len(text) <= SMALL:
        return _apply_small(text, removed)
    # Big text: find the lines each rule's triggers hit (one scan for all triggers with
    # Hyperscan), then run each rule once over its lines joined together: patterns never
    # cross a line end and replacements never add one, so the batch splits back line for line.
    raw = text.encode("ascii", "replace")  # one byte per character: offsets are the text's
    lines = _trigger_lines(raw)
    ends: dict[int, int] = {}
    current: dict[int, str] = {}
    for rule, indexes in zip(RULES, _RULE_TRIGGERS):
        starts: set[int] = set()
        for index in indexes:
            starts |= lines[index]
        if not starts:
            continue
        order = sorted(starts)
        for start in order:
            if start not in ends:
                end = text.find("\n", start)
                ends[start] = len(text) if end < 0 else end
        batch = "\n".join([current[s] if s in current else text[s : ends[s]] for s in order])
        done = _apply(batch, (rule,), removed)
        if done != batch:
            for start, line in zip(order, done.split("\n")):
                current[start] = line
    if not current:
        return text
    out: list[str] = []
    pos = 0
    for start in sorted(current):
        out.append(text[pos:start])
        out.append(current[start])
        pos = ends[start]
    out.append(text[pos:])
    return "".join(out)


@lru_cache(maxsize=4096)
def _cached(text: str) -> tuple[str, tuple[str, ...]]:
    removed: list[str] = []
    return _redact(text, removed), tuple(removed)


def redact_text(text: str) -> tuple[str, int]:
    """(redacted text, number of items removed). Cached: the same values repeat across reports."""
    if not text:
        return text, 0
    if len(text) > SMALL:
        return redact_log(text)
    out, removed = _cached(text)
    return out, len(removed)


def redact_log(text: str) -> tuple[str, int]:
    """A whole log (for storage): the same rules as redact_text, tens of MB/s."""
    removed: list[str] = []
    return _redact(text, removed), len(removed)


def redact_values(values: dict[str, str]) -> dict[str, str]:
    """Placeholder values with personal data removed, before they are filled into KB
    text (so the prose around them is never touched). Idempotent."""
    return {k: v if k in SAFE_VALUES or not isinstance(v, str) else _cached(v)[0] for k, v in values.items()}


# ---------------------------------------------------------------- reports


class _Redactor:
    """Redacts one report's log-derived strings and remembers what changed, so KB
    prose that had a value filled in gets the same replacement, and nothing else."""

    def __init__(self) -> None:
        self.removed: set[str] = set()  # items removed from what is shown
        self.changed: dict[str, str] = {}  # value as in the log -> redacted
        self.pending: dict[str, tuple[str, ...]] = {}  # value -> its items, counted once shown

    def _run(self, text: str) -> tuple[str, tuple[str, ...]]:
        if len(text) > SMALL:
            items: list[str] = []
            return _redact(text, items), tuple(items)
        return _cached(text)

    def text(self, text: str) -> str:
        """A log-derived string that is shown as such (log lines, facts)."""
        if not text:
            return text
        out, removed = self._run(text)
        self.removed.update(removed)
        if out != text:
            self.changed[text] = out
        return out

    def value(self, text: str) -> str:
        """A placeholder value: counted only if some shown text quotes it."""
        if not text:
            return text
        out, removed = self._run(text)
        if out != text:
            self.changed[text] = out
            self.pending[text] = removed
        return out

    def values(self, values: dict[str, str]) -> dict[str, str]:
        return {k: v if k in SAFE_VALUES or not isinstance(v, str) else self.value(v) for k, v in values.items()}

    def prose(self, text: str) -> str:
        """KB text with log values in it: swap in the redacted values, longest first."""
        if not text:
            return text
        for original in sorted(self.changed, key=len, reverse=True):
            if original in text:
                text = text.replace(original, self.changed[original])
                self.removed.update(self.pending.get(original, ()))
        return text


def _facts(facts: Facts, r: _Redactor) -> Facts:
    optional = {key: r.text(getattr(facts, key)) if getattr(facts, key) else getattr(facts, key)
                for key in ("metal_device", "model_file")}
    gpus = [g.replace(name=r.text(g.name)) for g in facts.gpus]
    flags = {k: r.text(v) for k, v in facts.flags.items()}
    out: Facts = facts.replace(gpus=gpus, flags=flags, **optional)
    return out


def _match(m: Match, r: _Redactor) -> Match:
    p = r.prose
    out: Match = m.replace(
        title=p(m.title),
        summary=p(m.summary),
        root_cause=p(m.root_cause),
        remedies=[p(t) for t in m.remedies],
        other_remedies=[p(t) for t in m.other_remedies],
        remedy_steps=[s._replace(text=p(s.text)) for s in m.remedy_steps],
        version_note=p(m.version_note),
        confirm=p(m.confirm),
        evidence=[Evidence(e.line, r.text(e.text), e.signature) for e in m.evidence],
        values=r.values(m.values),
    )
    return out


def redact_report(report: Report) -> Report:
    """Every string that leaves the engine, redacted where it came from the log.

    `redactions` counts distinct personal or secret items removed (not broken-up
    mentions, and an item quoted twice counts once)."""
    r = _Redactor()
    facts = _facts(report.facts, r)
    for m in report.matches:
        r.values(m.values)  # learn every value first: prose of one match may quote another's
    matches = [_match(m, r) for m in report.matches]
    keylines = [KeyLine(k.line, r.text(k.text), k.score) for k in report.key_lines]
    completeness = report.completeness._replace(reason=r.text(report.completeness.reason))
    fingerprint = report.fingerprint
    if fingerprint is not None:
        fingerprint = fingerprint._replace(text=r.text(fingerprint.text))
    out: Report = report.replace(
        matches=matches,
        facts=facts,
        key_lines=keylines,
        followup=r.prose(report.followup),
        completeness=completeness,
        fingerprint=fingerprint,
        redactions=len(r.removed),
    )
    return out
