"""The web app and HTTP API (issue 15) through Starlette's TestClient: the API's JSON
is the CLI's, the limits answer 413/405/422/429/503, every response carries the
security headers, and nothing from a log reaches the page unescaped."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import warnings
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("starlette")
pytest.importorskip("jinja2")
pytest.importorskip("markdown_it")
with warnings.catch_warnings():
    # Starlette 1.x would rather drive its TestClient with `httpx2`; `httpx` (in the test extra) still works.
    warnings.filterwarnings("ignore", message=".*httpx2.*")
    from starlette.testclient import TestClient  # noqa: E402

from triage.engine import Engine  # noqa: E402
from triage.render import report_dict  # noqa: E402
from triage.web.app import Settings, create_app  # noqa: E402
from triage.web.limits import SlidingWindow, parse_rate  # noqa: E402

TESTS = Path(__file__).absolute().parent
ROOT = TESTS.parent
CORPUS = sorted((TESTS / "corpus").glob("*.log"))
EXAMPLE = ROOT / "examples" / "koboldcpp-metal-ggml-common-h.log"
HOSTILE = (
    b"llama_new_context_with_model: failed to initialize Metal backend <script>alert(1)</script>\n"
    b'ggml_metal_init: error: "><img src=x onerror=alert(2)> \'-alert(3)-\' javascript:alert(4)\n'
    b"[click](javascript:alert(5)) `code` {{placeholder}} @everyone\n"
)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return Engine.build(cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def client(engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(engine, Settings(rate_limit=None))) as c:
        yield c


def _cli_json(engine: Engine, data: bytes) -> dict[str, Any]:
    """What `triage --format json` prints for this input, through the same renderer."""
    return json.loads(json.dumps(report_dict(engine.analyse(data)), ensure_ascii=False))


def test_corpus_is_there() -> None:
    assert len(CORPUS) >= 50


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_api_json_is_the_cli_json_for_every_corpus_log(client: TestClient, engine: Engine, path: Path) -> None:
    data = path.read_bytes()
    response = client.post("/api/v1/triage", content=data, headers={"content-type": "text/plain"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == _cli_json(engine, data)


def test_api_json_equals_a_real_cli_subprocess(client: TestClient) -> None:
    picks = [EXAMPLE, CORPUS[0], CORPUS[len(CORPUS) // 2], CORPUS[-1]]
    for path in picks:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        out = subprocess.run([sys.executable, "-m", "triage", "--format", "json", str(path)],
                             capture_output=True, cwd=ROOT, env=env, timeout=120)
        assert out.returncode in (0, 1), out.stderr.decode()
        api = client.post("/api/v1/triage", content=path.read_bytes()).json()
        cli = json.loads(out.stdout)
        # The CLI names the file it read ("file", CONTRACT §3 allows added keys); a raw API body has no name.
        assert cli.pop("file", str(path)) == str(path)
        # Which keyword scanner ran belongs to the process, not the answer: a one-shot CLI run uses bytes.find, a
        # server that has seen WARM_SCANS logs the fast scanner (same offsets, tests/test_speed_paths.py).
        scanners = {"hyperscan", "ahocorasick", "python"}
        assert api["diagnostics"].pop("scanner") in scanners and cli["diagnostics"].pop("scanner") in scanners
        assert api == cli, path.name


def test_api_multipart_gives_one_object_per_file_in_order(client: TestClient, engine: Engine) -> None:
    a, b = EXAMPLE.read_bytes(), CORPUS[0].read_bytes()
    response = client.post("/api/v1/triage", files=[
        ("files", ("first.log", a, "text/plain")),
        ("files", ("C:\\Users\\alice\\second.txt", b, "text/plain")),
        ("files", ("model.bin", bytes(range(256)) * 8, "application/octet-stream")),
    ])
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["file"] for r in results] == ["first.log", "second.txt", "model.bin"]
    assert results[0] == {"file": "first.log", **_cli_json(engine, a)}
    assert results[1] == {"file": "second.txt", **_cli_json(engine, b)}
    assert "binary" in results[2]["error"]


def test_api_multipart_pasted_field_counts_as_a_log(client: TestClient) -> None:
    response = client.post("/api/v1/triage", files={"log": (None, EXAMPLE.read_text())})
    assert response.status_code == 200
    (only,) = response.json()["results"]
    assert only["file"] == "pasted log"
    assert only["matches"][0]["kb_id"] == "metal-init-failed"


@pytest.mark.parametrize("body", [b"", b"   \n\n", b"\x00\x01\x02\x03\xff\xfe" * 100, bytes(range(256)) * 8])
def test_api_rejects_empty_and_binary_with_a_message(client: TestClient, body: bytes) -> None:
    response = client.post("/api/v1/triage", content=body)
    assert response.status_code == 422
    message = response.json()["error"]
    assert message and ("empty" in message or "binary" in message)


def test_api_malformed_multipart_is_400(client: TestClient) -> None:
    response = client.post("/api/v1/triage", content=b"--x\r\nContent-Disposition: form-data; name=\"files\"\r\n",
                           headers={"content-type": "multipart/form-data; boundary=y"})
    assert response.status_code in (400, 200)
    if response.status_code == 200:  # python-multipart may treat a foreign preamble as empty
        assert response.json() == {"results": []} or "results" in response.json()


def test_form_with_too_many_fields_is_400(client: TestClient) -> None:
    response = client.post("/", content="&".join(f"f{i}=x" for i in range(50)).encode(),
                           headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400 and "could not be read" in response.text


def test_wrong_method_is_405(client: TestClient) -> None:
    assert client.get("/api/v1/triage").status_code == 405
    assert client.put("/api/v1/triage", content=b"x").status_code == 405
    assert client.delete("/").status_code == 405
    assert client.post("/api/v1/kb").status_code == 405
    assert client.post("/healthz").status_code == 405


def test_oversize_declared_body_is_413_before_reading(engine: Engine) -> None:
    with TestClient(create_app(engine, Settings(max_body_bytes=1000, rate_limit=None))) as c:
        response = c.post("/api/v1/triage", content=b"a" * 1001)
        assert response.status_code == 413
        assert "limit" in response.json()["error"]
        assert c.post("/api/v1/triage", content=b"llama.cpp log line\n" * 10).status_code == 200
        page = c.post("/", content=b"a" * 5000, headers={"content-type": "application/x-www-form-urlencoded"})
        assert page.status_code == 413 and "text/html" in page.headers["content-type"]


def test_oversize_streamed_body_without_length_is_413(engine: Engine) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(5):
            yield b"b" * 400

    with TestClient(create_app(engine, Settings(max_body_bytes=1000, rate_limit=None))) as c:
        response = c.post("/api/v1/triage", content=chunks())
        assert "content-length" not in {k.lower() for k in response.request.headers}
        assert response.status_code == 413
        form = c.post("/", content=chunks(), headers={"content-type": "multipart/form-data; boundary=z"})
        assert form.status_code == 413


def test_default_limit_is_8_mib(engine: Engine) -> None:
    with TestClient(create_app(engine, Settings(rate_limit=None))) as c:
        assert c.post("/api/v1/triage", content=b"x" * (8 * 1024 * 1024 + 1)).status_code == 413


def test_rate_limit_is_429_with_retry_after(engine: Engine) -> None:
    with TestClient(create_app(engine, Settings(rate_limit="2/60"))) as c:
        for _ in range(2):
            assert c.post("/api/v1/triage", content=b"hello from llama.cpp\n").status_code == 200
        response = c.post("/api/v1/triage", content=b"hello from llama.cpp\n")
        assert response.status_code == 429
        assert 1 <= int(response.headers["retry-after"]) <= 60
        assert "Too many requests" in response.json()["error"]
        assert response.headers["x-content-type-options"] == "nosniff"
        page = c.post("/", data={"log": "x"})
        assert page.status_code == 429 and "text/html" in page.headers["content-type"]
        # Reading pages is not counted.
        assert c.get("/kb").status_code == 200


def test_sliding_window_forgets_old_events() -> None:
    now = [0.0]
    window = SlidingWindow(2, 10, clock=lambda: now[0], max_keys=2)
    assert window.hit("a") == 0 and window.hit("a") == 0
    assert window.hit("a") == pytest.approx(10)
    now[0] = 10.5
    assert window.hit("a") == 0
    window.hit("b")
    window.hit("c")  # more clients than max_keys: the least recently seen is dropped
    assert len(window._events) == 2


@pytest.mark.parametrize("text", ["", "x/60", "0/60", "5/0", "5/-1", "5/nan", "5/inf"])
def test_bad_rate_limits_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="rate limit"):
        parse_rate(text)


def test_slow_analysis_is_503(engine: Engine) -> None:
    class Slow:
        kb = engine.kb

        def analyse(self, data: bytes | str, *, redact: bool = True) -> Any:
            time.sleep(1.0)
            return engine.analyse(data)

    with TestClient(create_app(Slow(), Settings(timeout=0.2, rate_limit=None))) as c:  # type: ignore[arg-type]
        response = c.post("/api/v1/triage", content=b"log\n")
        assert response.status_code == 503 and response.headers["retry-after"]
        page = c.post("/", data={"log": "log"})
        assert page.status_code == 503 and "too long" in page.text


ALLOWED_TAGS = {"html", "head", "meta", "title", "link", "body", "header", "nav", "a", "span", "main", "footer", "p",
                "section", "article", "h1", "h2", "h3", "h4", "code", "ul", "ol", "li", "strong", "details",
                "summary", "div", "table", "tr", "th", "td", "script", "br"}

SECURITY = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


@pytest.mark.parametrize("method,path", [
    ("GET", "/"), ("GET", "/kb"), ("GET", "/kb/metal-init-failed"), ("GET", "/kb/no-such-entry"),
    ("GET", "/api/v1/kb"), ("GET", "/api/v1/openapi.json"), ("GET", "/healthz"), ("GET", "/static/style.css"),
    ("GET", "/static/paste.js"), ("GET", "/nowhere"), ("GET", "/api/v1/triage"), ("POST", "/api/v1/triage"),
])
def test_security_headers_on_every_response(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path, content=b"" if method == "POST" else None)
    for name, value in SECURITY.items():
        assert response.headers[name] == value, (path, name)
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def _assert_no_inline_code(html: str) -> None:
    """CSP forbids inline scripts and styles; the pages must not need them, and no
    element may carry a handler or a script URL."""
    for tag, attrs in _tags(html):
        assert tag != "style", "inline <style>"
        assert tag != "script" or attrs.get("src"), "inline <script>"
        assert "style" not in attrs, f"style attribute on <{tag}>"
        assert not [a for a in attrs if a.startswith("on")], f"event handler on <{tag}>"
        for name in ("href", "src", "action"):
            assert not (attrs.get(name) or "").strip().lower().startswith(("javascript:", "data:")), (tag, attrs)


def test_pages_have_viewport_and_no_inline_code(client: TestClient) -> None:
    for path in ("/", "/kb", "/kb?q=metal", "/kb/metal-init-failed", "/kb/nope"):
        html = client.get(path).text
        assert '<meta name="viewport"' in html, path
        _assert_no_inline_code(html)


def test_hostile_log_renders_inert(client: TestClient) -> None:
    response = client.post("/", files=[("files", ('"><img src=x onerror=alert(9)>.log', HOSTILE, "text/plain"))],
                           data={"log": HOSTILE.decode()})
    assert response.status_code == 200
    html = response.text
    _assert_no_inline_code(html)
    assert "<script>alert" not in html and "<img" not in html
    assert {tag for tag, _ in _tags(html)} <= ALLOWED_TAGS
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="javascript' not in html.lower()
    assert "@everyone" not in html  # redaction breaks mass mentions in every output


def test_form_post_without_javascript_shows_the_report(client: TestClient) -> None:
    data = EXAMPLE.read_bytes()
    expected = client.post("/api/v1/triage", content=data).json()
    top = expected["matches"][0]
    response = client.post("/", data={"log": data.decode()})  # urlencoded: a form without enctype
    assert response.status_code == 200
    html = response.text
    assert "metal-init-failed" in html
    first_line = top["evidence"][0]["line"]
    assert re.search(rf'<div class="ln hit" id="L{first_line}">', html)
    assert f'href="#L{first_line}"' in html
    assert "Root cause" in html and "What to do" in html and "Facts from the log" in html
    assert "never stored" in html
    multipart = client.post("/", files={"files": ("kobold.log", data, "text/plain")}, data={"log": ""})
    assert multipart.status_code == 200 and "kobold.log" in multipart.text
    assert 'href="/kb/metal-init-failed"' in multipart.text


def test_several_files_get_one_report_each_with_distinct_anchors(client: TestClient) -> None:
    response = client.post("/", files=[("files", ("a.log", EXAMPLE.read_bytes(), "text/plain")),
                                       ("files", ("b.log", EXAMPLE.read_bytes(), "text/plain"))])
    html = response.text
    assert response.status_code == 200
    assert 'id="L14"' in html and 'id="f2-L14"' in html
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids))


def test_empty_form_asks_for_a_log(client: TestClient) -> None:
    response = client.post("/", files={"files": ("", b"", "application/octet-stream")}, data={"log": "  "})
    assert response.status_code == 422
    assert "Paste a log" in response.text


def test_binary_file_in_form_is_explained(client: TestClient) -> None:
    response = client.post("/", files={"files": ("x.gguf", b"GGUF\x00\x00\x00\x03" + bytes(500), "application/octet-stream")})
    assert response.status_code == 422
    assert "x.gguf" in response.text and "binary" in response.text


def test_unmatched_log_shows_key_lines_completeness_and_followup(client: TestClient) -> None:
    log = b"starting server\nloading model\nerror: something odd happened at step 3\n"
    html = client.post("/", data={"log": log.decode()}).text
    assert "No known problem recognised" in html
    assert "Completeness" in html
    assert 'id="L3"' in html


def test_kb_pages(client: TestClient, engine: Engine) -> None:
    listing = client.get("/kb")
    assert listing.status_code == 200
    for kb_id, entry in engine.kb.entries.items():
        assert f'href="/kb/{kb_id}"' in listing.text
        page = client.get(f"/kb/{kb_id}")
        assert page.status_code == 200, kb_id
        assert "References" in page.text and "What to do" in page.text
        assert client.get(f"/kb/{kb_id}/").status_code == 200
        _assert_no_inline_code(page.text)
    entry_page = client.get("/kb/metal-init-failed").text
    assert "What you see" in entry_page  # the entry's Markdown prose
    assert "Variants" in entry_page and "Affected versions" in entry_page
    assert "KoboldCpp" in entry_page  # remedies grouped under the runtime's display name
    assert "{{" not in entry_page
    assert client.get("/kb/nope").status_code == 404


def test_kb_search(client: TestClient) -> None:
    html = client.get("/kb", params={"q": "ggml-common.h file not found metal"}).text
    assert "results for" in html
    results = html.split('id="server-results"')[1].split("</section>")[0]
    assert "/kb/metal-init-failed" in results
    api = client.get("/api/v1/kb", params={"q": "address already in use port"}).json()
    assert api["results"][0]["id"] == "port-already-in-use"


def test_kb_api(client: TestClient, engine: Engine) -> None:
    listing = client.get("/api/v1/kb").json()
    assert {e["id"] for e in listing["entries"]} == set(engine.kb.entries)
    entry = client.get("/api/v1/kb/metal-init-failed").json()
    assert entry["id"] == "metal-init-failed" and entry["variants"] and entry["references"]
    assert "## What you see" in entry["body"]
    missing = client.get("/api/v1/kb/nope")
    assert missing.status_code == 404 and missing.json()["error"]


def test_openapi_describes_every_api_route(client: TestClient) -> None:
    doc = client.get("/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert set(doc["paths"]) == {"/api/v1/triage", "/api/v1/kb", "/api/v1/kb/{id}", "/healthz"}
    responses = doc["paths"]["/api/v1/triage"]["post"]["responses"]
    assert {"200", "413", "422", "429"} <= set(responses)


def test_healthz(client: TestClient, engine: Engine) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "entries": len(engine.kb.entries),
                                             "signatures": len(engine.kb.signatures)}


def test_root_path_behind_a_proxy(engine: Engine) -> None:
    app = create_app(engine, Settings(rate_limit="1/60"))
    with TestClient(app, root_path="/triage") as c:
        page = c.get("/triage/kb")
        assert page.status_code == 200
        assert 'href="/triage/kb/metal-init-failed"' in page.text
        assert 'href="/triage/static/style.css"' in page.text
        assert c.get("/triage/static/style.css").status_code == 200
        assert c.post("/triage/api/v1/triage", content=b"x\n").status_code == 200
        limited = c.post("/triage/api/v1/triage", content=b"x\n")
        assert limited.status_code == 429 and limited.json()["error"]  # JSON under the prefix too
        assert c.get("/triage/api/v1/nope").json()["error"]


class _FakeUvicorn:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, dict[str, Any]]] = []

    def run(self, app: Any, **options: Any) -> None:
        self.calls.append((app, options))


@pytest.fixture
def fake_uvicorn(monkeypatch: pytest.MonkeyPatch) -> _FakeUvicorn:
    import uvicorn

    fake = _FakeUvicorn()
    monkeypatch.setattr(uvicorn, "run", fake.run)
    return fake


def test_serve_main_builds_one_app_and_keeps_no_access_log(fake_uvicorn: _FakeUvicorn,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    from triage.web.cli import serve_main

    assert serve_main(["--port", "0"]) == 0
    ((app, options),) = fake_uvicorn.calls
    assert callable(app)
    assert options["host"] == "127.0.0.1" and options["port"] == 0
    assert options["access_log"] is False  # no client address or path of a user in the server's logs
    assert "http://127.0.0.1:0/" in capsys.readouterr().err


def test_serve_main_workers_use_the_factory(fake_uvicorn: _FakeUvicorn, monkeypatch: pytest.MonkeyPatch) -> None:
    from triage.web import app as app_module
    from triage.web.cli import serve_main

    for key in ("TRIAGE_WEB_KB_DIRS", "TRIAGE_WEB_SETTINGS"):
        monkeypatch.setenv(key, "{}")  # serve_main sets them for its workers; undone after the test
    assert serve_main(["--port", "0", "--workers", "3", "--rate-limit", "5/10", "--max-body-mib", "2"]) == 0
    ((target, options),) = fake_uvicorn.calls
    assert target == "triage.web.app:app_from_env" and options["factory"] and options["workers"] == 3
    worker_app = app_module.app_from_env()  # what each worker process builds
    with TestClient(worker_app) as c:
        assert c.post("/api/v1/triage", content=b"x" * (2 * 1024 * 1024 + 1)).status_code == 413


@pytest.mark.parametrize("argv,message", [
    (["--port", "70000"], "--port"),
    (["--rate-limit", "lots"], "rate limit"),
    (["--max-body-mib", "0"], "--max-body-mib"),
    (["--kb-dir", "/nonexistent/kb"], "not a directory"),
    (["--root-path", "triage/"], "--root-path"),
    (["--bogus"], "unrecognized"),
])
def test_serve_main_bad_options_exit_2_with_one_line(argv: list[str], message: str, fake_uvicorn: _FakeUvicorn,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from triage.web.cli import serve_main

    try:
        code = serve_main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not fake_uvicorn.calls


def test_serve_main_port_in_use_exits_2(fake_uvicorn: _FakeUvicorn, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    from triage.web.cli import serve_main

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert serve_main(["--port", str(port)]) == 2
    assert "cannot listen" in capsys.readouterr().err
    assert not fake_uvicorn.calls


def test_stalled_upload_is_408(engine: Engine) -> None:
    """A client that starts a body and never finishes it is cut off, not waited for."""
    import anyio

    app = create_app(engine, Settings(rate_limit=None, read_timeout=0.2))
    sent: list[dict[str, Any]] = []

    async def run() -> None:
        messages = [{"type": "http.request", "body": b"first part of a log\n", "more_body": True}]

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop()
            await anyio.sleep(30)  # the rest never comes
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": "/api/v1/triage", "raw_path": b"/api/v1/triage", "root_path": "",
                 "query_string": b"", "headers": [(b"content-type", b"text/plain")], "client": ("127.0.0.1", 1),
                 "server": ("127.0.0.1", 80)}
        with anyio.fail_after(5):
            await app(scope, receive, send)

    anyio.run(run)
    assert sent[0]["status"] == 408
    assert b"did not arrive" in sent[1]["body"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=2048),
       content_type=st.sampled_from(["text/plain", "application/octet-stream", "application/x-www-form-urlencoded",
                                     "multipart/form-data; boundary=b", "multipart/form-data", ""]),
       path=st.sampled_from(["/", "/api/v1/triage"]))
def test_any_body_gets_an_answer_never_a_500(client: TestClient, body: bytes, content_type: str, path: str) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = client.post(path, content=body, headers=headers)
    assert response.status_code in (200, 400, 413, 422), (response.status_code, response.text[:200])


def test_result_page_says_the_nearest_entries_rest_on_wording(client: TestClient) -> None:
    """The page carries the CLI's note: no runtime was recognised in Node's own EADDRINUSE paste (round 50n)."""
    log = ("Error: listen EADDRINUSE: address already in use :::5000\n    at Server.setupListenHandle [as _listen2]"
           " (node:net:1872:16)\n  code: 'EADDRINUSE',\n  syscall: 'listen',\n  port: 5000\n")
    html = client.post("/", data={"log": log}).text
    assert "Nearest KB entries" in html and "port-already-in-use" in html
    assert "By wording only; no llama.cpp-family program was recognised" in html
