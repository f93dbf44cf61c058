"""In a real browser: a walk-in number taken at the kiosk appears on the open desk page within 10 seconds,
without a reload, with the arrival chime played, while a cancel reason being typed at the desk stays."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from legalaid.dates import zone
from legalaid.extensions import db
from legalaid.roster import services as roster
from tests.browser.conftest import ARTIFACTS, clock_at
from tests.conftest import DEFAULT_PASSWORD, csrf_token

pytestmark = pytest.mark.browser

TODAY = date(2026, 12, 8)  # a Tuesday, a working day: the station is open and has a duty lawyer
NOW = datetime(2026, 12, 8, 10, 0, tzinfo=zone("Asia/Shanghai"))  # mid-morning, within the hours

clock = clock_at(NOW)

# Counts the sounds the page tries to play (the browser may still refuse them before a gesture).
COUNT_PLAYS = """
window.__played = [];
const play = HTMLMediaElement.prototype.play;
HTMLMediaElement.prototype.play = function () { window.__played.push(this.src); return play.call(this); };
"""


def test_a_kiosk_walk_in_appears_on_the_open_desk(
    app, live_server, page, make_station, make_lawyer, make_user, make_booking
):
    station = make_station("实时大厅")
    shift = roster.set_shift_lawyer(station, TODAY, make_lawyer(station, name="张明"), "测试排班")
    db.session.commit()
    booking = make_booking(shift, name="王建国", slot=8, now=NOW - timedelta(days=3))
    desk = make_user("staff", username="livedesk", station_id=station.id)

    page.add_init_script(COUNT_PLAYS)
    page.goto(f"{live_server}/login")
    page.get_by_label("用户名").fill(desk.username)
    page.get_by_label("密码").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server}/")
    page.goto(f"{live_server}/desk")
    walkins = page.locator("#desk-walkins")
    assert "A001" not in walkins.inner_text()
    page.evaluate("window.__notReloaded = true")
    # The desk is typing a cancel reason when the visitor arrives; it is not sent.
    reason = page.locator(f"#reason-{booking.id}")
    reason.fill("电话改约")

    kiosk = app.test_client()  # the visitor takes a number through the kiosk's own form
    start = kiosk.get(f"/kiosk/?station={station.id}").get_data(as_text=True)
    assert kiosk.post("/kiosk/walkin", data={"csrf_token": csrf_token(start)}).status_code == 302

    walkins.get_by_text("A001").wait_for(timeout=10_000)
    assert page.evaluate("window.__notReloaded") is True  # swapped in, not reloaded
    assert reason.input_value() == "电话改约"  # what was being typed is still there
    assert page.locator("#desk-walkins tr.live-new").count() == 1
    page.wait_for_function("window.__played.length > 0", timeout=5_000)
    assert page.evaluate("window.__played")[0].endswith("/static/audio/desk-arrival.wav")
    assert page.console_errors == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "desk-live.png"), full_page=True)
