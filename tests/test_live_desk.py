"""The live desk and console (issue 14, point 5): the lists the open pages fetch every few seconds
(/desk/live, /console/live) follow the full pages' access rules, show a walk-in from the kiosk and an
arrival, never carry the forms, cost the same few queries however long the day's queue is, and the
arrival chime is a real, audible sound."""

from __future__ import annotations

import array
import re
import secrets
import wave
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine

from legalaid.bookings import calling
from legalaid.bookings import services as bookings
from legalaid.bookings.models import Slot
from legalaid.extensions import db
from legalaid.roster import services as roster
from tests.conftest import QueryCounter, csrf_token, login

DUTY_DAY = date(2026, 3, 10)  # a Tuesday, a working day
BOOKED_AT = datetime(2026, 3, 5, 2, 0, tzinfo=UTC)
ON_THE_DAY = datetime(2026, 3, 10, 1, 30, tzinfo=UTC)  # 09:30 in the station's zone
CHIME = Path(__file__).resolve().parents[1] / "static" / "audio" / "desk-arrival.wav"


@pytest.fixture
def hall(app, make_station, make_lawyer, make_user):
    """A station with its duty lawyer today, its desk, another lawyer of the station (not on duty),
    another station's desk, a desk account without a station, and an administrator."""
    station, elsewhere = make_station("解放区站"), make_station("别的大厅")
    duty = make_lawyer(station, name="张律师")
    idle = make_lawyer(station, name="李律师")
    shift = roster.set_shift_lawyer(station, DUTY_DAY, duty, "排班", today=date(2026, 3, 1))
    db.session.commit()
    make_user("staff", username="desk", station_id=station.id)
    make_user("staff", username="otherdesk", station_id=elsewhere.id)
    make_user("staff", username="nostation")
    make_user("admin", username="chief")
    return {"station": station, "shift": shift, "duty": duty, "idle": idle}


def _as(app, username: str):
    """A browser of its own, signed in as this user."""
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def _book(shift, name: str, n: int, by=None):
    """A booking of today's shift taken at the desk (the notice read by `by`), committed."""
    slots = db.session.scalars(
        sa.select(Slot).where(Slot.shift_id == shift.id).order_by(Slot.starts_at)
    ).all()
    booking = bookings.place_booking(
        bookings.BookingRequest(
            slot_id=slots[n].id,
            name=name,
            mobile=f"1381234{n:04d}",
            category="labour",
            channel="staff",
            idempotency_key=secrets.token_hex(16),
            consent=True,
        ),
        now=BOOKED_AT,
        actor_id=by.id if by else None,
    )
    db.session.commit()
    return booking


def _arrivals(html: str) -> int:
    return int(re.search(r'data-arrivals="(\d+)"', html).group(1))


def test_a_kiosk_walk_in_and_an_arrival_show_in_the_desks_lists(app, hall):
    booking = _book(hall["shift"], "王建国", 0)
    with time_machine.travel(ON_THE_DAY, tick=False):
        desk = _as(app, "desk")
        first = desk.get("/desk/live").get_data(as_text=True)
        assert "王建国" in first and "A001" not in first and _arrivals(first) == 0
        # A visitor takes a number at the kiosk, through the kiosk's own form.
        kiosk = app.test_client()
        start = kiosk.get(f"/kiosk/?station={hall['station'].id}").get_data(as_text=True)
        assert kiosk.post("/kiosk/walkin", data={"csrf_token": csrf_token(start)}).status_code == 302
        second = desk.get("/desk/live").get_data(as_text=True)
        assert "A001" in second and _arrivals(second) == 1
        bookings.check_in(db.session.get(type(booking), booking.id))
        db.session.commit()
        third = desk.get("/desk/live").get_data(as_text=True)
    assert _arrivals(third) == 2
    assert f'data-key="booking-{booking.id}-checked_in"' in third


def test_the_live_lists_are_only_the_lists(app, hall):
    _book(hall["shift"], "王建国", 0)
    with time_machine.travel(ON_THE_DAY, tick=False):
        desk = _as(app, "desk")
        page = desk.get("/desk").get_data(as_text=True)
        live = desk.get("/desk/live").get_data(as_text=True)
    # The page polls the fragment into its lists; the walk-in form sits outside them.
    region = re.search(r'<div id="desk-live"[^>]*hx-get="([^"]+)" hx-trigger="every 5s"', page)
    assert region and region.group(1) == f"/desk/live?station={hall['station'].id}"
    assert 'src="/static/js/live.js"' in page
    assert live.lstrip().startswith('<div id="desk-live"') and "<html" not in live
    assert "/desk/walkin" not in live and 'name="name"' not in live and 'name="mobile"' not in live
    # The reason being typed and a number shown in full are kept by the page at each poll.
    assert re.search(r'<form [^>]*id="cancel-\d+" hx-preserve', live)
    assert re.search(r'<span id="keep-mobile-\d+" hx-preserve>', live)


def test_the_desks_lists_follow_the_desks_rules(app, client, hall):
    calling.issue_walkin(hall["station"], name="赵大爷", now=ON_THE_DAY)
    db.session.commit()
    url = f"/desk/live?station={hall['station'].id}"
    with time_machine.travel(ON_THE_DAY, tick=False):
        anonymous = client.get(url)
        assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/login")
        # Another station's desk asking for this station gets its own (empty) lists, never these.
        other = _as(app, "otherdesk").get(url).get_data(as_text=True)
        assert "赵大爷" not in other and "A001" not in other and _arrivals(other) == 0
        nowhere = _as(app, "nostation").get(url)  # a desk account without a station: nothing
        assert nowhere.status_code == 403 and "赵大爷" not in nowhere.get_data(as_text=True)
        assert _as(app, hall["duty"].user.username).get(url).status_code == 403  # lawyers: no desk
        chief = _as(app, "chief").get(url).get_data(as_text=True)
        own = _as(app, "desk").get(url).get_data(as_text=True)
    assert "赵大爷" in chief and "赵大爷" in own


