"""The kiosk, the hall display and booking at province scale (issue 15, point 3): the kiosk's day list,
its time page and the hall display's poll cost the same few queries however many days, times and calls
they show; an anonymous visitor's second look within a moment is served from the page cache without a
query, with the same body and every security header; nothing of a signed-in user, a message waiting
for one browser or a form is ever kept; a booking or a call made in this process is seen at once."""

from __future__ import annotations

import re
import secrets
import threading
from datetime import UTC, date, datetime, time, timedelta
from unittest.mock import patch

import pytest
import sqlalchemy as sa
import time_machine
from flask_wtf.csrf import generate_csrf

from legalaid import cache
from legalaid.bookings import calling
from legalaid.bookings import services as bookings
from legalaid.bookings.models import Booking, ShiftQuota, Slot
from legalaid.errors import SlotFull
from legalaid.extensions import db
from legalaid.roster import services as roster
from legalaid.stations import services as stations
from legalaid.transaction import unit_of_work
from tests.conftest import QueryCounter, login

TODAY = date(2026, 3, 2)  # a Monday in a month without statutory holidays
BOOKING_AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in the station's zone
DUTY_MORNING = datetime(2026, 3, 10, 1, 30, tzinfo=UTC)  # 09:30 on Tuesday 10 March
SECURITY_HEADERS = (
    "Content-Security-Policy",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "X-Frame-Options",
    "Cross-Origin-Opener-Policy",
    "Permissions-Policy",
    "Cache-Control",
)



class Clock:
    """The page cache's clock, moved by the test instead of waited for."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _duty_days(station, lawyers, days: int) -> list:
    """`days` duty days from 10 March on (weekdays), each with its own lawyer, planned."""
    shifts, day = [], date(2026, 3, 10)
    while len(shifts) < days:
        if day.weekday() < 5:
            lawyer = lawyers[len(shifts) % len(lawyers)]
            shifts.append(roster.set_shift_lawyer(station, day, lawyer, "排班", today=TODAY))
        day += timedelta(days=1)
    db.session.commit()
    return shifts


@pytest.fixture
def clock(app):
    """The app's caches on a clock the test moves."""
    fake = Clock()
    cache.caches().clock = fake
    return fake


@pytest.fixture
def day(app, make_station, make_lawyer):
    """A station with one duty day (10 March), six times of one place each."""
    station = make_station("大厅站", slot_minutes=60, places_per_slot=1, walkin_reserve=0)
    lawyer = make_lawyer(station, name="张律师")
    (shift,) = _duty_days(station, [lawyer], 1)
    return station, shift


# -- query counts that do not grow with what is shown ------------------------------------------------------


def test_the_day_list_costs_the_same_queries_for_three_times_the_days(app, make_station, make_lawyer):
    app.config["PAGE_CACHE_SECONDS"] = 0  # every request renders: its queries are counted
    counter, counts = QueryCounter(), []
    for days in (2, 6):
        station = make_station(f"站{days}")
        lawyers = [make_lawyer(station) for _ in range(days)]  # a different lawyer each day
        _duty_days(station, lawyers, days)
        client, path = app.test_client(), f"/book/days?station={station.id}"
        with time_machine.travel(BOOKING_AT, tick=False):
            page = client.get(path)
            assert page.status_code == 200
            assert len(re.findall(r'href="/book/day/\d+"', page.get_data(as_text=True))) == days
            counts.append(counter.during(lambda p=path, c=client: c.get(p)))
    assert counts[0] == counts[1] <= 2, counts  # the shifts, then their slots with the quotas


def test_the_time_page_costs_the_same_queries_for_three_times_the_slots(app, make_station, make_lawyer):
    app.config["PAGE_CACHE_SECONDS"] = 0
    counter, counts = QueryCounter(), []
    for minutes, slots in ((60, 6), (20, 18)):  # 09:00–12:00 and 14:30–17:30
        station = make_station(f"站{minutes}", slot_minutes=minutes)
        (shift,) = _duty_days(station, [make_lawyer(station)], 1)
        client = app.test_client()
        with time_machine.travel(BOOKING_AT, tick=False):
            path = f"/kiosk/day/{shift.id}?station={station.id}"
            page = client.get(path).get_data(as_text=True)
            assert len(re.findall(r'href="/kiosk/slot/\d+"', page)) == slots
            counts.append(counter.during(lambda p=path, c=client: c.get(p)))
    assert counts[0] == counts[1] <= 2, counts  # the shift, then its slots with the quota


