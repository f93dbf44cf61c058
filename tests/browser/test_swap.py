"""In a real browser: a lawyer asks for a swap and the colleague accepts."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from legalaid.dates import zone
from legalaid.extensions import db
from legalaid.roster import services as roster
from legalaid.swaps.models import ACCEPTED, SwapRequest
from tests.browser.conftest import clock_at
from tests.conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser

NOW = datetime(2026, 12, 8, 10, 0, tzinfo=zone("Asia/Shanghai"))  # a Tuesday, a working day
DUTY_DAY = date(2026, 12, 22)  # a Tuesday two weeks on, open (no holiday)

clock = clock_at(NOW)


def _sign_in(page, base, username):
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base}/")


def test_lawyer_asks_for_a_swap_and_the_colleague_accepts(live_server, chromium, make_station, make_lawyer):
    station = make_station("调班测试站")
    asker, colleague = make_lawyer(station, name="王芳"), make_lawyer(station, name="李强")
    roster.set_shift_lawyer(station, DUTY_DAY, asker, "测试排班")
    db.session.commit()

    first = chromium.new_context(locale="zh-CN").new_page()
    _sign_in(first, live_server, asker.user.username)
    first.get_by_role("link", name="我的值班").first.click()
    first.get_by_role("link", name="申请调班").click()
    first.get_by_label("同事").select_option(label="李强")
    first.get_by_role("button", name="提交调班申请").click()
    assert "调班申请已发出" in first.locator(".alert-success").inner_text()
    assert "等待同事答复" in first.content()

    second = chromium.new_context(locale="zh-CN").new_page()
    _sign_in(second, live_server, colleague.user.username)
    second.goto(f"{live_server}/me/swaps")
    row = second.locator("tr", has_text="王芳")
    row.get_by_role("button", name="接受").click()
    assert "管理员" in second.locator(".alert-success").inner_text()

    db.session.expire_all()
    swap = db.session.query(SwapRequest).one()
    assert swap.status == ACCEPTED and swap.accepted_by_id == colleague.id
    first.context.close()
    second.context.close()
