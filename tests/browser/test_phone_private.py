"""A phone's booking page keeps nothing of the person for Back: leaving it empties the parts marked private,
and a copy restored from the back/forward cache is fetched again instead of being shown."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from legalaid.dates import zone
from legalaid.extensions import db
from legalaid.roster import services as roster
from tests.browser.conftest import clock_at

pytestmark = pytest.mark.browser
NOW = datetime(2026, 12, 10, 10, 0, tzinfo=zone("Asia/Shanghai"))
DUTY_DAY = date(2026, 12, 15)

clock = clock_at(NOW)


def test_the_looked_up_booking_empties_itself_when_the_page_is_left(
    live_server, page, make_station, make_lawyer, make_booking
):
    station = make_station("解放区退役军人法律服务站")
    shift = roster.set_shift_lawyer(station, DUTY_DAY, make_lawyer(station, name="张明"), "测试排班")
    booking = make_booking(shift, name="李卫国", mobile="13912345678")
    db.session.commit()
    page.goto(f"{live_server}/booking/lookup")
    page.locator("#code").fill(booking.code)
    page.locator("#last4").fill("5678")
    page.locator("#last4").press("Enter")
    page.wait_for_url("**/booking/mine")
    body = page.locator("body").inner_text()
    assert booking.code in body and "李**" in body

    # As the browser does when the page goes into its back/forward cache.
    page.evaluate("() => window.dispatchEvent(new PageTransitionEvent('pagehide', {persisted: true}))")
    body = page.locator("body").inner_text()
    assert booking.code not in body and "李**" not in body and "张明" not in body
    assert page.locator("[data-private]").count() >= 2

    # Shown again from that cache, it is fetched afresh (here: still looked up, so shown whole again).
    with page.expect_navigation():
        page.evaluate("() => window.dispatchEvent(new PageTransitionEvent('pageshow', {persisted: true}))")
    page.wait_for_load_state("load")
    assert booking.code in page.locator("body").inner_text()
