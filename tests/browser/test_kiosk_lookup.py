"""The kiosk's look-up, move and cancel in real Chromium at the kiosk's 1080×1920, with the on-screen pads
only (the inputs are read-only: no system keyboard comes up); screenshots of every step are kept."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import date, datetime

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from legalaid.bookings import services as bookings
from legalaid.bookings.models import Booking, Slot
from legalaid.dates import zone
from legalaid.extensions import db
from legalaid.roster import services as roster
from tests.browser.conftest import ARTIFACTS, clock_at
from tests.browser.test_accessibility import Audit

pytestmark = pytest.mark.browser
SHOTS = ARTIFACTS / "kiosk-lookup"
NOW = datetime(2026, 12, 10, 10, 0, tzinfo=zone("Asia/Shanghai"))  # a Thursday, a working day
DUTY_DAY = date(2026, 12, 15)  # the coming Tuesday
MOBILE = "13812345678"

clock = clock_at(NOW)


@pytest.fixture
def booking(make_station, make_lawyer) -> Booking:
    station = make_station("解放区退役军人法律服务站", address="服务大厅一楼")
    shift = roster.set_shift_lawyer(station, DUTY_DAY, make_lawyer(station, name="张明"), "测试排班")
    slot = db.session.scalars(
        sa.select(Slot).where(Slot.shift_id == shift.id).order_by(Slot.starts_at)
    ).first()
    made = bookings.place_booking(
        bookings.BookingRequest(
            slot_id=slot.id,
            name="李卫国",
            mobile=MOBILE,
            category="labour",
            channel="kiosk",
            idempotency_key="b" * 24,
            consent=True,
            description="单位拖欠工资三个月",
        )
    )
    db.session.commit()
    return made


def test_kiosk_lookup_move_and_cancel_with_the_pads_only(live_server, chromium, booking):
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1080, "height": 1920})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def shot(name: str) -> None:
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    def tap(pad: str, key: str) -> None:
        page.locator(f'[data-keypad-for="{pad}"] button[data-key="{key}"]').click()

    page.goto(f"{live_server}/kiosk/?station={booking.shift.station_id}")
    shot("01-start")
    page.locator("#start-lookup").click()
    page.wait_for_url("**/kiosk/lookup")

    # The code on the letter-and-digit pad; the inputs take no typing of their own on the kiosk.
    code, last4 = page.locator("#code"), page.locator("#last4")
    assert code.evaluate("el => el.readOnly") and last4.evaluate("el => el.readOnly")
    assert code.get_attribute("inputmode") == "none"
    keys = page.locator('[data-keypad-for="code"] button')
    assert keys.count() == len(bookings.CODE_ALPHABET) + 1
    for i in range(keys.count()):
        box = keys.nth(i).bounding_box()
        assert box["width"] >= 64 and box["height"] >= 64
    assert page.locator("[data-pad-next]").is_disabled()
    tap("code", "Z")  # a slip, taken back
    tap("code", "back")
    for key in booking.code:
        tap("code", key)
    assert code.input_value() == booking.code
    assert not last4.is_visible()  # one step at a time
    shot("02-code-pad")
    page.locator("[data-pad-next]").click()

    # The last four digits on the number pad, shown as dots.
    assert last4.is_visible() and last4.get_attribute("type") == "password"
    assert page.locator("[data-pad-submit]").is_disabled()
    for key in MOBILE[-4:]:
        tap("last4", key)
    assert last4.input_value() == MOBILE[-4:]
    assert MOBILE[-4:] not in page.locator("main").inner_text()
    shot("03-digit-pad")
    page.locator("[data-pad-submit]").click()
    page.wait_for_url("**/kiosk/booking")
    assert page.locator("#booking-code").inner_text() == booking.code
    assert "张明" in page.content() and "李**" in page.content() and MOBILE not in page.content()
    shot("04-booking")
    # Back: the look-up's own address, empty (never "Confirm Form Resubmission"); Forward: the booking.
    page.go_back()
    page.wait_for_url("**/kiosk/lookup")
    assert page.locator("#code").input_value() == "" and booking.code not in page.content()
    page.go_forward()
    page.wait_for_url("**/kiosk/booking")

    # Move to another time: a big button per free time, then once more to confirm.
    page.locator("#booking-move").click()
    page.wait_for_url("**/kiosk/booking/move")
    shot("05-move-times")
    chosen = page.locator("a.kiosk-time").nth(1)
    slot_id = int(chosen.get_attribute("data-slot"))
    chosen.click()
    page.wait_for_url(re.compile(rf"/kiosk/booking/move/{slot_id}$"))
    shot("06-move-confirm")
    page.locator('main form button[type="submit"]').click()
    page.wait_for_url("**/kiosk/booking")
    assert page.locator(".kiosk-alert-done").is_visible()
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).slot_id == slot_id
    shot("07-moved")

    # Cancel, with a reason tapped from the list.
    page.locator("#booking-cancel").click()
    page.wait_for_url("**/kiosk/booking/cancel")
    shot("08-cancel-reasons")
    page.locator('[data-reason="clash"]').click()
    page.wait_for_url("**/kiosk/booking/cancel/clash")
    shot("09-cancel-confirm")
    page.locator('main form button[type="submit"]').click()
    page.wait_for_url("**/kiosk/booking/cancelled")
    shot("10-cancelled")
    db.session.expire_all()
    cancelled = db.session.get(Booking, booking.id)
    assert cancelled.status == "cancelled" and cancelled.cancel_reason

    # Done: the start screen, and Back shows nothing of the booking.
    page.locator("#cancelled-done").click()
    page.wait_for_url(re.compile(r"/kiosk/$"))
    page.go_back()
    page.wait_for_load_state()
    assert booking.code not in page.content()
    assert page.url.endswith("/kiosk/lookup") or page.url.endswith("/kiosk/")

    # Found again, then left alone: the idle reset forgets it as "Done" does.
    page.goto(f"{live_server}/kiosk/lookup")
    for key in booking.code:
        tap("code", key)
    page.locator("[data-pad-next]").click()
    for key in MOBILE[-4:]:
        tap("last4", key)
    page.locator("[data-pad-submit]").click()
    page.wait_for_url("**/kiosk/booking")
    assert page.locator("#booking-status").get_attribute("data-status") == "cancelled"
    page.locator("#kiosk-idle").wait_for(state="visible", timeout=15_000)
    page.wait_for_url(re.compile(r"/kiosk/$"), timeout=20_000)
    page.goto(f"{live_server}/kiosk/booking")
    assert page.url.endswith("/kiosk/lookup") and booking.code not in page.content()
    assert errors == []
    context.close()


@pytest.fixture
def calm_server(app_factory) -> Iterator[str]:
    """The app with the kiosk's usual idle time, so no countdown covers a page while axe reads it."""
    app = app_factory(KIOSK_IDLE_SECONDS=120)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


