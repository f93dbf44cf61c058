"""Real Chromium (Debian's /usr/bin/chromium) driven by Playwright against a live server."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
import time_machine
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# As root and on a closed network, Chromium needs these to start quickly and quietly.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def clock_at(instant: datetime) -> Callable[[], Iterator[None]]:
    """An autouse fixture that runs each test of a module at `instant` (aware), for `clock = clock_at(…)`.

    The travel is process-wide, so the live server's threads see it too; it ticks, so the pages' own
    timers and waits still run. Chromium keeps the real clock, which is harmless: it judges a cookie's
    expiry against the server's Date header, which travels with the server.
    """
    if instant.tzinfo is None:
        raise ValueError("give the clock an aware instant")

    @pytest.fixture(autouse=True)
    def clock() -> Iterator[None]:
        with time_machine.travel(instant, tick=True):
            yield

    return clock


def _require_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    reason = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(reason + "; REQUIRE_BROWSER=1 makes this a failure")
    pytest.skip(reason)


@pytest.fixture
def live_server(app_factory) -> Iterator[str]:
    """The app served over HTTP on a free local port; yields its base URL."""
    app = app_factory(KIOSK_IDLE_SECONDS=6)  # the kiosk's idle reset, shortened for the tests
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium for the run."""
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, request):
    """A fresh browser page (own cookies); a screenshot is kept when the test fails."""
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    tab.console_errors = errors
    yield tab
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures can see a failure."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