def test_the_consoles_lists_show_names_only_to_the_duty_lawyer(app, client, hall):
    calling.issue_walkin(hall["station"], name="赵大爷", now=ON_THE_DAY)
    _book(hall["shift"], "王建国", 0)
    with time_machine.travel(ON_THE_DAY, tick=False):
        assert client.get("/console/live").status_code == 302  # anonymous: to the sign-in page
        idle = _as(app, hall["idle"].user.username).get("/console/live")
        assert _as(app, "desk").get("/console/live").status_code == 403  # the desk has no console
        duty = _as(app, hall["duty"].user.username)
        page = duty.get("/console").get_data(as_text=True)
        live = duty.get("/console/live").get_data(as_text=True)
        chief = _as(app, "chief").get(f"/console/live?station={hall['station'].id}").get_data(as_text=True)
    # A lawyer of the station who is not on duty today sees nobody, as on the console itself.
    assert idle.status_code == 200
    text = idle.get_data(as_text=True)
    assert "赵大爷" not in text and "王建国" not in text and "A001" not in text and _arrivals(text) == 0
    assert "赵大爷" in live and "王建国" in live and _arrivals(live) == 1
    assert "赵大爷" in chief and "王建国" in chief
    assert live.lstrip().startswith('<div id="console-live"') and "<html" not in live
    polls = r'<div id="console-live"[^>]*hx-get="/console/live\?station=\d+" hx-trigger="every 5s"'
    assert re.search(polls, page)


def test_an_administrators_past_day_does_not_poll(app, hall):
    with time_machine.travel(ON_THE_DAY, tick=False):
        chief = _as(app, "chief")
        past = chief.get(f"/console?station={hall['station'].id}&date=2026-03-03").get_data(as_text=True)
        today = chief.get(f"/console?station={hall['station'].id}").get_data(as_text=True)
    assert '<div id="console-live"' in past and "/console/live" not in past
    assert "/console/live" in today



def _grow_the_day(hall, make_user, start: int, people: int) -> None:
    """More bookings taken at the desk by different members of staff, some arrived and one called,
    and more walk-ins, some with a known person."""
    for n in range(start, start + people):
        reader = make_user("staff", station_id=hall["station"].id)
        booking = _book(hall["shift"], f"预约人{n}", n, by=reader)
        if n % 2:
            bookings.check_in(booking, now=ON_THE_DAY)
        veteran = bookings.veteran_for(f"来访人{n}", f"1390000{n:04d}") if n % 2 else None
        calling.issue_walkin(hall["station"], "labour", veteran, name=f"来访人{n}", now=ON_THE_DAY)
        db.session.commit()
    calling.call_next(hall["station"], now=ON_THE_DAY)
    db.session.commit()


@pytest.mark.parametrize(("username", "url"), [("desk", "/desk/live"), ("duty", "/console/live")])
def test_the_live_lists_cost_the_same_queries_however_long_the_queue(app, hall, make_user, username, url):
    _grow_the_day(hall, make_user, 0, 2)
    counter = QueryCounter()
    with time_machine.travel(ON_THE_DAY, tick=False):
        client = _as(app, hall["duty"].user.username if username == "duty" else username)
        client.get(url)  # the session's first touch is written once; count the polls after it
        small = counter.during(lambda: client.get(url))
        _grow_the_day(hall, make_user, 2, 9)
        html = []
        large = counter.during(lambda: html.append(client.get(url).get_data(as_text=True)))
    assert html[0].count(" data-key=") == 22  # 11 bookings and 11 walk-ins
    assert large == small, (small, large)
    assert small <= 8  # six today: a handful, none per row


def test_the_arrival_chime_is_a_real_quiet_sound():
    with wave.open(str(CHIME), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth()) == (1, 2)
        assert wav.getframerate() >= 8000
        seconds = wav.getnframes() / wav.getframerate()
        samples = array.array("h", wav.readframes(wav.getnframes()))
    assert 0.3 <= seconds <= 2.0
    peak = max(abs(s) for s in samples)
    assert 3000 < peak < 20000  # heard, but soft: well below full scale
    assert sum(1 for s in samples if abs(s) > 300) > len(samples) // 4  # a sound, not a click


def test_polling_is_not_activity_an_open_desk_still_goes_idle(app, hall):
    """The lists refreshing themselves do not keep a session alive: after the idle time with only polls,
    the desk's next poll and page are the sign-in screen (issue 13's idle sign-out holds)."""
    from datetime import timedelta

    with time_machine.travel(ON_THE_DAY, tick=False) as clock:
        desk = _as(app, "desk")
        assert desk.get("/desk").status_code == 200
        for _ in range(16):  # 32 minutes of polls every two minutes, nobody touching the page
            clock.shift(timedelta(minutes=2))
            polled = desk.get("/desk/live")
            if polled.status_code != 200:
                break
        assert polled.status_code == 302 and "/login" in polled.headers["Location"]
        assert "/login" in desk.get("/desk").headers["Location"]
    with time_machine.travel(ON_THE_DAY, tick=False) as clock:
        desk = _as(app, "desk")
        for _ in range(16):  # the same half hour with a person using the page: still signed in
            clock.shift(timedelta(minutes=2))
            assert desk.get("/desk").status_code == 200
        assert desk.get("/desk/live").status_code == 200
