"""The duty console's "did not come" (未到场) button on one booking: the duty lawyer (or an
administrator) marks it once; the booking keeps its state otherwise, and nobody else can."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
import time_machine

from legalaid.audit.models import AuditEntry
from legalaid.bookings.models import BOOKED, CHECKED_IN, NO_SHOW, Booking
from legalaid.extensions import db
from legalaid.roster import services as roster
from tests.conftest import csrf_token, login

DUTY_DAY = date(2026, 3, 10)  # a Tuesday, a working day
NEXT_DUTY_DAY = date(2026, 3, 17)
BOOKED_AT = datetime(2026, 3, 5, 2, 0, tzinfo=UTC)  # when the veterans booked
ON_THE_DAY = datetime(2026, 3, 10, 3, 30, tzinfo=UTC)  # 11:30 in the station's zone


@pytest.fixture
def console(app, make_station, make_lawyer, make_user, make_booking):
    """The duty lawyer's day: two bookings today, one next week; a colleague off duty, the desk, an
    administrator, and another station with its own booking."""
    station, elsewhere = make_station("咨询站"), make_station("别的站")
    duty, colleague = make_lawyer(station, name="值班甲"), make_lawyer(station, name="律师乙")
    far = make_lawyer(elsewhere, name="律师丙")
    shift = roster.set_shift_lawyer(station, DUTY_DAY, duty, "排班", today=date(2026, 3, 1))
    later = roster.set_shift_lawyer(station, NEXT_DUTY_DAY, duty, "排班", today=date(2026, 3, 1))
    there = roster.set_shift_lawyer(elsewhere, DUTY_DAY, far, "排班", today=date(2026, 3, 1))
    db.session.commit()
    make_user("staff", username="desk", station_id=station.id)
    make_user("admin", username="chief")
    return {
        "duty": duty,
        "colleague": colleague,
        "absent": make_booking(shift, name="王建国", mobile="13812345678", slot=0, now=BOOKED_AT),
        "arrived": make_booking(shift, name="李卫国", mobile="13812345679", slot=1, now=BOOKED_AT),
        "next_week": make_booking(later, name="赵大爷", mobile="13812345680", slot=0, now=BOOKED_AT),
        "elsewhere": make_booking(there, name="钱大妈", mobile="13812345681", slot=0, now=BOOKED_AT),
    }


def _status(booking_id: int) -> str:
    return db.session.scalar(sa.select(Booking.status).where(Booking.id == booking_id))


def _no_show_entries() -> list[AuditEntry]:
    query = sa.select(AuditEntry).where(AuditEntry.action == "booking.no_show").order_by(AuditEntry.id)
    return list(db.session.scalars(query))


def _press(client, booking_id: int, page: str = "/console"):
    token = csrf_token(client.get(page).get_data(as_text=True))
    return client.post(f"/console/bookings/{booking_id}/no-show", data={"csrf_token": token})


def _arrives(app, booking: Booking) -> None:
    """The desk checks the person in, on the day."""
    desk = app.test_client()
    with time_machine.travel(ON_THE_DAY, tick=False):
        login(desk, "desk")
        token = csrf_token(desk.get("/desk").get_data(as_text=True))
        desk.post(f"/desk/bookings/{booking.id}/check_in", data={"csrf_token": token})
    assert _status(booking.id) == CHECKED_IN


def test_the_duty_lawyer_marks_one_booking_as_not_come(app, client, console):
    _arrives(app, console["arrived"])
    absent = console["absent"].id
    with time_machine.travel(ON_THE_DAY, tick=False):
        login(client, console["duty"].user.username)
        page = client.get("/console").get_data(as_text=True)
        assert f"/console/bookings/{absent}/no-show" in page  # the button beside the booked person
        assert f"/console/bookings/{console['arrived'].id}/no-show" not in page  # not beside an arrival
        response = client.post(f"/console/bookings/{absent}/no-show", data={"csrf_token": csrf_token(page)})
        assert response.status_code == 302 and response.headers["Location"].startswith("/console")
        page = client.get("/console").get_data(as_text=True)
    assert "已标记为未到场。" in page
    row = re.search(r"<tr>(?:(?!</tr>).)*王建国(?:(?!</tr>).)*</tr>", page, re.S).group(0)
    assert "未到场" in row and "/no-show" not in row
    assert _status(absent) == NO_SHOW and _status(console["arrived"].id) == CHECKED_IN
    [entry] = _no_show_entries()
    assert entry.actor_name == console["duty"].user.username
    assert (entry.target_type, entry.target_id) == ("bookings", absent)


def test_a_second_press_is_refused_and_recorded_once(client, console):
    absent = console["absent"].id
    with time_machine.travel(ON_THE_DAY, tick=False):
        login(client, console["duty"].user.username)
        _press(client, absent)
        response = _press(client, absent)
        page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "只有尚未办理的预约才能标记。" in page
    assert _status(absent) == NO_SHOW and len(_no_show_entries()) == 1


def test_an_arrival_cannot_be_marked(app, client, console):
    _arrives(app, console["arrived"])
    with time_machine.travel(ON_THE_DAY, tick=False):
        login(client, console["duty"].user.username)
        response = _press(client, console["arrived"].id)
        page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "只有尚未办理的预约才能标记。" in page
    assert _status(console["arrived"].id) == CHECKED_IN and _no_show_entries() == []


def test_an_administrator_may_mark_too(client, console):
    with time_machine.travel(ON_THE_DAY, tick=False):
        login(client, "chief")
        response = _press(client, console["absent"].id)
        assert response.status_code == 302
    assert _status(console["absent"].id) == NO_SHOW
    assert [e.actor_name for e in _no_show_entries()] == ["chief"]


@pytest.mark.parametrize(
    ("who", "page", "expected"),
    [
        ("colleague", "/me/shifts", 404),  # a lawyer not on duty today: no such button for them
        ("desk", "/desk", 403),  # the desk checks people in or cancels; it does not mark no-shows
    ],
)
def test_others_are_refused(client, console, who, page, expected):
    username = console["colleague"].user.username if who == "colleague" else who
    with time_machine.travel(ON_THE_DAY, tick=False):
        login(client, username)
        assert _press(client, console["absent"].id, page).status_code == expected
    assert _status(console["absent"].id) == BOOKED and _no_show_entries() == []


def test_another_stations_booking_is_not_found(client, console):
    with time_machine.travel(ON_THE_DAY, tick=False):
        login(client, console["duty"].user.username)
        assert _press(client, console["elsewhere"].id).status_code == 404
        assert _press(client, 999_999).status_code == 404
    assert _status(console["elsewhere"].id) == BOOKED and _no_show_entries() == []


def test_a_booking_of_another_day_cannot_be_marked_today(client, console):
    with time_machine.travel(ON_THE_DAY, tick=False):
        login(client, console["duty"].user.username)
        _press(client, console["next_week"].id)
    assert _status(console["next_week"].id) == BOOKED and _no_show_entries() == []


def test_an_administrator_marks_at_the_station_the_console_shows(client, console):
    booking = console["elsewhere"]
    with time_machine.travel(ON_THE_DAY, tick=False):
        login(client, "chief")
        page = client.get(f"/console?station={booking.shift.station_id}").get_data(as_text=True)
        action = re.search(rf'action="([^"]*/console/bookings/{booking.id}/no-show[^"]*)"', page)
        assert action, "no button beside the booking"
        response = client.post(action.group(1).replace("&amp;", "&"), data={"csrf_token": csrf_token(page)})
        assert response.status_code == 302
    assert _status(booking.id) == NO_SHOW