def test_the_hall_display_costs_the_same_queries_for_three_times_the_calls(app, day):
    app.config["HALL_CACHE_SECONDS"] = 0
    station, _shift = day
    counter, client, counts = QueryCounter(), app.test_client(), []
    path = f"/duty/calling?station={station.id}"
    with time_machine.travel(DUTY_MORNING, tick=False):
        for calls in (2, 6):
            while len(calling.hall_calls(station, limit=10)) < calls:
                calling.issue_walkin(station, name="王先生")
                calling.call_next(station)
                db.session.commit()
            page = client.get(path).get_data(as_text=True)
            assert f"A{calls:03d}" in page
            counts.append(counter.during(lambda: client.get(path)))
    assert counts[0] == counts[1] <= 2, counts  # the called bookings, the called walk-in numbers


# -- the page cache ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/kiosk/days", "/book/days", "/duty/calling", "/kiosk/day/{shift}"])
def test_a_second_anonymous_look_asks_nothing_and_gets_the_same_page(app, day, clock, path):
    station, shift = day
    path = path.format(shift=shift.id) + f"?station={station.id}"
    client, counter = app.test_client(), QueryCounter()
    with time_machine.travel(BOOKING_AT, tick=False):
        first = client.get(path)
        assert first.status_code == 200
        assert counter.during(lambda: client.get(path)) == 0  # the station from the memo, the page kept
        again = client.get(path)
        assert again.get_data() == first.get_data()
        for name in SECURITY_HEADERS:  # the after-request hooks ran for the cached page too
            assert again.headers.get(name) == first.headers.get(name) and again.headers.get(name), name
        assert again.headers["Cache-Control"] == "no-store"
        # Byte for byte what a fresh render gives the next anonymous visitor.
        cache.caches().pages.clear()
        cache.caches().memo.clear()
        fresh = app.test_client().get(path)
    assert fresh.get_data() == first.get_data()


def test_each_visitor_gets_their_own_session_cookie_never_a_cached_one(app, day, clock):
    station, _shift = day
    path = f"/book/days?station={station.id}"
    one, other = app.test_client(), app.test_client()
    with time_machine.travel(BOOKING_AT, tick=False):
        first = one.get(path)  # the station chosen is kept in this visitor's session
        answer = other.get(path)  # served from the cache: the station still goes in its own session
    assert answer.get_data() == first.get_data()
    assert "station" in _session_of(first) and "station" in _session_of(answer)
    assert first.headers["Set-Cookie"] != answer.headers["Set-Cookie"] or _session_of(first) == _session_of(
        answer
    )


def _session_of(response) -> dict:
    """The session a response's cookie carries (signed, not encrypted: readable)."""
    import base64
    import json

    cookie = response.headers["Set-Cookie"].split(";", 1)[0].split("=", 1)[1]
    payload = cookie.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_nothing_is_cached_for_a_signed_in_user(app, day, clock, make_user):
    station, _shift = day
    make_user("staff", username="desk", station_id=station.id)
    client, counter = app.test_client(), QueryCounter()
    with time_machine.travel(BOOKING_AT, tick=False):
        assert login(client, "desk").status_code == 302  # signed at the same time as the pages are asked
        for path in (f"/kiosk/days?station={station.id}", f"/duty/calling?station={station.id}"):
            client.get(path)
            assert counter.during(lambda p=path: client.get(p)) > 0
    assert len(cache.caches().pages) == 0


def test_a_message_waiting_for_one_browser_is_shown_to_it_alone(app, day, clock):
    station, _shift = day
    path = f"/book/days?station={station.id}"
    with time_machine.travel(BOOKING_AT, tick=False):
        app.test_client().get(path)  # the page is in the cache
        client = app.test_client()
        with client.session_transaction() as session:
            session["_flashes"] = [("success", "您的预约已取消。")]
        assert "您的预约已取消。" in client.get(path).get_data(as_text=True)
        assert "您的预约已取消。" not in app.test_client().get(path).get_data(as_text=True)


