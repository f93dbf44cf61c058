"""In a real browser: the kiosk's tickets (a walk-in number, a booking) print on an 80 mm receipt roll and
also fit 58 mm paper — one page, nothing wider than the paper, nothing cut off, only the ticket."""

from __future__ import annotations

import re
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from legalaid.dates import zone
from legalaid.extensions import db
from legalaid.roster import services as roster
from tests.browser.conftest import ARTIFACTS, clock_at

pytestmark = pytest.mark.browser

TODAY = date(2026, 12, 8)  # a Tuesday, a working day
NOW = datetime(2026, 12, 8, 10, 0, tzinfo=zone("Asia/Shanghai"))
PX_PER_MM = 96 / 25.4
SHOTS = Path("/tmp/shots")

clock = clock_at(NOW)

# Under print media: everything shown lies within the paper's width and is not cut off by its own box;
# the kiosk's header and buttons are not printed.
FITS = """
() => {
  const out = [];
  const width = document.documentElement.clientWidth;
  for (const el of document.querySelectorAll('#ticket, #ticket *')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    const name = el.className || el.tagName;
    if (r.left < -0.5 || r.right > width + 0.5) out.push(`${name}: ${r.left}..${r.right} of ${width}`);
    if (el.scrollWidth > el.clientWidth + 1) out.push(`${name} cut: ${el.scrollWidth} > ${el.clientWidth}`);
  }
  for (const sel of ['.kiosk-header', '.kiosk-actions']) {
    const el = document.querySelector(sel);
    if (el && el.getBoundingClientRect().height > 0) out.push(`${sel} printed`);
  }
  if (document.scrollingElement.scrollWidth > width + 1) out.push('the page is wider than the paper');
  return out;
}
"""


def _pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b", pdf))


def _check_prints(page, name: str, number_selector: str, tall: float, length: int) -> None:
    """The ticket on the page prints on 80 mm and 58 mm paper."""
    page.emulate_media(media="print")
    for paper in (80, 58):
        page.set_viewport_size({"width": round(paper * PX_PER_MM), "height": 900})
        assert page.evaluate(FITS) == [], paper
        number = page.locator(number_selector)
        assert number.bounding_box()["height"] > tall  # still large on the narrow roll
        pdf = page.pdf(width=f"{paper}mm", height="160mm")
        assert pdf[:4] == b"%PDF" and _pages(pdf) == 1, paper
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / f"{name}-{paper}mm.pdf").write_bytes(pdf)
        page.screenshot(path=str(ARTIFACTS / f"{name}-{paper}mm.png"), full_page=True)
        if SHOTS.is_dir():
            shutil.copy(ARTIFACTS / f"{name}-{paper}mm.png", SHOTS / f"{name}-{paper}mm.png")
    # The printer's page as the style sheet asks for it: an 80 mm roll (226.77 pt wide), as long as
    # the ticket needs and no longer (a receipt printer feeds the page's length).
    page.set_viewport_size({"width": round(80 * PX_PER_MM), "height": 900})
    pdf = page.pdf(prefer_css_page_size=True)
    box = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
    assert box and abs(float(box.group(1)) - 80 * 72 / 25.4) < 1, box
    assert float(box.group(2)) <= length * 72 / 25.4 + 1, box
    assert _pages(pdf) == 1


def test_the_walk_in_ticket_fits_80_and_58_mm(chromium, live_server, make_station, make_lawyer):
    station = make_station("解放区退役军人服务中心法律服务站")
    roster.set_shift_lawyer(station, TODAY, make_lawyer(station), "测试排班")
    db.session.commit()
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1080, "height": 1920})
    page = context.new_page()
    try:
        page.goto(f"{live_server}/kiosk/?station={station.id}")
        page.get_by_text("今日现场取号").click()
        page.wait_for_url("**/kiosk/walkin")
        assert page.locator(".ticket-number").inner_text() == "A001"
        assert page.locator("#ticket-ahead").get_attribute("data-ahead") == "0"
        _check_prints(page, "ticket-walkin", ".ticket-number", tall=40, length=75)
    finally:
        context.close()


def test_the_booking_ticket_fits_80_and_58_mm(
    app, chromium, live_server, make_station, make_lawyer, make_booking
):
    station = make_station("解放区退役军人服务中心法律服务站", address="解放区人民路 123 号服务大厅一楼")
    lawyer = make_lawyer(station, name="欧阳明远")
    shift = roster.set_shift_lawyer(station, TODAY + timedelta(days=7), lawyer, "测试")
    db.session.commit()
    booking = make_booking(shift, name="李卫国", slot=3)
    # The kiosk shows the ticket of the booking just made (its code in the visitor's session cookie).
    with app.test_request_context():
        cookie = app.session_interface.get_signing_serializer(app).dumps({"ticket": booking.code})
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1080, "height": 1920})
    context.add_cookies([{"name": app.config["SESSION_COOKIE_NAME"], "value": cookie, "url": live_server}])
    page = context.new_page()
    try:
        page.goto(f"{live_server}/kiosk/ticket")
        assert page.locator(".ticket-code").inner_text() == booking.code
        _check_prints(page, "ticket-booking", ".ticket-code", tall=20, length=140)
    finally:
        context.close()


def test_the_desks_slip_of_a_booking_number_fits_80_and_58_mm(
    chromium, live_server, make_station, make_lawyer, make_booking, make_user
):
    from legalaid.bookings import services as bookings
    from tests.conftest import DEFAULT_PASSWORD

    station = make_station("解放区退役军人服务中心法律服务站")
    shift = roster.set_shift_lawyer(station, TODAY, make_lawyer(station), "测试排班")
    db.session.commit()
    booking = make_booking(shift, name="李卫国", slot=3, now=NOW - timedelta(days=3))
    bookings.check_in(booking)
    db.session.commit()
    make_user("staff", username="slipdesk", station_id=station.id)
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1600, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{live_server}/login")
        page.get_by_label("用户名").fill("slipdesk")
        page.get_by_label("密码").fill(DEFAULT_PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(f"{live_server}/")
        page.goto(f"{live_server}/desk")
        page.locator(".queue-ticket").click()
        assert page.locator(".ticket-number").inner_text() == "B001"
        _check_prints(page, "ticket-desk-slip", ".ticket-number", tall=40, length=75)
    finally:
        context.close()
