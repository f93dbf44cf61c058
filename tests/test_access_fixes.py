"""Issue 13 point 5: a booking's record form only for the lawyer on duty for its shift (and
administrators), every view audited; the console's names only for today's duty lawyer; hall staff
without a station reach no station's desk."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
import time_machine

from legalaid.audit.models import AuditEntry
from legalaid.bookings import calling
from legalaid.bookings.models import Booking
from legalaid.consultations import services
from legalaid.extensions import db
from legalaid.roster import services as roster
from tests.conftest import csrf_token, login

DUTY_DAY = date(2026, 3, 10)  # a Tuesday
NEXT_DUTY_DAY = date(2026, 3, 17)
BOOKED_AT = datetime(2026, 3, 5, 2, 0, tzinfo=UTC)
ON_THE_DAY = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)  # 11:00 in Beijing


@pytest.fixture
def day(app, make_station, make_lawyer, make_user, make_booking):
    """Today's duty lawyer with a booking; a colleague on duty next week with a booking; another
    station; the desk, a staff account without a station, an administrator."""
    station, elsewhere = make_station("咨询站"), make_station("别的站")
    duty, colleague = make_lawyer(station, name="值班甲"), make_lawyer(station, name="律师乙")
    far = make_lawyer(elsewhere, name="律师丙")
    today = roster.set_shift_lawyer(station, DUTY_DAY, duty, "排班", today=date(2026, 3, 1))
    later = roster.set_shift_lawyer(station, NEXT_DUTY_DAY, colleague, "排班", today=date(2026, 3, 1))
    there = roster.set_shift_lawyer(elsewhere, DUTY_DAY, far, "排班", today=date(2026, 3, 1))
    db.session.commit()
    make_user("staff", username="desk", station_id=station.id)
    make_user("staff", username="nowhere")
    make_user("admin", username="chief")
    return {
        "station": station,
        "elsewhere": elsewhere,
        "duty": duty,
        "colleague": colleague,
        "far": far,
        "today": make_booking(today, name="王建国", mobile="13812345678", now=BOOKED_AT),
        "next_week": make_booking(later, name="赵大爷", mobile="13812345680", now=BOOKED_AT),
        "there": make_booking(there, name="钱大妈", mobile="13812345681", now=BOOKED_AT),
    }


def _views(booking_id: int) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            sa.select(AuditEntry).where(
                AuditEntry.action == "booking.record_form", AuditEntry.target_id == booking_id
            )
        )
    )


@pytest.mark.parametrize(
    ("who", "booking", "expected"),
    [
        ("duty", "today", 200),
        ("chief", "today", 200),
        ("chief", "next_week", 200),
        ("duty", "next_week", 403),  # a booking of a colleague's shift
        ("colleague", "next_week", 403),  # their own shift, but not today: nothing to record yet
        ("colleague", "today", 403),  # the bug of issue 13: any lawyer of the station
        ("far", "today", 404),  # a lawyer of another station
        ("duty", "there", 404),  # another station's booking
        ("desk", "today", 403),
    ],
)
def test_the_record_form_opens_only_for_its_duty_lawyer(app, client, day, who, booking, expected):
    username = day[who].user.username if who in ("duty", "colleague", "far") else who
    target = day[booking]
    with time_machine.travel(ON_THE_DAY, tick=False):
        login(client, username)
        response = client.get(f"/consultations/new?booking={target.id}")
    assert response.status_code == expected
    page = response.get_data(as_text=True)
    if expected == 200:
        assert target.name in page and target.code in page
        entries = _views(target.id)
        assert len(entries) == 1 and entries[0].actor_name == username
        assert not entries[0].details  # who looked at which booking; no personal data
    else:
        assert target.name not in page and target.code not in page
        assert _views(target.id) == []


def test_posting_a_booking_of_another_shift_reveals_nothing_and_records_nothing(app, client, day):
    with time_machine.travel(ON_THE_DAY, tick=False):
        login(client, day["duty"].user.username)
        token = csrf_token(client.get("/consultations/new").get_data(as_text=True))
        response = client.post(
            f"/consultations/new?booking={day['next_week'].id}",
            data={"csrf_token": token, "category": "labour", "summary": "x", "outcomes": "advice"},
        )
    assert response.status_code == 403
    assert "赵大爷" not in response.get_data(as_text=True)
    assert db.session.get(Booking, day["next_week"].id).status == "booked"


def test_the_no_show_button_is_only_for_the_shifts_own_duty_lawyer(app, client, day):
    with time_machine.travel(ON_THE_DAY, tick=False):
        login(client, day["colleague"].user.username)
        token = csrf_token(client.get("/console").get_data(as_text=True))
        refused = client.post(f"/console/bookings/{day['today'].id}/no-show", data={"csrf_token": token})
    assert refused.status_code == 404
    assert db.session.get(Booking, day["today"].id).status == "booked"


def test_may_record_walk_ins_and_people_without_a_booking(app, day):
    station = day["station"]
    with time_machine.travel(ON_THE_DAY, tick=False):
        walkin = calling.issue_walkin(station, "labour", name="孙大叔")
        db.session.commit()
        duty, colleague = day["duty"].user, day["colleague"].user
        assert services.may_record(duty, station, walkin=walkin)
        assert not services.may_record(colleague, station, walkin=walkin)
        assert services.may_record(duty, station)
        assert not services.may_record(colleague, station)
        # A shift of another station never counts, even for its own lawyer.
        assert not services.may_record(day["far"].user, station, booking=day["there"])


def test_the_console_lists_names_only_to_todays_duty_lawyer(app, client, day):
    with time_machine.travel(ON_THE_DAY, tick=False):
        for username, sees in [
            (day["duty"].user.username, True),
            ("chief", True),
            (day["colleague"].user.username, False),
        ]:
            browser = app.test_client()
            login(browser, username)
            page = browser.get(f"/console?station={day['station'].id}").get_data(as_text=True)
            assert ("王建国" in page) is sees, username
            assert day["today"].code not in page or sees


def test_staff_without_a_station_reach_no_desk(app, client, day):
    login(client, "nowhere")
    for url in ["/desk", f"/desk?station={day['station'].id}", f"/desk/book?station={day['elsewhere'].id}"]:
        response = client.get(url)
        assert response.status_code == 403, url
        page = response.get_data(as_text=True)
        assert "王建国" not in page and "咨询站" not in page
    token = csrf_token(client.get("/").get_data(as_text=True))
    for url in ["/desk/walkin", "/desk/call-next", f"/desk/bookings/{day['today'].id}/check_in"]:
        data = {"csrf_token": token, "name": "某人"}
        response = client.post(f"{url}?station={day['station'].id}", data=data)
        assert response.status_code in (403, 404), url
    assert db.session.get(Booking, day["today"].id).status == "booked"
    # The other staff pages: the printed roster, the lawyer's arrival, a number shown in full.
    assert client.get(f"/roster/print?station={day['station'].id}").status_code == 404
    shift = roster.shift_on(day["station"], DUTY_DAY)
    with time_machine.travel(ON_THE_DAY, tick=False):
        login(client, "nowhere")
        token = csrf_token(client.get("/").get_data(as_text=True))
        client.post(f"/roster/shifts/{shift.id}/check-in", data={"csrf_token": token})
        revealed = client.post(
            f"/reveal/booking/{day['today'].id}",
            data={"csrf_token": token, "field": "mobile", "reason": "callback"},
        )
    assert revealed.status_code == 403 and "13812345678" not in revealed.get_data(as_text=True)
    db.session.expire_all()
    assert roster.shift_on(day["station"], DUTY_DAY).checked_in_at is None


def test_staff_with_a_station_keep_their_desk(app, client, day):
    login(client, "desk")
    page = client.get(f"/desk?station={day['elsewhere'].id}").get_data(as_text=True)
    assert "咨询站" in page  # their own station, whatever is asked
