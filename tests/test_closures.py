"""Closing a day that people are booked on: the administrator first sees who it affects; confirming
cancels each booking with the reason, releases the shift, and tells each person and the lawyer once."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from legalaid.bookings import planning
from legalaid.bookings import services as bookings
from legalaid.bookings.models import BOOKED, CANCELLED, Booking
from legalaid.errors import InvalidInput
from legalaid.extensions import db
from legalaid.reminders import rules
from legalaid.reminders.models import OutboxMessage
from legalaid.roster import closing
from legalaid.roster import services as roster
from legalaid.roster.models import Closure, DutyShift
from tests.conftest import csrf_token, login

DAY = date(2026, 3, 10)  # a Tuesday
NOW = datetime(2026, 3, 5, 2, 0, tzinfo=UTC)  # Thursday before, 10:00 in Beijing
PEOPLE = (
    ("王建国", "13812345678", "kiosk"),
    ("李秀英", "13987654321", "online"),
    ("赵六", "13700001111", "hotline"),
)


@pytest.fixture
def booked_day(app, make_station, make_lawyer, make_user):
    """A Tuesday with its lawyer and three people booked through three channels; the clock five days
    before."""
    with time_machine.travel(NOW, tick=False):
        station = make_station("闭馆站")
        lawyer = make_lawyer(station, name="张明")
        admin = make_user("admin", username="juzhang")
        shift = roster.set_shift_lawyer(station, DAY, lawyer, "测试", today=date(2026, 3, 1))
        db.session.commit()
        slots = planning.ensure_slots(shift)
        made = []
        for index, (name, mobile, channel) in enumerate(PEOPLE):
            made.append(
                bookings.place_booking(
                    bookings.BookingRequest(
                        slot_id=slots[index].id,
                        name=name,
                        mobile=mobile,
                        category="labour",
                        channel=channel,
                        idempotency_key=secrets.token_hex(16),
                        consent=True,
                    ),
                    now=NOW,
                )
            )
            db.session.commit()
        db.session.commit()
        yield station, shift, lawyer, admin, made


def _messages(kind: str) -> list[OutboxMessage]:
    """The outbox after the reminders' job has read what happened (it runs every minute)."""
    rules.enqueue_due(NOW)
    db.session.commit()
    return list(db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == kind)))


def test_closing_a_booked_day_cancels_releases_and_tells_everyone_once(booked_day):
    station, shift, lawyer, _admin, made = booked_day
    with time_machine.travel(NOW, tick=False):
        impact = closing.closure_impact(station, DAY)
        assert impact.shift.id == shift.id and [b.id for b in impact.bookings] == [b.id for b in made]

        closing.close_day(station, DAY, "服务大厅停电检修（全天）")
        db.session.commit()

        for booking in made:
            db.session.refresh(booking)
            assert booking.status == CANCELLED
            assert "服务大厅停电检修（全天）" in booking.cancel_reason  # the reason as typed
        closed = _messages("booking_closed")
        assert sorted(m.address for m in closed) == sorted(p[1] for p in PEOPLE)
        assert all(m.params["code"] in {b.code for b in made} and "/book" in m.params["link"] for m in closed)
        assert not _messages("booking_cancelled")  # one message each, the one that says why
        (duty,) = _messages("duty_cancelled")
        assert duty.address == lawyer.mobile and duty.params["count"] == 3
        # The shift is off the roster: nobody on duty that day, the month view has no lawyer.
        assert roster.shift_on(station, DAY) is None
        assert db.session.get(DutyShift, shift.id).released_at is not None
        assert all(d.shift is None for d in roster.month_days(station, 2026, 3) if d.day == DAY)
        # Places are given back.
        assert all(slot.booked == 0 for slot in planning.ensure_slots(db.session.get(DutyShift, shift.id)))
        # Saving the same closure again tells nobody twice.
        closing.close_day(station, DAY, "服务大厅停电检修（全天）")
        db.session.commit()
        assert len(_messages("booking_closed")) == 3 and len(_messages("duty_cancelled")) == 1


def test_duty_reminders_are_not_queued_for_a_closed_day(booked_day):
    station, _shift, _lawyer, _admin, _made = booked_day
    with time_machine.travel(NOW, tick=False):
        closing.close_day(station, DAY, "场地活动")
        db.session.commit()
    # Monday 17:00 Beijing: the duty eve reminder would be due.
    eve = datetime(2026, 3, 9, 9, 1, tzinfo=UTC)
    with time_machine.travel(eve, tick=False):
        rules.enqueue_due(eve)
        db.session.commit()
    assert not [m for m in db.session.scalars(sa.select(OutboxMessage)) if m.kind.startswith("duty_eve")]


