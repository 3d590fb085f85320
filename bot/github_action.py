"""Entry point of the GitHub Action: `python -m bot.github_action [--dry-run]`.

Reads the standard Actions environment (CONTRACT.md §6), fetches the issue and all its comments,
downloads linked text attachments from allowed hosts, runs the engine on everything together,
asks `bot.github_plan` what to change, and makes those calls with `bot.github_api`.

Exit status: 0 whenever the run did its job or could not reach GitHub for a transient reason
(a triage miss is not a failure; a rate limit is transient even when GitHub answers 403); 1 only
for configuration errors (missing environment, bad inputs, a broken `kb-path`, a token without
permission), each explained on a `::error::` line.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping, Sequence
from urllib.parse import unquote, urlsplit

from triage.decode import decode
from triage.engine import Engine
from triage.errors import DataErrors, InputError
from triage.load import default_cache_dir
from triage.model import Report

from .github_api import ApiError, GitHub, fetch_attachment
from .github_comment import Document, Duplicate
from .github_settings import DEFAULT_ATTACHMENT_HOSTS, ConfigError, Settings, load_settings
from .github_plan import (
    Config,
    IssueComment,
    IssueRef,
    Plan,
    combine,
    find_attachment_urls,
    is_own_comment,
    make_plan,
    parse_event,
    read_state,
    replace_state,
    valid_fingerprint_id,
)

__all__ = ["DEFAULT_ATTACHMENT_HOSTS", "ConfigError", "Settings", "find_duplicate", "load_settings", "main", "run"]

MAX_TEXT = 20 * 1024 * 1024  # bytes of issue text and attachments analysed in all; beyond is noise
MAX_DUPLICATE_CHECKS = 5  # earlier issues whose report comment is read to confirm a search hit
_LOGIN = re.compile(r"[^A-Za-z0-9\-]")
_FILE_NAME = re.compile(r"[^\w.\-]")


def _escape_command(text: str) -> str:
    """Workflow-command data: one line, with `%`, CR and LF encoded as Actions expects."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _as_text(raw: bytes) -> str:
    return decode(raw).decode("utf-8", "replace").rstrip("\n")


def collect_documents(
    issue: Mapping[str, Any],
    comments: Sequence[IssueComment],
    hosts: Sequence[str],
    log: Callable[[str], None],
    fetch: Callable[[str, Sequence[str]], tuple[bytes, bool]] = fetch_attachment,
) -> list[Document]:
    """The body, each comment (not the action's own), and each linked text attachment, in order."""
    docs: list[Document] = []
    budget = MAX_TEXT
    body = str(issue.get("body") or "")
    items: list[tuple[str, str, str]] = [("the issue body", str(issue.get("html_url") or ""), body)]
    for c in comments:
        who = _LOGIN.sub("", c.login.removesuffix("[bot]"))
        items.append((f"a comment by {who}" if who else "a comment", c.html_url, c.body))
    for source, url, text in items:
        if not text.strip() or budget <= 0:
            continue
        try:
            clean = _as_text(text.encode("utf-8", "replace"))
        except InputError:
            continue
        docs.append(Document(source, url, clean[:budget]))
        budget -= len(clean)
        for link in find_attachment_urls(text, hosts) if hosts else []:
            name = _FILE_NAME.sub("_", unquote(urlsplit(link).path.rstrip("/").rsplit("/", 1)[-1]))[:60] or "file"
            try:
                raw, cut = fetch(link, hosts)
                if cut:
                    log(f"triage: attachment {name} is larger than the cap; analysing its first part")
                content = _as_text(raw)
            except InputError as err:
                log(f"triage: skipped attachment {name}: {err}")
                continue
            except OSError as err:
                log(f"triage: could not download attachment {name}: {err}")
                continue
            if content.strip() and budget > 0:
                docs.append(Document(f"attachment `{name}`", link, content[:budget]))
                budget -= len(content)
    return docs


def analyse_documents(docs: Sequence[Document], engine: Engine) -> tuple[Report | None, list[int]]:
    """One report for everything the reporter gave, so facts in the body meet the log in a comment.

    The engine redacts the report; the comment is built from it alone, never from `docs`' text.
    """
    text, starts = combine(docs)
    if not text.strip():
        return None, starts
    try:
        return engine.analyse(text, redact=True), starts
    except InputError:
        return None, starts


