"""Calling the next person: the desk and the console pressing "call next" at the same moment, from two
threads and from two processes on one database, never call the same person twice and skip nobody."""

from __future__ import annotations

import multiprocessing
import secrets
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from legalaid.audit.models import AuditEntry
from legalaid.bookings import calling, planning
from legalaid.bookings import services as bookings
from legalaid.bookings.models import Booking, WalkIn
from legalaid.extensions import db
from legalaid.roster import services as roster
from legalaid.stations.models import Station

DAY = date(2026, 3, 10)  # a Tuesday
BEFORE = datetime(2026, 3, 5, 2, 0, tzinfo=UTC)
ARRIVED = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)  # 09:00 in the hall
PRESSED = datetime(2026, 3, 10, 2, 25, tzinfo=UTC)  # 10:25: the 09:00 … 10:30 bookings are due
TRIALS = 20
DUE, LATER, WALK_INS = 4, 2, 34  # 40 people: exactly the 20 trials × 2 presses


@pytest.fixture
def day(app, make_station, make_lawyer) -> tuple[int, list[str]]:
    """A duty day with arrived bookings (some due, some later) and walk-ins; the station's id and
    the order in which they must be called."""
    station = make_station("叫号站")
    shift = roster.set_shift_lawyer(station, DAY, make_lawyer(station), "测试", today=date(2026, 3, 1))
    db.session.commit()
    codes = []
    for n, slot in enumerate(planning.ensure_slots(shift)[: DUE + LATER]):  # 09:00, 09:30 … 11:30
        booking = bookings.place_booking(
            bookings.BookingRequest(
                slot_id=slot.id,
                name="叫号测试",
                mobile=f"1370000{n:04d}",
                category="other",
                channel="staff",
                idempotency_key=secrets.token_hex(16),
                consent=True,
            ),
            now=BEFORE,
        )
        db.session.commit()
        bookings.check_in(booking, now=ARRIVED)
        codes.append(booking.queue_label)  # B001 …: the queue number given at check-in
    walk_ins = [calling.issue_walkin(station, now=ARRIVED).label for _ in range(WALK_INS)]
    db.session.commit()
    # Due bookings in time order, then walk-ins by number, then the bookings whose time has not come.
    return station.id, codes[:DUE] + walk_ins + codes[DUE:]


def _press(station_id: int, barrier, out: list) -> None:
    """Press "call next" once per trial, at the same moment as the other desk (app context pushed)."""
    try:
        station = db.session.get(Station, station_id)
        for trial in range(TRIALS):
            barrier.wait()
            called = calling.call_next(station, now=PRESSED + timedelta(seconds=trial))
            db.session.commit()
            out.append(called.label if called else None)
    except Exception as error:  # the other desk must not wait for us at the barrier
        barrier.abort()
        out.append(f"error: {type(error).__name__}: {error}")
    finally:
        db.session.remove()


def _press_in_a_process(database_url: str, station_id: int, barrier, results) -> None:
    """One desk in its own process (spawned): its own app and connections."""
    from tests.conftest import make_app

    app = make_app(database_url)
    out: list = []
    with app.app_context():
        _press(station_id, barrier, out)
        db.engine.dispose()
    results.put(out)


def _check(presses: list[list], expected: list[str], how: str) -> None:
    """Every trial called the next two people in line, one each: none twice, none skipped."""
    errors = [label for labels in presses for label in labels if str(label).startswith("error")]
    assert not errors, errors[:3]
    assert [len(labels) for labels in presses] == [TRIALS, TRIALS]
    pairs = list(zip(*presses, strict=True))
    duplicates = sum(a == b for a, b in pairs)
    skipped = len(set(expected) - {label for pair in pairs for label in pair})
    where = db.engine.dialect.name
    print(f"{TRIALS} trials x 2 {how} on {where}: {duplicates} duplicates, {skipped} skipped")
    assert (duplicates, skipped) == (0, 0)
    assert [set(pair) for pair in pairs] == [set(expected[2 * t : 2 * t + 2]) for t in range(TRIALS)]
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).where(Booking.called_at.is_not(None))) == DUE + LATER
    assert db.session.scalar(sa.select(sa.func.count()).where(WalkIn.status == "called")) == WALK_INS
    calls = sa.select(sa.func.count()).where(AuditEntry.action.in_(("booking.call", "walkin.call")))
    assert db.session.scalar(calls) == len(expected)  # one entry per person: nobody announced twice


def test_the_order_of_calling(day):
    station_id, expected = day
    station = db.session.get(Station, station_id)
    called = [calling.call_next(station, now=PRESSED).label for _ in expected]
    assert called == expected
    assert calling.call_next(station, now=PRESSED) is None


def test_a_desk_that_loses_a_person_calls_the_next_one(day):
    station_id, expected = day
    station = db.session.get(Station, station_id)
    # The desk read the queue, then the console called its first person before the desk's claim.
    first = db.session.scalar(sa.select(Booking).where(Booking.queue_number == int(expected[0][1:])))
    db.session.execute(sa.update(Booking).where(Booking.id == first.id).values(called_at=PRESSED))
    assert not calling._call_booking(first, station, PRESSED)
    assert calling.call_next(station, now=PRESSED).label == expected[1]


def test_two_threads_press_call_next_at_once_twenty_times(app_factory, day):
    station_id, expected = day
    apps = [app_factory(), app_factory()]  # the desk's worker and the console's
    barrier = threading.Barrier(2, timeout=60)
    presses: list[list] = [[], []]

    def press(n: int) -> None:
        with apps[n].app_context():
            _press(station_id, barrier, presses[n])

    threads = [threading.Thread(target=press, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    _check(presses, expected, "threads")


def test_two_processes_press_call_next_at_once_twenty_times(day, database_url):
    station_id, expected = day
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2, timeout=60)
    results = context.Queue()
    workers = [
        context.Process(target=_press_in_a_process, args=(database_url, station_id, barrier, results))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    presses = [results.get(timeout=180) for _ in workers]
    for worker in workers:
        worker.join(60)
    _check(presses, expected, "processes")
