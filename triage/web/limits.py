"""ASGI guards every response passes through: security headers, a body-size cap
and a per-client rate limit. Plain ASGI middleware (no BaseHTTPMiddleware) so a
rejected request never reaches the app and streaming stays untouched."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from typing import Any, Awaitable, Callable, MutableMapping

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

__all__ = ["app_path", "BodyLimit", "RateLimit", "SecurityHeaders", "SlidingWindow", "parse_rate", "too_large_message"]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)


def app_path(scope: Scope) -> str:
    """The request path below the app's root path (`--root-path /triage` behind a proxy)."""
    path, root = str(scope.get("path", "")), str(scope.get("root_path", "")).rstrip("/")
    return path[len(root):] if root and path.startswith(root + "/") else path


async def _plain(scope: Scope, send: Send, status: int, text: str,
                 headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    """A short error sent straight from middleware: the API's JSON shape under /api,
    a minimal page elsewhere (a browser posting the form sees a sentence, not JSON)."""
    import html
    import json

    if app_path(scope).startswith("/api/"):
        body, kind = json.dumps({"error": text}).encode(), b"application/json"
    else:
        body = (f"<!doctype html><meta charset=utf-8><meta name=viewport content=\"width=device-width\">"
                f"<title>triage: {status}</title><p>{html.escape(text)}</p>").encode()
        kind = b"text/html; charset=utf-8"
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode()), *headers],
    })
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    """Adds the security headers to every HTTP response, errors included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in SECURITY_HEADERS if k not in present
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def too_large_message(max_bytes: int) -> str:
    size = f"{max_bytes // (1024 * 1024)} MiB" if max_bytes >= 1024 * 1024 else f"{max_bytes} bytes"
    return f"The request body is larger than the limit of {size}."


class BodyLimit:
    """413 before reading a byte when Content-Length says the body is too big. The
    bytes actually streamed (a client may lie or send chunks) are counted where the
    body is read: `read_limited` in app.py."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in scope.get("headers", []):
                if name == b"content-length":
                    try:
                        declared = int(value)
                    except ValueError:
                        await _plain(scope, send, 400, "Content-Length is not a number.")
                        return
                    if declared > self.max_bytes:
                        await _plain(scope, send, 413, too_large_message(self.max_bytes))
                        return
        await self.app(scope, receive, send)


def parse_rate(text: str) -> tuple[int, float]:
    """'30/60' -> (30 requests, 60 seconds); raises ValueError with a readable reason."""
    count, _, seconds = text.partition("/")
    try:
        n, window = int(count), float(seconds or "60")
    except ValueError:
        raise ValueError(f"rate limit must look like COUNT/SECONDS (e.g. 30/60), got {text!r}") from None
    if n < 1 or not (0 < window < 86400 * 7) or not math.isfinite(window):
        raise ValueError(f"rate limit must be a positive COUNT/SECONDS, got {text!r}")
    return n, window


class SlidingWindow:
    """At most `count` events per `window` seconds per key, in memory.

    Memory is bounded: idle keys are dropped, and at most `max_keys` clients are
    tracked (the oldest is forgotten first)."""

    def __init__(self, count: int, window: float, *, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 100_000) -> None:
        self.count = count
        self.window = window
        self.clock = clock
        self.max_keys = max_keys
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> float:
        """Record one event; 0 if allowed, else the seconds until the next is allowed."""
        now = self.clock()
        with self._lock:
            events = self._events.pop(key, None)
            if events is None:
                events = deque()
                if len(self._events) >= self.max_keys:
                    self._events.pop(next(iter(self._events)))
            while events and events[0] <= now - self.window:
                events.popleft()
            self._events[key] = events  # re-insert: dict order is least recently seen first
            if len(events) >= self.count:
                return max(events[0] + self.window - now, 0.001)
            events.append(now)
            return 0.0


class RateLimit:
    """429 with Retry-After once a client sends too many analysis requests.

    Only POST is counted: reading KB pages and static files is cheap; analysing is not.
    The client is `scope["client"]` (uvicorn fills it from X-Forwarded-For when the
    proxy is trusted with --forwarded-allow-ips)."""

    def __init__(self, app: ASGIApp, limiter: SlidingWindow | None) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.limiter is not None and scope["type"] == "http" and scope.get("method") == "POST":
            client = scope.get("client") or ("unknown", 0)
            wait = self.limiter.hit(str(client[0]))
            if wait:
                retry = str(max(1, math.ceil(wait))).encode()
                await _plain(scope, send, 429, f"Too many requests: at most {self.limiter.count} analyses per "
                             f"{self.limiter.window:g} seconds. Try again in {retry.decode()} s.",
                             ((b"retry-after", retry),))
                return
        await self.app(scope, receive, send)