def test_a_reason_is_needed_when_people_are_booked(booked_day):
    station, _shift, _lawyer, _admin, made = booked_day
    with time_machine.travel(NOW, tick=False), pytest.raises(InvalidInput):
        closing.close_day(station, DAY, "  ")
    db.session.rollback()
    assert all(db.session.get(Booking, b.id).status == BOOKED for b in made)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Closure)) == 0


def test_the_page_shows_who_is_affected_before_saving_then_closes(booked_day, client):
    station, _shift, _lawyer, admin, made = booked_day
    with time_machine.travel(NOW, tick=True):
        login(client, admin.username)
        url = f"/admin/roster/closures?station={station.id}"
        token = csrf_token(client.get(url).get_data(as_text=True))
        first = client.post(url, data={"csrf_token": token, "closed_on": DAY.isoformat(), "kind": "close"})
        page = first.get_data(as_text=True)
        assert first.status_code == 200 and "张明" in page
        assert all(b.code in page for b in made) and "13812345678" not in page  # numbers masked
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Closure)) == 0  # nothing saved yet
        # Confirming without a reason: told on the same page, nothing saved.
        token = csrf_token(page)
        data = {
            "csrf_token": token,
            "closed_on": DAY.isoformat(),
            "kind": "close",
            "confirmed": DAY.isoformat(),
        }
        again = client.post(url, data=data)
        assert "请填写原因" in again.get_data(as_text=True)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Closure)) == 0
        done = client.post(url, data={**data, "reason": "服务大厅场地活动"}, follow_redirects=True)
        assert done.status_code == 200 and "3" in done.get_data(as_text=True)
    assert all(db.session.get(Booking, b.id).status == CANCELLED for b in made)
    assert len(_messages("booking_closed")) == 3


def test_the_look_up_says_the_station_is_closed(booked_day, client):
    station, _shift, _lawyer, _admin, made = booked_day
    with time_machine.travel(NOW, tick=True):
        closing.close_day(station, DAY, "停电检修")
        db.session.commit()
        booking = made[0]
        page = client.get("/booking/lookup").get_data(as_text=True)
        response = client.post(
            "/booking/lookup",
            data={"csrf_token": csrf_token(page), "code": booking.code, "last4": "5678"},
            follow_redirects=True,
        )
        text = response.get_data(as_text=True)
    assert "已取消" in text and "闭馆" in text and "停电检修" in text, text[-3000:]


def test_re_opening_the_day_gives_the_shift_back(booked_day):
    station, shift, lawyer, _admin, _made = booked_day
    with time_machine.travel(NOW, tick=False):
        closing.close_day(station, DAY, "场地活动")
        db.session.commit()
        roster.remove_closure(station, DAY)
        db.session.commit()
        restored = roster.shift_on(station, DAY)
        assert restored is not None and restored.id == shift.id and restored.lawyer_id == lawyer.id


def test_generating_the_roster_over_a_closed_booked_day_keeps_its_history(booked_day):
    station, shift, _lawyer, _admin, made = booked_day
    with time_machine.travel(NOW, tick=False):
        roster.set_closure(station, DAY + timedelta(weeks=1), True, "场地活动")
        closing.close_day(station, DAY, "停电")
        db.session.commit()
        roster.apply_rotation(station, DAY - timedelta(days=1), DAY + timedelta(weeks=2), today=NOW.date())
        db.session.commit()
        assert roster.shift_on(station, DAY) is None
        assert db.session.get(DutyShift, shift.id) is not None  # the cancelled bookings still point at it
        assert all(db.session.get(Booking, b.id).shift_id == shift.id for b in made)


def test_the_command_line_shows_and_closes(booked_day, runner):
    station, _shift, _lawyer, _admin, made = booked_day
    with time_machine.travel(NOW, tick=False):
        args = ["roster", "close", "--station", str(station.id), "--date", DAY.isoformat()]
        dry = runner.invoke(args=[*args, "--dry-run"])
        assert dry.exit_code == 0 and "张明" in dry.output and made[0].code in dry.output
        assert "dry run" in dry.output and not _messages("booking_closed")
        refused = runner.invoke(args=args)
        assert refused.exit_code != 0 and "Traceback" not in refused.output
        done = runner.invoke(args=[*args, "--reason", "停电检修"])
        assert done.exit_code == 0, done.output
        assert "3 bookings cancelled" in done.output
    assert len(_messages("booking_closed")) == 3
