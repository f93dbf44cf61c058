"""Each reminder is queued at its time, in station time, once — at clocks set with time-machine.

The station's duty day is Tuesday 10 March 2026; Monday 9 March is the previous working day.
Beijing is UTC+8: 17:00 there is 09:00 UTC.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import time_machine

from legalaid import scheduler
from legalaid.bookings import planning
from legalaid.bookings import services as bookings
from legalaid.consultations import services as consultations
from legalaid.extensions import db
from legalaid.reminders import rules, timing
from legalaid.reminders import services as outbox
from legalaid.reminders.models import EXPIRED, PENDING, SENT, OutboxMessage
from legalaid.roster import services as roster

BEIJING = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 3, 10)  # a Tuesday


def bj(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A Beijing wall-clock time in 2026, as the aware instant."""
    return datetime(2026, month, day, hour, minute, tzinfo=BEIJING).astimezone(UTC)


def run_at(instant: datetime) -> dict[str, int]:
    """The scheduler's enqueue job at that moment."""
    with time_machine.travel(instant, tick=False):
        report = rules.enqueue_due()
        db.session.commit()
    return report


def notices_at(instant: datetime) -> int:
    """The same job's first part alone: the notices of what happened to bookings."""
    with time_machine.travel(instant, tick=False):
        queued = rules.booking_notices(instant)
        db.session.commit()
    return queued


def messages(kind: str | None = None) -> list[OutboxMessage]:
    db.session.expire_all()
    query = sa.select(OutboxMessage).order_by(OutboxMessage.id)
    if kind:
        query = query.where(OutboxMessage.kind == kind)
    return list(db.session.scalars(query))


@pytest.fixture
def world(app, make_station, make_lawyer, make_user):
    """A station with a Tuesday shift, its lawyer, another lawyer, and an administrator."""
    station = make_station("提醒站", address="解放区民主路 1 号")
    duty = make_lawyer(station, name="张明")
    other = make_lawyer(station, name="王芳")
    with time_machine.travel(bj(3, 1, 9), tick=False):
        shift = roster.set_shift_lawyer(station, DAY, duty, "测试", today=date(2026, 3, 1))
        db.session.commit()
        slots = planning.ensure_slots(shift)
        db.session.commit()
    admin = make_user("admin", username="chief", email="chief@example.org")
    return {
        "app": app,
        "station": station,
        "duty": duty,
        "other": other,
        "shift": shift,
        "slots": slots,
        "admin": admin,
    }


def book(world, at: datetime, slot_index: int = 0, mobile: str = "13812345678", channel: str = "online"):
    with time_machine.travel(at, tick=False):
        booking = bookings.place_booking(
            bookings.BookingRequest(
                slot_id=world["slots"][slot_index].id,
                name="王建国",
                mobile=mobile,
                category="labour",
                channel=channel,
                idempotency_key=secrets.token_hex(16),
                consent=True,
            )
        )
        db.session.commit()
    notices_at(at)
    return booking


# -- the quiet hours and the calendar -----------------------------------------------------------------


def test_quiet_hours_run_from_21_to_08_station_time(app):
    assert not timing.is_quiet(bj(3, 9, 20, 59)) and timing.is_quiet(bj(3, 9, 21, 0))
    assert timing.is_quiet(bj(3, 10, 7, 59)) and not timing.is_quiet(bj(3, 10, 8, 0))
    assert timing.out_of_quiet(bj(3, 9, 22, 30)) == bj(3, 10, 8, 0)
    assert timing.out_of_quiet(bj(3, 10, 6, 0)) == bj(3, 10, 8, 0)
    assert timing.out_of_quiet(bj(3, 10, 12, 0)) == bj(3, 10, 12, 0)


def test_working_days_follow_the_state_council_calendar(app):
    assert timing.previous_working_day(date(2026, 3, 10)) == date(2026, 3, 9)
    # 清明: Saturday 4 to Monday 6 April off, so the Tuesday's eve is Friday 3 April.
    assert timing.previous_working_day(date(2026, 4, 7)) == date(2026, 4, 3)
    # 调休: Saturday 28 February 2026 is a working day.
    assert timing.previous_working_day(date(2026, 3, 2)) == date(2026, 2, 28)
    assert timing.first_working_day(2026, 10) == date(2026, 10, 8)  # after 国庆
    assert timing.first_working_day(2026, 3) == date(2026, 3, 2)


