"""What the GitHub Action should change on an issue, decided without any I/O.

The executor in `bot.github_action` fetches the issue, its comments and the repository's labels,
runs the engine, and hands everything here; this module answers with a `Plan` (labels to create,
add and remove, and the one marked comment to create or edit). Keeping it pure means every
decision about duplicates, label ownership and injection is tested with plain values.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping, Sequence
from urllib.parse import urlsplit

from triage.model import Facts, Match, Report, fact_labels

from .github_comment import Document, Duplicate, render_comment

__all__ = [
    "MARKER",
    "TRIGGERS",
    "DEFAULT_BOT_LOGIN",
    "CommentChange",
    "Config",
    "Duplicate",
    "Document",
    "IssueComment",
    "IssueRef",
    "LabelSpec",
    "Plan",
    "State",
    "combine",
    "find_attachment_urls",
    "is_own_comment",
    "make_plan",
    "parse_event",
    "read_state",
    "replace_state",
    "selected_matches",
    "valid_fingerprint_id",
]

MARKER = "<!-- triage:report -->"
TRIGGERS: dict[str, frozenset[str]] = {
    "issues": frozenset({"opened", "edited", "reopened"}),
    "issue_comment": frozenset({"created", "edited"}),
}
LABEL_NAME_LIMIT = 50  # GitHub rejects longer label names with 422
LABEL_DESCRIPTION_LIMIT = 100  # GitHub's limit for a label description
MAX_ATTACHMENTS = 5  # a reporter rarely links more logs; each one costs a download
_TEXT_SUFFIXES = (".txt", ".log", ".out", ".err", ".text")
DEFAULT_BOT_LOGIN = "github-actions[bot]"  # who the workflow token posts as
# The state is the comment's last line and nothing else: quoted log text can never be that line.
_STATE = re.compile(r"<!-- triage:state (\{[^<>\n]*\}) -->")
_FINGERPRINT_ID = re.compile(r"[A-Za-z0-9_-]{4,64}")
_URL = re.compile(r"https?://[^\s<>()\[\]{}\"'`|\\]+")
_ATTACHMENT_PATHS = (
    re.compile(r"^/user-attachments/files/\d+/[^/]+$"),  # github.com/user-attachments/files/<id>/<name>
    re.compile(r"^/[\w.-]+/[\w.-]+/files/\d+/[^/]+$"),  # github.com/<owner>/<repo>/files/<id>/<name>
    re.compile(r"^/[\w.-]+/[0-9a-f]+/raw(?:/[^/]+)*/?$"),  # gist.githubusercontent.com/<user>/<id>/raw/...
)
_COLOURS = {"backend:": "1d76db", "os:": "5319e7"}
_TRIAGE_COLOUR = "d93f0b"
_OTHER_COLOUR = "ededed"


@dataclass(frozen=True, slots=True)
class Config:
    """The action's inputs that shape the plan (already validated)."""

    label_prefix: str = "triage:"
    fact_labels: bool = True
    comment: bool = True
    comment_on_miss: Literal["off", "logs", "always"] = "off"
    min_confidence: float | None = None  # None: the engine's own "confident" verdict
    bot_login: str | None = None  # None: github-actions[bot], the workflow token's account
    kb_url: str | None = None  # where KB pages are served (a GitHub blob URL or a site); None: no link
    duplicate_label: str | None = None  # label for an issue whose crash was reported before; None: none


@dataclass(frozen=True, slots=True)
class IssueRef:
    """The issue an event is about."""

    repo: str
    number: int
    html_url: str = ""


@dataclass(frozen=True, slots=True)
class IssueComment:
    """The fields of GitHub's issue-comment object the action uses."""

    id: int
    body: str
    login: str
    user_type: str
    html_url: str = ""

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> IssueComment:
        user = data.get("user") or {}
        return cls(
            id=int(data["id"]),
            body=str(data.get("body") or ""),
            login=str(user.get("login") or ""),
            user_type=str(user.get("type") or ""),
            html_url=str(data.get("html_url") or ""),
        )


@dataclass(frozen=True, slots=True)
class LabelSpec:
    name: str
    color: str
    description: str