def test_a_page_with_a_csrf_token_is_never_kept(app, clock):
    with app.test_request_context("/book/days"):
        assert cache.page(cache.KIOSK, 1, lambda: "plain") == "plain"
    assert len(cache.caches().pages) == 1
    with app.test_request_context("/book/slot/1/labour"):
        assert "<form>" in cache.page(cache.KIOSK, 1, lambda: f"<form>{generate_csrf()}</form>")
    assert len(cache.caches().pages) == 1  # the plain one only


def test_the_cache_never_bypasses_the_kiosk_enrolment(app, day, clock):
    station, _shift = day
    path = f"/kiosk/days?station={station.id}"
    with time_machine.travel(BOOKING_AT, tick=False):
        assert app.test_client().get(path).status_code == 200  # kept in the cache
        app.config["KIOSK_ENROLMENT_REQUIRED"] = True
        refused = app.test_client().get(path)
    assert refused.status_code == 403 and "大厅站" not in refused.get_data(as_text=True)


def test_a_booking_here_shows_one_place_fewer_at_once(app, day, clock, make_booking):
    station, shift = day
    path = f"/book/days?station={station.id}"
    client = app.test_client()
    with time_machine.travel(BOOKING_AT, tick=False):
        before = client.get(path).get_data(as_text=True)
        make_booking(shift)  # in this process, without moving the clock
        after = client.get(path).get_data(as_text=True)
    assert _count(before) == 6 and _count(after) == 5


def _count(html: str) -> int:
    found = re.search(r"(\d+)\s*(?:个名额|places left)", html)
    assert found, html
    return int(found.group(1))


def test_a_change_behind_the_cache_shows_when_the_page_expires(app, day, clock):
    station, shift = day
    path = f"/book/days?station={station.id}"
    client = app.test_client()
    with time_machine.travel(BOOKING_AT, tick=False):
        assert _count(client.get(path).get_data(as_text=True)) == 6
        # Another process books (this one hears nothing of it).
        db.session.execute(sa.update(Slot).where(Slot.shift_id == shift.id).values(booked=1))
        db.session.execute(
            sa.update(ShiftQuota).where(ShiftQuota.shift_id == shift.id).values(public_booked=6)
        )
        db.session.commit()
        clock.now += 1.5
        assert _count(client.get(path).get_data(as_text=True)) == 6  # within the 2 s
        clock.now += 1.0
        page = client.get(path).get_data(as_text=True)
    assert "已约满" in page or "Full" in page


def test_a_call_here_shows_on_the_hall_display_at_once(app, day, clock):
    station, _shift = day
    path = f"/duty/calling?station={station.id}"
    client = app.test_client()
    with time_machine.travel(DUTY_MORNING, tick=False):
        assert "A001" not in client.get(path).get_data(as_text=True)
        calling.issue_walkin(station, name="王先生")
        calling.call_next(station)
        db.session.commit()
        assert "A001" in client.get(path).get_data(as_text=True)
        calling.issue_walkin(station, name="李女士")
        db.session.commit()
        calling.call_next(station)
        db.session.commit()
        assert "A002" in client.get(path).get_data(as_text=True)


def test_a_page_rendered_while_a_call_commits_is_not_kept(app, day, clock):
    """The hall's poll reads the queue, a desk's call commits (and drops the cached panel), then the poll
    finishes rendering what it read before: that old panel must not be kept for the next TVs."""
    station, _shift = day
    path = f"/duty/calling?station={station.id}"
    real = calling.hall_calls
    calls_made: list[str] = []

    def hall_calls_then_a_call_commits(*args, **kwargs):
        read = real(*args, **kwargs)
        if not calls_made:  # the desk, in another request, calls the next person meanwhile
            calls_made.append("A001")
            calling.issue_walkin(station, name="王先生")
            calling.call_next(station)
            db.session.commit()
        return read

    with time_machine.travel(DUTY_MORNING, tick=False):
        with patch.object(calling, "hall_calls", hall_calls_then_a_call_commits):
            stale = app.test_client().get(path).get_data(as_text=True)
        assert "A001" not in stale  # rendered from what was read before the call
        assert "A001" in app.test_client().get(path).get_data(as_text=True)  # not served from the cache


