"""The summary tables (legalaid.reports.summaries) equal what the raw rows say, after every kind of
change: bookings, moves, cancellations, a closed day, corrections (category, outcomes, lawyer, day),
bulk statements, ratings and replies, follow-ups, erasure and retention, deletion.

Two checks after each step: the rows kept up to date in the transaction equal a full rebuild from the
raw rows, and the figures the pages read through them (statistics, persons and matters, lawyer
performance) equal the same figures counted from the raw rows.
"""

from __future__ import annotations

import secrets
from datetime import date, timedelta

import sqlalchemy as sa

from legalaid.bookings import services as bookings
from legalaid.bookings.models import Booking, Slot
from legalaid.consultations import services as consultations
from legalaid.consultations.models import Consultation
from legalaid.extensions import db
from legalaid.privacy import retention
from legalaid.ratings import services as ratings
from legalaid.reports import services as reports
from legalaid.reports import summaries
from legalaid.reports.models import (
    ReportCategoryMonth,
    ReportCloseDays,
    ReportLawyerMonth,
    ReportMonth,
    ReportOpenMatter,
    ReportVisitMonth,
    ReportYear,
)
from legalaid.reports.services import Period
from legalaid.roster import closing
from tests.test_reports import TODAY, bj, clock
from tests.test_reports import world as _world

world = _world  # the world of tests/test_reports.py, as a fixture of this module too

TABLES = (
    ReportMonth,
    ReportLawyerMonth,
    ReportCategoryMonth,
    ReportCloseDays,
    ReportOpenMatter,
    ReportVisitMonth,
    ReportYear,
)


def snapshot() -> dict[str, list[tuple]]:
    """Every summary row, in key order (months read back as dates on every engine)."""
    return {
        model.__tablename__: sorted(
            tuple(row) for row in db.session.execute(sa.select(model.__table__)).all()
        )
        for model in TABLES
    }


def periods(w) -> list[Period]:
    """Whole years and months, at all stations and at each."""
    spans = [(date(y, 1, 1), date(y, 12, 31)) for y in (2024, 2025, 2026)]
    spans += [(date(2025, 3, 1), date(2025, 4, 30)), (date(2026, 1, 1), date(2026, 1, 31))]
    return [Period(a, b, s) for a, b in spans for s in (None, w.s1.id, w.s2.id)]


def assert_exact(w) -> None:
    """The summaries kept in the transaction equal a rebuild, and read the same as the raw rows."""
    summaries.refresh(db.session)
    kept = snapshot()
    summaries.rebuild_all(db.session.connection())
    assert snapshot() == kept
    for period in periods(w):
        assert period.whole_months
        assert reports.statistics(period, today=TODAY) == reports.statistics_live(period, TODAY), period
        assert reports.lawyer_performance(period, today=TODAY) == reports.lawyer_performance(
            period, today=TODAY, live=True
        ), period
        if period.start_on.month == 1 and period.end_on.month == 12:
            assert reports.people_and_matters(period) == reports.people_and_matters_live(period), period
    db.session.commit()


def summary_of_year(year: int, station_id: int | None = None) -> tuple[int, int, int]:
    """(consultations, persons, bookings) of a year, as the annual report prints them."""
    with clock(TODAY):
        r = reports.annual_report(year, station_id, today=TODAY)
    return r["consultations"], r["persons"], r["bookings"]


def test_the_world_is_counted_exactly(world):
    assert_exact(world)
    # The hand count of tests/test_reports.py, read through the summaries.
    assert summary_of_year(2025)[0] == 11