@dataclass(frozen=True, slots=True)
class State:
    """What the action did before, kept in a hidden marker inside its own comment.

    `labels` are the labels the action added and that were still there; only those may be
    removed later. `declined` are labels it added that a person took off: never re-added.
    """

    kb_ids: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    declined: tuple[str, ...] = ()
    fingerprint: str = ""  # the report's fingerprint id, so later issues can find this one
    specific: bool = False  # whether that fingerprint may link reports

    def marker(self) -> str:
        data: dict[str, Any] = {"v": 1, "kb_ids": list(self.kb_ids), "labels": list(self.labels), "declined": list(self.declined)}
        if self.fingerprint:
            data["fp"] = self.fingerprint
            data["fp_specific"] = self.specific
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=True)
        # `<`, `>` and `-` escaped so no label name can end the HTML comment early.
        text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("-", "\\u002d")
        return f"<!-- triage:state {text} -->"


@dataclass(frozen=True, slots=True)
class CommentChange:
    action: Literal["create", "update"]
    body: str
    comment_id: int | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything the executor should do, in order."""

    kb_ids: tuple[str, ...]
    labels: tuple[str, ...]  # every label the issue should carry from triage (the `labels` output)
    create_labels: tuple[LabelSpec, ...] = ()
    add_labels: tuple[str, ...] = ()
    remove_labels: tuple[str, ...] = ()
    comment: CommentChange | None = None
    delete_comments: tuple[int, ...] = ()
    state: State = field(default_factory=State)
    notes: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not (self.create_labels or self.add_labels or self.remove_labels or self.comment or self.delete_comments)


def parse_event(event_name: str, payload: Mapping[str, Any], repo: str) -> IssueRef | str:
    """The issue to triage, or the reason this event is not one the action handles."""
    actions = TRIGGERS.get(event_name)
    if actions is None:
        return f"event {event_name!r} is not handled (use issues or issue_comment)"
    action = str(payload.get("action") or "")
    if action not in actions:
        return f"{event_name}.{action or '?'} is not handled (only {', '.join(sorted(actions))})"
    issue = payload.get("issue")
    if not isinstance(issue, Mapping) or not isinstance(issue.get("number"), int):
        return "the event payload has no issue"
    if issue.get("pull_request"):
        return "pull requests are not triaged"
    return IssueRef(repo=repo, number=int(issue["number"]), html_url=str(issue.get("html_url") or ""))


def is_own_comment(comment: IssueComment, bot_login: str | None) -> bool:
    """The action's report: the marker at the very start and written by the action's own account.

    Both conditions matter: a person can paste the marker anywhere, even at the start of their
    comment, but cannot post as the bot. The account is `bot_login`, or github-actions[bot]
    (the workflow token's) when unset: another app's bot is not "own" even if its comment starts
    with the marker.
    """
    if not comment.body.startswith(MARKER):
        return False
    return comment.login.casefold() == (bot_login or DEFAULT_BOT_LOGIN).casefold()


def valid_fingerprint_id(value: object) -> str:
    """The id when it is safe to put in a search query and a marker (letters, digits, `_`, `-`); else ""."""
    return value if isinstance(value, str) and _FINGERPRINT_ID.fullmatch(value) else ""


def _last_line(body: str) -> str:
    return body.rstrip("\n").rsplit("\n", 1)[-1]


def read_state(body: str) -> State:
    """The hidden state: only the last line of the action's own comment, and only when it is
    exactly a state marker. Everything above it (quoted log lines, facts, prose) is never read,
    so a log that contains a state marker cannot stand in for the action's memory."""
    m = _STATE.fullmatch(_last_line(body))
    if m is None:
        return State()
    try:
        data = json.loads(m.group(1))
    except ValueError:
        return State()
    if not isinstance(data, dict):
        return State()

    def strings(key: str) -> tuple[str, ...]:
        value = data.get(key)
        if not isinstance(value, list):
            return ()
        return tuple(v for v in value if isinstance(v, str) and 0 < len(v) <= LABEL_NAME_LIMIT)

    fp = valid_fingerprint_id(data.get("fp"))
    return State(
        kb_ids=strings("kb_ids"),
        labels=strings("labels"),
        declined=strings("declined"),
        fingerprint=fp,
        specific=bool(fp) and data.get("fp_specific") is True,
    )


def replace_state(body: str, state: State) -> str:
    """The same comment with a new state marker (after some label calls failed): the last line
    is replaced when it is the state, never a marker quoted higher up."""
    text = body.rstrip("\n")
    if _STATE.fullmatch(_last_line(text)):
        text = text.rsplit("\n", 1)[0] if "\n" in text else ""
    return (text + "\n" if text else "") + state.marker() + "\n"


def combine(documents: Sequence[Document]) -> tuple[str, list[int]]:
    """One text for the engine, plus the first line of each document in it.

    Documents are joined by a blank line; their line ends must already be `\\n` (run them
    through `triage.decode.decode` first) so the engine's line numbers map back exactly.
    """
    starts: list[int] = []
    line = 1
    for doc in documents:
        starts.append(line)
        line += doc.text.count("\n") + 2
    return "\n\n".join(doc.text for doc in documents), starts


def _allowed(host: str, hosts: Sequence[str]) -> bool:
    host = host.casefold()
    return any(host == h or (h.startswith(".") and host.endswith(h)) for h in (h.casefold() for h in hosts))


def find_attachment_urls(text: str, hosts: Sequence[str]) -> list[str]:
    """Links to text attachments on allowed hosts: GitHub user attachments, repository files, gists.

    https only, except for `localhost`/`127.0.0.1`, which exist for tests and local stand-ins.
    """
    found: list[str] = []
    for m in _URL.finditer(text):
        url = m.group(0).rstrip(".,;:!?")
        parts = urlsplit(url)
        host = parts.hostname or ""
        local = host in ("localhost", "127.0.0.1")
        if parts.scheme != "https" and not (parts.scheme == "http" and local):
            continue
        if not _allowed(host, hosts) or parts.username or parts.password:
            continue
        path = parts.path
        if not any(p.match(path) for p in _ATTACHMENT_PATHS):
            continue
        if "/raw" not in path and not path.lower().endswith(_TEXT_SUFFIXES):
            continue
        if url not in found:
            found.append(url)
        if len(found) >= MAX_ATTACHMENTS:
            break
    return found


def selected_matches(report: Report | None, config: Config) -> list[Match]:
    """The matches the action acts on: the engine's confident ones, or above `min-confidence`."""
    if report is None:
        return []
    if config.min_confidence is None:
        return list(report.confident)
    return [m for m in report.matches if m.confidence >= config.min_confidence]


def _is_fact_label(label: str) -> bool:
    return label.startswith(("backend:", "os:"))


def desired_labels(
    report: Report | None, matches: Sequence[Match], config: Config, duplicate: Duplicate | None = None
) -> dict[str, LabelSpec]:
    """Labels the issue should carry, in a stable order, each with what to create it with."""
    out: dict[str, LabelSpec] = {}

    def put(name: str, colour: str, description: str) -> None:
        if name.casefold() not in {k.casefold() for k in out} and len(name) <= LABEL_NAME_LIMIT:
            out[name] = LabelSpec(name, colour, description[:LABEL_DESCRIPTION_LIMIT])

    for m in matches:
        put(config.label_prefix + m.kb_id, _TRIAGE_COLOUR, m.title)
        for label in m.labels:
            if label == f"triage:{m.kb_id}" or (_is_fact_label(label) and not config.fact_labels):
                continue
            put(label, *_label_style(label))
    if report is not None and config.fact_labels:
        for label in fact_labels(report.facts):
            put(label, *_label_style(label))
    if duplicate is not None and config.duplicate_label:
        put(config.duplicate_label, _OTHER_COLOUR, "The same crash fingerprint as an earlier issue (set by triage)")
    return out


def _label_style(label: str) -> tuple[str, str]:
    for prefix, colour in _COLOURS.items():
        if label.startswith(prefix):
            kind = "Backend" if prefix == "backend:" else "Operating system"
            return colour, f"{kind} named in the log: {label[len(prefix):]} (set by triage)"
    return _OTHER_COLOUR, "Set by triage from the knowledge base"


def _fold(names: Sequence[str]) -> dict[str, str]:
    return {n.casefold(): n for n in names}


def _wants_miss_comment(report: Report | None, config: Config) -> bool:
    if config.comment_on_miss == "off" or report is None or not report.followup:
        return False
    if config.comment_on_miss == "always":
        return True
    return bool(report.key_lines or report.matches)


def make_plan(
    issue: IssueRef,
    report: Report | None,
    documents: Sequence[Document],
    starts: Sequence[int],
    issue_labels: Sequence[str],
    repo_labels: Sequence[str],
    comments: Sequence[IssueComment],
    config: Config,
    duplicate: Duplicate | None = None,
) -> Plan:
    """Decide labels and the comment from the engine's report and the issue as it is now.

    `report` is None when the issue holds no text at all. `comments` are all of the issue's
    comments; the action's own are recognised here, and any duplicates are scheduled for deletion.
    `duplicate` is an earlier issue with the same specific fingerprint (found by the executor);
    it is ignored unless this report's fingerprint is specific, and never this issue itself.
    """
    own = [c for c in comments if is_own_comment(c, config.bot_login)]
    previous = read_state(own[0].body) if own else State()
    matches = selected_matches(report, config)
    fingerprint = report.fingerprint if report is not None else None
    fp_id = valid_fingerprint_id(fingerprint.id) if fingerprint is not None else ""
    if duplicate is not None and (not fp_id or fingerprint is None or not fingerprint.specific or duplicate.number == issue.number):
        duplicate = None
    wanted = desired_labels(report, matches, config, duplicate)
    current = _fold(issue_labels)
    in_repo = {n.casefold() for n in repo_labels}
    prefix = config.label_prefix.casefold()

    # A label the action added before that is gone now was removed by a person: respect that.
    declined = {n.casefold(): n for n in previous.declined if n.casefold() not in current}
    declined.update({n.casefold(): n for n in previous.labels if n.casefold() not in current})
    labels = [n for n in wanted if n.casefold() not in declined]
    add = [n for n in labels if n.casefold() not in current]
    create = [wanted[n] for n in add if n.casefold() not in in_repo]
    wanted_folded = {n.casefold() for n in labels}
    remove = [
        current[n.casefold()]
        for n in previous.labels
        if n.casefold() in current and n.casefold().startswith(prefix) and n.casefold() not in wanted_folded
    ]
    kept = [n for n in previous.labels if n.casefold() in current and current[n.casefold()] not in remove]
    tracked = list(dict.fromkeys([*kept, *add]))
    kb_ids = tuple(m.kb_id for m in matches)
    state = State(
        kb_ids=kb_ids,
        labels=tuple(tracked),
        declined=tuple(sorted(declined.values())),
        fingerprint=fp_id,
        specific=bool(fp_id) and fingerprint is not None and fingerprint.specific,
    )

    notes: list[str] = []
    change: CommentChange | None = None
    delete = tuple(c.id for c in own[1:])
    if not config.comment:
        notes.append("comments are turned off (comment: false)")
        delete = ()
    elif matches or own or duplicate is not None or _wants_miss_comment(report, config):
        body = render_comment(
            report,
            matches,
            documents,
            starts,
            previous_ids=previous.kb_ids,
            removed_labels=remove,
            facts=report.facts if report else Facts(),
            kb_url=config.kb_url,
            duplicate=duplicate,
            fingerprint_id=fp_id,
        )
        body = f"{MARKER}\n{body.rstrip()}\n{state.marker()}\n"
        if not own:
            change = CommentChange("create", body)
        elif own[0].body != body:
            change = CommentChange("update", body, own[0].id)
        else:
            notes.append("the report comment is already up to date")
    else:
        notes.append("nothing matched, so no comment (comment-on-miss is off)" if report else "the issue holds no text")
    if delete:
        notes.append(f"{len(delete)} duplicate report comment(s) will be deleted")
    if duplicate is not None:
        notes.append(f"the same crash fingerprint as issue #{duplicate.number} ({duplicate.state})")
    return Plan(
        kb_ids=kb_ids,
        labels=tuple(labels),
        create_labels=tuple(create),
        add_labels=tuple(add),
        remove_labels=tuple(remove),
        comment=change,
        delete_comments=delete,
        state=state,
        notes=tuple(notes),
    )