def test_settings_and_closures_changed_here_are_seen_at_once(app, day, clock):
    station, shift = day
    path = f"/book/days?station={station.id}"
    client = app.test_client()
    with time_machine.travel(BOOKING_AT, tick=False):
        assert f'href="/book/day/{shift.id}"' in client.get(path).get_data(as_text=True)
        roster.set_closure(station, shift.duty_on, True, "大厅检修")
        db.session.commit()
        assert f'href="/book/day/{shift.id}"' not in client.get(path).get_data(as_text=True)
        settings = stations.StationSettings.of(station)
        settings.name = "新大厅站"
        stations.update_station(station, settings)
        db.session.commit()
        assert stations.public_station(station.id).name == "新大厅站"


def test_the_memo_keeps_a_station_for_its_time_only(app, day, clock):
    station_id = day[0].id
    db.session.expunge_all()  # as in a request of its own: the test's rows are not in its session
    with app.test_request_context("/"):
        assert stations.public_station(station_id).name == "大厅站"
    db.session.execute(sa.text("UPDATE stations SET name = '改名站' WHERE id = :id"), {"id": station_id})
    db.session.commit()
    db.session.expunge_all()
    with app.test_request_context("/"):
        assert stations.public_station(station_id).name == "大厅站"  # another process changed it
    clock.now += app.config["MEMO_CACHE_SECONDS"] + 1
    db.session.expunge_all()
    with app.test_request_context("/"):
        assert stations.public_station(station_id).name == "改名站"


def test_the_cache_is_small_and_forgets_the_oldest():
    store = cache.TTLCache(Clock(), maxsize=3)
    for n in range(5):
        store.put(("page", n), n, 10)
    assert len(store) == 3 and store.get(("page", 0)) is cache.MISSING and store.get(("page", 4)) == 4


def test_station_sessions_come_with_the_memoised_station(app, make_station):
    station = make_station("两段站", sessions=[(time(8, 0), time(11, 0)), (time(13, 0), time(16, 0))])
    station_id = station.id
    db.session.expunge_all()
    with app.test_request_context("/"):
        stations.public_station(station_id)
    db.session.expunge_all()  # the next request's own session: the row comes from the memo alone
    with app.test_request_context("/"):
        counter = QueryCounter()
        held = []
        assert counter.during(lambda: held.append(stations.public_station(station_id))) == 0
        assert [(s.start_time, s.end_time) for s in held[0].sessions] == [
            (time(8, 0), time(11, 0)),
            (time(13, 0), time(16, 0)),
        ]


# -- the rush ------------------------------------------------------------------------------------------


def test_a_rush_on_the_days_quota_never_overbooks(app_factory, make_station, make_lawyer):
    """Twenty people confirm at once on six times of two places, with three places for booking ahead:
    the place is taken last, inside the booking's savepoint, so those who lose on the quota give the
    time's place back with everything else."""
    station = make_station("抢号站", slot_minutes=60, places_per_slot=2, walkin_reserve=0)
    (shift,) = _duty_days(station, [make_lawyer(station)], 1)
    db.session.execute(sa.update(ShiftQuota).where(ShiftQuota.shift_id == shift.id).values(public_capacity=3))
    db.session.commit()
    slot_ids = list(db.session.scalars(sa.select(Slot.id).where(Slot.shift_id == shift.id)))
    apps = [app_factory() for _ in range(2)]  # two workers
    barrier, lock, outcomes = threading.Barrier(20, timeout=60), threading.Lock(), []

    def confirm(n: int) -> None:
        with apps[n % 2].app_context():
            req = bookings.BookingRequest(
                slot_id=slot_ids[n % len(slot_ids)],
                name="抢号",
                mobile=f"1391234{n:04d}",
                category="other",
                channel="online",
                idempotency_key=secrets.token_hex(16),
                consent=True,
            )
            barrier.wait()
            try:
                with unit_of_work():
                    bookings.place_booking(req, now=BOOKING_AT)
                result = "booked"
            except SlotFull:
                result = "full"
            except Exception as error:  # anything else fails the test
                result = f"error: {type(error).__name__}: {error}"
            finally:
                db.session.remove()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=confirm, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    for application in apps:
        with application.app_context():
            db.engine.dispose()
    assert outcomes.count("booked") == 3 and outcomes.count("full") == 17, outcomes
    db.session.expire_all()
    held = dict(
        db.session.execute(
            sa.select(Booking.slot_id, sa.func.count())
            .where(Booking.shift_id == shift.id)
            .group_by(Booking.slot_id)
        ).all()
    )
    for slot in db.session.scalars(sa.select(Slot).where(Slot.shift_id == shift.id)):
        assert slot.booked == held.get(slot.id, 0) <= slot.capacity
    assert db.session.get(ShiftQuota, shift.id).public_booked == 3


