"""The API under load and for the province: each key's calls per minute (429 with Retry-After), the last
place raced by fifty callers over HTTP (exactly one booking), and the annual and monthly figures."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
import time_machine
from werkzeug.serving import make_server

from legalaid.api import services as api
from legalaid.api.models import BOOKINGS_WRITE, REPORTS_READ, SLOTS_READ
from legalaid.bookings.models import Booking, Slot
from legalaid.extensions import db
from legalaid.reports import services as reports
from tests import test_reports as hand
from tests.api.conftest import NOW, bearer
from tests.test_reports import world  # noqa: F401  (the reports' hand-counted world, a fixture)

_names = iter(range(1, 1000))


def _key(scopes: list[str], rate: int = 600, station=None) -> str:
    station_id = station.id if station else None
    _made, plain = api.create_key(f"键{next(_names)}", scopes, station_id, rate_per_minute=rate)
    db.session.commit()
    return plain


def test_a_key_over_its_calls_a_minute_is_told_when_to_come_back(client, clock, station):
    key = _key([SLOTS_READ], rate=3)
    for _ in range(3):
        assert client.get("/api/v1/stations", headers=bearer(key)).status_code == 200
    refused = client.get("/api/v1/stations", headers=bearer(key))
    assert refused.status_code == 429 and refused.mimetype == "application/problem+json"
    assert refused.get_json()["code"] == "rate_limited"
    assert refused.headers["Retry-After"] == "60"  # the clock stands at hh:mm:00
    other = _key([SLOTS_READ], rate=3)
    assert client.get("/api/v1/stations", headers=bearer(other)).status_code == 200  # per key
    clock.move_to(NOW + timedelta(seconds=45))
    assert client.get("/api/v1/stations", headers=bearer(key)).headers["Retry-After"] == "15"
    clock.move_to(NOW + timedelta(minutes=1))
    assert client.get("/api/v1/stations", headers=bearer(key)).status_code == 200  # a new minute


def test_fifty_callers_race_for_the_last_place_over_http(app, app_factory, clock, station):
    key = _key([SLOTS_READ, BOOKINGS_WRITE])
    slot_id = db.session.scalar(
        sa.select(Slot.id).join(Slot.shift).where(Slot.starts_at == datetime(2026, 3, 17, 1, 0, tzinfo=UTC))
    )
    assert db.session.get(Slot, slot_id).capacity == 1  # one place: the last one
    server = make_server("127.0.0.1", 0, app_factory(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    barrier = threading.Barrier(50, timeout=60)
    answers: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def call(n: int) -> None:
        body = {
            "slot_id": slot_id,
            "name": f"来电人{n}",
            "mobile": f"139{n:08d}",
            "category": "other",
            "consent": True,
        }
        request = urllib.request.Request(
            f"http://127.0.0.1:{server.server_port}/api/v1/bookings",
            data=json.dumps(body).encode(),
            headers={**bearer(key), "Content-Type": "application/json"},
            method="POST",
        )
        barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (http://127.0.0.1)
                answer = (response.status, json.load(response))
        except urllib.error.HTTPError as error:
            answer = (error.code, json.load(error))
        with lock:
            answers.append(answer)

    try:
        with time_machine.travel(NOW, tick=True):
            workers = [threading.Thread(target=call, args=(n,)) for n in range(50)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join(120)
    finally:
        server.shutdown()
        thread.join(5)
    statuses = sorted(status for status, _body in answers)
    assert statuses == [201] + [409] * 49, statuses
    assert {body["code"] for status, body in answers if status == 409} == {"slot_full"}
    db.session.expire_all()
    assert db.session.get(Slot, slot_id).booked == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 1
    print(f"api race on {db.engine.dialect.name}: 50 callers, 1 booked, 49 told the slot is full")


def test_the_figures_are_the_reports_figures(client, world):  # noqa: F811
    key = _key([REPORTS_READ])
    with hand.clock(hand.TODAY):
        annual = client.get("/api/v1/reports/annual?year=2025", headers=bearer(key))
        assert annual.status_code == 200, annual.get_json()
        expected = {k: v for k, v in hand.ANNUAL_2025.items() if k != "station"}
        overall = {k: v for k, v in expected["ratings"].items() if k not in ("by_month", "by_lawyer")}
        expected["ratings"] = overall
        assert annual.get_json() == expected
        one = client.get(f"/api/v1/reports/annual?year=2025&station_id={world.s2.id}", headers=bearer(key))
        assert one.get_json()["station_id"] == world.s2.id
        assert one.get_json()["consultations"] == reports.annual_report(2025, world.s2.id)["consultations"]

        month = client.get("/api/v1/reports/monthly?year=2025&month=3", headers=bearer(key)).get_json()
        stats = reports.statistics(reports.Period(date(2025, 3, 1), date(2025, 3, 31)))
        assert month["consultations"] == stats.consultations and month["by_category"] == stats.by_category
        assert month["by_outcome"] == stats.by_outcome and month["bookings"] == stats.visits.bookings
        assert month["follow_ups_opened"] == stats.follow_ups.opened

    # A key for one station reads that station's figures only.
    mine = _key([REPORTS_READ], station=world.s2)
    with hand.clock(hand.TODAY):
        own = client.get("/api/v1/reports/annual?year=2025", headers=bearer(mine)).get_json()
        assert own["station_id"] == world.s2.id
        other = f"/api/v1/reports/annual?year=2025&station_id={world.s1.id}"
        refused = client.get(other, headers=bearer(mine))
        assert refused.status_code == 403 and refused.get_json()["code"] == "station_not_allowed"
        missing = client.get("/api/v1/reports/annual?year=2025&station_id=99999", headers=bearer(key))
        assert missing.status_code == 404
        no_scope = client.get("/api/v1/reports/annual?year=2025", headers=bearer(_key([SLOTS_READ])))
        assert no_scope.status_code == 403 and no_scope.get_json()["code"] == "insufficient_scope"
