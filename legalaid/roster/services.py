"""Closures, the rotation generator, hand changes, attendance and roster queries."""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

import chinese_calendar
import sqlalchemy as sa
from flask_babel import gettext as _

from legalaid import audit, cache
from legalaid.access import ADMIN, LAWYER, STAFF, current_user_id
from legalaid.auth.models import User
from legalaid.bookings.validation import clean_prose
from legalaid.dates import local_today, now_utc
from legalaid.errors import InvalidInput, NotAllowed, YearNotCovered
from legalaid.extensions import db
from legalaid.lawyers.models import Lawyer, Unavailability
from legalaid.roster.models import GENERATED, MANUAL, Closure, DutyShift, HolidayYear, ShiftChange
from legalaid.roster.planner import Candidate, plan
from legalaid.stations.models import Station

# Names chinesecalendar gives, translated for the pages.
HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


# Called with the shifts one change made or brought back (a day open again; a year of rotation for a
# station), once they are flushed. The bookings feature plans their slots here (`create_app` registers
# it): it imports the roster, so the roster cannot import it, and a hook keeps every way of making a
# shift planned. One call per change, so a year of days is planned in a few queries.
on_shifts_made: list[Callable[[list[DutyShift]], object]] = []


def _shifts_made(shifts: Iterable[DutyShift]) -> None:
    """Tell the features that plan a duty day about shifts just made or brought back."""
    made = list(shifts)
    if made:
        for hook in on_shifts_made:
            hook(made)


# -- holidays and closures -------------------------------------------------------------------------


def holiday_years() -> range:
    """The years the installed holiday data covers."""
    years = {d.year for d in chinese_calendar.constants.holidays}
    return range(min(years), max(years) + 1)


def statutory_holiday(day: date) -> str | None:
    """The statutory holiday (including 调休 days off) on this date, or None; years must be covered."""
    is_holiday, name = chinese_calendar.get_holiday_detail(day)
    if not is_holiday or name is None:
        return None
    return HOLIDAY_NAMES.get(name, name)


def confirmed_years(station: Station) -> set[int]:
    """Uncovered years whose closures an administrator has confirmed for this station."""
    query = sa.select(HolidayYear.year).where(HolidayYear.station_id == station.id)
    return set(db.session.scalars(query))


def uncovered_years(station: Station, start: date, end: date) -> list[int]:
    """Years with duty days in the range that the holiday data lacks and nobody has confirmed yet."""
    covered = holiday_years()
    confirmed = confirmed_years(station)
    years = sorted({d.year for d in duty_days(station, start, end)})
    return [y for y in years if y not in covered and y not in confirmed]


# The field of confirm_year's refusal when no closure is entered yet: the page asks once more.
NO_CLOSURES = "no_closures"


def confirm_year(station: Station, year: int, *, without_closures: bool = False) -> None:
    """Confirm that this year's closures have been entered by hand (the holiday data lacks it).

    A year with no closure entered at all is almost always one whose holidays were forgotten: it is
    confirmed only when the administrator says so a second time (`without_closures`).
    """
    if year in holiday_years():
        raise InvalidInput(_("The holiday data already covers %(year)d.", year=year), field="year")
    if year in confirmed_years(station):
        return
    entered = [c for c in closures(station, date(year, 1, 1), date(year, 12, 31)).values() if c.closed]
    if not entered and not without_closures:
        raise InvalidInput(
            _("No closures are entered for %(year)d. Confirm once more to go on without any.", year=year),
            field=NO_CLOSURES,
        )
    db.session.add(HolidayYear(station_id=station.id, year=year, confirmed_by_id=current_user_id()))
    audit.record("roster.confirm_year", station, details={"year": year})
    db.session.flush()


def closures(station: Station, start: date, end: date) -> dict[date, Closure]:
    """The administrator's closures and re-openings in the range, by date."""
    query = sa.select(Closure).where(
        Closure.station_id == station.id, Closure.closed_on >= start, Closure.closed_on <= end
    )
    return {c.closed_on: c for c in db.session.scalars(query)}


