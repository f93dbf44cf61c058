"""In a real browser: the duty lawyer takes the next person from the queue and records a consultation
with two outcomes and a follow-up."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from legalaid.bookings import calling
from legalaid.consultations.models import Consultation, Matter
from legalaid.dates import zone
from legalaid.extensions import db
from legalaid.roster import services as roster
from tests.browser.conftest import ARTIFACTS, clock_at
from tests.conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser

TODAY = date(2026, 12, 8)  # a Tuesday, a working day: the station is open and has a duty lawyer
NOW = datetime(2026, 12, 8, 10, 0, tzinfo=zone("Asia/Shanghai"))  # mid-morning, within the hours

clock = clock_at(NOW)


def test_duty_lawyer_takes_the_next_person_and_records(live_server, chromium, make_station, make_lawyer):
    station = make_station("工作台站")
    lawyer = make_lawyer(station, name="张明")
    shift = roster.set_shift_lawyer(station, TODAY, lawyer, "测试排班")
    db.session.commit()
    walkin = calling.issue_walkin(station, "labour", name="赵大爷")
    db.session.commit()
    assert walkin.label == "A001" and shift.duty_on == TODAY

    page = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 1000}).new_page()
    page.goto(f"{live_server}/login")
    page.get_by_label("用户名").fill(lawyer.user.username)
    page.get_by_label("密码").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server}/")
    page.get_by_role("link", name="值班工作台").first.click()
    page.get_by_role("button", name="接待下一位").click()
    page.wait_for_url("**/consultations/new?walkin=*")
    assert "赵大爷" in page.content()
    page.get_by_label("问题概述").fill("单位拖欠工资三个月")
    page.get_by_label("给出的意见").fill("先与单位协商，不成可申请劳动仲裁")
    page.get_by_label("法律咨询").check()
    page.get_by_label("调解").check()
    page.get_by_label("需要跟进").check()
    page.get_by_label("跟进期限").fill((TODAY + timedelta(days=7)).isoformat())
    page.locator("#consent").check()  # a number without a mobile: the lawyer reads the notice (issue 13)
    page.get_by_role("button", name="保存记录").click()
    page.wait_for_url("**/console?station=*")
    assert "咨询记录已保存" in page.locator(".alert-success").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(f"{live_server}/matters")
    page.screenshot(path=str(ARTIFACTS / "console-matters.png"), full_page=True)
    assert "赵大爷" in page.content()

    db.session.expire_all()
    consultation = db.session.scalar(sa.select(Consultation))
    assert consultation.outcomes == ["advice", "mediation"] and consultation.walkin_id == walkin.id
    matter = db.session.scalar(sa.select(Matter))
    assert matter.due_on == TODAY + timedelta(days=7) and matter.owner_id == lawyer.user_id