def find_duplicate(
    api: GitHub, issue: IssueRef, report: Report | None, author: str, bot_login: str | None, log: Callable[[str], None]
) -> Duplicate | None:
    """The earliest other issue (open first) whose own report comment records this fingerprint.

    Only for a specific fingerprint. GitHub's issue search finds the `triage-fp:<id>` line of the
    report comments (`in:comments`); each hit is then confirmed by reading that issue's report
    comment (written by the action's own account), so a person quoting the id links nothing.
    Search trouble of any kind is logged and means "no link", never a failed run.
    """
    fp = report.fingerprint if report is not None else None
    fp_id = valid_fingerprint_id(fp.id) if fp is not None else ""
    if fp is None or not fp.specific or not fp_id:
        return None
    query = f'repo:{issue.repo} is:issue in:comments "triage-fp:{fp_id}"'
    try:
        items = api.search_issues(query)
        found: list[dict[str, Any]] = []
        for item in items:
            number = item.get("number")
            if not isinstance(number, int) or number == issue.number or item.get("pull_request"):
                continue
            if len(found) + 1 > MAX_DUPLICATE_CHECKS:
                break
            own = [c for c in (IssueComment.from_api(c) for c in api.list_comments(issue.repo, number) if c.get("id") is not None) if is_own_comment(c, bot_login)]
            state = read_state(own[0].body) if own else None
            if state is not None and state.fingerprint == fp_id and state.specific:
                found.append(item)
    except ApiError as err:
        log(f"triage: could not search for earlier reports of this crash: {err}")
        return None
    if not found:
        return None
    target = next((i for i in found if i.get("state") == "open"), found[0])
    people = {str((i.get("user") or {}).get("login") or "").casefold() for i in found} - {author.casefold(), ""}
    log(f"triage: the same crash fingerprint is on issue #{target['number']}")
    return Duplicate(int(target["number"]), "open" if target.get("state") == "open" else "closed", len(people))


@dataclass(slots=True)
class Outcome:
    comment_url: str = ""
    failed: list[str] = field(default_factory=list)


class _Recorder:
    """Stands in for the write calls in a dry run: prints what would be sent."""

    def __init__(self, log: Callable[[str], None]) -> None:
        self.log = log

    def call(self, method: str, path: str, body: Any = None) -> None:
        shown = {k: (v if k != "body" else f"<{len(v)} characters, shown below>") for k, v in body.items()} if isinstance(body, dict) else body
        self.log(f"  {method} {path}" + (f" {json.dumps(shown, ensure_ascii=False)}" if shown is not None else ""))


def _is_auth(err: ApiError) -> bool:
    """A token without permission; a 403 that is a rate limit is not one."""
    return err.status in (401, 403) and not err.rate_limited


def _stops_the_run(err: ApiError) -> bool:
    """Failures that make every further call pointless: no permission, or a rate limit."""
    return _is_auth(err) or err.rate_limited


def execute(plan: Plan, api: GitHub | None, issue: IssueRef, bot_login: str | None, log: Callable[[str], None]) -> Outcome:
    """Make the plan's calls: labels first, then the comment, then duplicate clean-up.

    With `api` None (dry run) the calls are printed instead. Label failures other than
    permissions are logged and left out of the comment's state, so the next run tries again.
    """
    repo, n = issue.repo, issue.number
    out = Outcome()
    rec = _Recorder(log)
    failed_add: set[str] = set()
    failed_remove: set[str] = set()
    for spec in plan.create_labels:
        if api is None:
            rec.call("POST", f"/repos/{repo}/labels", {"name": spec.name, "color": spec.color, "description": spec.description})
            continue
        try:
            if not api.create_label(repo, spec.name, spec.color, spec.description):
                log(f"triage: label {spec.name} already existed")
        except ApiError as err:
            if _stops_the_run(err):
                raise
            log(f"triage: could not create label {spec.name}: {err}")
    if plan.add_labels:
        if api is None:
            rec.call("POST", f"/repos/{repo}/issues/{n}/labels", {"labels": list(plan.add_labels)})
        else:
            try:
                api.add_labels(repo, n, plan.add_labels)
            except ApiError as err:
                if _stops_the_run(err):
                    raise
                log(f"triage: could not add labels: {err}")
                failed_add.update(plan.add_labels)
                out.failed.append("add labels")
    for name in plan.remove_labels:
        if api is None:
            rec.call("DELETE", f"/repos/{repo}/issues/{n}/labels/{name}")
            continue
        try:
            api.remove_label(repo, n, name)
        except ApiError as err:
            if _stops_the_run(err):
                raise
            log(f"triage: could not remove label {name}: {err}")
            failed_remove.add(name)
            out.failed.append(f"remove {name}")
    if plan.comment is not None:
        body = plan.comment.body
        if failed_add or failed_remove:
            labels = [x for x in plan.state.labels if x not in failed_add] + sorted(failed_remove)
            body = replace_state(body, replace(plan.state, labels=tuple(labels)))
        if api is None:
            if plan.comment.action == "update":
                rec.call("PATCH", f"/repos/{repo}/issues/comments/{plan.comment.comment_id}", {"body": body})
            else:
                rec.call("POST", f"/repos/{repo}/issues/{n}/comments", {"body": body})
            log("--- comment body ---")
            log(body.rstrip("\n"))
            log("--- end of comment body ---")
        else:
            out.comment_url = _write_comment(api, issue, plan.comment.action, plan.comment.comment_id, body, bot_login, log)
    for cid in plan.delete_comments:
        if api is None:
            rec.call("DELETE", f"/repos/{repo}/issues/comments/{cid}")
        else:
            api.delete_comment(repo, cid)
    return out


