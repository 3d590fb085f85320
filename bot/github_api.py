"""A small GitHub REST client on the stdlib, made for one job: keep one comment and some labels right.

Why not a library: the Action installs nothing beyond triage. What it must get right is in
`GitHub.request`: retries with backoff on 5xx and network errors, waits out secondary rate
limits (403/429 with `retry-after`), follows `Link: rel="next"` pages, never follows a redirect
with the token, and never puts the token in a message.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence
from urllib.parse import quote, urlsplit

__all__ = ["ApiError", "GitHub", "Response", "fetch_attachment"]

MAX_WAIT = 120.0  # longest single wait for a rate limit; beyond that the run gives up on the call
ATTACHMENT_LIMIT = 5 * 1024 * 1024  # bytes read per attachment; logs beyond this are cut
_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')
_RETRY_STATUSES = frozenset({500, 502, 503, 504})


class ApiError(Exception):
    """A call that failed for good; `status` 0 means the network, not GitHub, failed.

    `rate_limited` marks a 403/429 that GitHub sent because of a rate limit (a `retry-after`
    header, `x-ratelimit-remaining: 0`, or a "rate limit" message): transient, not a missing
    permission, even though the status is 403.
    """

    def __init__(self, method: str, path: str, status: int, message: str, *, rate_limited: bool = False) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.message = message
        self.rate_limited = rate_limited
        super().__init__(f"{method} {path} -> {status or 'network error'}: {message}")


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: Mapping[str, str]
    data: Any


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """API calls carry the token; a redirect must not take it to another host."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _message(raw: bytes) -> str:
    try:
        data = json.loads(raw)
    except ValueError:
        return raw[:200].decode("utf-8", "replace").strip()
    if isinstance(data, dict):
        msg = str(data.get("message", ""))
        errors = data.get("errors")
        if isinstance(errors, list) and errors:
            msg += " " + json.dumps(errors)[:300]
        return msg
    return ""


