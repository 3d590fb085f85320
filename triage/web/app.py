"""The Starlette app: paste page, result page, KB pages and the JSON API.

One Engine is built at start and shared; each analysis runs in a worker thread
under a time bound so a slow log cannot hold the event loop. Nothing a user
sends is written to disk or to the server's logs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Sequence

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..engine import Engine
from ..errors import InputError
from ..model import Report
from ..records import NamedTuple
from ..redact import redact_text
from ..render.json_out import report_dict
from ..suggest import search_kb
from .forms import FormError, Part, boundary_of, parse_multipart
from .kbpages import entry_dict, entry_view, index_rows, search_records
from .limits import BodyLimit, app_path, RateLimit, SecurityHeaders, SlidingWindow, parse_rate, too_large_message
from .openapi import openapi_document
from .present import ResultView, result_view
from .render import render

__all__ = ["Settings", "create_app", "app_from_env"]

STATIC = Path(__file__).parent / "static"
MAX_FILES = 20


class Settings(NamedTuple):
    max_body_bytes: int = 8 * 1024 * 1024
    rate_limit: str | None = "30/60"  # None or "": no limit
    timeout: float = 10.0
    max_concurrent: int = 4  # analyses at once per process; the rest wait (inside the time bound)
    read_timeout: float = 30.0  # seconds to receive the whole body (a stalled upload gets 408)


class _Busy(Exception):
    """The analysis did not finish in time."""


class _TooLarge(Exception):
    """More body bytes arrived than the cap allows."""


class _TooSlow(Exception):
    """The body did not arrive within the read timeout."""


async def read_limited(request: Request, max_bytes: int) -> bytes:
    """The request body, counting streamed bytes: chunked uploads have no Content-Length."""
    chunks: list[bytes] = []
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > max_bytes:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


class _App:
    """Request handlers closing over one Engine and the settings (no globals)."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.limiter = anyio.CapacityLimiter(max(1, settings.max_concurrent))
        self.max_mib = max(1, settings.max_body_bytes // (1024 * 1024))

    # --- helpers -------------------------------------------------------------------------
    @staticmethod
    def root(request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/") + "/"

    def page(self, request: Request, template: str, code: int = 200, **context: Any) -> HTMLResponse:
        root = self.root(request)
        html = render(template, root=root, site=False, kb_link=lambda kb_id: f"{root}kb/{kb_id}",
                      kb_home=f"{root}kb/", max_mib=self.max_mib, **context)
        return HTMLResponse(html, status_code=code, headers={"cache-control": "no-store"})

    def error_page(self, request: Request, code: int, heading: str, message: str) -> HTMLResponse:
        return self.page(request, "error.html", code, status=code, heading=heading, message=message)

    async def analyse(self, data: bytes) -> Report:
        """Engine.analyse in a thread, bounded in time. InputError passes through."""
        try:
            with anyio.fail_after(self.settings.timeout):
                return await anyio.to_thread.run_sync(
                    lambda: self.engine.analyse(data), abandon_on_cancel=True, limiter=self.limiter)
        except TimeoutError:
            raise _Busy from None

    async def inputs(self, request: Request, *, urlencoded: bool) -> tuple[list[tuple[str, bytes]], list[tuple[str, str]]]:
        """(name, bytes) per log in the request, and (name, reason) for parts refused
        before analysis. Multipart gives each file, plus a non-empty `log` field; a
        urlencoded body is a form only for the page (`curl --data-binary @x.log` sends
        that content type with a raw log); anything else is one raw log."""
        try:
            with anyio.fail_after(self.settings.read_timeout):
                body = await read_limited(request, self.settings.max_body_bytes)
        except TimeoutError:
            raise _TooSlow from None
        content_type = request.headers.get("content-type", "")
        if not boundary_of(content_type):
            if urlencoded and content_type.startswith("application/x-www-form-urlencoded"):
                from urllib.parse import parse_qs

                try:
                    fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=16)
                except ValueError as exc:  # too many fields
                    raise FormError(str(exc)) from None
                return [("pasted log", "\n".join(fields.get("log", [])).encode())], []
            return [("log", body)], []
        parts = parse_multipart(content_type, body)
        logs: list[tuple[str, bytes]] = []
        refused: list[tuple[str, str]] = []
        for part in parts:
            if part.filename is not None:
                if part.filename == "" and not part.data:
                    continue  # a file input left empty
                if len([1 for name, _ in logs if name != "pasted log"]) >= MAX_FILES:
                    refused.append((_safe_name(part), f"not analysed: at most {MAX_FILES} files per request"))
                    continue
                logs.append((_safe_name(part), part.data))
            elif part.name in ("log", "text") and part.data.strip():
                logs.append(("pasted log", part.data))
        return logs, refused

    # --- pages -----------------------------------------------------------------------------
    async def index(self, request: Request) -> Response:
        return self.page(request, "index.html")

    async def submit(self, request: Request) -> Response:
        try:
            logs, refused = await self.inputs(request, urlencoded=True)
        except FormError as exc:
            return self.error_page(request, 400, "That form could not be read", str(exc))
        except _TooSlow:
            return self.error_page(request, 408, "The upload stalled",
                                   f"The log did not arrive within {self.settings.read_timeout:g} seconds.")
        except _TooLarge:
            return self.error_page(request, 413, "That log is too big",
                                   too_large_message(self.settings.max_body_bytes) + " Send the part from the start "
                                   "of the run to the crash.")
        if not logs or all(not data.strip() for _, data in logs):
            return self.page(request, "index.html", 422,
                             error="Paste a log into the box or choose a log file, then press Analyse.")
        views: list[ResultView] = []
        rejected = list(refused)
        for name, data in logs:
            try:
                report = await self.analyse(data)
            except InputError as exc:
                rejected.append((name, str(exc)))
                continue
            except _Busy:
                return self.error_page(request, 503, "That took too long",
                                       f"The analysis did not finish within {self.settings.timeout:g} seconds; "
                                       "the server is busy or the log is unusual. Try again, or send only the "
                                       "part of the log around the crash.")
            views.append(result_view(name, data, report, self.engine.kb))
        if not views:
            message = "; ".join(f"{n}: {m}" for n, m in rejected)
            return self.page(request, "index.html", 422, error=f"Nothing to analyse. {message}")
        return self.page(request, "result.html", views=views, rejected=rejected)

    async def kb_list(self, request: Request) -> Response:
        query = request.query_params.get("q")
        results = None
        if query is not None:
            query = query.strip()[:200]
            results = search_kb(self.engine.kb, query, limit=15) if query else []
        return self.page(request, "kb_list.html", entries=index_rows(self.engine.kb), query=query,
                         results=results, search_url=f"{self.root(request)}api/v1/kb")

    async def kb_entry(self, request: Request) -> Response:
        entry = self.engine.kb.entries.get(request.path_params["kb_id"])
        if entry is None:
            return self.error_page(request, 404, "No such KB entry",
                                   "There is no knowledge-base entry with that id. The list has them all.")
        return self.page(request, "kb_entry.html", v=entry_view(self.engine.kb, entry))

    # --- API -------------------------------------------------------------------------------
    async def api_triage(self, request: Request) -> Response:
        multipart = bool(boundary_of(request.headers.get("content-type", "")))
        try:
            logs, refused = await self.inputs(request, urlencoded=False)
        except FormError as exc:
            return _error(400, str(exc))
        except _TooSlow:
            return _error(408, f"the body did not arrive within {self.settings.read_timeout:g} s")
        except _TooLarge:
            return _error(413, too_large_message(self.settings.max_body_bytes))
        if not multipart:
            try:
                report = await self.analyse(logs[0][1])
            except InputError as exc:
                return _error(422, str(exc))
            except _Busy:
                return _error(503, f"analysis did not finish within {self.settings.timeout:g} s", retry=True)
            return JSONResponse(report_dict(report))
        if not logs and not refused:
            return _error(422, "no log in the request: send the log as the body, or multipart files")
        results: list[dict[str, Any]] = []
        for name, data in logs:
            try:
                report = await self.analyse(data)
            except InputError as exc:
                results.append({"file": name, "error": str(exc)})
                continue
            except _Busy:
                return _error(503, f"analysis did not finish within {self.settings.timeout:g} s", retry=True)
            results.append({"file": name, **report_dict(report)})
        results.extend({"file": name, "error": reason} for name, reason in refused)
        return JSONResponse({"results": results})

    async def api_kb(self, request: Request) -> Response:
        query = (request.query_params.get("q") or "").strip()[:200]
        if query:
            hits = search_kb(self.engine.kb, query, limit=15)
            return JSONResponse({"query": query, "results": [
                {"id": s.kb_id, "title": s.title, "score": s.score} for s in hits]})
        return JSONResponse({"entries": search_records(self.engine.kb)})

    async def api_kb_entry(self, request: Request) -> Response:
        entry = self.engine.kb.entries.get(request.path_params["kb_id"])
        if entry is None:
            return _error(404, "no KB entry with that id")
        return JSONResponse(entry_dict(self.engine.kb, entry))

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(openapi_document(self.settings.max_body_bytes))

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "entries": len(self.engine.kb.entries),
                             "signatures": len(self.engine.kb.signatures)})