def test_summaries_stay_exact_through_every_kind_of_change(world, make_user):
    w = world
    d7 = w.shift["D7"]  # 2026-01-20 at S1, in the future on 15 January
    slots = db.session.scalars(sa.select(Slot).where(Slot.shift_id == d7.id).order_by(Slot.starts_at)).all()

    def book(slot, name, mobile, channel="online"):
        with clock(TODAY):
            return bookings.place_booking(
                bookings.BookingRequest(
                    slot_id=slot.id,
                    name=name,
                    mobile=mobile,
                    category="labour",
                    channel=channel,
                    idempotency_key=secrets.token_hex(16),
                    consent=True,
                ),
                now=bj(TODAY),
            )

    # Bookings on a coming day, a move and a cancellation.
    first, second = book(slots[0], "钱一", "13300001111"), book(slots[1], "吴二", "13300002222", "kiosk")
    third = book(slots[2], "郑三", "13300003333", "hotline")
    db.session.commit()
    assert_exact(w)
    with clock(TODAY):
        bookings.move(first, slots[3], by_staff=True, now=bj(TODAY))
        bookings.cancel(second, "有事", now=bj(TODAY))
    db.session.commit()
    assert_exact(w)
    # A bulk statement that bypasses the session's objects.
    db.session.execute(sa.update(Booking).where(Booking.id == third.id).values(channel="phone"))
    assert_exact(w)
    # The day closes: the bookings left are cancelled and the shift released.
    with clock(TODAY):
        closing.close_day(w.s1, d7.duty_on, "大厅维修", now=bj(TODAY))
    db.session.commit()
    assert_exact(w)

    # Corrections: category and outcomes by the author; lawyer and day by hand; a bulk category change.
    c3 = db.session.get(Consultation, w.id[3])
    with clock(c3.held_on):
        consultations.correct_consultation(
            c3,
            w.a.user,
            consultations.Record(category="family", summary="改", outcomes=["mediation"]),
            today=c3.held_on,
        )
    db.session.commit()
    assert_exact(w)
    c7 = db.session.get(Consultation, w.id[7])
    c7.lawyer_id, c7.held_on = w.a.id, date(2025, 5, 6)  # into another month, to another lawyer
    db.session.commit()
    assert_exact(w)
    db.session.execute(
        sa.update(Consultation)
        .where(Consultation.id == w.id[4])
        .values(category="housing", station_id=w.s2.id)
    )
    assert_exact(w)

    # Ratings (within 30 days of the visit) and a reply; follow-ups: a milestone and a closing.
    with clock(TODAY):
        poor = ratings.rate(db.session.get(Consultation, w.id[9]), 2, comment="等太久")
        ratings.rate(db.session.get(Consultation, w.id[10]), 5)
    db.session.commit()
    assert_exact(w)
    with clock(TODAY):
        ratings.reply(poor, w.admin, "已改进", now=bj(TODAY))
        consultations.add_note(w.m[6], w.m[6].owner, "", milestone="concluded", on=TODAY)
        consultations.close_matter(w.m[12], w.m[12].owner, "resolved", money_saved=800)
    db.session.commit()
    assert_exact(w)

    # Retention erases everything old enough: texts go, the figures stay.
    before = summary_of_year(2025)
    with clock(TODAY + timedelta(days=3650)):
        retention.run(now=bj(TODAY + timedelta(days=3650)))
    db.session.commit()
    assert_exact(w)
    assert summary_of_year(2025) == before

    # A record deleted altogether.
    db.session.delete(db.session.get(Consultation, w.id[5]))
    db.session.commit()
    assert_exact(w)
    assert summary_of_year(2025)[0] == before[0] - 1


def test_a_rolled_back_change_leaves_the_figures(world):
    before = summary_of_year(2025)
    c1 = db.session.get(Consultation, world.id[1])
    c1.held_on = date(2024, 6, 1)
    db.session.flush()
    assert summary_of_year(2025)[0] == before[0] - 1  # read inside the transaction: already counted
    db.session.rollback()
    assert summary_of_year(2025) == before
    assert_exact(world)


def test_new_bookings_are_counted_up_and_one_undone_is_not(world, monkeypatch):
    # A new booking adds to its month's row with one upsert (no recompute of the month); one undone by
    # its savepoint (the day's public places gone) adds nothing, whatever else the transaction does.
    w = world
    d7 = w.shift["D7"]
    slots = db.session.scalars(sa.select(Slot).where(Slot.shift_id == d7.id).order_by(Slot.starts_at)).all()

    def request(slot, mobile, channel):
        return bookings.BookingRequest(
            slot_id=slot.id,
            name="冯四",
            mobile=mobile,
            category="labour",
            channel=channel,
            idempotency_key=secrets.token_hex(16),
            consent=True,
        )

    seen: list[str] = []

    def watch(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", watch)
    try:
        with clock(TODAY):
            bookings.place_booking(request(slots[0], "13300005555", "online"), now=bj(TODAY))
            db.session.commit()
        made = list(seen)
        assert not [s for s in made if s.startswith("DELETE FROM report_visit_months")]
        assert len([s for s in made if s.startswith("INSERT INTO report_visit_months")]) == 1
        assert_exact(w)

        # The day's public places are gone while the slot has room: the booking written in its
        # savepoint is undone when the quota refuses it (the shortcut that would refuse it sooner is
        # left out, as in a race).
        db.session.execute(
            sa.text("UPDATE shift_quotas SET public_capacity = public_booked WHERE shift_id = :s"),
            {"s": d7.id},
        )
        monkeypatch.setattr(bookings, "sold_out", lambda *_: False)
        with clock(TODAY):
            try:
                bookings.place_booking(request(slots[1], "13300006666", "kiosk"), now=bj(TODAY))
            except bookings.SlotFull:
                pass
            else:
                raise AssertionError("the quota should have refused the booking")
            desk = bookings.place_booking(request(slots[2], "13300007777", "hotline"), now=bj(TODAY))
        db.session.commit()
        assert desk.id is not None
        assert_exact(w)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", watch)
