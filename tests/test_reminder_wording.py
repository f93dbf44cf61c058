"""Messages say the right thing: the duty lawyer's early notice names the real distance to the shift,
and a confirmation made obsolete before it was sent lapses instead of arriving before the newer notice.

The shift is on Tuesday 10 March 2026; Monday 9 March is the previous working day. Clocks are set
with time-machine, in Beijing time (UTC+8).
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
import time_machine

from legalaid.bookings import services as bookings
from legalaid.bookings.models import Booking
from legalaid.extensions import db
from legalaid.reminders import services as outbox
from legalaid.reminders.models import EXPIRED, PENDING, SENT, OutboxMessage
from legalaid.reminders.senders import render
from legalaid.roster import services as roster
from tests.test_reminder_rules import DAY, bj, book, messages, notices_at, run_at
from tests.test_reminder_rules import world as world  # the fixture, shared

EARLY = ("duty_week", "duty_soon")


@pytest.fixture
def hand(app, make_station, make_lawyer):
    """A station whose Tuesday shift does not exist yet, and the lawyer who will be given it by hand."""
    station = make_station("临时站", address="解放区民主路 2 号")
    return {"station": station, "lawyer": make_lawyer(station, name="刘洋")}


def give(hand, at: datetime) -> None:
    """An administrator sets Tuesday's shift by hand at that moment, and the scheduler runs then."""
    with time_machine.travel(at, tick=False):
        roster.set_shift_lawyer(hand["station"], DAY, hand["lawyer"], "临时安排", today=at.date())
        db.session.commit()
    run_at(at)


def early(hand) -> list[OutboxMessage]:
    return [m for m in messages() if m.kind in EARLY and m.recipient_id == hand["lawyer"].id]


def text(message: OutboxMessage) -> str:
    subject, body = render(message)
    return f"{subject} {body}"


def test_a_shift_given_a_week_ahead_is_announced_as_in_a_week(hand):
    give(hand, bj(3, 3, 15, 0))  # Tuesday a week before, after the 10:00 reminder time
    [notice] = early(hand)
    assert (notice.kind, notice.template) == ("duty_week", "duty_week")
    assert notice.due_at == bj(3, 3, 15, 0) and notice.params["day"] == "2026-03-10"
    assert notice.dedupe_key.startswith("duty_week:")


def test_a_shift_given_two_days_ahead_says_two_days_not_a_week(hand):
    give(hand, bj(3, 8, 10, 0))  # Sunday
    [notice] = early(hand)
    assert (notice.kind, notice.template, notice.params["days"]) == ("duty_soon", "duty_soon", 2)
    assert notice.due_at == bj(3, 8, 10, 0)
    words = text(notice)
    assert "week" not in words and "一周" not in words
    assert "in 2 days" in words or "2 天" in words
    run_at(bj(3, 8, 10, 1))
    assert len(early(hand)) == 1  # one early notice, however often the job runs
    run_at(bj(3, 9, 17, 0))  # the eve reminder still comes, and says nothing of a distance
    eve = [m for m in messages("duty_eve") if m.recipient_id == hand["lawyer"].id]
    assert len(eve) == 1 and "week" not in text(eve[0]) and "一周" not in text(eve[0])


def test_a_shift_given_for_tomorrow_gets_the_eve_and_morning_reminders_only(hand):
    give(hand, bj(3, 9, 10, 0))  # Monday morning, for Tuesday
    assert early(hand) == []
    run_at(bj(3, 9, 17, 0))
    run_at(bj(3, 10, 8, 0))
    mine = [m for m in messages() if m.recipient_id == hand["lawyer"].id]
    assert sorted(m.kind for m in mine) == ["duty_eve", "duty_morning"]
    assert all("week" not in text(m) and "一周" not in text(m) for m in mine)