# -- the duty lawyer -----------------------------------------------------------------------------------


def test_duty_lawyer_a_week_before_on_the_eve_with_the_count_and_on_the_morning(world):
    run_at(bj(3, 3, 9, 59))
    assert messages("duty_week") == []
    run_at(bj(3, 3, 10, 0))
    week = messages("duty_week")
    assert len(week) == 1 and week[0].due_at == bj(3, 3, 10) and week[0].address == world["duty"].mobile
    assert week[0].params["count"] == 0 and week[0].channel == "sms"

    book(world, bj(3, 5, 10), 0, "13812345678")
    book(world, bj(3, 6, 10), 1, "13912345678")
    run_at(bj(3, 9, 16, 59))
    assert messages("duty_eve") == []
    run_at(bj(3, 9, 17, 0))
    eve = messages("duty_eve")
    assert len(eve) == 1 and eve[0].params["count"] == 2 and eve[0].expires_at == bj(3, 10, 8)

    run_at(bj(3, 10, 7, 59))
    assert messages("duty_morning") == []
    run_at(bj(3, 10, 8, 0))
    run_at(bj(3, 10, 8, 1))  # the job runs every minute: still one of each
    assert [len(messages(k)) for k in ("duty_week", "duty_eve", "duty_morning")] == [1, 1, 1]


def test_the_eve_reminder_before_a_long_weekend_goes_on_the_last_working_day(
    world, make_station, make_lawyer
):
    station = make_station("清明站")
    lawyer = make_lawyer(station, name="李强")
    with time_machine.travel(bj(3, 20, 9), tick=False):
        roster.set_shift_lawyer(station, date(2026, 4, 7), lawyer, "测试", today=date(2026, 3, 20))
        db.session.commit()
    run_at(bj(4, 3, 17, 0))  # Friday 3 April
    eve = [m for m in messages("duty_eve") if m.recipient_id == lawyer.id]
    assert len(eve) == 1 and eve[0].due_at == bj(4, 3, 17)


# -- the veteran ---------------------------------------------------------------------------------------


def test_confirmation_on_booking_cancelling_and_moving(world):
    booking = book(world, bj(3, 5, 10))
    confirmed = messages("booking_confirmed")
    assert len(confirmed) == 1 and confirmed[0].due_at == bj(3, 5, 10)
    assert confirmed[0].params["code"] == booking.code and confirmed[0].params["lawyer"] == "张明"
    assert confirmed[0].address == "13812345678" and confirmed[0].expires_at == world["slots"][0].starts_at

    with time_machine.travel(bj(3, 6, 10), tick=False):
        bookings.move(db.session.get(type(booking), booking.id), world["slots"][3])
        db.session.commit()
    notices_at(bj(3, 6, 10))
    moved = messages("booking_moved")
    assert len(moved) == 1 and moved[0].params["when"] == "2026-03-10 10:30"

    with time_machine.travel(bj(3, 7, 10), tick=False):
        bookings.cancel(db.session.get(type(booking), booking.id), "有事")
        db.session.commit()
    notices_at(bj(3, 7, 10))
    assert len(messages("booking_cancelled")) == 1


def test_a_booking_made_at_night_is_confirmed_at_eight(world):
    book(world, bj(3, 5, 22, 30))
    assert messages("booking_confirmed")[0].due_at == bj(3, 6, 8, 0)


def test_veteran_reminders_at_17_the_day_before_and_08_on_the_day(world):
    book(world, bj(3, 5, 10), slot_index=6)  # 14:30
    run_at(bj(3, 9, 16, 59))
    assert messages("booking_eve") == []
    run_at(bj(3, 9, 17, 0))
    eve = messages("booking_eve")
    assert len(eve) == 1 and eve[0].template == "booking_reminder" and eve[0].due_at == bj(3, 9, 17)
    assert eve[0].expires_at == bj(3, 10, 8)  # the morning reminder takes over
    run_at(bj(3, 10, 8, 0))
    day = messages("booking_day")
    assert len(day) == 1 and day[0].expires_at == world["slots"][6].starts_at