def _write_comment(api: GitHub, issue: IssueRef, action: str, comment_id: int | None, body: str, bot_login: str | None, log: Callable[[str], None]) -> str:
    repo, n = issue.repo, issue.number
    if action == "update" and comment_id is not None:
        done = api.update_comment(repo, comment_id, body)
        if done is not None:
            log(f"triage: updated the report comment {done.get('html_url', comment_id)}")
            return str(done.get("html_url") or "")
        log("triage: the report comment was deleted meanwhile; posting a new one")

    def landed() -> dict[str, Any] | None:
        for raw in api.list_comments(repo, n):
            c = IssueComment.from_api(raw)
            if is_own_comment(c, bot_login) or c.body == body:
                return raw
        return None

    made = api.create_comment(repo, n, body, landed)
    if str(made.get("body") or "") != body and made.get("id"):
        # Another run's comment landed first: make it ours instead of posting a second one.
        api.update_comment(repo, int(made["id"]), body)
    log(f"triage: posted the report comment {made.get('html_url', '')}")
    return str(made.get("html_url") or "")


def _write_outputs(settings: Settings, plan: Plan | None, issue: IssueRef | None, outcome: Outcome | None, notes: Sequence[str]) -> None:
    kb_ids = ",".join(plan.kb_ids) if plan else ""
    labels = ",".join(plan.labels) if plan else ""
    if settings.output_path is not None:
        with settings.output_path.open("a", encoding="utf-8") as fh:
            fh.write(f"kb-ids={kb_ids}\nlabels={labels}\nmatched={'true' if kb_ids else 'false'}\n")
            fh.write(f"comment-url={outcome.comment_url if outcome else ''}\n")
    if settings.summary_path is not None:
        lines = ["### triage" + (f" · issue #{issue.number}" if issue else ""), ""]
        if plan is not None:
            lines.append(f"- Matched: {', '.join(f'`{k}`' for k in plan.kb_ids) or 'nothing'}")
            lines.append(f"- Labels: {', '.join(f'`{x}`' for x in plan.labels) or 'none'}")
            if plan.add_labels or plan.remove_labels:
                lines.append(f"- Added: {', '.join(plan.add_labels) or '-'}; removed: {', '.join(plan.remove_labels) or '-'}")
            if plan.comment is not None:
                lines.append(f"- Comment: {plan.comment.action}d" + (" (dry run)" if settings.dry_run else ""))
        lines += [f"- {note}" for note in notes]
        if settings.dry_run:
            lines.append("- Dry run: no changes were made.")
        with settings.summary_path.open("a", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")


class _Offline:
    """Reads for a dry run without a token: the issue as the saved event shows it."""

    def __init__(self, payload: Mapping[str, Any]) -> None:
        self.payload = payload

    def get_issue(self, repo: str, number: int) -> dict[str, Any]:
        return dict(self.payload.get("issue") or {})

    def list_comments(self, repo: str, number: int) -> list[dict[str, Any]]:
        comment = self.payload.get("comment")
        return [dict(comment)] if isinstance(comment, Mapping) else []

    def list_repo_labels(self, repo: str) -> list[str]:
        return [str(label.get("name")) for label in (self.payload.get("issue") or {}).get("labels") or [] if isinstance(label, Mapping)]


def run(
    settings: Settings,
    *,
    log: Callable[[str], None] = print,
    fetch: Callable[[str, Sequence[str]], tuple[bytes, bool]] = fetch_attachment,
    sleep: Callable[[float], None] = time.sleep,
    engine: Engine | None = None,
) -> int:
    """One event, start to finish; raises ConfigError for the workflow author to fix.

    `engine` is built from `settings.kb_dirs` unless given (tests pass one in).
    """
    try:
        payload = json.loads(settings.event_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ConfigError(f"cannot read the event payload {str(settings.event_path)!r}: {err}") from None
    if not isinstance(payload, dict):
        raise ConfigError(f"the event payload {str(settings.event_path)!r} is not a JSON object")
    if engine is None:
        try:
            engine = Engine.build(settings.kb_dirs, cache_dir=default_cache_dir())
        except DataErrors as err:
            # Without kb-path only the packaged data was read: then the install is at fault, not the input.
            what = "input 'kb-path' holds invalid data" if settings.kb_dirs else "triage's built-in data did not load (an installation problem)"
            raise ConfigError(f"{what}:\n" + "\n".join(str(e) for e in err.errors)) from None

    ref = parse_event(settings.event_name, payload, settings.repo)
    if isinstance(ref, str):
        log(f"triage: nothing to do: {ref}")
        _write_outputs(settings, None, None, None, [f"Skipped: {ref}"])
        return 0
    event_comment = payload.get("comment")
    if isinstance(event_comment, Mapping) and is_own_comment(IssueComment.from_api({"id": 0, **event_comment}), settings.config.bot_login):
        log("triage: nothing to do: the event is about triage's own comment")
        _write_outputs(settings, None, ref, None, ["Skipped: triage's own comment"])
        return 0

    api = GitHub(settings.api_url, settings.token, backoff_base=settings.backoff_base, sleep=sleep, log=log) if settings.token else None
    reader: GitHub | _Offline = api if api is not None else _Offline(payload)
    if api is None:
        log("triage: dry run without a token: using the saved event only (no comments or repository labels fetched)")
    else:
        log(f"triage: GET /repos/{ref.repo}/issues/{ref.number}, its comments and the repository's labels")
    try:
        issue = reader.get_issue(ref.repo, ref.number)
        if issue.get("state") == "closed":
            log("triage: nothing to do: the issue is closed")
            _write_outputs(settings, None, ref, None, ["Skipped: the issue is closed"])
            return 0
        comments = [IssueComment.from_api(c) for c in reader.list_comments(ref.repo, ref.number) if c.get("id") is not None]
        repo_labels = reader.list_repo_labels(ref.repo)
    except ApiError as err:
        return _api_failure(err, settings, ref)

    issue_labels = [str(label.get("name")) for label in issue.get("labels") or [] if isinstance(label, Mapping)]
    theirs = [c for c in comments if not is_own_comment(c, settings.config.bot_login)]
    docs = collect_documents(issue, theirs, settings.attachment_hosts, log, fetch)
    report, starts = analyse_documents(docs, engine)
    ref = replace(ref, html_url=str(issue.get("html_url") or ref.html_url))
    author = str((issue.get("user") or {}).get("login") or "")
    duplicate = find_duplicate(api, ref, report, author, settings.config.bot_login, log) if api is not None else None
    plan = make_plan(ref, report, docs, starts, issue_labels, repo_labels, comments, settings.config, duplicate)
    found = ", ".join(plan.kb_ids) or "no known problem"
    log(f"triage: issue #{ref.number}: {found}; {len(docs)} text(s) read")
    for note in plan.notes:
        log(f"triage: {note}")
    if settings.dry_run:
        log("triage: dry run: the calls it would make:" if not plan.is_empty else "triage: dry run: no calls needed")
    try:
        outcome = execute(plan, None if settings.dry_run else api, ref, settings.config.bot_login, log)
    except ApiError as err:
        return _api_failure(err, settings, ref, plan)
    _write_outputs(settings, plan, ref, outcome, [*plan.notes, *(f"Failed: {f}" for f in outcome.failed)])
    return 0


def _api_failure(err: ApiError, settings: Settings, ref: IssueRef, plan: Plan | None = None) -> int:
    """A token without permission is the workflow's to fix (exit 1); anything else, a rate limit
    included, is transient (exit 0): the next event on the issue tries again."""
    if err.rate_limited:
        print(f"::warning::{_escape_command(f'triage stopped: GitHub rate limit on {err.method} {err.path} ({err.message}); the next event on this issue tries again')}")
        _write_outputs(settings, plan, ref, None, [f"GitHub rate limit: {err}"])
        return 0
    if _is_auth(err) or (err.status == 404 and err.method == "GET"):
        hint = " (the job needs `permissions: issues: write`)" if err.status == 403 else ""
        print(f"::error::{_escape_command(f'GitHub refused {err.method} {err.path}: {err.status} {err.message}{hint}')}")
        return 1
    print(f"::warning::{_escape_command(f'triage could not finish: {err}')}")
    _write_outputs(settings, plan, ref, None, [f"GitHub API failure: {err}"])
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.github_action", description="Triage a GitHub issue from the Actions environment.")
    parser.add_argument("--dry-run", action="store_true", help="print the calls it would make instead of making them")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(os.environ, dry_run=args.dry_run)
        return run(settings)
    except ConfigError as err:
        for line in str(err).splitlines():
            print(f"::error::{_escape_command(line)}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
