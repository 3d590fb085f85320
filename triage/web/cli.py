"""`triage serve`: options, one Engine built before the server starts, uvicorn.

Uvicorn's access log is off: a request line carries no log text, but the page
promises nothing about a user is kept, and the client address is personal data."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import NoReturn, Sequence

__all__ = ["serve_main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        print(f"triage serve: {message}", file=sys.stderr)
        raise SystemExit(2)


def _parser() -> _Parser:
    p = _Parser(prog="triage serve", description="The paste page, KB pages and HTTP API (needs the 'web' extra).")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0 for all)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--kb-dir", action="append", type=Path, default=[], metavar="DIR",
                   help="also load DIR/signatures and DIR/kb (repeatable)")
    p.add_argument("--max-body-mib", type=float, default=8.0, help="largest request body in MiB (default 8)")
    p.add_argument("--rate-limit", default="30/60", metavar="COUNT/SECONDS",
                   help="analyses per client address (default 30/60; 0 turns it off)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds an analysis may take before 503 (default 10)")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1; each loads the KB once)")
    p.add_argument("--root-path", default="", metavar="PREFIX",
                   help="the path prefix a reverse proxy serves the app under, e.g. /triage (forward it unchanged)")
    p.add_argument("--forwarded-allow-ips", default=None, metavar="IPS",
                   help="proxies trusted for X-Forwarded-For (comma-separated; uvicorn's default: 127.0.0.1)")
    return p


def serve_main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    try:
        import uvicorn  # noqa: F401

        from .app import Settings, create_app, settings_to_env
        from .limits import parse_rate
    except ImportError as exc:
        print(f"triage serve: the web extra is not installed ({exc.name}); run: pip install \"triage[web]\"",
              file=sys.stderr)
        return 2
    from ..engine import Engine
    from ..errors import DataErrors
    from ..load import default_cache_dir

    if not (0 <= args.port < 65536):
        print("triage serve: --port must be between 0 and 65535", file=sys.stderr)
        return 2
    if not (0 < args.max_body_mib <= 1024) or not (0 < args.timeout <= 600) or not (1 <= args.workers <= 64):
        print("triage serve: --max-body-mib must be in (0, 1024], --timeout in (0, 600], --workers in [1, 64]",
              file=sys.stderr)
        return 2
    rate = None if args.rate_limit.strip() in ("0", "", "off", "none") else args.rate_limit.strip()
    if rate:
        try:
            parse_rate(rate)
        except ValueError as exc:
            print(f"triage serve: {exc}", file=sys.stderr)
            return 2
    for d in args.kb_dir:
        if not d.is_dir():
            print(f"triage serve: --kb-dir {d}: not a directory", file=sys.stderr)
            return 2
    if args.root_path and (not args.root_path.startswith("/") or args.root_path.endswith("/")):
        print("triage serve: --root-path must start with / and not end with one, e.g. /triage", file=sys.stderr)
        return 2
    settings = Settings(max_body_bytes=int(args.max_body_mib * 1024 * 1024), rate_limit=rate, timeout=args.timeout)
    try:
        engine = Engine.build(args.kb_dir, cache_dir=default_cache_dir())
    except DataErrors as exc:
        print(f"triage serve: the KB data is invalid:\n{exc}", file=sys.stderr)
        return 2
    options: dict[str, object] = {"host": args.host, "port": args.port, "access_log": False, "proxy_headers": True,
                                  "server_header": False}
    if args.root_path:
        options["root_path"] = args.root_path
    if args.forwarded_allow_ips:
        options["forwarded_allow_ips"] = args.forwarded_allow_ips
    problem = _cannot_listen(args.host, args.port)
    if problem:
        print(f"triage serve: cannot listen on {args.host}:{args.port}: {problem}", file=sys.stderr)
        return 2
    print(f"triage: {len(engine.kb.entries)} KB entries loaded; open "
          f"http://{_display_host(args.host)}:{args.port}{args.root_path}/", file=sys.stderr)
    if args.workers > 1:
        # Each worker process imports the factory and builds its own Engine (from the cache: fast).
        os.environ.update(settings_to_env(args.kb_dir, settings))
        uvicorn.run("triage.web.app:app_from_env", factory=True, workers=args.workers, **options)  # type: ignore[arg-type]
    else:
        uvicorn.run(create_app(engine, settings), **options)  # type: ignore[arg-type]
    return 0


def _cannot_listen(host: str, port: int) -> str | None:
    """Why the address cannot be bound (in use, not ours), checked up front so the user
    gets one line and exit 2 instead of uvicorn's log and exit 1."""
    import socket

    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return str(exc.strerror or exc)
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            return str(exc.strerror or exc)
    return None


def _display_host(host: str) -> str:
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host