def test_the_lookup_pages_have_no_serious_accessibility_violation(calm_server, chromium, booking):
    audit = Audit()
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1080, "height": 1920})
    page = context.new_page()
    page.goto(f"{calm_server}/kiosk/?station={booking.shift.station_id}")
    audit(page, "lookup 0 start")
    page.locator("#start-lookup").click()
    audit(page, "lookup 1 code pad")
    for key in booking.code:
        page.locator(f'[data-keypad-for="code"] button[data-key="{key}"]').click()
    page.locator("[data-pad-next]").click()
    for key in "0000":
        page.locator(f'[data-keypad-for="last4"] button[data-key="{key}"]').click()
    page.locator("[data-pad-submit]").click()
    page.wait_for_load_state()
    audit(page, "lookup 2 no match")
    page.locator("[data-pad-next]").click()
    page.locator('[data-keypad-for="last4"] button[data-key="clear"]').click()
    for key in MOBILE[-4:]:
        page.locator(f'[data-keypad-for="last4"] button[data-key="{key}"]').click()
    audit(page, "lookup 3 digit pad")
    page.locator("[data-pad-submit]").click()
    page.wait_for_url("**/kiosk/booking")
    audit(page, "lookup 4 booking")
    page.locator("#booking-move").click()
    audit(page, "lookup 5 move times")
    page.locator("a.kiosk-time").first.click()
    audit(page, "lookup 6 move confirm")
    page.goto(f"{calm_server}/kiosk/booking/cancel")
    audit(page, "lookup 7 reasons")
    page.locator('[data-reason="health"]').click()
    audit(page, "lookup 8 cancel confirm")
    page.locator('main form button[type="submit"]').click()
    page.wait_for_url("**/kiosk/booking/cancelled")
    audit(page, "lookup 9 cancelled")
    page.goto(f"{calm_server}/kiosk/booking")
    audit(page, "lookup 10 booking cancelled")
    context.close()
    print(audit.table())
    assert audit.blocking() == [], audit.table()