def _safe_name(part: Part) -> str:
    """The uploaded file's base name, redacted and bounded (it is echoed back)."""
    name = (part.filename or "file").replace("\\", "/").rsplit("/", 1)[-1][:120] or "file"
    return redact_text(name)[0]


def _error(status: int, message: str, retry: bool = False) -> JSONResponse:
    headers = {"retry-after": "5"} if retry else None
    return JSONResponse({"error": message}, status_code=status, headers=headers)


_MESSAGES = {404: ("Not found", "There is nothing at this address."),
             405: ("Method not allowed", "This address does not accept that method.")}


def create_app(engine: Engine, settings: Settings | None = None) -> Any:
    """The ASGI app: Starlette routes wrapped in rate limit, body cap and security headers."""
    settings = settings or Settings()
    h = _App(engine, settings)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if app_path(request.scope).startswith("/api/"):
            return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        heading, message = _MESSAGES.get(exc.status_code, ("Error", str(exc.detail)))
        response = h.error_page(request, exc.status_code, heading, message)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    routes = [
        Route("/", h.index, methods=["GET"]),
        Route("/", h.submit, methods=["POST"]),
        Route("/kb", h.kb_list, methods=["GET"]),
        Route("/kb/", h.kb_list, methods=["GET"]),
        Route("/kb/{kb_id:str}", h.kb_entry, methods=["GET"]),
        Route("/kb/{kb_id:str}/", h.kb_entry, methods=["GET"]),
        Route("/api/v1/triage", h.api_triage, methods=["POST"]),
        Route("/api/v1/kb", h.api_kb, methods=["GET"]),
        Route("/api/v1/kb/{kb_id:str}", h.api_kb_entry, methods=["GET"]),
        Route("/api/v1/openapi.json", h.openapi, methods=["GET"]),
        Route("/healthz", h.healthz, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error})
    app.state.engine = engine
    limiter = None
    if settings.rate_limit:
        count, window = parse_rate(settings.rate_limit)
        limiter = SlidingWindow(count, window)
    return SecurityHeaders(RateLimit(BodyLimit(app, settings.max_body_bytes), limiter))


ENV_PREFIX = "TRIAGE_WEB_"


def settings_to_env(kb_dirs: Sequence[Path], settings: Settings) -> dict[str, str]:
    """What `app_from_env` reads: how `triage serve --workers N` hands its options to each worker."""
    return {
        f"{ENV_PREFIX}KB_DIRS": json.dumps([str(p) for p in kb_dirs]),
        f"{ENV_PREFIX}SETTINGS": json.dumps(settings._asdict()),
    }


def app_from_env() -> Any:
    """uvicorn factory for worker processes: one Engine per process, built once."""
    from ..load import default_cache_dir

    kb_dirs = [Path(p) for p in json.loads(os.environ.get(f"{ENV_PREFIX}KB_DIRS", "[]"))]
    settings = Settings(**json.loads(os.environ.get(f"{ENV_PREFIX}SETTINGS", "{}")))
    return create_app(Engine.build(kb_dirs, cache_dir=default_cache_dir()), settings)