def test_booked_after_the_reminder_time_gets_no_such_reminder(world):
    book(world, bj(3, 9, 17, 30), slot_index=6)  # after the eve reminder's moment
    run_at(bj(3, 9, 18, 0))
    assert messages("booking_eve") == []
    run_at(bj(3, 10, 8, 0))
    assert len(messages("booking_day")) == 1  # the morning one still comes
    book(world, bj(3, 10, 8, 30), slot_index=7, mobile="13912345678", channel="staff")
    run_at(bj(3, 10, 9, 0))
    assert len(messages("booking_day")) == 1  # booked after 08:00: nothing more than the confirmation


def test_a_cancelled_booking_gets_no_reminder(world):
    booking = book(world, bj(3, 5, 10), slot_index=6)
    with time_machine.travel(bj(3, 8, 10), tick=False):
        bookings.cancel(db.session.get(type(booking), booking.id), "有事")
        db.session.commit()
    notices_at(bj(3, 8, 10))
    run_at(bj(3, 9, 17, 0))
    run_at(bj(3, 10, 8, 0))
    assert messages("booking_eve") == [] and messages("booking_day") == []


def test_after_downtime_what_is_still_useful_is_sent_and_the_rest_expires(world, tmp_path, app):
    app.instance_path = str(tmp_path)
    early = book(world, bj(3, 5, 10), slot_index=0)  # 09:00
    late = book(world, bj(3, 5, 11), slot_index=6, mobile="13912345678")  # 14:30
    with time_machine.travel(bj(3, 5, 11, 1), tick=False):
        outbox.sweep()  # the confirmations go out
    # The scheduler is down from Monday 16:00 to Tuesday 10:00.
    run_at(bj(3, 10, 10, 0))
    with time_machine.travel(bj(3, 10, 10, 0), tick=False):
        outbox.sweep()
    db.session.expire_all()
    by_booking = {
        (m.kind, m.params["code"]): m.status for m in messages() if m.kind in ("booking_eve", "booking_day")
    }
    assert by_booking == {
        ("booking_eve", early.code): EXPIRED,
        ("booking_day", early.code): EXPIRED,  # its 09:00 time has passed
        ("booking_eve", late.code): EXPIRED,  # the morning reminder took over
        ("booking_day", late.code): SENT,  # 14:30 is still to come
    }


# -- a change of lawyer -----------------------------------------------------------------------------------


def test_booked_veterans_hear_when_their_lawyer_changes_and_not_at_night(world, tmp_path, app):
    app.instance_path = str(tmp_path)
    book(world, bj(3, 5, 10), slot_index=2)
    run_at(bj(3, 9, 17, 0))  # the old lawyer's eve reminder
    with time_machine.travel(bj(3, 9, 22, 0), tick=False):
        roster.set_shift_lawyer(world["station"], DAY, world["other"], "张明生病", today=date(2026, 3, 9))
        db.session.commit()
    run_at(bj(3, 9, 22, 1))
    run_at(bj(3, 9, 22, 2))
    changed = messages("lawyer_changed")
    assert len(changed) == 1 and changed[0].params["lawyer"] == "王芳"
    assert changed[0].due_at == bj(3, 10, 8, 0)  # not in the night
    with time_machine.travel(bj(3, 9, 22, 5), tick=False):
        assert outbox.sweep().sent == 0
    with time_machine.travel(bj(3, 10, 8, 0), tick=False):
        outbox.sweep()
    assert messages("lawyer_changed")[0].status == SENT
    # The new lawyer's morning reminder is hers; the old lawyer's is not queued.
    run_at(bj(3, 10, 8, 0))
    morning = messages("duty_morning")
    assert [m.recipient_id for m in morning] == [world["other"].id]


# -- follow-up matters, contracts, the monthly review --------------------------------------------------------


def _matter(world, due_on: date):
    with time_machine.travel(bj(3, 10, 10), tick=False):
        c = consultations.record_consultation(
            world["station"],
            world["duty"].user,
            consultations.Record(
                category="labour", summary="欠薪", outcomes=["advice"], follow_up=True, due_on=due_on
            ),
            name="王建国",
            today=DAY,
        )
        db.session.commit()
    return c.matter