def closed_days(station: Station, start: date, end: date) -> dict[date, str]:
    """Every closed date in the range with its reason: statutory holidays unless re-opened, plus
    the administrator's closures. Years the holiday data lacks contribute only the latter."""
    own = closures(station, start, end)
    covered = holiday_years()
    result: dict[date, str] = {}
    day = start
    while day <= end:
        entry = own.get(day)
        if entry is not None:
            if entry.closed:
                result[day] = entry.reason or _("Closed")
        elif day.year in covered:
            name = statutory_holiday(day)
            if name:
                result[day] = name
        day += timedelta(days=1)
    return result


def closed_days_shown(station: Station, start: date, end: date) -> dict[date, str]:
    """`closed_days` for a page to show (the kiosk's day list), from the memo (`legalaid.cache`): a
    closure made in this process is seen at once, elsewhere within the memo's time. A write that must
    not happen on a closed day (a booking, a move) reads `closed_days` instead. Do not change the result."""
    from flask_babel import get_locale

    key = ("closed", station.id, start, end, str(get_locale()))  # holiday names are in the reader's language
    return cache.memo(key, lambda: closed_days(station, start, end))


def set_closure(station: Station, day: date, closed: bool, reason: str) -> Closure:
    """Close a date (a hall event …) or re-open a holiday; replaces an earlier entry for that date."""
    entry = db.session.scalar(
        sa.select(Closure).where(Closure.station_id == station.id, Closure.closed_on == day)
    )
    if entry is None:
        entry = Closure(station_id=station.id, closed_on=day)
        db.session.add(entry)
    entry.closed = closed
    entry.reason = clean_prose(reason)[:200]
    entry.created_by_id = current_user_id()
    db.session.flush()
    cache.forget_station(station.id)  # the kiosk stops offering the day at once
    audit.record(
        "roster.close" if closed else "roster.reopen",
        station,
        details={"date": day.isoformat(), "reason": entry.reason},
    )
    if not closed:
        _restore_if_open(station, day)
    return entry


def _restore_if_open(station: Station, day: date) -> None:
    """A day open again gets back the shift released when it closed (its lawyer hears of it)."""
    shift = released_shift_on(station, day)
    if shift is None or day in closed_days(station, day, day):
        return
    _record_change(shift, None, shift.lawyer_id, "reopen")
    shift.released_at = None
    audit.record("roster.restore", shift, details={"date": day.isoformat()})
    db.session.flush()
    _shifts_made([shift])


def remove_closure(station: Station, day: date) -> None:
    """Forget the administrator's entry for a date (back to what the holiday data says)."""
    entry = db.session.scalar(
        sa.select(Closure).where(Closure.station_id == station.id, Closure.closed_on == day)
    )
    if entry is not None:
        db.session.delete(entry)
        audit.record("roster.closure_removed", station, details={"date": day.isoformat()})
        db.session.flush()
        cache.forget_station(station.id)
        _restore_if_open(station, day)


# -- the rotation ----------------------------------------------------------------------------------


def duty_days(station: Station, start: date, end: date) -> list[date]:
    """The station's duty weekdays between start and end, both included."""
    weekdays = set(station.duty_weekday_list)
    days, day = [], start
    while day <= end:
        if day.isoweekday() in weekdays:
            days.append(day)
        day += timedelta(days=1)
    return days


@dataclass
class RotationChange:
    """One line of the preview: what the generator will do to one date."""

    day: date
    kind: str  # add · change · remove · unfilled
    old_lawyer: Lawyer | None = None
    new_lawyer: Lawyer | None = None
    reason: str = ""


@dataclass
class RotationPreview:
    """What generating a range would add, change and remove; nothing is saved by a preview."""

    station: Station
    start: date
    end: date
    changes: list[RotationChange] = field(default_factory=list)
    kept: int = 0
    counts: dict[int, int] = field(default_factory=dict)
    lawyers: dict[int, Lawyer] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        """True when generating would change nothing."""
        return not any(c.kind in ("add", "change", "remove") for c in self.changes)


def station_lawyers(station: Station, include_inactive: bool = False) -> list[Lawyer]:
    """The station's lawyers by name."""
    query = sa.select(Lawyer).where(Lawyer.station_id == station.id).order_by(Lawyer.name, Lawyer.id)
    if not include_inactive:
        query = query.where(Lawyer.active)
    return list(db.session.scalars(query))


