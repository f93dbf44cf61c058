"""Back at the kiosk, in real Chromium with its back/forward cache on (as on a real kiosk; Playwright turns
it off by default): pressed after each step it reaches only kiosk pages that return to the start by
themselves, never the browser's "Confirm Form Resubmission" page, and never a previous visitor's code."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime

import pytest
import sqlalchemy as sa
from playwright.sync_api import Error as PlaywrightError

from legalaid.bookings.models import Booking
from legalaid.dates import zone
from legalaid.extensions import db
from legalaid.roster import services as roster
from tests.browser.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, clock_at

pytestmark = pytest.mark.browser
SHOTS = ARTIFACTS / "kiosk-back"
NOW = datetime(2026, 12, 10, 10, 0, tzinfo=zone("Asia/Shanghai"))  # a Thursday, a working day
DUTY_DAY = date(2026, 12, 15)  # the coming Tuesday

clock = clock_at(NOW)

# What the page shows each time it is shown (a new load or a copy restored from the cache), told to the
# test through the console before any of the kiosk's own scripts can change it.
WATCH = """
window.addEventListener("pageshow", function (event) {
  console.log("shown " + (event.persisted ? "restored" : "loaded") + " " + location.pathname + location.search
              + " | " + (document.body ? document.body.innerText.replace(/\\s+/g, " ") : ""));
});
"""
IS_KIOSK_PAGE = """() => !!document.body && document.body.classList.contains("kiosk")
  && Number(document.body.dataset.idleSeconds) > 0 && !!document.body.dataset.resetUrl
  && !!document.getElementById("kiosk-idle")"""


@pytest.fixture(scope="module")
def bfcache_chromium(chromium) -> Iterator[object]:
    """Chromium with its back/forward cache on, also for pages sent with Cache-Control: no-store
    (launched through the run's Playwright: a second sync Playwright in one process is refused)."""
    browser = chromium.browser_type.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[
            *CHROMIUM_ARGS,
            "--enable-features=BackForwardCache,CacheControlNoStoreEnterBackForwardCache",
        ],
        ignore_default_args=["--disable-back-forward-cache"],
    )
    yield browser
    browser.close()


@pytest.fixture
def hall(make_station, make_lawyer):
    station = make_station("解放区退役军人法律服务站", address="服务大厅一楼")
    roster.set_shift_lawyer(station, DUTY_DAY, make_lawyer(station, name="张明"), "测试排班")
    db.session.commit()
    return station


class Kiosk:
    """One browser window at the kiosk, with what every page showed."""

    def __init__(self, browser, base: str, station_id: int) -> None:
        self.context = browser.new_context(locale="zh-CN", viewport={"width": 1080, "height": 1920})
        self.context.add_init_script(WATCH)
        self.page = self.context.new_page()
        self.shown: list[str] = []
        self.errors: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.base, self.station_id = base, station_id

    def _console(self, message) -> None:
        if message.text.startswith("shown "):
            self.shown.append(message.text)
        elif message.type == "error":
            self.errors.append(message.text)

    def walk(self, steps: int, mobile: str, name: str = "李卫国") -> None:
        """Take the first `steps` steps of a booking (9: the ticket; 10: "Done" after it)."""
        page = self.page
        page.goto(f"{self.base}/kiosk/?station={self.station_id}")
        actions = [
            lambda: page.get_by_text("预约法律咨询").first.click(),
            lambda: page.locator(".kiosk-option").first.click(),
            lambda: page.locator("a.kiosk-time").first.click(),
            lambda: page.get_by_text("劳动争议").click(),
            # The details refused once (a page shown in answer to its own form), then given.
            lambda: page.get_by_role("button", name="下一步").click(),
            lambda: self._details(name, mobile),
            lambda: (page.locator("#description").fill("单位拖欠工资三个月"), self._next()),
            lambda: (page.locator("#consent").check(), self._next()),
            lambda: page.get_by_role("button", name="确认预约").click(),
            lambda: page.get_by_role("link", name="完成").click(),
        ]
        for action, address in list(zip(actions, ADDRESSES, strict=True))[:steps]:
            action()
            page.wait_for_url(re.compile(address + "$"))
            page.wait_for_load_state()

    def _next(self) -> None:
        self.page.get_by_role("button", name="下一步").click()

    def _details(self, name: str, mobile: str) -> None:
        self.page.get_by_label("您的姓名").fill(name)
        self.page.locator("#mobile").fill(mobile)
        self._next()

    def back(self) -> str:
        """Press Back, as a visitor would (the browser's "Confirm Form Resubmission" page fails it here:
        ERR_CACHE_MISS), and return the page that settles once a restored copy has reset itself."""
        self.shown.clear()
        self.page.go_back(wait_until="load")
        return self.settled()

    def settled(self) -> str:
        """The HTML of the kiosk page the window settles on, or "" if it shows anything else."""
        for _ in range(20):
            self.page.wait_for_timeout(250)
            try:
                self.page.wait_for_load_state("load")
                if self.page.url.startswith(self.base + "/kiosk") and self.page.evaluate(IS_KIOSK_PAGE):
                    return self.page.content()
            except PlaywrightError:  # navigating (a restored copy going back to the start): wait
                continue
        return ""

    def close(self) -> None:
        self.context.close()