def test_follow_up_owner_the_day_before_and_when_overdue_once_then_weekly(world):
    matter = _matter(world, date(2026, 3, 20))
    run_at(bj(3, 19, 8, 59))
    assert messages("matter_due") == []
    run_at(bj(3, 19, 9, 0))
    due = messages("matter_due")
    assert len(due) == 1 and due[0].params["name"] == "王**" and due[0].address == world["duty"].mobile
    run_at(bj(3, 20, 23, 0))
    assert messages("matter_overdue") == []
    run_at(bj(3, 21, 9, 0))
    run_at(bj(3, 27, 12, 0))
    assert len(messages("matter_overdue")) == 1  # once …
    run_at(bj(3, 28, 9, 0))
    assert len(messages("matter_overdue")) == 2  # … then weekly
    with time_machine.travel(bj(3, 29, 9), tick=False):
        consultations.close_matter(db.session.get(type(matter), matter.id), world["duty"].user, "resolved")
        db.session.commit()
    run_at(bj(4, 4, 9, 0))
    assert len(messages("matter_overdue")) == 2  # closed: no more


def test_administrators_hear_of_contracts_ending_within_30_days(world, make_lawyer):
    make_lawyer(world["station"], name="赵静", contract_end=date(2026, 4, 30))
    run_at(bj(3, 31, 8, 59))
    assert messages("contract_ending") == []
    run_at(bj(3, 31, 9, 0))
    run_at(bj(4, 1, 9, 0))
    ending = messages("contract_ending")
    assert len(ending) == 1 and ending[0].address == "chief@example.org" and ending[0].channel == "email"
    assert ending[0].params["end"] == "2026-04-30"


def test_monthly_review_on_the_first_working_day(world):
    _matter(world, date(2026, 3, 20))
    run_at(bj(4, 1, 8, 59))
    assert messages("monthly_review") == []
    run_at(bj(4, 1, 9, 0))
    run_at(bj(4, 2, 9, 0))
    review = messages("monthly_review")
    assert len(review) == 1
    assert review[0].params["month"] == "2026-03" and review[0].params["consultations"] == 1
    assert review[0].params["new_matters"] == 1 and review[0].params["overdue"] == 1
    assert "法律咨询 1" in review[0].params["outcomes"]
    run_at(bj(10, 7, 12, 0))  # 国庆: the review waits for the first working day
    assert len(messages("monthly_review")) == 1
    run_at(bj(10, 8, 9, 0))
    assert len(messages("monthly_review")) == 2


def test_quiet_hours_hold_back_the_sweep_and_retries(app, tmp_path):
    app.instance_path = str(tmp_path)
    outbox.enqueue(
        kind="test",
        channel="log",
        recipient_type="veteran",
        recipient_id=None,
        address="13812345678",
        template="test",
        params={"station": "站"},
        due_at=bj(3, 9, 20, 55),
        dedupe_key="late",
    )
    db.session.commit()
    with time_machine.travel(bj(3, 9, 21, 30), tick=False):
        assert outbox.sweep().sent == 0
    assert messages()[0].status == PENDING
    with time_machine.travel(bj(3, 10, 8, 0), tick=False):
        assert outbox.sweep().sent == 1


def test_the_enqueue_and_send_commands(runner, world):
    book(world, bj(3, 5, 10), slot_index=6)
    with time_machine.travel(bj(3, 9, 17, 0), tick=False):
        result = runner.invoke(args=["reminders", "enqueue"])
        assert result.exit_code == 0 and "'booking': 1" in result.output, result.output
        result = runner.invoke(args=["reminders", "enqueue"])
        assert "'booking': 0" in result.output
        result = runner.invoke(args=["reminders", "send-due"])
        assert result.exit_code == 0 and "sent=" in result.output, result.output
    with time_machine.travel(bj(3, 11, 10, 0), tick=False):
        result = runner.invoke(args=["bookings", "mark-no-shows"])
        assert result.exit_code == 0 and "no_shows: 1" in result.output, result.output


def test_a_reminder_queued_but_not_yet_sent_lapses_when_the_booking_is_cancelled(world):
    booking = book(world, bj(3, 5, 10), slot_index=6)
    run_at(bj(3, 9, 17, 0))  # queued; the sweep has not run yet
    with time_machine.travel(bj(3, 9, 17, 0), tick=False):
        bookings.cancel(db.session.get(type(booking), booking.id), "有事")
        db.session.commit()
    with time_machine.travel(bj(3, 9, 17, 0) + timedelta(seconds=10), tick=False):
        scheduler.run_job(world["app"], "send_due")  # the sweep reads what happened to bookings first
    eve = messages("booking_eve")
    assert len(eve) == 1 and eve[0].status == EXPIRED
    history = outbox.history(eve[0])
    assert [e.status for e in history] == [EXPIRED]
