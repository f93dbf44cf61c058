"""The demo data loads once, its printed accounts sign in, and its year of history fills the reports."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
import time_machine

from legalaid import demo
from legalaid.auth.models import User
from legalaid.extensions import db
from tests.conftest import login


def test_demo_load_is_idempotent(runner, app):
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0 and "admin" in first.output
    second = runner.invoke(args=["demo", "load"])
    assert "already" in second.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == len(demo.DEMO_ACCOUNTS)
    skipped = runner.invoke(args=["demo", "load", "--if-empty"])
    assert "not loaded" in skipped.output


def test_printed_demo_accounts_sign_in(runner, client):
    runner.invoke(args=["demo", "load"])
    listing = runner.invoke(args=["demo", "accounts"]).output
    for username, _name, _role, password in demo.DEMO_ACCOUNTS:
        assert username in listing and password in listing
        fresh = client.application.test_client()
        assert login(fresh, username, password).status_code == 302


def test_demo_outbox_has_a_message_in_every_status_and_the_admin_page_shows_them(runner, client):
    from legalaid.reminders.models import STATUSES, OutboxMessage

    runner.invoke(args=["demo", "load"])
    statuses = set(db.session.scalars(sa.select(OutboxMessage.status).distinct()))
    assert statuses == set(STATUSES)
    login(client, "admin", "admin-demo-2026")
    page = client.get("/admin/outbox/?status=unknown").get_data(as_text=True)
    assert "1 条消息" in page and "值班律师：前一个工作日" in page


def _demo_station():
    from legalaid.stations.models import Station

    return db.session.scalar(sa.select(Station).where(Station.name == demo.DEMO_STATION))


def test_demo_history_fills_the_reports_of_the_current_year(app):
    """Loaded on 2 December, the year's statistics and annual report show every figure: eleven months
    of consultations, every outcome, category and channel, matters open, overdue and closed."""
    from legalaid.audit.models import AuditEntry
    from legalaid.bookings.models import BOOKED, Booking
    from legalaid.categories import MATTER_CATEGORIES
    from legalaid.consultations.models import IN_PROGRESS, RESULTS, Matter
    from legalaid.lawyers.models import Unavailability
    from legalaid.reminders.models import PENDING, OutboxMessage
    from legalaid.reports import services as reports
    from legalaid.roster import services as roster
    from legalaid.swaps.models import REQUESTED, SwapRequest

    today = date(2026, 12, 2)
    with time_machine.travel(datetime(2026, 12, 2, 2, 0, tzinfo=UTC), tick=False):  # 10:00 in Jiaozuo
        assert "consultations" in demo.load(today=today)
        db.session.commit()
    station = _demo_station()
    stats = reports.statistics(reports.Period(date(2026, 1, 1), date(2026, 12, 31), station.id), today=today)
    assert sum(1 for _month, n in stats.by_month if n) >= 6
    assert all(stats.by_outcome.values()), stats.by_outcome
    assert set(stats.by_category) == set(MATTER_CATEGORIES)
    assert {"kiosk", "online", "hotline", "phone", "staff", "walkin"} <= set(stats.by_channel)
    assert all(stats.visits.by_channel.values()), stats.visits.by_channel
    assert stats.visits.walkins > 0 and stats.visits.no_shows > 0
    follow = stats.follow_ups
    assert follow.open > follow.overdue > 0 and follow.closed > 0
    assert follow.money_saved > 0 and follow.legal_aid_accepted > 0 and follow.legal_aid_concluded > 0
    assert set(db.session.scalars(sa.select(Matter.result).where(Matter.result.is_not(None)))) == set(RESULTS)
    assert db.session.scalar(sa.select(sa.func.count()).where(Matter.status == IN_PROGRESS)) > 0
    year = reports.annual_report(2026, station.id, today=today)
    assert 0 < year["persons"] < year["consultations"]  # some people came back
    assert year["duty_days_attended"] < year["duty_days_held"]  # a forgotten check-in
    assert reports.annual_report(2025, station.id, today=today)["consultations"] > 0
    performance = reports.lawyer_performance(reports.Period(date(2026, 1, 1), today, station.id), today=today)
    assert sum(row.swapped_away for row in performance) == sum(row.taken_over for row in performance) > 0
    assert reports.month_figures(station.id, today, today=today).overdue

    # What the demo guaranteed before: a swap waiting, a hall event, a week of leave, four booked days,
    # and the bookings' messages sent (only the outbox's sample is waiting).
    assert db.session.scalar(sa.select(sa.func.count()).where(SwapRequest.status == REQUESTED)) == 1
    assert any(
        c.reason == "服务大厅场地活动"
        for c in roster.closures(station, today, today + timedelta(weeks=8)).values()
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Unavailability)) == 1
    coming = roster.shifts_between(station, today, today + timedelta(days=27))
    # Today (a Wednesday) is an extra duty day, so the day-of pages can be tried at once; then four Tuesdays.
    assert [s.duty_on for s in coming][0] == today and len(coming) == 5
    assert all(s.duty_on.weekday() == 1 for s in coming[1:])
    for shift in coming:
        assert db.session.scalar(
            sa.select(sa.func.count()).where(Booking.shift_id == shift.id, Booking.status == BOOKED)
        )
    assert not db.session.scalar(
        sa.select(sa.func.count()).where(
            OutboxMessage.status == PENDING, ~OutboxMessage.dedupe_key.startswith("demo:")
        )
    )
    # Everything happened before the demo's present (08:00 on the day it is loaded), each step at its
    # own time, from the station's setup some weeks before the history.
    now = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)
    assert db.session.scalar(sa.select(sa.func.max(AuditEntry.at))) <= now
    assert db.session.scalar(sa.select(sa.func.min(AuditEntry.at))) < datetime(2025, 12, 1, tzinfo=UTC)
    for matter in db.session.scalars(sa.select(Matter).where(Matter.closed_at.is_not(None))):
        assert matter.consultation.created_at <= matter.created_at < matter.closed_at <= now

    with time_machine.travel(datetime(2026, 12, 2, 3, 0, tzinfo=UTC), tick=False):
        assert demo.load(today=today) == []


def test_demo_loads_in_january_when_the_holiday_data_stops_at_the_old_year(app):
    """On 12 January the history is last year's; a year the holiday data lacks gets no generated shifts
    (the demo confirms nothing) but today's duty day, and loading still works, twice."""
    from legalaid.reports import services as reports
    from legalaid.roster import services as roster

    today = date(2027, 1, 12)
    with time_machine.travel(datetime(2027, 1, 12, 2, 0, tzinfo=UTC), tick=False):
        assert "consultations" in demo.load(today=today)
        db.session.commit()
        assert demo.load(today=today) == []
    station = _demo_station()
    last_year = reports.statistics(
        reports.Period(date(2026, 1, 1), date(2026, 12, 31), station.id), today=today
    )
    assert all(n for _month, n in last_year.by_month)
    assert all(last_year.by_outcome.values())
    # Today is a duty day, whatever the year; a year the holiday data lacks gets no generated shifts.
    (duty_today,) = roster.shifts_between(station, today, today)
    assert duty_today.source == "manual"
    if 2027 not in roster.holiday_years():
        assert roster.shifts_between(station, date(2027, 1, 1), date(2027, 12, 31)) == [duty_today]
        assert not roster.confirmed_years(station)
        assert reports.annual_report(2027, station.id, today=today)["consultations"] == 0


def test_the_demo_has_a_duty_day_today_even_on_a_holiday(app):
    """Loaded on National Day (a Thursday, closed by law), the demo still opens today with a lawyer, so
    the walk-ins, the desk, the console and the hall display can be tried at once."""
    from legalaid.roster import services as roster

    today = date(2026, 10, 1)
    with time_machine.travel(datetime(2026, 10, 1, 2, 0, tzinfo=UTC), tick=False):
        demo.load(today=today)
        db.session.commit()
    station = _demo_station()
    shift = roster.shift_on(station, today)
    assert shift is not None and shift.lawyer.user.username == "lawyer"  # as the README says
    assert today not in roster.closed_days(station, today, today)
    assert roster.next_duty(station, today).duty_on == today