class GitHub:
    """REST calls against `api_url` with retries; `sleep` and `backoff_base` are injectable for tests."""

    def __init__(
        self,
        api_url: str,
        token: str,
        *,
        backoff_base: float = 1.0,
        attempts: int = 5,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        log: Callable[[str], None] = print,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self._token = token
        self.backoff_base = backoff_base
        self.attempts = attempts
        self.timeout = timeout
        self.sleep = sleep
        self.log = log
        self._opener = urllib.request.build_opener(_NoRedirect)

    def __repr__(self) -> str:  # never show the token, even in a traceback's locals
        return f"GitHub({self.api_url!r})"

    def _once(self, method: str, url: str, body: Any) -> Response:
        data = None if body is None else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Accept", "application/vnd.github+json")
        req.add_header("X-GitHub-Api-Version", "2022-11-28")
        req.add_header("User-Agent", "triage-github-action")
        if self._token:
            req.add_header("Authorization", f"Bearer {self._token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                raw = resp.read()
                status = resp.status
                headers = {k.lower(): v for k, v in resp.headers.items()}
        except urllib.error.HTTPError as err:
            raw = err.read()
            status = err.code
            headers = {k.lower(): v for k, v in err.headers.items()} if err.headers else {}
        payload: Any = None
        if raw and status < 400:
            try:
                payload = json.loads(raw)
            except ValueError:
                payload = None
        elif status >= 400:
            payload = _message(raw)
        return Response(status, headers, payload)

    def _rate_wait(self, resp: Response) -> float | None:
        """Seconds to wait before retrying a 403/429, or None when it is not a rate limit."""
        after = resp.headers.get("retry-after")
        if after is not None:
            try:
                return max(0.0, float(after))
            except ValueError:
                return 60.0
        if resp.headers.get("x-ratelimit-remaining") == "0":
            try:
                return max(0.0, float(resp.headers.get("x-ratelimit-reset", "0")) - time.time()) + 1
            except ValueError:
                return 60.0
        if "rate limit" in str(resp.data).lower():
            return 60.0 * self.backoff_base  # GitHub: "wait at least one minute"
        return None

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        ok: Sequence[int] = (),
        before_retry: Callable[[], Response | None] | None = None,
    ) -> Response:
        """One call with retries. `ok` lists error statuses the caller handles itself (404, 422).

        `before_retry` runs before each retry of a call that may have landed (a POST answered
        with 5xx or lost on the network); when it finds the result, that is returned instead.
        """
        url = path if path.startswith("http") else self.api_url + path
        shown = urlsplit(url).path
        last, last_status, last_rate = "no attempt made", 0, False
        for attempt in range(self.attempts):
            if attempt and before_retry is not None:
                found = before_retry()
                if found is not None:
                    return found
            try:
                resp = self._once(method, url, body)
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as err:
                last, last_status = type(err).__name__ + (f": {err.reason}" if isinstance(err, urllib.error.URLError) else ""), 0
                wait = self.backoff_base * 2**attempt
                self.log(f"triage: {method} {shown} failed ({last}); retrying in {wait:g}s")
                self.sleep(wait)
                continue
            if resp.status < 400 or resp.status in ok:
                return resp
            last, last_status, last_rate = str(resp.data or ""), resp.status, False
            if resp.status in _RETRY_STATUSES:
                wait = self.backoff_base * 2**attempt
            elif resp.status in (403, 429) and (rate := self._rate_wait(resp)) is not None:
                last_rate = True
                if rate > MAX_WAIT:
                    raise ApiError(method, shown, resp.status, f"rate limited for {rate:.0f}s; giving up", rate_limited=True)
                wait = rate
            else:
                raise ApiError(method, shown, resp.status, str(resp.data or ""))
            if attempt + 1 < self.attempts:
                self.log(f"triage: {method} {shown} answered {resp.status}; retrying in {wait:g}s")
                self.sleep(wait)
        raise ApiError(method, shown, last_status, f"still failing after {self.attempts} attempts: {last}", rate_limited=last_rate)

    def paginate(self, path: str) -> list[Any]:
        """Every item of a list endpoint, following `Link: rel="next"`."""
        items: list[Any] = []
        url: str | None = path + ("&" if "?" in path else "?") + "per_page=100"
        while url:
            resp = self.request("GET", url)
            if isinstance(resp.data, list):
                items.extend(resp.data)
            m = _NEXT.search(resp.headers.get("link", ""))
            url = m.group(1) if m else None
        return items

    # The calls the Action makes, named after GitHub's REST docs.

    def get_issue(self, repo: str, number: int) -> dict[str, Any]:
        data = self.request("GET", f"/repos/{repo}/issues/{number}").data
        return data if isinstance(data, dict) else {}

    def list_comments(self, repo: str, number: int) -> list[dict[str, Any]]:
        return [c for c in self.paginate(f"/repos/{repo}/issues/{number}/comments") if isinstance(c, dict)]

    def list_repo_labels(self, repo: str) -> list[str]:
        return [str(label["name"]) for label in self.paginate(f"/repos/{repo}/labels") if isinstance(label, dict)]

    def create_label(self, repo: str, name: str, color: str, description: str) -> bool:
        """True when created; False when it already existed (a 422 race with another run)."""
        resp = self.request("POST", f"/repos/{repo}/labels", {"name": name, "color": color, "description": description}, ok=(422,))
        return resp.status == 201

    def add_labels(self, repo: str, number: int, names: Sequence[str]) -> None:
        self.request("POST", f"/repos/{repo}/issues/{number}/labels", {"labels": list(names)})

    def remove_label(self, repo: str, number: int, name: str) -> None:
        self.request("DELETE", f"/repos/{repo}/issues/{number}/labels/{quote(name, safe='')}", ok=(404,))

    def create_comment(
        self, repo: str, number: int, body: str, landed: Callable[[], dict[str, Any] | None]
    ) -> dict[str, Any]:
        """Post a comment; `landed` looks for it before any retry, so a lost answer never doubles it."""

        def check() -> Response | None:
            found = landed()
            if found is None:
                return None
            self.log("triage: the comment had landed despite the error; not posting it again")
            return Response(200, {}, found)

        data = self.request("POST", f"/repos/{repo}/issues/{number}/comments", {"body": body}, before_retry=check).data
        return data if isinstance(data, dict) else {}

    def update_comment(self, repo: str, comment_id: int, body: str) -> dict[str, Any] | None:
        """None when the comment is gone (deleted by a person meanwhile)."""
        resp = self.request("PATCH", f"/repos/{repo}/issues/comments/{comment_id}", {"body": body}, ok=(404,))
        return resp.data if resp.status < 400 and isinstance(resp.data, dict) else None

    def delete_comment(self, repo: str, comment_id: int) -> None:
        self.request("DELETE", f"/repos/{repo}/issues/comments/{comment_id}", ok=(404,))

    def search_issues(self, query: str, *, limit: int = 20) -> list[dict[str, Any]]:
        """The first `limit` issues the search API finds, oldest first (one page, no pagination:
        the search API allows 30 calls a minute, and the oldest reports are the ones to link)."""
        path = f"/search/issues?q={quote(query, safe='')}&sort=created&order=asc&per_page={max(1, min(limit, 100))}"
        data = self.request("GET", path).data
        items = data.get("items") if isinstance(data, dict) else None
        return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def _host_allowed(host: str, hosts: Sequence[str]) -> bool:
    host = host.casefold()
    return any(host == h or (h.startswith(".") and host.endswith(h)) for h in (x.casefold() for x in hosts))


class _AllowlistRedirect(urllib.request.HTTPRedirectHandler):
    """Attachment links redirect to storage hosts; follow only those on the allowlist."""

    def __init__(self, hosts: Sequence[str]) -> None:
        self.hosts = hosts

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
        parts = urlsplit(newurl)
        local = parts.hostname in ("localhost", "127.0.0.1")
        if not _host_allowed(parts.hostname or "", self.hosts) or not (parts.scheme == "https" or local):
            raise urllib.error.HTTPError(newurl, code, f"redirect to a host not on the allowlist: {parts.hostname}", headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch_attachment(url: str, hosts: Sequence[str], *, limit: int = ATTACHMENT_LIMIT, timeout: float = 30.0) -> tuple[bytes, bool]:
    """(the first `limit` bytes, whether it was cut). No token is sent: attachments are public links.

    Raises OSError (urllib's errors are subclasses) when the download fails.
    """
    opener = urllib.request.build_opener(_AllowlistRedirect(hosts))
    req = urllib.request.Request(url, headers={"User-Agent": "triage-github-action", "Accept": "text/plain, */*"})
    with opener.open(req, timeout=timeout) as resp:
        kind = str(resp.headers.get("content-type", "")).lower()
        if kind.startswith(("image/", "video/", "audio/", "application/zip", "application/gzip", "application/x-")):
            raise OSError(f"not a text file ({kind})")
        data = resp.read(limit + 1)
    return data[:limit], len(data) > limit
