"""The heavy jobs at province scale: the outbox sweep claims and saves the log sender's messages a batch
at a time (statements do not grow per message) and still sends each once; a sweeper that fails hands back
what it never tried; the retention job erases in a few statements however many records are due; the
roster tells a batch listener about a whole range of new shifts at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from legalaid import generate
from legalaid.audit.models import AuditEntry
from legalaid.extensions import db
from legalaid.privacy import retention
from legalaid.reminders import senders
from legalaid.reminders import services as outbox
from legalaid.reminders.models import PENDING, SENDING, SENT, UNKNOWN, OutboxMessage
from legalaid.roster import services as roster
from tests.conftest import QueryCounter, _empty_tables
from tests.test_reminders import NOW, _queue, _statuses


def _log_lines(app) -> list[str]:
    path = app.instance_path + "/" + app.config["OUTBOX_LOG_FILE"]
    with open(path, encoding="utf-8") as fh:
        return fh.read().splitlines()


def test_a_sweep_sends_each_log_message_once_in_a_few_statements(app):
    _queue(250)
    db.session.commit()
    counter = QueryCounter()
    reports = []
    statements = counter.during(lambda: reports.append(outbox.sweep(NOW)))
    assert reports[0].sent == 250 and _statuses() == {SENT: 250}
    # Three claims of up to 100, each sent and saved together: not two commits per message.
    assert statements <= 30, statements
    lines = _log_lines(app)
    assert len(lines) == 250 and len({line.split()[0] for line in lines}) == 250  # each id once
    events = db.session.scalar(sa.select(sa.func.count()).select_from(outbox.OutboxEvent))
    assert events == 250


def test_a_sweeper_that_fails_mid_batch_saves_what_it_sent_and_hands_back_the_rest(app, monkeypatch):
    _queue(10)
    db.session.commit()
    sent = []
    real_send = senders.LogSender.send

    def failing(self, message):
        if len(sent) == 4:
            raise RuntimeError("the process is going down")
        real_send(self, message)
        sent.append(message.id)

    monkeypatch.setattr(senders.LogSender, "send", failing)
    with pytest.raises(RuntimeError):
        outbox.sweep(NOW)
    db.session.expire_all()
    # Four recorded as sent; the one being sent when it failed stays claimed (in doubt); the five
    # never tried are back in the queue, unclaimed.
    assert _statuses() == {SENT: 4, SENDING: 1, PENDING: 5}
    waiting = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.status == PENDING)).all()
    assert all(m.claimed_by is None and m.claimed_at is None for m in waiting)
    monkeypatch.setattr(senders.LogSender, "send", real_send)
    assert outbox.sweep(NOW + timedelta(minutes=1)).sent == 5
    assert outbox.sweep(NOW + timedelta(minutes=12)).unknown == 1  # in doubt: a person checks
    assert _statuses() == {SENT: 9, UNKNOWN: 1}
    assert len(_log_lines(app)) == 9


def test_a_claim_running_past_half_its_lease_hands_back_what_it_has_not_tried(app, monkeypatch):
    _queue(6)
    db.session.commit()
    lease = outbox.CLAIM_LEASE.total_seconds()
    readings = iter([0.0, 0.0, 1.0, lease] + [lease] * 50)
    monkeypatch.setattr(outbox, "_clock", lambda: next(readings))
    # The first claim: one sent, then half the lease is gone and the other five go back; the next
    # claim (a fresh lease) sends them.
    handed_back: list[int] = []
    release = outbox._release
    monkeypatch.setattr(
        outbox, "_release", lambda ids, worker: (handed_back.extend(ids), release(ids, worker))
    )
    report = outbox.sweep(NOW)
    assert len(handed_back) == 5
    assert report.sent == 6 and _statuses() == {SENT: 6}
    assert len(_log_lines(app)) == 6


def test_quiet_hours_still_hold_for_a_batch(app):
    _queue(3)
    db.session.commit()
    night = datetime(2026, 3, 9, 14, 0, tzinfo=UTC)  # 22:00 in Beijing
    assert outbox.sweep(night).sent == 0 and _statuses() == {PENDING: 3}


def _retention_statements(app, stations: int, per_year: int) -> tuple[int, int]:
    """Generate three years, then count the statements of a retention run keeping one year."""
    now = datetime(2026, 11, 18, 2, 30, tzinfo=UTC)
    with time_machine.travel(now, tick=False):
        generate.generate(
            generate.Sizes(stations=stations, years=3, per_station_year=per_year, seed=3), say=lambda _l: None
        )
        db.session.execute(sa.text("UPDATE stations SET retention_years = 1"))
        db.session.commit()
        counter = QueryCounter()
        runs = []
        statements = counter.during(lambda: runs.append(retention.run(now)))
        erased = sum(len(part.erased.consultations) for part in runs[0].stations)
        db.session.commit()
    return statements, erased


def test_retention_erases_in_statements_that_do_not_grow_with_the_records(app):
    small, erased_small = _retention_statements(app, 1, 40)
    db.session.remove()
    _empty_tables(app)
    large, erased_large = _retention_statements(app, 1, 120)
    assert erased_large > 2 * erased_small > 0
    assert large == small, (small, large)


def test_retention_scrubs_the_bookings_audit_details_in_one_statement(app):
    entries = [
        AuditEntry(
            actor_name="system",
            action="booking.cancel",
            target_type="bookings",
            target_id=target,
            details=details,
        )
        for target, details in (
            (42, {"mobile": "138****5678", "reason": "有事", "name": "王", "slot": 3}),
            (43, {"slot": 4}),
            (1042, {"mobile": "139****0000"}),  # not one of the erased bookings
        )
    ]
    db.session.add_all(entries)
    db.session.commit()
    counter = QueryCounter()
    assert counter.during(lambda: retention._scrub_audit("bookings", [42, 43])) == 1
    db.session.commit()
    db.session.expire_all()
    assert [db.session.get(AuditEntry, e.id).details for e in entries] == [
        {"slot": 3},
        {"slot": 4},
        {"mobile": "139****0000"},
    ]


def test_the_roster_tells_a_batch_listener_once_about_a_range_of_new_shifts(app, monkeypatch):
    told: list[int] = []
    monkeypatch.setattr(roster, "on_shifts_made", [lambda shifts: told.append(len(shifts))])
    roster._shifts_made([])
    assert told == []
    roster._shifts_made([object(), object(), object()])  # type: ignore[list-item]
    assert told == [3]
