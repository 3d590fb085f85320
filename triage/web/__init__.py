"""The web page and HTTP API (`triage serve`) and the static KB site (`triage kb site`).

Needs the `web` extra (Starlette, uvicorn, Jinja2, markdown-it-py, python-multipart);
nothing else in triage imports this package, so the CLI stays fast without it.
"""
