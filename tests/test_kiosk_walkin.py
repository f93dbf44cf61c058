"""The kiosk's "take a number for today" (今日现场取号): on a duty day each visitor gets the next
number (A001, A002 …) and a ticket the next visitor cannot see; on other days, from a stale page or
without the form's token, no number is given."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
import time_machine

from legalaid.audit.models import AuditEntry
from legalaid.bookings.models import WalkIn
from legalaid.extensions import db
from legalaid.roster import services as roster
from tests.conftest import csrf_token, login

DUTY_DAY = date(2026, 3, 10)  # a Tuesday, a working day
ON_THE_DAY = datetime(2026, 3, 10, 1, 30, tzinfo=UTC)  # 09:30 in the station's zone
LATE_AFTERNOON = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # 17:00, the last session ends at 17:30
LATE_ON_THE_DAY = datetime(2026, 3, 10, 15, 50, tzinfo=UTC)  # 23:50 in the station's zone
THE_DAY_AFTER = datetime(2026, 3, 10, 16, 5, tzinfo=UTC)  # 00:05 on the 11th: no lawyer on duty
TAKE_A_NUMBER = "今日现场取号"


@pytest.fixture
def hall(app, make_station, make_lawyer, make_user):
    """A station with its duty lawyer on DUTY_DAY, and its desk."""
    station = make_station("解放区站")
    lawyer = make_lawyer(station, name="张律师")
    roster.set_shift_lawyer(station, DUTY_DAY, lawyer, "排班", today=date(2026, 3, 1))
    db.session.commit()
    make_user("staff", username="desk", station_id=station.id)
    return station


def _take_a_number(client, station_id: int):
    start = client.get(f"/kiosk/?station={station_id}").get_data(as_text=True)
    assert TAKE_A_NUMBER in start
    return client.post("/kiosk/walkin", data={"csrf_token": csrf_token(start)})


def _walkins() -> list[WalkIn]:
    return list(db.session.scalars(sa.select(WalkIn).order_by(WalkIn.number)))


def test_a_visitor_takes_a_number_and_gets_a_ticket(client, hall):
    with time_machine.travel(ON_THE_DAY, tick=False):
        response = _take_a_number(client, hall.id)
        assert response.status_code == 302 and response.headers["Location"] == "/kiosk/walkin"
        ticket = client.get("/kiosk/walkin").get_data(as_text=True)
    assert "您的号码" in ticket and "A001" in ticket and "解放区站" in ticket
    assert re.search(r'class="ticket-code ticket-number">\s*A001\s*<', ticket)
    [walkin] = _walkins()
    assert (walkin.station_id, walkin.day, walkin.number, walkin.label) == (hall.id, DUTY_DAY, 1, "A001")
    assert walkin.veteran_id is None and walkin.name == ""  # the kiosk asks nobody's name for a number
    [entry] = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "walkin.issue")).all()
    assert entry.target_id == walkin.id and entry.details == {"number": "A001"}
    assert entry.station_id == hall.id


def test_the_next_visitor_gets_the_next_number_and_never_sees_the_first(app, client, hall):
    with time_machine.travel(ON_THE_DAY, tick=False):
        _take_a_number(client, hall.id)
        client.get("/kiosk/reset")  # "done": the screen forgets the visitor
        assert client.get("/kiosk/walkin").headers["Location"] == "/kiosk/"
        _take_a_number(client, hall.id)
        second = client.get("/kiosk/walkin").get_data(as_text=True)
        desk = app.test_client()
        login(desk, "desk")
        queue = desk.get("/desk").get_data(as_text=True)
    assert "A002" in second and "A001" not in second
    assert [w.label for w in _walkins()] == ["A001", "A002"]
    assert "A001" in queue and "A002" in queue  # the desk sees both waiting


def test_no_number_after_the_days_reception_has_ended(client, hall):
    with time_machine.travel(LATE_AFTERNOON, tick=False):
        stale = client.get(f"/kiosk/?station={hall.id}").get_data(as_text=True)  # left open all evening
    with time_machine.travel(LATE_ON_THE_DAY, tick=False):
        start = client.get(f"/kiosk/?station={hall.id}").get_data(as_text=True)
        assert TAKE_A_NUMBER not in start  # 23:50: the sessions ended at 17:30
        response = client.post("/kiosk/walkin", data={"csrf_token": csrf_token(stale)})
    assert response.status_code == 200
    assert "今天的接待已经结束" in response.get_data(as_text=True)
    assert _walkins() == []


def test_no_number_on_a_day_without_a_lawyer(client, hall):
    with time_machine.travel(LATE_AFTERNOON, tick=False):
        stale = client.get(f"/kiosk/?station={hall.id}").get_data(as_text=True)  # left open over midnight
        assert TAKE_A_NUMBER in stale
    with time_machine.travel(THE_DAY_AFTER, tick=False):
        start = client.get(f"/kiosk/?station={hall.id}").get_data(as_text=True)
        assert TAKE_A_NUMBER not in start
        response = client.post("/kiosk/walkin", data={"csrf_token": csrf_token(stale)})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "今天没有律师值班。" in page and TAKE_A_NUMBER not in page  # said on the start screen
    assert _walkins() == []


def test_without_the_forms_token_the_kiosk_starts_again(client, hall):
    with time_machine.travel(ON_THE_DAY, tick=False):
        client.get(f"/kiosk/?station={hall.id}")
        response = client.post("/kiosk/walkin", data={"csrf_token": "stale"})
        missing = client.post("/kiosk/walkin")
    assert response.status_code == 302 and response.headers["Location"] == "/kiosk/"
    assert missing.status_code == 302 and missing.headers["Location"] == "/kiosk/"
    assert _walkins() == []


def test_the_phone_site_gives_no_numbers(client, hall):
    with time_machine.travel(ON_THE_DAY, tick=False):
        page = client.get(f"/kiosk/?station={hall.id}").get_data(as_text=True)
        response = client.post("/book/walkin", data={"csrf_token": csrf_token(page)})
        assert client.get("/book/walkin").status_code in (302, 404)
    assert response.status_code == 404  # only the hall's screen hands out numbers
    assert _walkins() == []