def _booking_form(slot_id: int, n: int, key: str | None = None) -> bookings.BookingRequest:
    return bookings.BookingRequest(
        slot_id=slot_id,
        name="抢号",
        mobile=f"1391234{n:04d}",
        category="other",
        channel="online",
        idempotency_key=key or secrets.token_hex(16),
        consent=True,
    )


def _statements_of(call) -> list[str]:
    said: list[str] = []

    def note(conn, cursor, statement, *args) -> None:
        said.append(statement.split(None, 1)[0].upper())

    sa.event.listen(db.engine, "before_cursor_execute", note)
    try:
        call()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", note)
    return said


@pytest.mark.parametrize("gone", ["the time's place", "the day's places for booking ahead"])
def test_a_form_after_the_last_place_is_refused_with_three_reads_and_no_write(app, day, gone):
    """A rush's hundreds who confirm after the last place: three reads (the slot, the day's places, the
    form's key), nothing written; the form that took the last place, sent again, still gets its ticket."""
    station, shift = day  # six times of one place each
    slot_ids = list(db.session.scalars(sa.select(Slot.id).where(Slot.shift_id == shift.id).order_by(Slot.id)))
    if gone != "the time's place":
        quota = sa.update(ShiftQuota).where(ShiftQuota.shift_id == shift.id)
        db.session.execute(quota.values(public_capacity=1))
    winner = _booking_form(slot_ids[0], 1)
    with unit_of_work():
        code = bookings.place_booking(winner, now=BOOKING_AT).code
    late_slot = slot_ids[0] if gone == "the time's place" else slot_ids[1]
    with pytest.raises(SlotFull):  # the first one after the last place: the day's closures are kept
        bookings.place_booking(_booking_form(late_slot, 2), now=BOOKING_AT)
    db.session.rollback()
    db.session.expire_all()  # a new request: nothing of the last one in the session
    stations.public_station(station.id)  # as the kiosk's every request has it (from the memo)

    def refused() -> None:
        with pytest.raises(SlotFull):
            bookings.place_booking(_booking_form(late_slot, 3), now=BOOKING_AT)

    said = _statements_of(refused)
    db.session.rollback()
    assert said and set(said) == {"SELECT"} and len(said) <= 3, said
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 1
    db.session.expire_all()
    again = bookings.place_booking(_booking_form(slot_ids[0], 1, key=winner.idempotency_key), now=BOOKING_AT)
    assert again.code == code


def test_a_full_time_past_its_cutoff_is_still_told_as_closed_for_booking(app, day):
    """The quick refusal of a full time still says why when the time can no longer be booked at all."""
    from legalaid.errors import NotAllowed

    _station, shift = day
    first_slot = db.session.scalar(sa.select(Slot.id).where(Slot.shift_id == shift.id).order_by(Slot.id))
    with unit_of_work():
        bookings.place_booking(_booking_form(first_slot, 1), now=BOOKING_AT)
    db.session.expire_all()
    with pytest.raises(NotAllowed) as refused:
        bookings.place_booking(_booking_form(first_slot, 2), now=DUTY_MORNING)
    assert refused.value.message == "该时段已停止预约，请选择更晚的时段。"
