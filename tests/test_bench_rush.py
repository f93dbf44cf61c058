"""`make bench`'s booking rush, run small against the app served over HTTP: every client reaches the
confirm page, all confirm at once, exactly the day's places are booked and everybody else is told the
day is full. Figures are not judged here (`make bench` prints them); what is counted is."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date, datetime

import pytest
import sqlalchemy as sa
import time_machine
from werkzeug.serving import make_server

from bench.jobs import _open_for_rush
from bench.load import rush
from legalaid.bookings.models import Booking, ShiftQuota, Slot
from legalaid.dates import zone
from legalaid.extensions import db

NOW = datetime(2026, 12, 10, 10, 0, tzinfo=zone("Asia/Shanghai"))  # a Thursday
DUTY_DAY = date(2026, 12, 15)  # the coming Tuesday, inside the booking window


@pytest.fixture
def served(app_factory) -> Iterator[str]:
    app = app_factory(PUBLIC_BOOKINGS_PER_ADDRESS_DAY=10_000)  # every client comes from 127.0.0.1
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    with time_machine.travel(NOW, tick=True):  # process-wide: the server's threads see it too
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}"
        finally:
            server.shutdown()
            thread.join(5)


def test_the_rush_books_exactly_the_days_places_and_tells_the_others_it_is_full(
    app, served, make_station, make_lawyer
):
    station = make_station("抢号测试站")
    lawyer = make_lawyer(station)
    opened = _open_for_rush(station, DUTY_DAY, lawyer, {"places": 5})
    result = rush({"base": served, "clients": 24, "slot_ids": opened["slot_ids"], "station": station.id})
    assert result["prepare_failed"] == 0
    assert result["outcomes"] == {"booked": 5, "full": 19}
    assert result["booked"] == 5 and len(result["latencies"]) == 24
    assert 0 < result["seconds"] <= result["all_seconds"]
    db.session.expire_all()
    assert db.session.scalar(
        sa.select(sa.func.count()).select_from(Booking).where(Booking.shift_id == opened["shift_id"])
    ) == 5
    assert db.session.get(ShiftQuota, opened["shift_id"]).public_booked == 5
    slots = db.session.scalars(sa.select(Slot).where(Slot.shift_id == opened["shift_id"])).all()
    assert sum(slot.booked for slot in slots) == 5 and all(s.booked <= s.capacity for s in slots)
