"""In a real browser: the administrator signs in and changes a station setting."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa

from legalaid.dates import zone
from legalaid.extensions import db
from legalaid.stations.models import Station
from tests.browser.conftest import clock_at
from tests.conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser
# Saving the settings re-plans the coming days: the clock is held on a working Tuesday.
clock = clock_at(datetime(2026, 12, 8, 10, 0, tzinfo=zone("Asia/Shanghai")))


def test_admin_signs_in_and_changes_the_slot_length(live_server, page, make_user, make_station):
    make_user("admin", username="juzhang", display_name="局管理员")
    station = make_station("解放区站")

    page.goto(f"{live_server}/admin/stations/{station.id}")
    assert "/login" in page.url  # deny by default: sign in first
    page.get_by_label("用户名").fill("juzhang")
    page.get_by_label("密码").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"**/admin/stations/{station.id}")

    assert page.locator("h1").inner_text() == "解放区站"
    slot = page.get_by_label("预约时段时长（分钟）")
    assert slot.input_value() == "30"
    slot.fill("0")
    page.get_by_role("button", name="保存").click()
    # A click does not wait for the page it posts to: wait for the message (count() would not).
    page.locator(".invalid-feedback:visible").first.wait_for()  # stays on the page with a message
    assert page.get_by_label("预约时段时长（分钟）").input_value() == "0"

    page.get_by_label("预约时段时长（分钟）").fill("20")
    page.get_by_role("button", name="保存").click()
    page.wait_for_load_state()
    assert "已保存" in page.locator(".alert-success").inner_text()
    assert page.get_by_label("预约时段时长（分钟）").input_value() == "20"
    assert page.console_errors == []  # no CSP violation, no script error

    db.session.expire_all()
    assert db.session.scalar(sa.select(Station.slot_minutes).where(Station.id == station.id)) == 20