def _candidates(station: Station, lawyers: list[Lawyer], start: date, end: date) -> list[Candidate]:
    ids = [lawyer.id for lawyer in lawyers]
    if not ids:
        return []
    leave: dict[int, list[tuple[date, date]]] = {i: [] for i in ids}
    rows = db.session.execute(
        sa.select(Unavailability.lawyer_id, Unavailability.start_on, Unavailability.end_on).where(
            Unavailability.lawyer_id.in_(ids), Unavailability.end_on >= start, Unavailability.start_on <= end
        )
    )
    for lawyer_id, leave_start, leave_end in rows:
        leave[lawyer_id].append((leave_start, leave_end))
    last = dict(
        db.session.execute(
            sa.select(DutyShift.lawyer_id, sa.func.max(DutyShift.duty_on))
            .where(
                DutyShift.station_id == station.id, DutyShift.duty_on < start, DutyShift.lawyer_id.in_(ids)
            )
            .group_by(DutyShift.lawyer_id)
        ).all()
    )
    return [
        Candidate(
            id=lawyer.id,
            contract_start=lawyer.contract_start,
            contract_end=lawyer.contract_end,
            leave=tuple(sorted(leave[lawyer.id])),
            last_duty_on=last.get(lawyer.id),
        )
        for lawyer in lawyers
    ]


def _check_range(station: Station, start: date, end: date) -> None:
    if end < start:
        raise InvalidInput(_("The end date must not be before the start date."), field="end")
    if (end - start).days > 800:
        raise InvalidInput(_("Generate at most two years at a time."), field="end")
    missing = uncovered_years(station, start, end)
    if missing:
        years = ", ".join(str(y) for y in missing)
        raise YearNotCovered(
            _(
                "The holiday data does not cover %(years)s. Enter that year's closures (Spring Festival, "
                "National Day …), then confirm the year.",
                years=years,
            ),
            years=missing,
        )


def preview_rotation(station: Station, start: date, end: date, today: date | None = None) -> RotationPreview:
    """Work out the rotation for a range without saving it.

    Days up to today and shifts set by hand are kept as they are; every later generated shift is
    worked out afresh, so running the generator twice changes nothing.
    """
    _check_range(station, start, end)
    today = today or local_today(station.timezone)
    existing = {s.duty_on: s for s in shifts_between(station, start, end)}
    fixed = {d: s.lawyer_id for d, s in existing.items() if d <= today or s.source == MANUAL}
    lawyers = station_lawyers(station)
    by_id = {lawyer.id: lawyer for lawyer in lawyers}
    for shift in existing.values():
        by_id.setdefault(shift.lawyer_id, shift.lawyer)
    closed = closed_days(station, start, end)
    days = duty_days(station, start, end)
    assignment = plan(days, set(closed), _candidates(station, lawyers, start, end), fixed)

    preview = RotationPreview(station=station, start=start, end=end, lawyers=by_id, kept=len(fixed))
    for day in days:
        if day in fixed:
            continue
        current = existing.get(day)
        if day in closed:
            if current is not None:
                preview.changes.append(
                    RotationChange(day, "remove", old_lawyer=current.lawyer, reason=closed[day])
                )
            continue
        wanted = assignment.get(day)
        if wanted is None:
            kind = "remove" if current is not None else "unfilled"
            preview.changes.append(RotationChange(day, kind, old_lawyer=current.lawyer if current else None))
        elif current is None:
            preview.changes.append(RotationChange(day, "add", new_lawyer=by_id[wanted]))
        elif current.lawyer_id != wanted:
            preview.changes.append(
                RotationChange(day, "change", old_lawyer=current.lawyer, new_lawyer=by_id[wanted])
            )
    counts: dict[int, int] = {}
    for day in days:
        lawyer_id = fixed.get(day) if day in fixed else assignment.get(day)
        if lawyer_id is not None and (day in fixed or day not in closed):
            counts[lawyer_id] = counts.get(lawyer_id, 0) + 1
    preview.counts = counts
    return preview


