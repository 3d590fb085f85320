"""The Action end to end against a local stand-in of GitHub's REST API (pytest-httpserver).

The stand-in answers with the response shapes of GitHub's REST docs (issue, issue comment,
label objects; `Link` pagination; 201/204/404/422 where GitHub uses them) and keeps state, so a
test can run the action several times and look at the issue afterwards, as a maintainer would.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, unquote

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from bot.github_action import load_settings, main, run
from bot.github_plan import MARKER, read_state
from triage.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus"
CUDA_LOG = (CORPUS / "cuda-arch-mismatch__llamacpp4215-cuda-error-209-no-kernel-image.log").read_text(encoding="utf-8")
METAL_LOG = (CORPUS / "metal-init-failed__llamacpp6426-llama-cpp-python-server-m1.log").read_text(encoding="utf-8")
REPO = "octo-org/llama-app"
TOKEN = "ghs_test-token-0123456789"
BOT = {"login": "github-actions[bot]", "id": 41898282, "type": "Bot"}
ALICE = {"login": "alice", "id": 1001, "type": "User"}
BOB = {"login": "bob", "id": 1002, "type": "User"}


def _user(u: dict[str, Any]) -> dict[str, Any]:
    login = u["login"]
    return {
        "login": login,
        "id": u["id"],
        "node_id": "MDQ6VXNlcjE=",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{u['id']}?v=4",
        "gravatar_id": "",
        "url": f"https://api.github.com/users/{login}",
        "html_url": f"https://github.com/{login}",
        "type": u["type"],
        "site_admin": False,
    }


def _label(i: int, name: str, color: str = "ededed", description: str | None = None) -> dict[str, Any]:
    return {
        "id": 208045946 + i,
        "node_id": "MDU6TGFiZWwyMDgwNDU5NDY=",
        "url": f"https://api.github.com/repos/{REPO}/labels/{name}",
        "name": name,
        "description": description,
        "color": color,
        "default": name == "bug",
    }


@dataclass
class Fault:
    method: str
    path: str  # regex, full match
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    land: bool = False  # do the work, then answer with the error (a lost response)


class FakeGitHub:
    """A stateful stand-in for the handful of REST endpoints the action uses.

    It holds several issues; `number` is the one the next event is about (`issue` and
    `comments` are that issue's), and `new_issue` opens another one and makes it current.
    """

    def __init__(self, server: HTTPServer, body: str = "", page_size: int = 100, number: int = 42) -> None:
        self.server = server
        self.number = number
        self.page_size = page_size
        self.issues: dict[int, dict[str, Any]] = {number: self._issue(body, number, ALICE)}
        self.issue_comments: dict[int, list[dict[str, Any]]] = {number: []}
        self.searches: list[str] = []
        self.repo_labels: list[dict[str, Any]] = [_label(0, "bug", "d73a4a", "Something isn't working")]
        self.faults: list[Fault] = []
        self.calls: list[tuple[str, str]] = []
        self.queries: list[str] = []
        self.files: dict[str, tuple[bytes, str]] = {}
        self.file_auth: list[str | None] = []
        self._next_id = 1_000_000
        server.expect_request(re.compile(".*")).respond_with_handler(self.handle)

    @property
    def url(self) -> str:
        return self.server.url_for("/").rstrip("/")

    @property
    def issue(self) -> dict[str, Any]:
        return self.issues[self.number]

    @property
    def comments(self) -> list[dict[str, Any]]:
        return self.issue_comments[self.number]

    def new_issue(self, body: str, user: dict[str, Any] = BOB) -> int:
        """A person opens another issue; it becomes the one the next event is about."""
        n = max(self.issues) + 1
        self.issues[n] = self._issue(body, n, user)
        self.issue_comments[n] = []
        self.number = n
        return n

    def _issue(self, body: str, n: int, user: dict[str, Any]) -> dict[str, Any]:
        base = f"https://api.github.com/repos/{REPO}/issues/{n}"
        return {
            "id": 1,
            "node_id": "MDU6SXNzdWUx",
            "url": base,
            "repository_url": f"https://api.github.com/repos/{REPO}",
            "labels_url": base + "/labels{/name}",
            "comments_url": base + "/comments",
            "events_url": base + "/events",
            "html_url": f"https://github.com/{REPO}/issues/{n}",
            "number": n,
            "state": "open",
            "state_reason": None,
            "title": "Crash on start",
            "body": body,
            "user": _user(user),
            "labels": [],
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "locked": False,
            "active_lock_reason": None,
            "comments": 0,
            "closed_at": None,
            "created_at": "2024-05-01T10:00:00Z",
            "updated_at": "2024-05-01T10:00:00Z",
            "closed_by": None,
            "author_association": "NONE",
        }

    # What a person does on github.com

    def add_comment(self, body: str, user: dict[str, Any] = BOB, number: int | None = None) -> dict[str, Any]:
        n = self.number if number is None else number
        self._next_id += 1
        cid = self._next_id
        comment = {
            "id": cid,
            "node_id": "MDEyOklzc3VlQ29tbWVudDE=",
            "url": f"https://api.github.com/repos/{REPO}/issues/comments/{cid}",
            "html_url": f"https://github.com/{REPO}/issues/{n}#issuecomment-{cid}",
            "body": body,
            "user": _user(user),
            "created_at": "2024-05-01T11:00:00Z",
            "updated_at": "2024-05-01T11:00:00Z",
            "issue_url": f"https://api.github.com/repos/{REPO}/issues/{n}",
            "author_association": "NONE",
            "performed_via_github_app": None,
            "reactions": {"url": "", "total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "hooray": 0, "confused": 0, "heart": 0, "rocket": 0, "eyes": 0},
        }
        self.issue_comments[n].append(comment)
        self.issues[n]["comments"] = len(self.issue_comments[n])
        return comment

    def label_names(self) -> list[str]:
        return [label["name"] for label in self.issue["labels"]]

    def own_comments(self) -> list[dict[str, Any]]:
        return [c for c in self.comments if c["user"]["type"] == "Bot" and c["body"].startswith(MARKER)]

    def writes(self) -> list[tuple[str, str]]:
        return [(m, p) for m, p in self.calls if m != "GET"]

    # The HTTP side

    def _json(self, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return Response(json.dumps(data), status=status, headers=headers or {}, content_type="application/json; charset=utf-8")

    def _page(self, request: Request, items: list[Any]) -> Response:
        args = parse_qs(request.query_string.decode())
        per = min(int(args.get("per_page", ["30"])[0]), self.page_size)
        page = int(args.get("page", ["1"])[0])
        chunk = items[(page - 1) * per : page * per]
        headers = {}
        if page * per < len(items):
            headers["Link"] = f'<{self.url}{request.path}?per_page={per}&page={page + 1}>; rel="next", <{self.url}{request.path}?per_page={per}&page={(len(items) + per - 1) // per}>; rel="last"'
        return self._json(chunk, headers=headers)

    def handle(self, request: Request) -> Response:
        path = unquote(request.path)
        self.calls.append((request.method, path))
        self.queries.append(request.query_string.decode())
        if path in self.files:
            self.file_auth.append(request.headers.get("Authorization"))
            data, kind = self.files[path]
            if kind == "redirect":
                return Response(status=302, headers={"Location": data.decode()})
            return Response(data, content_type=kind)
        for fault in list(self.faults):
            if fault.method == request.method and re.fullmatch(fault.path, path):
                self.faults.remove(fault)
                if fault.land:
                    self._route(request, path)
                body = fault.body if fault.body is not None else {"message": "Server Error"}
                if isinstance(body, str):
                    return Response(body, status=fault.status, headers=fault.headers, content_type="text/html")
                return self._json(body, fault.status, fault.headers)
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._json({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}, 401)
        return self._route(request, path)

    def _search(self, request: Request) -> Response:
        """GET /search/issues for what the action asks: issues of this repository with a phrase
        in a comment (any author's, as GitHub's search would), oldest first."""
        q = parse_qs(request.query_string.decode()).get("q", [""])[0]
        self.searches.append(q)
        phrase = re.search(r'"([^"]+)"', q)
        if f"repo:{REPO}" not in q.split() or "is:issue" not in q.split() or "in:comments" not in q.split() or phrase is None:
            return self._json({"message": "Validation Failed", "errors": [{"code": "invalid", "field": "q"}]}, 422)
        needle = phrase.group(1).casefold()
        hits = [self.issues[n] for n in sorted(self.issues) if any(needle in c["body"].casefold() for c in self.issue_comments[n])]
        return self._json({"total_count": len(hits), "incomplete_results": False, "items": [{**i, "score": 1.0} for i in hits]})

    def _route(self, request: Request, path: str) -> Response:
        m, base = request.method, f"/repos/{REPO}"
        body: Any = request.get_json(silent=True) if request.data else None
        if m == "GET" and path == "/search/issues":
            return self._search(request)
        number = re.match(rf"{re.escape(base)}/issues/(\d+)(?:/|$)", path)
        n = int(number.group(1)) if number and int(number.group(1)) in self.issues else self.number
        issue = f"{base}/issues/{n}"
        if m == "GET" and path == issue:
            return self._json(self.issues[n])
        if m == "GET" and path == issue + "/comments":
            return self._page(request, self.issue_comments[n])
        if m == "POST" and path == issue + "/comments":
            comment = self.add_comment(body["body"], BOT, n)
            return self._json(comment, 201, {"Location": comment["url"]})
        if cm := re.fullmatch(rf"{re.escape(base)}/issues/comments/(\d+)", path):
            found = [(k, c) for k, cs in self.issue_comments.items() for c in cs if c["id"] == int(cm.group(1))]
            if not found:
                return self._json({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}, 404)
            owner, comment = found[0]
            if m == "PATCH":
                comment["body"] = body["body"]
                comment["updated_at"] = "2024-05-01T12:00:00Z"
                return self._json(comment)
            if m == "DELETE":
                self.issue_comments[owner].remove(comment)
                return Response(status=204)
        if m == "GET" and path == base + "/labels":
            return self._page(request, self.repo_labels)
        if m == "POST" and path == base + "/labels":
            if any(label["name"].lower() == body["name"].lower() for label in self.repo_labels):
                return self._json(
                    {
                        "message": "Validation Failed",
                        "errors": [{"resource": "Label", "code": "already_exists", "field": "name"}],
                        "documentation_url": "https://docs.github.com/rest/issues/labels#create-a-label",
                    },
                    422,
                )
            label = _label(len(self.repo_labels), body["name"], body.get("color", "ededed"), body.get("description"))
            self.repo_labels.append(label)
            return self._json(label, 201)
        if m == "POST" and path == issue + "/labels":
            target = self.issues[n]
            for name in body["labels"]:
                known = [x for x in self.repo_labels if x["name"].lower() == name.lower()]
                label = known[0] if known else _label(len(self.repo_labels), name)
                if not known:
                    self.repo_labels.append(label)  # GitHub creates a missing label, grey and without description
                if label["name"].lower() not in (x["name"].lower() for x in target["labels"]):
                    target["labels"].append(label)
            return self._json(target["labels"])
        if lm := re.fullmatch(rf"{re.escape(issue)}/labels/(.+)", path):
            if m == "DELETE":
                target = self.issues[n]
                name = lm.group(1)
                if name.lower() not in (x["name"].lower() for x in target["labels"]):
                    return self._json({"message": "Label does not exist", "documentation_url": "https://docs.github.com/rest"}, 404)
                target["labels"] = [x for x in target["labels"] if x["name"].lower() != name.lower()]
                return self._json(target["labels"])
        return self._json({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}, 404)


@pytest.fixture
def gh(httpserver: HTTPServer) -> FakeGitHub:
    return FakeGitHub(httpserver)


def _event(gh: FakeGitHub, action: str = "opened", comment: dict[str, Any] | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "action": action,
        "issue": json.loads(json.dumps(gh.issue)),
        "repository": {"id": 1, "full_name": REPO, "name": REPO.split("/")[1], "private": False},
        "sender": comment["user"] if comment else _user(ALICE),
    }
    if comment is not None:
        payload["comment"] = comment
    return payload


@dataclass
class Runner:
    gh: FakeGitHub
    tmp: Path
    sleeps: list[float] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    engine: Engine | None = None  # None: the action builds its own

    def env(self, event_name: str, payload: dict[str, Any], **inputs: str) -> dict[str, str]:
        event = self.tmp / f"event-{len(self.lines)}.json"
        event.write_text(json.dumps(payload), encoding="utf-8")
        env = {
            "GITHUB_EVENT_NAME": event_name,
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_API_URL": self.gh.url,
            "GITHUB_TOKEN": TOKEN,
            "GITHUB_OUTPUT": str(self.tmp / "output.txt"),
            "GITHUB_STEP_SUMMARY": str(self.tmp / "summary.md"),
            "TRIAGE_ATTACHMENT_HOSTS": "localhost",
            "TRIAGE_BACKOFF_BASE": "0.001",
        }
        for key, value in inputs.items():
            env["INPUT_" + key.upper()] = value
        return env

    def __call__(self, event_name: str = "issues", action: str = "opened", event_comment: dict[str, Any] | None = None, **inputs: str) -> int:
        env = self.env(event_name, _event(self.gh, action, event_comment), **inputs)
        return run(load_settings(env), log=self.lines.append, sleep=self.sleeps.append, engine=self.engine)


@pytest.fixture
def runner(gh: FakeGitHub, tmp_path: Path) -> Runner:
    return Runner(gh, tmp_path)


def _fenced(text: str) -> str:
    return f"Running the server crashes:\n\n```\n{text}\n```\n"


def test_opened_issue_gets_labels_and_one_comment(gh: FakeGitHub, runner: Runner) -> None:
    gh.issue["body"] = _fenced(CUDA_LOG)
    assert runner() == 0
    assert "triage:cuda-arch-mismatch" in gh.label_names()
    created = {x["name"]: x for x in gh.repo_labels}
    assert created["triage:cuda-arch-mismatch"]["description"] == "The CUDA build has no code for this GPU's architecture"
    assert created["triage:cuda-arch-mismatch"]["color"] != "ededed"
    [comment] = gh.comments
    assert comment["body"].startswith(MARKER + "\n### Known problem: The CUDA build has no code")
    for part in ("**Your version:**", "**Why:**", "no kernel image is available", "**Root cause:**", "**What to do:**", "<summary>Facts from the log</summary>"):
        assert part in comment["body"]
    output = (runner.tmp / "output.txt").read_text(encoding="utf-8")
    assert "kb-ids=cuda-arch-mismatch\n" in output and "matched=true\n" in output
    assert "labels=triage:cuda-arch-mismatch," in output
    assert "cuda-arch-mismatch" in (runner.tmp / "summary.md").read_text(encoding="utf-8")


def test_rerun_of_the_same_event_changes_nothing(gh: FakeGitHub, runner: Runner) -> None:
    gh.issue["body"] = _fenced(CUDA_LOG)
    runner()
    gh.calls.clear()
    assert runner() == 0
    assert gh.writes() == []
    assert len(gh.comments) == 1


def test_edited_to_another_log_edits_the_same_comment(gh: FakeGitHub, runner: Runner) -> None:
    gh.issue["body"] = _fenced(CUDA_LOG)
    runner()
    [first] = gh.comments
    gh.issue["labels"].append(next(x for x in gh.repo_labels if x["name"] == "bug"))  # a maintainer's label
    gh.issue["body"] = _fenced(METAL_LOG)
    gh.calls.clear()
    assert runner(action="edited") == 0
    [comment] = gh.comments
    assert comment["id"] == first["id"]
    assert ("PATCH", f"/repos/{REPO}/issues/comments/{first['id']}") in gh.calls
    assert ("POST", f"/repos/{REPO}/issues/{gh.number}/comments") not in gh.calls
    assert "Metal" in comment["body"].split("\n")[1]
    labels = gh.label_names()
    assert "triage:metal-init-failed" in labels
    assert "triage:cuda-arch-mismatch" not in labels
    assert "bug" in labels and "backend:cuda" in labels  # not triage:-prefixed: never removed


def test_issue_comment_event_triages_the_comment(gh: FakeGitHub, runner: Runner) -> None:
    gh.issue["body"] = "The server dies on my Mac right after loading the model. Log below."
    comment = gh.add_comment(_fenced(METAL_LOG), BOB)
    assert runner("issue_comment", "created", event_comment=comment) == 0
    assert "triage:metal-init-failed" in gh.label_names()
    [own] = gh.own_comments()
    assert f"[a comment by bob]({comment['html_url']})" in own["body"]


def test_issue_without_a_log_gets_no_comment(gh: FakeGitHub, runner: Runner) -> None:
    gh.issue["body"] = "It would be great to have a dark mode in the web UI."
    assert runner() == 0
    assert gh.comments == []
    assert gh.writes() == []
    assert "matched=false" in (runner.tmp / "output.txt").read_text(encoding="utf-8")


def test_a_gone_match_updates_the_comment_and_removes_its_label(gh: FakeGitHub, runner: Runner) -> None:
    gh.issue["body"] = _fenced(CUDA_LOG)
    runner()
    gh.issue["body"] = "Sorry, wrong log. It works now after a reboot."
    runner(action="edited")
    [comment] = gh.comments
    assert "The earlier match no longer applies" in comment["body"]
    assert "triage:cuda-arch-mismatch" not in gh.label_names()


@pytest.mark.parametrize("landed", [False, True], ids=["lost-request", "lost-response"])
def test_502_on_the_comment_post_still_ends_with_one_comment(gh: FakeGitHub, runner: Runner, landed: bool) -> None:
    gh.issue["body"] = _fenced(CUDA_LOG)
    gh.faults.append(Fault("POST", rf"/repos/{REPO}/issues/\d+/comments", 502, body="<html>502 Bad Gateway</html>", land=landed))
    assert runner() == 0
    assert len(gh.comments) == 1
    posts = [c for c in gh.calls if c == ("POST", f"/repos/{REPO}/issues/{gh.number}/comments")]
    assert len(posts) == (1 if landed else 2)
    assert runner.sleeps  # it backed off before looking again


def test_403_secondary_rate_limit_waits_for_retry_after(gh: FakeGitHub, runner: Runner) -> None:
    gh.issue["body"] = _fenced(CUDA_LOG)
    gh.faults.append(
        Fault(
            "POST",
            rf"/repos/{REPO}/issues/\d+/labels",
            403,
            {"retry-after": "7"},
            {"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.", "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"},
        )
    )
    assert runner() == 0
    assert runner.sleeps == [7.0]
    assert "triage:cuda-arch-mismatch" in gh.label_names()
    assert len(gh.comments) == 1


def test_429_without_retry_after_backs_off_and_succeeds(gh: FakeGitHub, runner: Runner) -> None:
    gh.issue["body"] = _fenced(CUDA_LOG)
    gh.faults.append(Fault("GET", rf"/repos/{REPO}/issues/\d+", 429, {}, {"message": "You have exceeded a secondary rate limit."}))
    assert runner() == 0
    assert len(runner.sleeps) == 1 and len(gh.comments) == 1


def test_server_errors_that_never_stop_warn_and_exit_0(gh: FakeGitHub, runner: Runner, capsys: pytest.CaptureFixture[str]) -> None:
    gh.issue["body"] = _fenced(CUDA_LOG)
    gh.faults.extend(Fault("POST", rf"/repos/{REPO}/issues/\d+/comments", 503) for _ in range(5))
    assert runner() == 0
    assert gh.comments == []
    assert "::warning::" in capsys.readouterr().out


def test_missing_permission_fails_the_step_with_an_error_line(gh: FakeGitHub, runner: Runner, capsys: pytest.CaptureFixture[str]) -> None:
    gh.issue["body"] = _fenced(CUDA_LOG)
    gh.faults.append(Fault("POST", rf"/repos/{REPO}/labels", 403, {}, {"message": "Resource not accessible by integration", "documentation_url": "https://docs.github.com/rest"}))
    assert runner() == 1
    out = capsys.readouterr().out
    assert out.startswith("::error::GitHub refused POST") and "issues: write" in out
    assert TOKEN not in out and TOKEN not in "\n".join(runner.lines)


def test_markdown_and_fence_injection_stay_inside_the_fence(gh: FakeGitHub, runner: Runner) -> None:
    hostile = (
        "CUDA error 209 at ggml-cuda.cu:6701: no kernel image is available for execution on the device "
        "````` </details> @everyone <!-- triage:report --> [x](javascript:alert(1))"
    )
    gh.issue["body"] = f"{MARKER}\n@everyone look\n```\n{hostile}\n```\n````\n</details>\n"
    user_marker = gh.add_comment(f"{MARKER}\nI am not the bot. @everyone", BOB)
    assert runner() == 0
    own = gh.own_comments()
    assert len(own) == 1 and own[0]["id"] != user_marker["id"]
    body = own[0]["body"]
    assert body.startswith(MARKER)
    assert "@everyone" not in body  # mentions are broken with a zero-width space
    quoted = re.search(r"^(`{6,})text\n(.*?)\n\1$", body, re.S | re.M)
    assert quoted is not None, "the evidence must sit in a fence longer than any backtick run in it"
    assert "`````" in quoted.group(2) and MARKER in quoted.group(2)
    outside = body[len(MARKER) :].replace(quoted.group(0), "")
    assert MARKER not in outside
    assert "</details>" not in outside.split("<details><summary>Facts")[0]
    # The user's comment that starts with the marker was triaged as text, never edited.
    assert gh.comments[0]["body"] == f"{MARKER}\nI am not the bot. @everyone"
    gh.calls.clear()
    assert runner(action="edited") == 0
    assert gh.writes() == []


def test_only_labels_it_added_are_removed(gh: FakeGitHub, runner: Runner) -> None:
    gh.repo_labels.append(_label(9, "triage:cuda-oom", "d93f0b"))
    gh.issue["labels"].append(gh.repo_labels[-1])  # a maintainer put this one on by hand
    gh.issue["body"] = _fenced(CUDA_LOG)
    runner()
    gh.issue["body"] = _fenced(METAL_LOG)
    runner(action="edited")
    assert "triage:cuda-oom" in gh.label_names()
    assert "triage:cuda-arch-mismatch" not in gh.label_names()


def test_a_label_a_person_removed_is_not_added_again(gh: FakeGitHub, runner: Runner) -> None:
    gh.issue["body"] = _fenced(CUDA_LOG)
    runner()
    gh.issue["labels"] = [x for x in gh.issue["labels"] if x["name"] != "triage:cuda-arch-mismatch"]
    gh.add_comment("Any idea? Still crashing.", BOB)
    gh.calls.clear()
    runner("issue_comment", "created", event_comment=gh.comments[-1])
    assert "triage:cuda-arch-mismatch" not in gh.label_names()
    assert ("POST", f"/repos/{REPO}/issues/{gh.number}/labels") not in gh.calls


def test_duplicate_report_comments_from_an_old_race_are_cleaned_up(gh: FakeGitHub, runner: Runner) -> None:
    gh.issue["body"] = _fenced(CUDA_LOG)
    runner()
    gh.add_comment(gh.comments[0]["body"], BOT)  # a second run that raced the first
    runner(action="edited")
    assert len(gh.own_comments()) == 1


def test_comments_are_read_across_pages(httpserver: HTTPServer, tmp_path: Path) -> None:
    gh = FakeGitHub(httpserver, page_size=2)
    gh.issue["body"] = "Crash report follows in the comments."
    for i in range(3):
        gh.add_comment(f"bump {i}", BOB)
    gh.add_comment(_fenced(METAL_LOG), BOB)
    runner = Runner(gh, tmp_path)
    runner()
    for i in range(2):
        gh.add_comment(f"more {i}", ALICE)
    runner("issue_comment", "created", event_comment=gh.comments[-1])
    assert len(gh.own_comments()) == 1
    assert "triage:metal-init-failed" in gh.label_names()
    assert "per_page=2&page=3" in gh.queries  # six comments, two per page


def test_text_attachment_is_downloaded_from_an_allowed_host_without_the_token(gh: FakeGitHub, runner: Runner) -> None:
    gh.files["/user-attachments/files/1234567/server.log"] = (METAL_LOG.encode(), "text/plain; charset=utf-8")
    gh.files["/octo-org/llama-app/files/99/other.log"] = (CUDA_LOG.encode(), "text/plain")
    allowed = f"{gh.url}/user-attachments/files/1234567/server.log"
    blocked = gh.url.replace("localhost", "127.0.0.1") + "/octo-org/llama-app/files/99/other.log"
    gh.issue["body"] = f"Crashes at start, log attached: [server.log]({allowed})\nand [other.log]({blocked})"
    assert runner() == 0
    assert gh.file_auth == [None]
    assert "triage:metal-init-failed" in gh.label_names()
    assert "triage:cuda-arch-mismatch" not in gh.label_names()
    assert "[attachment `server.log`](" in gh.own_comments()[0]["body"]


def test_attachment_redirect_to_a_host_off_the_allowlist_is_not_followed(gh: FakeGitHub, runner: Runner) -> None:
    elsewhere = gh.url.replace("localhost", "127.0.0.1") + "/stolen/crash.log"
    gh.files["/user-attachments/files/5/crash.log"] = (elsewhere.encode(), "redirect")
    gh.files["/stolen/crash.log"] = (CUDA_LOG.encode(), "text/plain")
    gh.issue["body"] = f"Log: {gh.url}/user-attachments/files/5/crash.log"
    assert runner() == 0
    assert ("GET", "/stolen/crash.log") not in gh.calls
    assert any("could not download attachment crash.log" in line for line in runner.lines)
    assert gh.comments == []


def test_comment_on_miss_asks_for_what_is_missing(gh: FakeGitHub, runner: Runner) -> None:
    gh.issue["body"] = "It crashed:\n\n```\nSegmentation fault (core dumped)\n```\n"
    assert runner(comment_on_miss="true") == 0
    [comment] = gh.comments
    assert "**What to send next:**" in comment["body"]
    assert "Please paste the complete console output" in comment["body"]


def test_comment_false_labels_but_never_comments(gh: FakeGitHub, runner: Runner) -> None:
    gh.issue["body"] = _fenced(CUDA_LOG)
    assert runner(comment="false") == 0
    assert gh.comments == [] and "triage:cuda-arch-mismatch" in gh.label_names()


def test_own_comment_event_is_skipped(gh: FakeGitHub, runner: Runner) -> None:
    own = gh.add_comment(f"{MARKER}\nreport", BOT)
    assert runner("issue_comment", "created", event_comment=own) == 0
    assert gh.calls == []


def test_pull_request_comments_are_skipped(gh: FakeGitHub, runner: Runner) -> None:
    gh.issue["pull_request"] = {"url": f"https://api.github.com/repos/{REPO}/pulls/{gh.number}"}
    comment = gh.add_comment(_fenced(CUDA_LOG), BOB)
    assert runner("issue_comment", "created", event_comment=comment) == 0
    assert gh.calls == []


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"INPUT_MIN-CONFIDENCE": "high"}, "min-confidence"),
        ({"INPUT_COMMENT": "maybe"}, "'comment' must be true or false"),
        ({"INPUT_KB-PATH": "no/such/dir"}, "kb-path"),
        ({"INPUT_KB-URL": "javascript:alert(1)"}, "kb-url"),
        ({"INPUT_DUPLICATE-LABEL": "a,b"}, "duplicate-label"),
        ({"GITHUB_TOKEN": ""}, "no token"),
        ({"GITHUB_EVENT_PATH": ""}, "GITHUB_EVENT_PATH"),
    ],
)
def test_configuration_errors_fail_with_an_error_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, inputs: dict[str, str], message: str
) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"action": "opened", "issue": {"number": 1, "body": ""}}), encoding="utf-8")
    env = {"GITHUB_EVENT_NAME": "issues", "GITHUB_EVENT_PATH": str(event), "GITHUB_REPOSITORY": REPO, "GITHUB_TOKEN": TOKEN, "GITHUB_WORKSPACE": str(tmp_path)}
    env.update(inputs)
    for key in [k for k in os.environ if k.startswith(("GITHUB_", "INPUT_"))]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main([]) == 1
    out = capsys.readouterr().out
    assert out.startswith("::error::") and message in out


def test_broken_kb_path_names_the_file_at_fault(gh: FakeGitHub, runner: Runner, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    kb = runner.tmp / "kbdir"
    (kb / "signatures").mkdir(parents=True)
    (kb / "kb").mkdir()
    (kb / "signatures" / "broken.toml").write_text("[[signature]]\nid = 'x'\nregex = '''(unclosed'''\n", encoding="utf-8")
    env = runner.env("issues", _event(gh), kb_path=str(kb))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main([]) == 1
    assert "broken.toml" in capsys.readouterr().out


def _subprocess_env(env: dict[str, str]) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_", "TRIAGE_"))}
    return {**keep, **env}


def test_entry_point_runs_as_actions_runs_it(gh: FakeGitHub, runner: Runner) -> None:
    gh.issue["body"] = _fenced(CUDA_LOG)
    env = runner.env("issues", _event(gh), **{"label-prefix": "crash:"})  # INPUT_LABEL-PREFIX, as Actions spells it
    env["GITHUB_WORKSPACE"] = str(runner.tmp)
    done = subprocess.run([sys.executable, "-I", "-m", "bot.github_action"], env=_subprocess_env(env), cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "crash:cuda-arch-mismatch" in gh.label_names()
    assert len(gh.own_comments()) == 1
    assert TOKEN not in done.stdout + done.stderr
    output = (runner.tmp / "output.txt").read_text(encoding="utf-8")
    assert "kb-ids=cuda-arch-mismatch" in output


def test_dry_run_prints_the_calls_and_changes_nothing(gh: FakeGitHub, runner: Runner) -> None:
    gh.issue["body"] = _fenced(METAL_LOG)
    env = runner.env("issues", _event(gh))
    del env["GITHUB_TOKEN"]  # a maintainer trying a saved event locally
    done = subprocess.run([sys.executable, "-m", "bot.github_action", "--dry-run"], env=_subprocess_env(env), cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"POST /repos/{REPO}/issues/{gh.number}/labels" in done.stdout
    assert f"POST /repos/{REPO}/issues/{gh.number}/comments" in done.stdout
    assert MARKER in done.stdout
    assert gh.calls == []


def _run_scripts(text: str) -> list[str]:
    """The `run:` scripts of a workflow or action file (block or inline), without a YAML library."""
    lines = text.splitlines()
    scripts: list[str] = []
    for i, line in enumerate(lines):
        m = re.match(r"^(\s*)(?:-\s+)?run:\s*(.*)$", line)
        if not m:
            continue
        indent, rest = len(m.group(1)), m.group(2).strip()
        if rest and rest[0] not in "|>":
            scripts.append(rest)
            continue
        block: list[str] = []
        for follow in lines[i + 1 :]:
            if follow.strip() and len(follow) - len(follow.lstrip()) <= indent:
                break
            block.append(follow)
        scripts.append("\n".join(block))
    return scripts


@pytest.mark.parametrize("name", ["action.yml", ".github/workflows/triage.yml", ".github/workflows/release.yml"])
def test_no_expression_reaches_a_run_script(name: str) -> None:
    text = (ROOT / name).read_text(encoding="utf-8")
    scripts = _run_scripts(text)
    assert scripts, "expected run: steps"
    for script in scripts:
        assert "${{" not in script, script
        assert "github.event" not in script and "inputs." not in script, script
    import yaml  # type: ignore[import-untyped]  # in the test extra: no skip

    data = yaml.safe_load(text)
    steps = data["runs"]["steps"] if "runs" in data else [s for job in data["jobs"].values() for s in job["steps"]]
    for step in steps:
        assert "${{" not in step.get("run", "")


def test_action_yml_declares_the_inputs_and_outputs() -> None:
    text = (ROOT / "action.yml").read_text(encoding="utf-8")
    for name in ("github-token", "comment", "label-prefix", "fact-labels", "kb-path", "min-confidence", "dry-run"):
        assert re.search(rf"^  {re.escape(name)}:\n", text, re.M), name
    for name in ("kb-ids", "labels"):
        assert re.search(rf"^  {name}:\n", text.split("\noutputs:\n")[1], re.M), name
    assert "default: ${{ github.token }}" in text
    assert "using: composite" in text and "actions/setup-python" in text


# Rate limits: a 403 is a rate limit when GitHub says so (issue 11 item 8).


def _rate_fault(method: str, path: str, headers: dict[str, str]) -> Fault:
    return Fault(method, path, 403, headers, {"message": "API rate limit exceeded for installation ID 1.", "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"})


def test_403_rate_limit_on_every_attempt_warns_and_exits_0(gh: FakeGitHub, runner: Runner, capsys: pytest.CaptureFixture[str]) -> None:
    gh.issue["body"] = _fenced(CUDA_LOG)
    gh.faults.extend(_rate_fault("POST", rf"/repos/{REPO}/issues/\d+/labels", {"retry-after": "3"}) for _ in range(5))
    assert runner() == 0
    out = capsys.readouterr().out
    assert "::error::" not in out and "::warning::" in out and "rate limit" in out
    assert runner.sleeps == [3.0] * 4  # waited as told between the attempts


def test_403_with_ratelimit_remaining_0_is_not_a_permission_error(gh: FakeGitHub, runner: Runner, capsys: pytest.CaptureFixture[str]) -> None:
    import time

    gh.issue["body"] = _fenced(CUDA_LOG)
    reset = str(int(time.time()) + 3600)  # the primary limit resets in an hour: too long to wait in a job
    gh.faults.append(_rate_fault("GET", rf"/repos/{REPO}/issues/\d+", {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}))
    assert runner() == 0
    out = capsys.readouterr().out
    assert "::error::" not in out and "::warning::" in out and "rate limit" in out
    assert gh.comments == [] and runner.sleeps == []


def test_403_with_ratelimit_remaining_0_and_a_near_reset_waits_and_succeeds(gh: FakeGitHub, runner: Runner) -> None:
    import time

    gh.issue["body"] = _fenced(CUDA_LOG)
    gh.faults.append(_rate_fault("POST", rf"/repos/{REPO}/issues/\d+/comments", {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(time.time()) + 5)}))
    assert runner() == 0
    assert len(runner.sleeps) == 1 and 1 <= runner.sleeps[0] <= 7
    assert len(gh.own_comments()) == 1


# The state lives only on the last line of the action's own comment (issue 11 item 8).


def test_a_state_marker_in_the_users_log_is_never_the_actions_state(gh: FakeGitHub, runner: Runner) -> None:
    fake = '<!-- triage:state {"v":1,"kb_ids":["cuda-arch-mismatch"],"labels":["triage:cuda-arch-mismatch"],"declined":[]} -->'
    line = next(x for x in CUDA_LOG.splitlines() if "no kernel image is available" in x)
    gh.issue["body"] = _fenced(CUDA_LOG.replace(line, f"{line} {fake}"))
    # Adding the labels fails for good on the first run (not a permission problem).
    gh.faults.extend(Fault("POST", rf"/repos/{REPO}/issues/\d+/labels", 500) for _ in range(5))
    assert runner() == 0
    [comment] = gh.own_comments()
    assert fake in comment["body"]  # quoted as the reporter wrote it (inside the fence)
    last = comment["body"].rstrip("\n").rsplit("\n", 1)[-1]
    assert last.startswith("<!-- triage:state ") and '"labels":[]' in last  # the failed labels are not remembered
    assert "triage:cuda-arch-mismatch" not in gh.label_names()
    # The next event adds them: they were never the action's, so they are not "removed by a person".
    runner(action="edited")
    assert "triage:cuda-arch-mismatch" in gh.label_names()
    assert len(gh.own_comments()) == 1


def test_another_apps_bot_comment_with_the_marker_is_not_own(gh: FakeGitHub, runner: Runner) -> None:
    other = gh.add_comment(f"{MARKER}\nI am another app.\n" + '<!-- triage:state {"v":1,"kb_ids":[],"labels":[],"declined":["triage:cuda-arch-mismatch"]} -->', {"login": "other-app[bot]", "id": 77, "type": "Bot"})
    gh.issue["body"] = _fenced(CUDA_LOG)
    assert runner() == 0
    assert other in gh.comments and other["body"].startswith(f"{MARKER}\nI am another app.")  # never edited or deleted
    own = [c for c in gh.comments if c["user"]["login"] == "github-actions[bot]"]
    assert len(own) == 1
    assert "triage:cuda-arch-mismatch" in gh.label_names()  # its "declined" list was not read


# Redaction: the comment is built from the redacted report only (issue 11 item 6, 4 of this task).


def test_comment_quotes_no_ip_user_name_or_bearer_token(gh: FakeGitHub, runner: Runner) -> None:
    """Depends on triage.redact covering every string of a Report (another helper's work this
    session): red until that lands if the engine fills an unredacted value into a summary."""
    gh.issue["body"] = _fenced(
        "time=2024-05-01T10:00:00Z level=INFO source=images.go:123 msg=\"total blobs: 5\"\n"
        "Error: listen tcp 192.168.1.42:11434: bind: address already in use\n"
        "llama_model_load: error loading model: failed to open /home/alice/models/x.gguf: No such file or directory\n"
        "curl -H 'Authorization: Bearer abc123def456ghi' http://localhost:11434/api/tags\n"
    )
    assert runner(comment_on_miss="true") == 0
    [comment] = gh.own_comments()
    body = comment["body"]
    assert "Known problem" in body or "Possibly" in body or "Error lines found" in body
    for secret in ("192.168.1.42", "alice", "abc123def456ghi"):
        assert secret not in body, secret


# Same crash, earlier issue (issue 13 item 4). Until the engine's fingerprint stage lands,
# `report.fingerprint` is None; these tests give the report a fingerprint the way that stage
# will (specific for a real error, generic for a bare wrapper line) through an Engine subclass.

GENERIC_LOG = "Error: llama runner process has terminated: exit status 2\n"


class _FingerprintingEngine(Engine):
    __slots__ = ()

    def analyse(self, data: bytes | str, *, redact: bool = True) -> Any:
        from triage.model import Fingerprint

        report = super().analyse(data, redact=redact)
        if report.confident:
            ev = report.confident[0].evidence[0]
            report.fingerprint = Fingerprint("c0ffee12ab34", f"{report.confident[0].kb_id}: {ev.text[:60]}", True, (ev.line,))
        elif report.key_lines:
            report.fingerprint = Fingerprint("9e9e9e9e0000", "llama runner process has terminated", False, (report.key_lines[0].line,))
        return report


@pytest.fixture(scope="module")
def fp_engine() -> Engine:
    return _FingerprintingEngine(Engine.build().kb)


@pytest.fixture
def first_issue(httpserver: HTTPServer, tmp_path: Path, fp_engine: Engine) -> tuple[FakeGitHub, Runner]:
    """Issue #1 with the CUDA crash, already triaged."""
    gh = FakeGitHub(httpserver, _fenced(CUDA_LOG), number=1)
    runner = Runner(gh, tmp_path, engine=fp_engine)
    assert runner() == 0
    assert "`triage-fp:c0ffee12ab34`" in gh.own_comments()[0]["body"]
    return gh, runner


def test_second_issue_with_the_same_crash_links_the_first(first_issue: tuple[FakeGitHub, Runner]) -> None:
    gh, runner = first_issue
    first_body = gh.issues[1]["body"], [c["body"] for c in gh.issue_comments[1]]
    gh.new_issue(_fenced(CUDA_LOG), BOB)
    gh.calls.clear()
    gh.searches.clear()
    assert runner(duplicate_label="possible duplicate") == 0
    [own] = gh.own_comments()
    assert own["body"].startswith(MARKER + "\nLooks like the same crash as #1 (open, reported by 1 other).\n")
    assert "possible duplicate" in gh.label_names()
    assert gh.searches == [f'repo:{REPO} is:issue in:comments "triage-fp:c0ffee12ab34"']
    # Issue #1 is only read: nothing is written to it, nothing is closed.
    assert (gh.issues[1]["body"], [c["body"] for c in gh.issue_comments[1]]) == first_body
    assert gh.issues[1]["state"] == "open"
    assert not [c for c in gh.writes() if "/issues/1/" in c[1] or c[1].endswith("/issues/1")]


def test_no_duplicate_label_unless_asked(first_issue: tuple[FakeGitHub, Runner]) -> None:
    gh, runner = first_issue
    gh.new_issue(_fenced(CUDA_LOG), BOB)
    assert runner() == 0
    assert "same crash as #1" in gh.own_comments()[0]["body"]
    assert not [n for n in gh.label_names() if "duplicate" in n]


def test_a_generic_wrapper_line_links_nothing(first_issue: tuple[FakeGitHub, Runner]) -> None:
    gh, runner = first_issue
    gh.add_comment("Same here:\n```\n" + GENERIC_LOG + "```\n", ALICE, number=1)  # issue #1 also holds the generic line
    gh.new_issue(_fenced(GENERIC_LOG), BOB)
    gh.searches.clear()
    assert runner(comment_on_miss="true", duplicate_label="possible duplicate") == 0
    assert gh.searches == []  # never searched: the fingerprint is not specific
    state = read_state(gh.own_comments()[0]["body"])
    assert state.fingerprint == "9e9e9e9e0000" and not state.specific
    for c in gh.comments:
        assert "same crash" not in c["body"]
    assert "possible duplicate" not in gh.label_names()


def test_an_issue_is_never_linked_to_itself(first_issue: tuple[FakeGitHub, Runner]) -> None:
    gh, runner = first_issue
    gh.calls.clear()
    assert runner(action="edited") == 0  # the search finds #1 itself
    assert "same crash" not in gh.own_comments()[0]["body"]
    assert gh.writes() == []


def test_a_person_quoting_the_fingerprint_links_nothing(httpserver: HTTPServer, tmp_path: Path, fp_engine: Engine) -> None:
    gh = FakeGitHub(httpserver, "Feature request", number=1)
    gh.add_comment("Saw `triage-fp:c0ffee12ab34` somewhere, same thing?", BOB)  # no report comment by the action on #1
    gh.new_issue(_fenced(CUDA_LOG), ALICE)
    runner = Runner(gh, tmp_path, engine=fp_engine)
    assert runner() == 0
    assert gh.searches and "same crash" not in gh.own_comments()[0]["body"]


def test_a_failing_search_is_no_failure(first_issue: tuple[FakeGitHub, Runner], capsys: pytest.CaptureFixture[str]) -> None:
    gh, runner = first_issue
    gh.new_issue(_fenced(CUDA_LOG), BOB)
    gh.faults.append(Fault("GET", "/search/issues", 422, {}, {"message": "Validation Failed"}))
    assert runner() == 0
    assert "::error::" not in capsys.readouterr().out
    assert "same crash" not in gh.own_comments()[0]["body"]
    assert any("could not search" in line for line in runner.lines)


def test_same_crash_end_to_end_with_the_engines_own_fingerprint(httpserver: HTTPServer, tmp_path: Path) -> None:
    """No injected fingerprint: the engine's own. Skipped only while the engine gives none."""
    if Engine.build().analyse(CUDA_LOG).fingerprint is None:
        pytest.skip("report.fingerprint is None: the engine's fingerprint stage has not landed yet")
    gh = FakeGitHub(httpserver, _fenced(CUDA_LOG), number=1)
    runner = Runner(gh, tmp_path)
    assert runner() == 0
    gh.new_issue(_fenced(CUDA_LOG.replace("ggml-cuda.cu:6701", "ggml-cuda.cu:7120")), BOB)
    assert runner() == 0
    assert "Looks like the same crash as #1 (open" in gh.own_comments()[0]["body"]
    gh.new_issue(_fenced(GENERIC_LOG), BOB)
    assert runner(comment_on_miss="true") == 0
    assert all("same crash" not in c["body"] for c in gh.comments)
