"""The desk's two buttons on a booking: "arrived" (到场签到) on the day, and cancel with a reason (the
place is given back); only the desk of the booking's station or an administrator, and a refusal
writes nothing."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
import time_machine

from legalaid.audit.models import AuditEntry
from legalaid.bookings.models import BOOKED, CANCELLED, CHECKED_IN, Booking, Slot
from legalaid.extensions import db
from legalaid.roster import services as roster
from tests.conftest import csrf_token, login

DUTY_DAY = date(2026, 3, 10)  # a Tuesday, a working day
NEXT_DUTY_DAY = date(2026, 3, 17)
BOOKED_AT = datetime(2026, 3, 5, 2, 0, tzinfo=UTC)
ON_THE_DAY = datetime(2026, 3, 10, 1, 5, tzinfo=UTC)  # 09:05 in the station's zone


@pytest.fixture
def desk(app, make_station, make_lawyer, make_user, make_booking):
    """A station's desk with two bookings today and one next week; another station's desk; the duty
    lawyer; an administrator."""
    station, elsewhere = make_station("服务大厅"), make_station("别的大厅")
    lawyer = make_lawyer(station, name="张律师")
    shift = roster.set_shift_lawyer(station, DUTY_DAY, lawyer, "排班", today=date(2026, 3, 1))
    later = roster.set_shift_lawyer(station, NEXT_DUTY_DAY, lawyer, "排班", today=date(2026, 3, 1))
    db.session.commit()
    make_user("staff", username="desk", station_id=station.id)
    make_user("staff", username="otherdesk", station_id=elsewhere.id)
    make_user("admin", username="chief")
    return {
        "station": station,
        "lawyer": lawyer,
        "first": make_booking(shift, name="王建国", mobile="13812345678", slot=0, now=BOOKED_AT),
        "second": make_booking(shift, name="李卫国", mobile="13812345679", slot=1, now=BOOKED_AT),
        "next_week": make_booking(later, name="赵大爷", mobile="13812345680", slot=0, now=BOOKED_AT),
    }


def _url(booking: Booking, action: str) -> str:
    return f"/desk/bookings/{booking.id}/{action}?station={booking.shift.station_id}"


def _press(client, booking: Booking, action: str, reason: str | None = None):
    token = csrf_token(client.get("/desk").get_data(as_text=True))
    data = {"csrf_token": token, **({"reason": reason} if reason is not None else {})}
    return client.post(_url(booking, action), data=data)


def _booking(booking_id: int) -> Booking:
    db.session.expire_all()
    return db.session.get(Booking, booking_id)


def _entries(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action)))


def _row(page: str, name: str) -> str:
    return re.search(rf"<tr>(?:(?!</tr>).)*{name}(?:(?!</tr>).)*</tr>", page, re.S).group(0)


def test_the_desk_checks_an_arrival_in(client, desk):
    first = desk["first"]
    with time_machine.travel(ON_THE_DAY, tick=False):
        login(client, "desk")
        page = client.get("/desk").get_data(as_text=True)
        assert _url(first, "check_in").replace("&", "&amp;") in page or _url(first, "check_in") in page
        response = client.post(_url(first, "check_in"), data={"csrf_token": csrf_token(page)})
        assert response.status_code == 302
        assert response.headers["Location"] == f"/desk?station={desk['station'].id}"
        page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已签到。" in page
    row = _row(page, "王建国")
    assert "已到场" in row and "/check_in" not in row and "/cancel" not in row  # no more buttons
    booking = _booking(first.id)
    assert booking.status == CHECKED_IN and booking.checked_in_at == ON_THE_DAY
    [entry] = _entries("booking.check_in")
    assert entry.actor_name == "desk" and entry.target_id == first.id
    assert entry.station_id == desk["station"].id
    assert _booking(desk["second"].id).status == BOOKED  # only the one pressed


def test_an_arrival_is_checked_in_only_on_its_day_and_once(client, desk):
    with time_machine.travel(ON_THE_DAY, tick=False):
        login(client, "desk")
        early = _press(client, desk["next_week"], "check_in")
        said_early = client.get(early.headers["Location"]).get_data(as_text=True)
        _press(client, desk["first"], "check_in")
        again = _press(client, desk["first"], "check_in")
        said_again = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "只能在预约当天办理到场签到。" in said_early
    assert _booking(desk["next_week"].id).status == BOOKED
    assert "该预约无法签到。" in said_again
    assert len(_entries("booking.check_in")) == 1


def test_the_desk_cancels_with_a_reason_and_the_place_is_free_again(client, desk):
    second = desk["second"]
    slot_id = second.slot_id
    booked_before = db.session.scalar(sa.select(Slot.booked).where(Slot.id == slot_id))
    reason = "老人住院，家属来电取消（12345转来）"
    with time_machine.travel(ON_THE_DAY, tick=False):
        login(client, "desk")
        response = _press(client, second, "cancel", reason)
        assert response.status_code == 302
        page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "预约已取消。" in page and "李卫国" not in page  # off today's list
    booking = _booking(second.id)
    assert booking.status == CANCELLED and booking.cancel_reason == reason  # kept as typed
    assert db.session.scalar(sa.select(Slot.booked).where(Slot.id == slot_id)) == booked_before - 1
    [entry] = _entries("booking.cancel")
    assert entry.actor_name == "desk" and entry.target_id == second.id
    assert entry.details == {"reason": reason, "by_staff": True}


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_cancellation_needs_a_reason(client, desk, reason):
    first = desk["first"]
    with time_machine.travel(ON_THE_DAY, tick=False):
        login(client, "desk")
        response = _press(client, first, "cancel", reason)
    assert response.status_code == 200  # told in the booking's row, beside the reason
    assert "请填写原因。" in _row(response.get_data(as_text=True), "王建国")
    assert _booking(first.id).status == BOOKED and _entries("booking.cancel") == []


def test_a_cancelled_booking_cannot_be_cancelled_or_checked_in(client, desk):
    first = desk["first"]
    with time_machine.travel(ON_THE_DAY, tick=False):
        login(client, "desk")
        _press(client, first, "cancel", "来电取消")
        again = _press(client, first, "cancel", "再取消一次")
        said = client.get(again.headers["Location"]).get_data(as_text=True)
        arrived = _press(client, first, "check_in")
        said_arrived = client.get(arrived.headers["Location"]).get_data(as_text=True)
    assert "只有尚未办理的预约才能取消。" in said and "该预约无法签到。" in said_arrived
    assert _booking(first.id).cancel_reason == "来电取消"
    assert len(_entries("booking.cancel")) == 1 and _entries("booking.check_in") == []


def test_an_administrator_may_use_the_desk(client, desk):
    with time_machine.travel(ON_THE_DAY, tick=False):
        login(client, "chief")
        token = csrf_token(client.get(f"/desk?station={desk['station'].id}").get_data(as_text=True))
        response = client.post(_url(desk["first"], "check_in"), data={"csrf_token": token})
        assert response.status_code == 302
    assert _booking(desk["first"].id).status == CHECKED_IN
    assert [e.actor_name for e in _entries("booking.check_in")] == ["chief"]


@pytest.mark.parametrize("action", ["check_in", "cancel"])
def test_another_stations_desk_and_the_lawyer_are_refused(app, client, desk, action):
    first = desk["first"]
    with time_machine.travel(ON_THE_DAY, tick=False):
        login(client, "otherdesk")
        assert _press(client, first, action, "不是本站").status_code == 404  # not their station's booking
        token = csrf_token(client.get("/desk").get_data(as_text=True))
        assert client.post(f"/desk/bookings/999999/{action}", data={"csrf_token": token}).status_code == 404
        lawyer = app.test_client()
        login(lawyer, desk["lawyer"].user.username)
        token = csrf_token(lawyer.get("/me/shifts").get_data(as_text=True))
        refused = lawyer.post(_url(first, action), data={"csrf_token": token, "reason": "律师取消"})
        assert refused.status_code == 403
    assert _booking(first.id).status == BOOKED
    assert _entries("booking.check_in") == [] and _entries("booking.cancel") == []


def test_without_signing_in_nothing_happens(client, desk):
    with time_machine.travel(ON_THE_DAY, tick=False):
        response = client.post(_url(desk["first"], "cancel"), data={"reason": "匿名"})
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        assert "/login" in response.headers["Location"]
    assert _booking(desk["first"].id).status == BOOKED and _entries("booking.cancel") == []