def apply_rotation(station: Station, start: date, end: date, today: date | None = None) -> RotationPreview:
    """Generate the rotation for a range and save it; returns what was done."""
    preview = preview_rotation(station, start, end, today)
    existing = {
        s.duty_on: s
        for s in db.session.scalars(
            sa.select(DutyShift).where(
                DutyShift.station_id == station.id, DutyShift.duty_on.in_([c.day for c in preview.changes])
            )
        )
    }
    changed: list[DutyShift] = []
    removed: list[DutyShift] = []
    made: list[DutyShift] = []
    for change in preview.changes:
        shift = existing.get(change.day)
        new = change.new_lawyer  # an "add" or a "change" always names one
        if change.kind == "add" and shift is not None and new is not None:
            # A released shift: the day is open again.
            _record_change(shift, None, new.id, "rotation")
            shift.lawyer_id, shift.released_at, shift.source = new.id, None, GENERATED
            made.append(shift)
        elif change.kind == "add" and new is not None:
            shift = DutyShift(station_id=station.id, duty_on=change.day, lawyer_id=new.id, source=GENERATED)
            db.session.add(shift)
            made.append(shift)
        elif change.kind == "change" and shift is not None and new is not None:
            hand_over(shift, new.id, "rotation")
            changed.append(shift)
        elif change.kind == "remove" and shift is not None:
            _record_change(shift, shift.lawyer_id, None, "rotation")
            removed.append(shift)
    _cancel_open_swaps(changed + removed)  # one query for the whole range, not one per changed day
    booked = _shifts_with_bookings(removed)
    for shift in removed:
        if shift.id in booked:
            shift.released_at = now_utc()  # its bookings' history points at it
        else:
            db.session.delete(shift)
    db.session.flush()
    _shifts_made(made)
    if not preview.is_empty:
        audit.record(
            "roster.generate",
            station,
            details={
                "start": start.isoformat(),
                "end": end.isoformat(),
                "added": sum(c.kind == "add" for c in preview.changes),
                "changed": sum(c.kind == "change" for c in preview.changes),
                "removed": sum(c.kind == "remove" for c in preview.changes),
            },
        )
    return preview


# -- single shifts ---------------------------------------------------------------------------------


def get_shift(shift_id: int) -> DutyShift | None:
    """The shift with this id, if any."""
    return db.session.get(DutyShift, shift_id)


def shift_on(station: Station, day: date) -> DutyShift | None:
    """The station's shift on a date, if any."""
    return db.session.scalar(
        sa.select(DutyShift).where(DutyShift.station_id == station.id, DutyShift.duty_on == day, ON_DUTY)
    )


# A shift that is part of the roster: not released because its day was closed.
ON_DUTY = DutyShift.released_at.is_(None)


def hand_over(shift: DutyShift, lawyer_id: int, cause: str) -> None:
    """Give a shift to another lawyer; the change is recorded for the reminders (booked veterans hear)."""
    _record_change(shift, shift.lawyer_id, lawyer_id, cause)
    shift.lawyer_id = lawyer_id


def _record_change(shift: DutyShift, old_id: int | None, new_id: int | None, cause: str) -> None:
    """Note that the lawyer of a shift changed, for the reminders feature to tell booked veterans."""
    if old_id == new_id:
        return
    db.session.add(
        ShiftChange(
            shift_id=shift.id,
            station_id=shift.station_id,
            duty_on=shift.duty_on,
            old_lawyer_id=old_id,
            new_lawyer_id=new_id,
            cause=cause,
        )
    )


def _cancel_open_swaps(shifts: list[DutyShift]) -> None:
    """Open swap requests of shifts whose lawyer changed by other means lapse."""
    from legalaid.swaps.models import CANCELLED, OPEN_SWAP_STATES, SwapRequest

    if not shifts:
        return
    for swap in db.session.scalars(
        sa.select(SwapRequest).where(
            SwapRequest.shift_id.in_([s.id for s in shifts]), SwapRequest.status.in_(OPEN_SWAP_STATES)
        )
    ):
        swap.status = CANCELLED
        audit.record("swap.cancelled", swap, details={"why": "shift changed"})