# Where each step lands (a page shown again with its messages has its step's address, put there by the page).
ADDRESSES = [
    r"/kiosk/days",
    r"/kiosk/day/\d+",
    r"/kiosk/slot/\d+",
    r"/kiosk/slot/\d+/labour",
    r"/kiosk/visit\?step=details",
    r"/kiosk/visit\?step=about",
    r"/kiosk/visit\?step=consent",
    r"/kiosk/visit\?step=confirm",
    r"/kiosk/ticket",
    r"/kiosk/",
]
STEP_NAMES = [
    "start",
    "days",
    "times",
    "matter",
    "details-refused",
    "about",
    "consent",
    "confirm",
    "ticket",
    "done",
]


@pytest.mark.parametrize("steps", range(1, 11), ids=STEP_NAMES)
def test_back_after_each_step_reaches_only_kiosk_pages(live_server, bfcache_chromium, hall, steps):
    kiosk = Kiosk(bfcache_chromium, live_server, hall.id)
    mobile = f"1391234{steps:04d}"
    try:
        kiosk.walk(steps, mobile)
        code = db.session.scalar(sa.select(Booking.code).where(Booking.channel == "kiosk"))
        html = kiosk.back()
        SHOTS.mkdir(parents=True, exist_ok=True)
        kiosk.page.screenshot(path=str(SHOTS / f"{steps:02d}-{STEP_NAMES[steps - 1]}-back.png"))
        assert html, f"not a kiosk page: {kiosk.page.url}"
        if steps >= 9:
            assert code and code not in html
        if steps == 10:  # "Done": the next visitor sees nothing of this one, not even for a moment
            assert all(
                code not in seen and mobile[-4:] not in seen and "李卫国" not in seen for seen in kiosk.shown
            )
            assert "李卫国" not in html and kiosk.page.url.endswith("/kiosk/")
        assert kiosk.errors == []
    finally:
        kiosk.close()


def test_done_then_back_never_shows_the_ticket_and_the_kiosk_starts_again(
    live_server, bfcache_chromium, hall
):
    kiosk = Kiosk(bfcache_chromium, live_server, hall.id)
    try:
        kiosk.walk(9, "13912340099")
        code = kiosk.page.locator(".ticket-code").inner_text()
        assert code == db.session.scalar(sa.select(Booking.code))
        kiosk.page.get_by_role("link", name="完成").click()
        kiosk.page.wait_for_url(f"{live_server}/kiosk/")
        for _ in range(4):  # Back, again and again, into the history
            html = kiosk.back()
            assert html and code not in html, kiosk.page.url
            assert all(code not in seen and "13912340099" not in seen for seen in kiosk.shown), kiosk.shown
        # Left alone, whatever Back reached returns to the start screen by itself.
        kiosk.page.wait_for_url(f"{live_server}/kiosk/", timeout=20_000)
        assert kiosk.errors == []
    finally:
        kiosk.close()


def test_a_step_address_from_the_history_lands_on_a_kiosk_page(live_server, bfcache_chromium, hall):
    kiosk = Kiosk(bfcache_chromium, live_server, hall.id)
    try:
        kiosk.page.goto(f"{live_server}/kiosk/visit")
        html = kiosk.settled()
        assert kiosk.page.url == f"{live_server}/kiosk/" and html and "登录" not in html
        response = kiosk.page.goto(f"{live_server}/kiosk/no-such-page")
        assert response.status == 404 and kiosk.settled()
        kiosk.page.wait_for_url(f"{live_server}/kiosk/", timeout=20_000)  # the idle reset
    finally:
        kiosk.close()


def test_a_page_restored_from_the_cache_is_blank_until_the_kiosk_has_reset(
    live_server, bfcache_chromium, hall
):
    """Chromium keeps a no-store page for Back unless a cookie changed since: a copy it restores was emptied
    on pagehide, and the kiosk starts again from it."""
    kiosk = Kiosk(bfcache_chromium, live_server, hall.id)
    cdp = kiosk.context.new_cdp_session(kiosk.page)
    cdp.send("Page.enable")
    reasons: list = []
    cdp.on("Page.backForwardCacheNotUsed", lambda e: reasons.append(e["notRestoredExplanations"]))
    try:
        kiosk.walk(3, "13912340100")
        kiosk.shown.clear()
        kiosk.back()
        kiosk.page.go_forward(wait_until="load")
        kiosk.back()
        restored = [seen for seen in kiosk.shown if seen.startswith("shown restored")]
        assert restored, (reasons, kiosk.shown)  # the cache was used: what follows is not vacuous
        assert all(hall.name not in seen and "劳动争议" not in seen for seen in restored), restored
        assert kiosk.errors == []
    finally:
        kiosk.close()
