"""The duty console on any day for an administrator (`/console?date=`); a lawyer who is not on duty
that day sees nobody's names."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime

import pytest
import time_machine

from legalaid.bookings import planning
from legalaid.bookings import services as bookings
from legalaid.consultations import services as consultations
from legalaid.extensions import db
from legalaid.roster import services as roster
from tests.conftest import login

DAY = date(2026, 3, 10)  # a Tuesday
LATER = datetime(2026, 3, 12, 2, 0, tzinfo=UTC)  # the Thursday after, 10:00 in Beijing


@pytest.fixture
def past_day(app, make_station, make_lawyer, make_user):
    """A duty day with one booking recorded as a consultation, looked at two days later."""
    station = make_station("控制台站")
    lawyer = make_lawyer(station, name="张明")
    other = make_lawyer(station, name="王芳")
    admin = make_user("admin", username="juzhang")
    with time_machine.travel(datetime(2026, 3, 5, 2, 0, tzinfo=UTC), tick=False):
        shift = roster.set_shift_lawyer(station, DAY, lawyer, "测试", today=date(2026, 3, 1))
        db.session.commit()
        slot = planning.ensure_slots(shift)[0]
        booking = bookings.place_booking(
            bookings.BookingRequest(
                slot_id=slot.id,
                name="李卫国",
                mobile="13812345678",
                category="labour",
                channel="kiosk",
                idempotency_key=secrets.token_hex(16),
                consent=True,
            )
        )
        db.session.commit()
    record = consultations.Record(category="labour", summary="欠薪", outcomes=["advice"])
    consultations.record_consultation(station, lawyer.user, record, booking=booking, today=DAY)
    db.session.commit()
    return station, lawyer, other, admin


def test_an_administrator_opens_a_past_day_and_its_records(past_day, client):
    station, _lawyer, _other, admin = past_day
    with time_machine.travel(LATER, tick=True):
        login(client, admin.username)
        page = client.get(f"/console?station={station.id}&date={DAY.isoformat()}").get_data(as_text=True)
    assert "李卫国" in page and "张明" in page  # the day's queue and its duty lawyer
    assert "/consultations/" in page and "法律咨询" in page  # the record of that day, with its outcome
    assert "接待下一位" not in page  # nobody is called on a day that is not today


def test_a_bad_date_keeps_today_with_a_message(past_day, client):
    station, _lawyer, _other, admin = past_day
    with time_machine.travel(LATER, tick=True):
        login(client, admin.username)
        response = client.get(f"/console?station={station.id}&date=9999-99-99")
    assert response.status_code == 200 and "年-月-日" in response.get_data(as_text=True)


def test_a_lawyer_not_on_duty_sees_no_names(past_day, client):
    station, lawyer, other, _admin = past_day
    with time_machine.travel(datetime(2026, 3, 10, 2, 0, tzinfo=UTC), tick=True):  # the duty day itself
        login(client, other.user.username)
        page = client.get("/console").get_data(as_text=True)
        assert "李卫国" not in page, page
        assert "不在本站值班" in page
    with time_machine.travel(datetime(2026, 3, 10, 2, 0, tzinfo=UTC), tick=True):
        duty = client.application.test_client()
        login(duty, lawyer.user.username)
        page = duty.get(f"/console?date={DAY.isoformat()}").get_data(as_text=True)
    assert "李卫国" in page  # the lawyer on duty sees the day's people