def set_shift_lawyer(
    station: Station, day: date, lawyer: Lawyer, reason: str, today: date | None = None
) -> DutyShift:
    """Set or replace the lawyer of a duty day by hand (kept by later generation); audited."""
    today = today or local_today(station.timezone)
    reason = clean_prose(reason)
    if not reason:
        raise InvalidInput(_("Give a reason for the change."), field="reason")
    if day < today:
        raise NotAllowed(_("Past shifts cannot be changed."))
    if lawyer.station_id != station.id or not lawyer.active:
        raise InvalidInput(_("This lawyer does not serve this station."), field="lawyer_id")
    if not lawyer.under_contract_on(day):
        raise InvalidInput(_("%(name)s has no contract on that date.", name=lawyer.name), field="lawyer_id")
    closed = closed_days(station, day, day).get(day)
    if closed is not None:
        raise NotAllowed(_("The station is closed that day (%(why)s). Re-open it first.", why=closed))
    shift = shift_on(station, day)
    old_id = shift.lawyer_id if shift else None
    released = released_shift_on(station, day) if shift is None else None
    made = shift is None
    if released is not None:  # the day was closed and is set by hand now: the row comes back
        shift = released
        _record_change(shift, None, lawyer.id, "manual")
        shift.lawyer_id, shift.released_at = lawyer.id, None
    elif shift is None:
        shift = DutyShift(station_id=station.id, duty_on=day, lawyer_id=lawyer.id)
        db.session.add(shift)
    elif old_id != lawyer.id:
        hand_over(shift, lawyer.id, "manual")
        _cancel_open_swaps([shift])
    shift.source = MANUAL
    shift.reason = reason[:200]
    db.session.flush()
    audit.record(
        "roster.set_lawyer",
        shift,
        details={"date": day.isoformat(), "from": old_id, "to": lawyer.id, "reason": reason},
    )
    db.session.flush()
    if made:
        _shifts_made([shift])
    return shift


def _shifts_with_bookings(shifts: list[DutyShift]) -> set[int]:
    from legalaid.bookings.models import Booking

    if not shifts:
        return set()
    query = sa.select(Booking.shift_id).where(Booking.shift_id.in_([s.id for s in shifts])).distinct()
    return set(db.session.scalars(query))


def release_shift(shift: DutyShift, cause: str = "closure") -> None:
    """Nobody is on duty that day any more (the day was closed): the shift leaves the roster, its open
    swaps lapse, and the lawyer's duty reminders lapse with the change record. Flushes."""
    if shift.released_at is not None:
        return
    _record_change(shift, shift.lawyer_id, None, cause)
    _cancel_open_swaps([shift])
    shift.released_at = now_utc()
    audit.record("roster.release", shift, details={"date": shift.duty_on.isoformat(), "why": cause})
    db.session.flush()


def released_shift_on(station: Station, day: date) -> DutyShift | None:
    """A shift released on a day that was closed, if any."""
    return db.session.scalar(
        sa.select(DutyShift).where(
            DutyShift.station_id == station.id, DutyShift.duty_on == day, DutyShift.released_at.is_not(None)
        )
    )


def serves_the_day(user: User, station_id: int, shift: DutyShift | None) -> bool:
    """Whether this person works a station's duty day: its desk (staff) or an administrator of the
    station (administrators without a station are bureau-wide), or the day's own duty lawyer."""
    own_station = user.station_id == station_id
    if user.role == ADMIN:
        return user.station_id is None or own_station
    if user.role == STAFF:
        return own_station
    if user.role == LAWYER:
        return shift is not None and shift.lawyer.user_id == user.id
    return False


def check_in(shift: DutyShift, today: date | None = None, *, by: User | None = None) -> None:
    """Record that the duty lawyer arrived (签到); only on the day itself, once.

    `by` may record it if they are the desk (staff) or an administrator of the shift's station, or the
    shift's own lawyer; without `by` (a job, the demo) nobody's permission is asked.
    """
    if by is not None and not serves_the_day(by, shift.station_id, shift):
        raise NotAllowed(
            _("Only the desk of this station, an administrator or the duty lawyer can check in.")
        )
    if shift.released_at is not None:
        raise NotAllowed(_("The station is closed that day: nobody is on duty."))
    station = shift.station
    today = today or local_today(station.timezone)
    if shift.duty_on != today:
        raise NotAllowed(_("Check-in is only possible on the day of the shift."))
    if shift.checked_in_at is not None:
        return
    shift.checked_in_at = now_utc()
    shift.checked_in_by_id = by.id if by is not None else current_user_id()
    audit.record("roster.check_in", shift, details={"date": shift.duty_on.isoformat()})
    db.session.flush()


