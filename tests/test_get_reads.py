"""A page view reads: every GET route, as every role, leaves every table as it was, except the audit log.

The world is the demo's (a year of history, a roster three months ahead, bookings, walk-ins, matters,
messages), loaded on a Tuesday morning so today's desk and console have a queue. The booking window is
widened to twelve weeks so the booking pages show days that nobody has looked at yet.

Tables a request may change, and why:
- `audit_entries`: showing a full number, an export … are recorded on purpose.
- `user_sessions.last_seen_at`: the signed-in session's idle clock, moved at most once a minute
  (`auth.services`), or the idle timeout would sign out someone who is reading. Only that column;
  the walk moves the clock two minutes once to show that this is all it writes.
- `login_attempts` is written only by a failed sign-in or look-up (POST): a GET must not touch it.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask

from legalaid import demo
from legalaid.bookings import planning
from legalaid.bookings.models import BOOKED, Booking, ShiftQuota, Slot, WalkIn
from legalaid.consultations.models import Consultation, Matter
from legalaid.extensions import db
from legalaid.lawyers.models import LawFirm, Lawyer
from legalaid.reminders.models import OutboxMessage
from legalaid.roster import services as roster
from legalaid.stations.models import Station
from tests.conftest import login
from tests.test_access import _urls

TODAY = date(2026, 12, 1)  # a Tuesday: a duty day
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 in the station's zone
WHOLE_TABLES_ALLOWED = {"audit_entries"}
COLUMNS_ALLOWED = {"user_sessions": {"last_seen_at"}}
PASSWORDS = {username: password for username, _name, _role, password in demo.DEMO_ACCOUNTS}


def snapshot() -> dict[str, tuple[int, str]]:
    """Row count and a checksum of every table (columns a request may change left out)."""
    result = {}
    with db.engine.connect() as conn:  # a connection of its own: sees what the requests committed
        for table in db.metadata.sorted_tables:
            if table.name in WHOLE_TABLES_ALLOWED:
                continue
            columns = [c for c in table.columns if c.name not in COLUMNS_ALLOWED.get(table.name, set())]
            rows = conn.execute(sa.select(*columns).order_by(*table.primary_key.columns)).all()
            digest = hashlib.sha256(repr([tuple(row) for row in rows]).encode()).hexdigest()
            result[table.name] = (len(rows), digest)
    return result


def changed_tables(before: dict, after: dict) -> list[str]:
    """The tables whose rows differ, with the change in row count."""
    return [
        f"{name} ({before[name][0]}→{after[name][0]} rows)" for name in before if before[name] != after[name]
    ]


@pytest.fixture
def world(app: Flask):
    """The demo on a Tuesday morning, with ids of real records for the routes' arguments."""
    with time_machine.travel(NOW, tick=False):
        demo.load(today=TODAY)
        db.session.commit()
    station = db.session.scalar(sa.select(Station).where(Station.name == demo.DEMO_STATION))
    station.booking_window_days = 84  # days far ahead, that nobody has looked at, are in the window
    coming = roster.shifts_between(station, TODAY + timedelta(days=1), TODAY + timedelta(days=84))
    # The last day as made before slots were made with the shift: the pages show it, and must not plan it.
    assert not planning.booking_counts([coming[-1].id])
    db.session.execute(sa.delete(Slot).where(Slot.shift_id == coming[-1].id))
    db.session.execute(sa.delete(ShiftQuota).where(ShiftQuota.shift_id == coming[-1].id))
    db.session.commit()
    booking = db.session.scalar(
        sa.select(Booking).where(Booking.status == BOOKED, Booking.shift_id == coming[0].id).limit(1)
    )
    slot = db.session.scalar(sa.select(Slot).where(Slot.shift_id == coming[0].id).order_by(Slot.id).limit(1))
    lawyer = db.session.scalar(sa.select(Lawyer).order_by(Lawyer.id).limit(1))
    latest = {
        model: db.session.scalar(sa.select(model.id).order_by(model.id.desc()).limit(1))
        for model in (Consultation, Matter, OutboxMessage, LawFirm)
    }
    walkin_id = db.session.scalar(sa.select(sa.func.max(WalkIn.id)))
    values = {
        "station_id": station.id,
        "shift_id": coming[-1].id,  # the last duty day in the window
        "slot_id": slot.id,
        "booking_id": booking.id,
        "lawyer_id": lawyer.id,
        "firm_id": latest[LawFirm],
        "consultation_id": latest[Consultation],
        "matter_id": latest[Matter],
        "message_id": latest[OutboxMessage],
        "user_id": lawyer.user_id,
        "year": TODAY.year,
        "month": "2026-11",
        "category": "labour",
        "token": lawyer.calendar_token,
        "fmt": "csv",
        "code": "zh_Hans_CN",
        "filename": "css/app.css",
    }
    session = {"station": station.id, "lookup": booking.id, "ticket": booking.code, "walkin": walkin_id}
    return values, session


def _real_urls(app: Flask, values: dict) -> list[tuple[str, str]]:
    """Every GET rule built with the ids of real records (the walk of `_urls` uses the id 1)."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or set()) or not rule.arguments:
            continue
        args = {name: values[name] for name in rule.arguments if name in values}
        if len(args) == len(rule.arguments):
            urls.append((rule.endpoint, rule.build(args, append_unknown=False)[1]))
    return urls


def _walk(app: Flask, client, values: dict, session_values: dict, traveller) -> dict[str, list[str]]:
    """GET every page, priming the visitor's session before each; which tables each request changed."""
    paths = [(e, p) for e, m, p in _urls(app) if m == "GET"] + _real_urls(app, values)
    paths += [(f"{e} ?station", f"{p}?station={values['station_id']}") for e, p in paths if "?" not in p]
    wrote: dict[str, list[str]] = {}
    before = snapshot()
    for index, (endpoint, path) in enumerate(paths):
        if index == len(paths) // 2:
            traveller.shift(timedelta(minutes=2))  # the session's idle clock moves once (allowed)
        with client.session_transaction() as session:
            session.clear()
            session.update(session_values)
        response = client.get(path)
        assert response.status_code != 500, (endpoint, path)
        after = snapshot()
        if after != before:
            wrote[f"{endpoint} {path}"] = changed_tables(before, after)
        before = after
    return wrote


# Not counted in the coverage (pytest-cov's no_cover): a sweep of every page that asserts only that nothing is
# written; measuring its requests doubled its time, and what the pages do is asserted by their own tests.
@pytest.mark.no_cover
@pytest.mark.sweep
@pytest.mark.parametrize("username", [None, "admin", "staff", "lawyer"])
def test_no_page_view_writes_anything_but_the_audit_log(app, world, username):
    values, session_values = world
    client = app.test_client()
    with time_machine.travel(NOW + timedelta(hours=1), tick=False) as traveller:
        if username is not None:
            assert login(client, username, PASSWORDS[username]).status_code == 302
        with client.session_transaction() as session:
            signed_in = dict(session)  # put back before each request: the kiosk's reset forgets it
        wrote = _walk(app, client, values, {**signed_in, **session_values}, traveller)
    assert wrote == {}, wrote
