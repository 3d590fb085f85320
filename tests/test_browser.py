"""The paste page, result page and KB pages in a real browser: headless Chromium
driven by Selenium against uvicorn on loopback. One browser for the module.

Screenshots (desktop and a 390 px phone width) are saved under pytest's tmp dir;
with TRIAGE_UPDATE_SCREENSHOTS=1 they are also copied into docs/screenshots/."""

from __future__ import annotations

import base64
import os
import shutil
import socket
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

pytest.importorskip("starlette")
webdriver = pytest.importorskip("selenium.webdriver")
uvicorn = pytest.importorskip("uvicorn")

from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from triage.engine import Engine  # noqa: E402
from triage.web.app import Settings, create_app  # noqa: E402

TESTS = Path(__file__).absolute().parent
ROOT = TESTS.parent
EXAMPLE = ROOT / "examples" / "koboldcpp-metal-ggml-common-h.log"
DOCS = ROOT / "docs" / "screenshots"
PHONE = (390, 844)


def _find(*names: str) -> str | None:
    for name in names:
        path = shutil.which(name) or (name if os.path.isabs(name) and os.access(name, os.X_OK) else None)
        if path:
            return path
    return None


CHROMIUM = _find("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
DRIVER = _find("/usr/bin/chromedriver", "chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="no Chromium and chromedriver found (Debian: apt-get install -y chromium chromium-driver)",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    engine = Engine.build(cache_dir=tmp_path_factory.mktemp("cache"))
    port = _free_port()
    config = uvicorn.Config(create_app(engine, Settings(rate_limit=None)), host="127.0.0.1", port=port,
                            log_level="warning", access_log=False)
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    options = Options()
    options.binary_location = CHROMIUM or ""
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=1280,900", "--hide-scrollbars",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=DRIVER or ""))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


def _screenshot(driver: Any, folder: Path, name: str, max_height: int = 2000) -> Path:
    """A full-page PNG (up to max_height CSS pixels), via DevTools."""
    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    size = metrics.get("cssContentSize") or metrics["contentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], max_height), "scale": 1}
    data = driver.execute_cdp_cmd("Page.captureScreenshot",
                                  {"format": "png", "captureBeyondViewport": True, "clip": clip})["data"]
    path = folder / f"{name}.png"
    path.write_bytes(base64.b64decode(data))
    if os.environ.get("TRIAGE_UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS / path.name)
    return path


def _phone(driver: Any, on: bool) -> None:
    if on:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": PHONE[0], "height": PHONE[1], "deviceScaleFactor": 1, "mobile": True})
    else:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def _csp_errors(driver: Any) -> list[str]:
    return [e["message"] for e in driver.get_log("browser")
            if "Content Security Policy" in e["message"] or e.get("level") == "SEVERE"]


def _paste_and_submit(driver: Any, base: str, text: str) -> None:
    driver.get(base + "/")
    box = driver.find_element(By.ID, "log")
    # A real paste of 30 kB through send_keys takes long; set the value as a paste would, then type a key.
    driver.execute_cdp_cmd("Runtime.evaluate", {"expression": "0"})  # DevTools is up
    driver.execute_script("arguments[0].value = arguments[1];", box, text)
    box.send_keys(" ")
    driver.find_element(By.ID, "analyse").click()
    WebDriverWait(driver, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, "article.match")))


def test_paste_page_looks_right_and_runs_its_script(browser: Any, server: str, shots: Path) -> None:
    browser.get(server + "/")
    # the module's first page load (a cold Chromium) has once returned before the title was set: wait for it
    WebDriverWait(browser, 10).until(EC.title_contains("triage"))
    assert "triage" in browser.title
    assert browser.find_element(By.ID, "log").is_displayed()
    assert browser.find_element(By.ID, "analyse").text == "Analyse"
    assert "never stored" in browser.find_element(By.TAG_NAME, "footer").text
    # paste.js (a static file under CSP) lists chosen files.
    browser.find_element(By.ID, "files").send_keys(str(EXAMPLE))
    WebDriverWait(browser, 5).until(EC.visibility_of_element_located((By.ID, "filelist")))
    assert EXAMPLE.name in browser.find_element(By.ID, "filelist").text
    browser.get(server + "/")
    _screenshot(browser, shots, "paste")
    _phone(browser, True)
    try:
        browser.get(server + "/")
        assert browser.execute_script("return document.documentElement.scrollWidth") <= PHONE[0]
        _screenshot(browser, shots, "paste-phone")
    finally:
        _phone(browser, False)
    assert not _csp_errors(browser)


def test_pasted_log_gives_the_report(browser: Any, server: str, shots: Path) -> None:
    _paste_and_submit(browser, server, EXAMPLE.read_text(encoding="utf-8"))
    assert browser.title.startswith("Metal shader compile fails: 'ggml-common.h' file not found")
    first = browser.find_element(By.CSS_SELECTOR, "article.match")
    assert "Metal shader compile fails" in first.find_element(By.CSS_SELECTOR, ".mtitle").text
    assert "metal-init-failed" in first.find_element(By.CSS_SELECTOR, "a.kbid").text
    remedies = first.find_elements(By.CSS_SELECTOR, "ol.remedies li")
    assert len(remedies) >= 2 and any("1.61.2" in r.text for r in remedies)
    evidence = first.find_elements(By.CSS_SELECTOR, "ul.evidence a.lno")
    assert evidence
    anchor = evidence[-1].get_attribute("href").rsplit("#", 1)[1]
    line = browser.find_element(By.ID, anchor)
    assert "hit" in line.get_attribute("class").split()
    assert "failed to initialize Metal backend" in line.text
    _screenshot(browser, shots, "result")
    evidence[-1].click()
    assert browser.current_url.endswith("#" + anchor)
    assert browser.execute_script("return document.querySelector(':target').id") == anchor
    _phone(browser, True)
    try:
        _paste_and_submit(browser, server, EXAMPLE.read_text(encoding="utf-8"))
        width = browser.execute_script("return document.documentElement.scrollWidth")
        assert width <= PHONE[0], f"page is {width}px wide on a {PHONE[0]}px phone"
        _screenshot(browser, shots, "result-phone", max_height=2600)
    finally:
        _phone(browser, False)
    assert not _csp_errors(browser)


def test_file_upload_and_kb_link(browser: Any, server: str, shots: Path) -> None:
    browser.get(server + "/")
    browser.find_element(By.ID, "files").send_keys(str(EXAMPLE))
    browser.find_element(By.ID, "analyse").click()
    WebDriverWait(browser, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, "article.match")))
    assert EXAMPLE.name in browser.find_element(By.CSS_SELECTOR, ".filename").text
    browser.find_element(By.CSS_SELECTOR, "article.match a.kbid").click()
    WebDriverWait(browser, 10).until(EC.url_contains("/kb/metal-init-failed"))
    assert browser.find_element(By.TAG_NAME, "h1").text == "Metal backend fails to initialise on macOS"
    headings = [h.text for h in browser.find_elements(By.CSS_SELECTOR, "article.entry h2")]
    assert {"Root cause", "What to do", "Variants", "What you see", "References"} <= set(headings)
    _screenshot(browser, shots, "kb-entry")
    _phone(browser, True)
    try:
        browser.refresh()
        assert browser.execute_script("return document.documentElement.scrollWidth") <= PHONE[0]
        _screenshot(browser, shots, "kb-entry-phone")
    finally:
        _phone(browser, False)
    assert not _csp_errors(browser)


def test_kb_search_filters_as_you_type(browser: Any, server: str, shots: Path) -> None:
    browser.get(server + "/kb")
    items = browser.find_elements(By.CSS_SELECTOR, "#kb-all > li")
    assert len(items) >= 20
    box = browser.find_element(By.ID, "q")
    box.send_keys("out of memory cuda")
    WebDriverWait(browser, 5).until(lambda d: "match" in d.find_element(By.ID, "search-status").text)
    visible = [li for li in browser.find_elements(By.CSS_SELECTOR, "#kb-all > li") if li.is_displayed()]
    assert 0 < len(visible) < len(items)
    assert visible[0].get_attribute("data-id") == "cuda-oom"
    _screenshot(browser, shots, "kb-search", max_height=1200)
    # Enter asks the server's fuzzy search (the no-JavaScript path).
    box.submit()
    WebDriverWait(browser, 10).until(EC.presence_of_element_located((By.ID, "server-results")))
    assert "cuda-oom" in browser.find_element(By.ID, "server-results").text
    assert not _csp_errors(browser)