# -- queries for the pages -------------------------------------------------------------------------


def shifts_between(station: Station, start: date, end: date) -> list[DutyShift]:
    """The station's shifts in a date range, in date order."""
    query = (
        sa.select(DutyShift)
        .where(
            DutyShift.station_id == station.id, DutyShift.duty_on >= start, DutyShift.duty_on <= end, ON_DUTY
        )
        .order_by(DutyShift.duty_on)
    )
    return list(db.session.scalars(query))


def lawyer_shifts(lawyer: Lawyer, start: date | None = None, end: date | None = None) -> list[DutyShift]:
    """A lawyer's shifts, in date order, optionally within a range."""
    query = sa.select(DutyShift).where(DutyShift.lawyer_id == lawyer.id, ON_DUTY)
    if start:
        query = query.where(DutyShift.duty_on >= start)
    if end:
        query = query.where(DutyShift.duty_on <= end)
    return list(db.session.scalars(query.order_by(DutyShift.duty_on)))


def missed_check_ins(station: Station, today: date | None = None, days: int = 90) -> list[DutyShift]:
    """Past shifts (up to yesterday) with no check-in, newest first."""
    today = today or local_today(station.timezone)
    query = (
        sa.select(DutyShift)
        .where(
            DutyShift.station_id == station.id,
            DutyShift.duty_on < today,
            DutyShift.duty_on >= today - timedelta(days=days),
            DutyShift.checked_in_at.is_(None),
            ON_DUTY,
        )
        .order_by(DutyShift.duty_on.desc())
    )
    return list(db.session.scalars(query))


@dataclass
class RosterDay:
    """One duty day of a month view."""

    day: date
    shift: DutyShift | None
    closed_reason: str | None
    swaps: list = field(default_factory=list)


def month_days(station: Station, year: int, month: int) -> list[RosterDay]:
    """Every duty day of a month with its shift, closure and open swaps."""
    from legalaid.swaps.models import OPEN_SWAP_STATES, SwapRequest

    first = date(year, month, 1)
    last = date(year, month, calendar.monthrange(year, month)[1])
    shifts = {s.duty_on: s for s in shifts_between(station, first, last)}
    closed = closed_days(station, first, last)
    open_swaps: dict[int, list] = {}
    if shifts:
        query = sa.select(SwapRequest).where(
            SwapRequest.shift_id.in_([s.id for s in shifts.values()]),
            SwapRequest.status.in_(OPEN_SWAP_STATES),
        )
        for swap in db.session.scalars(query):
            open_swaps.setdefault(swap.shift_id, []).append(swap)
    days = sorted(set(duty_days(station, first, last)) | set(shifts))
    return [
        RosterDay(
            day=d,
            shift=shifts.get(d),
            closed_reason=closed.get(d),
            swaps=open_swaps.get(shifts[d].id, []) if d in shifts else [],
        )
        for d in days
    ]


def next_duty(station: Station, today: date | None = None) -> DutyShift | None:
    """The first shift from today on."""
    today = today or local_today(station.timezone)
    query = (
        sa.select(DutyShift)
        .where(DutyShift.station_id == station.id, DutyShift.duty_on >= today, ON_DUTY)
        .order_by(DutyShift.duty_on)
        .limit(1)
    )
    return db.session.scalar(query)


def roster_rows(station: Station, start: date, end: date) -> Iterable[tuple[str, int, str, str]]:
    """(date, lawyer_id, lawyer_name, source) for every shift in the range, for CSV."""
    for shift in shifts_between(station, start, end):
        yield shift.duty_on.isoformat(), shift.lawyer_id, shift.lawyer.name, shift.source