def test_at_night_the_distance_is_counted_from_the_morning_it_goes_out(hand, make_lawyer):
    give(hand, bj(3, 7, 22, 0))  # Saturday night: it goes out on Sunday at 08:00, two days ahead
    [notice] = early(hand)
    assert notice.template == "duty_soon" and notice.params["days"] == 2
    assert notice.due_at == bj(3, 8, 8, 0)
    # Sunday night for Tuesday: by Monday 08:00 it is tomorrow, so no early notice at all.
    late = make_lawyer(hand["station"], name="陈静")
    with time_machine.travel(bj(3, 8, 22, 0), tick=False):
        roster.set_shift_lawyer(hand["station"], DAY, late, "刘洋请假", today=date(2026, 3, 8))
        db.session.commit()
    run_at(bj(3, 8, 22, 0))
    assert [m for m in messages() if m.kind in EARLY and m.recipient_id == late.id] == []


def test_an_early_notice_not_sent_on_its_day_lapses_rather_than_say_a_wrong_distance(hand, tmp_path, app):
    app.instance_path = str(tmp_path)
    give(hand, bj(3, 3, 15, 0))
    with time_machine.travel(bj(3, 4, 9, 0), tick=False):  # the sweeper was down until the next day
        outbox.sweep()
    [notice] = early(hand)
    assert notice.status == EXPIRED and notice.expires_at == bj(3, 4, 0, 0)


# -- a confirmation overtaken by a later move or cancellation -----------------------------------------


def sweep_at(instant: datetime) -> None:
    with time_machine.travel(instant, tick=False):
        outbox.sweep()


def move(world, booking: Booking, at: datetime, slot_index: int) -> None:
    with time_machine.travel(at, tick=False):
        bookings.move(db.session.get(Booking, booking.id), world["slots"][slot_index])
        db.session.commit()
    notices_at(at)


def cancel(booking: Booking, at: datetime) -> None:
    with time_machine.travel(at, tick=False):
        bookings.cancel(db.session.get(Booking, booking.id), "有事")
        db.session.commit()
    notices_at(at)


def statuses() -> dict[str, str]:
    return {m.kind: m.status for m in messages() if m.kind.startswith("booking_")}


def test_a_confirmation_overtaken_by_a_move_before_it_was_sent_lapses(world, tmp_path, app):
    app.instance_path = str(tmp_path)
    booking = book(world, bj(3, 5, 22, 30))  # at night: the confirmation waits for 08:00
    move(world, booking, bj(3, 5, 22, 40), 3)
    assert statuses() == {"booking_confirmed": EXPIRED, "booking_moved": PENDING}
    sweep_at(bj(3, 6, 8, 0))
    assert statuses() == {"booking_confirmed": EXPIRED, "booking_moved": SENT}
    [moved] = messages("booking_moved")
    assert moved.params["when"] == "2026-03-10 10:30"  # only the newest time is told


def test_a_confirmation_and_a_move_overtaken_by_a_cancellation_lapse(world, tmp_path, app):
    app.instance_path = str(tmp_path)
    booking = book(world, bj(3, 5, 22, 30))
    move(world, booking, bj(3, 5, 22, 40), 3)
    cancel(booking, bj(3, 5, 22, 50))
    sweep_at(bj(3, 6, 8, 0))
    assert statuses() == {"booking_confirmed": EXPIRED, "booking_moved": EXPIRED, "booking_cancelled": SENT}
    [confirmed] = messages("booking_confirmed")
    assert [e.status for e in outbox.history(confirmed)] == [EXPIRED]


def test_a_confirmation_already_sent_stays_sent_when_the_booking_moves_later(world, tmp_path, app):
    app.instance_path = str(tmp_path)
    booking = book(world, bj(3, 5, 10, 0))
    sweep_at(bj(3, 5, 10, 1))
    move(world, booking, bj(3, 5, 11, 0), 3)
    move(world, booking, bj(3, 5, 11, 5), 4)  # the first move's notice is still waiting: it lapses
    sweep_at(bj(3, 5, 11, 6))
    moved = messages("booking_moved")
    assert messages("booking_confirmed")[0].status == SENT
    assert [m.status for m in moved] == [EXPIRED, SENT] and moved[1].params["when"] == "2026-03-10 11:00"
