"""In a real browser: the administrator finds a failed reminder in the outbox and sends it again."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from legalaid.dates import now_utc, zone
from legalaid.extensions import db
from legalaid.reminders import services as outbox
from legalaid.reminders.models import FAILED, PENDING, OutboxMessage
from tests.conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser
BEIJING = zone("Asia/Shanghai")
BY_DAY = datetime(2026, 12, 8, 10, 0, tzinfo=BEIJING)
AT_NIGHT = datetime(2026, 12, 8, 22, 30, tzinfo=BEIJING)  # in the quiet hours (21:00–08:00)


@pytest.fixture(params=[BY_DAY, AT_NIGHT], ids=["by-day", "at-night"])
def clock(request):
    """The test runs by day and in the quiet hours (ticking, live server included)."""
    with time_machine.travel(request.param, tick=True):
        yield request.param


def test_admin_filters_the_outbox_and_resends_a_failed_message(live_server, page, make_user, clock):
    make_user("admin", username="juzhang", display_name="局管理员")
    for key, status in (("ok", "sent"), ("bad", FAILED)):
        outbox.enqueue(
            kind="booking_confirmed",
            channel="sms",
            recipient_type="veteran",
            recipient_id=None,
            address="13812345678",
            template="booking_confirmed",
            params={"code": "ABC234", "when": "2026-12-01 09:00", "lawyer": "王芳", "station": "解放区站"},
            due_at=now_utc() - timedelta(hours=1),
            expires_at=now_utc() + timedelta(days=3),
            dedupe_key=key,
        )
        db.session.flush()
        db.session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.dedupe_key == key)
            .values(
                status=status,
                attempts=5 if status == FAILED else 1,
                last_error="sms: HTTP 503" if status == FAILED else "",
            )
        )
    db.session.commit()

    page.goto(f"{live_server}/admin/outbox/")
    page.get_by_label("用户名").fill("juzhang")
    page.get_by_label("密码").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/admin/outbox/")
    assert "2 条消息" in page.content() and "13812345678" not in page.content()

    page.get_by_label("状态").select_option("failed")
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url("**status=failed**")
    assert "1 条消息" in page.content()
    page.locator("tbody a").first.click()
    assert "预约码 ABC234" in page.locator(".card-body").inner_text() or "ABC234" in page.content()
    page.get_by_role("button", name="再发一次").click()
    page.wait_for_load_state()
    said = page.locator(".alert-success").inner_text()
    if clock is BY_DAY:
        assert "一分钟内重新发送" in said, said
    else:  # in the quiet hours it waits for 08:00
        assert "夜间不发送消息" in said and "08:00" in said, said
    assert page.locator("#message-status").inner_text() == "待发送"
    assert page.console_errors == []

    db.session.expire_all()
    assert (
        db.session.scalar(sa.select(OutboxMessage.status).where(OutboxMessage.dedupe_key == "bad")) == PENDING
    )
