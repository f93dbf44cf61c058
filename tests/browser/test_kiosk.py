"""In a real browser at the kiosk's 1080×1920: the whole booking flow ending with the ticket, the idle
reset, and Back showing nothing of the previous visitor. A screenshot of every step is kept."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlalchemy as sa
from playwright.sync_api import Error as PlaywrightError

from legalaid.bookings.models import Booking
from legalaid.dates import zone
from legalaid.extensions import db
from legalaid.roster import services as roster
from tests.browser.conftest import ARTIFACTS, clock_at

pytestmark = pytest.mark.browser
SHOTS = ARTIFACTS / "kiosk"
NOW = datetime(2026, 12, 10, 10, 0, tzinfo=zone("Asia/Shanghai"))  # a Thursday, a working day
DUTY_DAY = date(2026, 12, 15)  # the coming Tuesday, open, well inside the booking window

clock = clock_at(NOW)


def test_kiosk_booking_ticket_idle_reset_and_back(live_server, chromium, make_station, make_lawyer):
    station = make_station("解放区退役军人法律服务站", address="服务大厅一楼")
    lawyer = make_lawyer(station, name="张明")
    roster.set_shift_lawyer(station, DUTY_DAY, lawyer, "测试排班")
    db.session.commit()
    SHOTS.mkdir(parents=True, exist_ok=True)

    context = chromium.new_context(locale="zh-CN", viewport={"width": 1080, "height": 1920})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    def shot(name: str) -> None:
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    page.goto(f"{live_server}/kiosk/?station={station.id}")
    shot("01-start")
    page.get_by_text("预约法律咨询").first.click()
    shot("02-day")
    page.locator(".kiosk-option").first.click()
    shot("03-time")
    page.locator("a.kiosk-time").first.click()
    shot("04-matter")
    page.get_by_text("劳动争议").click()
    # The name's handwriting and pinyin pads appear when the page's scripts have run, moving the number
    # pad below them: a tap before that can land where the pad was.
    page.locator("#name-tools").wait_for()
    page.get_by_label("您的姓名").fill("李卫国")
    for digit in "13812345678":
        page.locator(f'.kiosk-keypad button[data-key="{digit}"]').click()
    assert page.locator("#mobile").input_value() == "13812345678"
    shot("05-details")
    page.get_by_role("button", name="下一步").click()
    page.locator("#description").fill("单位拖欠工资三个月")
    shot("06-about")
    page.get_by_role("button", name="下一步").click()
    shot("07-consent")
    page.locator("#consent").check()
    page.get_by_role("button", name="下一步").click()
    shot("08-confirm")
    assert "138****5678" in page.content()
    page.get_by_role("button", name="确认预约").click()
    page.wait_for_url("**/kiosk/ticket")
    shot("09-ticket")

    booking = db.session.scalar(sa.select(Booking))
    assert page.locator(".ticket-code").inner_text() == booking.code
    assert page.locator("img.ticket-qr").evaluate("img => img.naturalWidth") > 0
    assert "张明" in page.content()

    # Nobody touches the screen: the countdown appears, then the start screen returns.
    page.locator("#kiosk-idle").wait_for(state="visible", timeout=15_000)
    shot("10-idle-countdown")
    page.wait_for_url(f"{live_server}/kiosk/", timeout=20_000)
    shot("11-after-reset")
    try:
        page.go_back()  # to the confirm page, a POST result that is never stored (no-store)
    except PlaywrightError as error:
        assert "ERR_CACHE_MISS" in str(error)
    page.wait_for_load_state()
    shot("12-after-back")
    html = page.content()
    assert booking.code not in html and "李卫国" not in html and "13812345678" not in html
    assert errors == []
    context.close()
