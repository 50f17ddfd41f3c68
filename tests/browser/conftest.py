"""Fixtures for tests that drive headless Chromium (marker ``browser``).

Debian's ``chromium`` (``/usr/bin/chromium``) is driven through Playwright with
``executable_path``: Playwright never downloads a browser here.  Where no
Chromium is found, tests/conftest.py deselects these tests and prints how many
did not run and why; with ``CI=true`` they fail instead.

Reusable pieces (an HTML-report test can use them as they are):

``browser_context``  (session) a Chromium context with a fresh profile
``browser_page``     a new page that records console errors and uncaught
                     exceptions: ``BrowserPage.goto(url)``,
                     ``.assert_no_console_errors()``, ``.assert_images_rendered()``
``planner_url``      (session) ``ephys-correct planner --port 0`` running on 127.0.0.1
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: flags for a quiet, offline, throw-away headless browser
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


class BrowserPage:
    """A Playwright page plus what it logged.

    Attributes
    ----------
    page : playwright.sync_api.Page
    console_errors : list of str
        ``console.error`` messages and uncaught exceptions, in order.
    """

    def __init__(self, page):
        self.page = page
        self.console_errors: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.console_errors.append(f"uncaught: {exc}"))

    def _on_console(self, msg) -> None:
        if msg.type == "error":
            loc = msg.location or {}
            self.console_errors.append(f"{msg.text} ({loc.get('url', '')}:{loc.get('lineNumber', '')})")

    def goto(self, url: str, wait_until: str = "load") -> None:
        """Load *url* (``wait_until``: "load", "domcontentloaded" or "networkidle")."""
        resp = self.page.goto(url, wait_until=wait_until)
        assert resp is None or resp.ok, f"{url}: HTTP {resp.status}"

    def assert_no_console_errors(self) -> None:
        assert self.console_errors == [], "console errors:\n" + "\n".join(self.console_errors)

    def assert_images_rendered(self) -> int:
        """Every <img> decoded with a size, every <svg>/<canvas> laid out with a size; returns how many."""
        bad = self.page.evaluate("""() => {
            const out = [];
            for (const img of document.images) {
                if (!img.complete || img.naturalWidth === 0) out.push('img ' + (img.currentSrc || img.src).slice(0, 80));
            }
            for (const el of document.querySelectorAll('svg, canvas')) {
                if (el.closest('[hidden]')) continue;
                const r = el.getBoundingClientRect();
                if (r.width < 1 || r.height < 1) out.push(el.tagName + ' ' + (el.id || el.parentElement.id));
                if (el.tagName.toLowerCase() === 'svg' && el.querySelectorAll('*').length === 0) out.push('empty svg');
            }
            return out;
        }""")
        assert bad == [], f"not rendered: {bad}"
        return self.page.evaluate(
            "() => document.images.length + [...document.querySelectorAll('svg, canvas')]"
            ".filter(e => !e.closest('[hidden]')).length")


@pytest.fixture(scope="session")
def browser_context(chromium_path, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        ctx = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=chromium_path, headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1440, "height": 1000}, accept_downloads=True,
        )
        ctx.set_default_timeout(30_000)
        yield ctx
        ctx.close()
    finally:
        pw.stop()


@pytest.fixture
def browser_page(browser_context):
    page = browser_context.new_page()
    bp = BrowserPage(page)
    yield bp
    page.close()


def _warm_up(url: str) -> None:
    import json
    import urllib.request

    try:
        with urllib.request.urlopen(url + "api/solutions/internal_k_gluconate", timeout=30) as r:
            pipette = json.load(r)["recipe"]
        with urllib.request.urlopen(url + "api/solutions/acsf_carbogen_standard", timeout=30) as r:
            bath = json.load(r)["recipe"]
        body = json.dumps({"pipette": pipette, "bath": bath, "temperature_c": 22, "ljp_temperature_c": 22})
        req = urllib.request.Request(url + "api/evaluate", data=body.encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            r.read()
    except OSError:
        pass  # only a warm-up: the tests report what does not work


@pytest.fixture(scope="session")
def planner_url(tmp_path_factory):
    """The planner served by its command line on 127.0.0.1 and a free port."""
    log = tmp_path_factory.mktemp("planner") / "stderr.txt"
    with open(log, "w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ephys_correct", "planner", "--port", "0"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=err, text=True,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )
    lines: queue.Queue = queue.Queue()

    def read():
        for line in proc.stdout:
            lines.put(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        try:
            first = lines.get(timeout=60)
        except queue.Empty:
            first = ""
        if "http://127.0.0.1:" not in first:
            raise RuntimeError(f"the planner did not start: {first!r}\n{log.read_text()}")
        url = first.split("planner: ", 1)[1].strip()
        # warm the server up (imports, caches) while the browser starts
        warm = threading.Thread(target=_warm_up, args=(url,), daemon=True)
        warm.start()
        yield url
        warm.join(timeout=30)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader.join(timeout=5)
        proc.stdout.close()
