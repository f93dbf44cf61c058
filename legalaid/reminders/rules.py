"""What is sent, to whom, and when: the reminder rules.

Each rule looks at what is coming (shifts, bookings, matters, contracts, the month) and plans messages
with a due time and an expiry in the station's time. `enqueue_due()` — the scheduler's job, run every
minute, safe to run twice — queues each planned message once its due time has come (the unique
de-duplication key makes a second run a no-op); the sweeper then sends it, or expires it when it is no
longer worth sending (after downtime). Messages caused by a person's action (a booking made, cancelled
or moved) are announced by the bookings as `booking_events` rows, which `booking_notices()` reads on
the same minute's run, as the roster's `shift_changes` are read for a change of lawyer.

Nothing goes out between 21:00 and 08:00: a message that falls due then waits until 08:00.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask_babel import force_locale

from legalaid.auth.models import User
from legalaid.bookings.models import BOOKED, BY_CLOSURE, MADE, MOVED, Booking, BookingEvent, Slot
from legalaid.consultations.models import CLOSED, Matter
from legalaid.dates import DEFAULT_TIMEZONE, local_to_utc, now_utc, to_local
from legalaid.extensions import db
from legalaid.lawyers.models import Lawyer
from legalaid.privacy import mask_name
from legalaid.reminders.models import BOOKING_CHANGED, LAWYER_CHANGED, OutboxMessage
from legalaid.reminders.queueing import (
    DEFAULT_LOCALE,
    Contact,
    Planned,
    admin_contacts,
    lawyer_contact,
    queue,
    user_contact,
    veteran_contact,
)
from legalaid.reminders.services import expire_pending
from legalaid.reminders.timing import at, days, first_working_day, out_of_quiet, previous_working_day
from legalaid.roster.models import Closure, DutyShift, ShiftChange
from legalaid.stations.models import Station

Zones = dict[str, list[Station]]  # active stations by time zone
# The early notice's key always starts "duty_week", also when it is worded "in N days" (duty_soon).
DUTY_KINDS = ("duty_week", "duty_eve", "duty_morning")
CLOSURE_CAUSE = "closure"  # the roster's change cause when a closed day releases its shift


def _when(instant: datetime, tz: str | None) -> str:
    local = to_local(instant, tz)
    return f"{local:%Y-%m-%d %H:%M}"


def booking_params(booking: Booking) -> dict:
    """What a message about a booking says: code, time, lawyer, station and its address."""
    shift = booking.shift
    station = shift.station
    return {
        "code": booking.code,
        "when": _when(booking.slot.starts_at, station.timezone),
        "lawyer": shift.lawyer.name,
        "station": station.name,
        "address": station.address,
    }


# -- booking events (announced by the bookings as rows, read here) ----------------------------------


def _booking_notice(booking: Booking, kind: str, key: str, now: datetime, **extra: str) -> int:
    planned = Planned(
        kind=kind,
        recipient=veteran_contact(booking),
        template=kind,
        params={**booking_params(booking), **extra},
        due_at=now,
        expires_at=booking.slot.starts_at,
        dedupe_key=key,
        tz=booking.shift.station.timezone,
    )
    return queue([planned], now)


def _closure_notice(booking: Booking, event: BookingEvent, now: datetime) -> int:
    """A closed day: the person is told why, with their code and where to book another day."""
    from flask import current_app

    book_again = current_app.config.get("PUBLIC_URL", "").rstrip("/") + "/book"
    day = f"{booking.shift.duty_on:%Y-%m-%d}"
    extra = {"day": day, "reason": event.reason or "", "link": book_again}
    return _booking_notice(booking, "booking_closed", f"booking-closed:{booking.id}", now, **extra)


def booking_notices(now: datetime) -> int:
    """Tell each veteran what happened to their booking (made, moved, cancelled, the day closed), event
    by event in order, and mark the events processed; returns how many messages were queued.

    A notice made obsolete before it went out (a confirmation still waiting at night when the booking
    is moved) lapses: each event expires the earlier unsent notices before its own is queued.
    """
    events = db.session.scalars(
        sa.select(BookingEvent)
        .where(BookingEvent.processed_at.is_(None))
        .order_by(BookingEvent.id)
        .limit(500)
    ).all()
    queued = 0
    for event in events:
        event.processed_at = now
        booking = event.booking
        if event.kind == MADE:
            queued += _booking_notice(booking, "booking_confirmed", f"booking-confirmed:{booking.id}", now)
            continue
        _expire_booking_reminders(booking.id)
        _expire_booking_notices(booking.id, now)
        if event.kind == MOVED:
            key = f"booking-moved:{booking.id}:{event.id}"
            queued += _booking_notice(booking, "booking_moved", key, now)
        elif event.cause == BY_CLOSURE:
            queued += _closure_notice(booking, event, now)
        else:
            queued += _booking_notice(booking, "booking_cancelled", f"booking-cancelled:{booking.id}", now)
    db.session.flush()
    return queued


def _duty_cancelled(change: ShiftChange, shift: DutyShift, now: datetime) -> Planned | None:
    """The station closed the lawyer's day: they are told their duty is off, and how many were booked."""
    lawyer = db.session.get(Lawyer, change.old_lawyer_id) if change.old_lawyer_id else None
    if lawyer is None:
        return None
    station = shift.station
    cancelled = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(BookingEvent)
        .join(Booking, Booking.id == BookingEvent.booking_id)
        .where(Booking.shift_id == shift.id, BookingEvent.cause == BY_CLOSURE)
    )
    closure = db.session.scalar(
        sa.select(Closure.reason).where(Closure.station_id == station.id, Closure.closed_on == shift.duty_on)
    )
    return Planned(
        kind="duty_cancelled",
        recipient=lawyer_contact(lawyer),
        template="duty_cancelled",
        params={
            "station": station.name,
            "day": f"{shift.duty_on:%Y-%m-%d}",
            "reason": closure or "",
            "count": cancelled or 0,
        },
        due_at=now,
        expires_at=local_to_utc(shift.duty_on + timedelta(days=1), time.min, station.timezone),
        dedupe_key=f"duty-cancelled:{shift.id}:{lawyer.id}",
        tz=station.timezone,
    )


def _expire_booking_reminders(booking_id: int) -> None:
    prefixes = (f"booking_eve:{booking_id}:", f"booking_day:{booking_id}:")
    expire_pending(sa.or_(*(OutboxMessage.dedupe_key.startswith(p) for p in prefixes)), BOOKING_CHANGED)


def _expire_booking_notices(booking_id: int, now: datetime) -> None:
    """A confirmation of the booking or of an earlier move, still unsent (at night, or the sweeper
    behind), would arrive before the newer notice and tell an old time: it lapses."""
    superseded = sa.or_(
        OutboxMessage.dedupe_key == f"booking-confirmed:{booking_id}",
        OutboxMessage.dedupe_key.startswith(f"booking-moved:{booking_id}:"),
    )
    expire_pending(superseded, BOOKING_CHANGED, now)


# -- the timed rules ---------------------------------------------------------------------------------


def stations_by_zone() -> Zones:
    """The active stations grouped by time zone (each rule works zone by zone)."""
    zones: dict[str, list[Station]] = defaultdict(list)
    for station in db.session.scalars(sa.select(Station).where(Station.active.is_(True))):
        zones[station.timezone or DEFAULT_TIMEZONE].append(station)
    return zones


def _early_duty_notice(
    duty_on: date, week: datetime, eve: datetime, morning: datetime, now: datetime, tz: str
) -> tuple[str, datetime, datetime, dict] | None:
    """The duty lawyer's early notice (kind, due, expiry, its own parameters), worded by the real
    distance to the shift on the day it goes out: "in a week" on time, "in N days" for a shift given
    by hand later; none when the eve reminder comes as early, or the shift is tomorrow or today."""
    if week >= eve or now >= eve:
        return None  # the eve reminder comes first (a long holiday) or goes now: one is enough
    goes_out = to_local(out_of_quiet(max(now, week), tz), tz).date()
    ahead = (duty_on - goes_out).days
    if ahead <= 1:
        return None  # tomorrow: the eve and morning reminders say so
    # It says how many days are left on the day it goes out; a day late it would be wrong.
    expires = min(eve, morning, local_to_utc(goes_out + timedelta(days=1), time.min, tz))
    if ahead == 7:
        return ("duty_week", week, expires, {})
    return ("duty_soon", week, expires, {"days": ahead})


def duty_reminders(now: datetime, zones: Zones) -> list[Planned]:
    """The duty lawyer: a week before (fewer days for a shift given later, saying how many), at 17:00
    on the previous working day, and on the morning."""
    from legalaid.bookings.planning import booking_counts

    planned: list[Planned] = []
    for tz, stations in zones.items():
        today = to_local(now, tz).date()
        # Two weeks ahead: before a long holiday the previous working day can be more than a week back.
        shifts = list(
            db.session.scalars(
                sa.select(DutyShift).where(
                    DutyShift.station_id.in_([s.id for s in stations]),
                    DutyShift.duty_on.between(today, today + timedelta(days=14)),
                    DutyShift.released_at.is_(None),  # a closed day's shift: nobody is on duty
                )
            )
        )
        counts = booking_counts([s.id for s in shifts])
        lawyers = {
            lawyer.id: lawyer
            for lawyer in db.session.scalars(
                sa.select(Lawyer).where(Lawyer.id.in_({s.lawyer_id for s in shifts}))
            )
        }
        for shift in shifts:
            lawyer = lawyers[shift.lawyer_id]
            if not lawyer.active:
                continue
            week = at(shift.duty_on - timedelta(days=days("duty_days_before")), "duty_week_at", tz)
            eve = at(previous_working_day(shift.duty_on), "duty_eve_at", tz)
            morning = at(shift.duty_on, "duty_morning_at", tz)
            until = at(shift.duty_on, "duty_morning_until", tz)
            params = {
                "station": shift.station.name,
                "day": f"{shift.duty_on:%Y-%m-%d}",
                "count": counts.get(shift.id, 0),
                "address": shift.station.address,
            }
            steps: list[tuple[str, datetime, datetime, dict]] = [
                ("duty_eve", eve, morning, {}),
                ("duty_morning", morning, until, {}),
            ]
            early = _early_duty_notice(shift.duty_on, week, eve, morning, now, tz)
            for kind, due, expires, extra in [early, *steps] if early else steps:
                # One early notice per shift and lawyer, whichever its wording.
                step = "duty_week" if kind == "duty_soon" else kind
                planned.append(
                    Planned(
                        kind=kind,
                        recipient=lawyer_contact(lawyer),
                        template=kind,
                        params={**params, **extra},
                        due_at=due,
                        expires_at=expires,
                        dedupe_key=f"{step}:{shift.id}:{lawyer.id}",
                        tz=tz,
                    )
                )
    return planned


def booking_reminders(now: datetime, zones: Zones) -> list[Planned]:
    """The veteran: at 17:00 the day before and at 08:00 on the day — unless booked after that moment."""
    planned: list[Planned] = []
    for tz, stations in zones.items():
        today = to_local(now, tz).date()
        start = local_to_utc(today, time.min, tz)
        bookings = db.session.scalars(
            sa.select(Booking)
            .join(Slot, Slot.id == Booking.slot_id)
            .join(DutyShift, DutyShift.id == Booking.shift_id)
            .where(
                DutyShift.station_id.in_([s.id for s in stations]),
                Booking.status == BOOKED,
                Slot.starts_at >= start,
                Slot.starts_at < start + timedelta(days=2, hours=1),
            )
        )
        for booking in bookings:
            slot_start = booking.slot.starts_at
            day = to_local(slot_start, tz).date()
            # The moment the booking took its present time (made, or last moved).
            booked_at = booking.updated_at
            eve, morning = at(day - timedelta(days=1), "veteran_eve_at", tz), at(day, "veteran_day_at", tz)
            for kind, due, expires in (
                ("booking_eve", eve, min(morning, slot_start)),  # late, the morning one takes over
                ("booking_day", morning, slot_start),
            ):
                if booked_at > due or due >= slot_start:
                    continue  # booked after the reminder's moment: the confirmation said it all
                planned.append(
                    Planned(
                        kind=kind,
                        recipient=veteran_contact(booking),
                        template="booking_reminder",
                        params=booking_params(booking),
                        due_at=due,
                        expires_at=expires,
                        dedupe_key=f"{kind}:{booking.id}:{booking.slot_id}",
                        tz=tz,
                    )
                )
    return planned


def lawyer_change_notices(now: datetime) -> list[Planned]:
    """Booked veterans when their day's lawyer changes; marks the roster's change records processed."""
    planned: list[Planned] = []
    changes = list(
        db.session.scalars(
            sa.select(ShiftChange)
            .where(ShiftChange.processed_at.is_(None))
            .order_by(ShiftChange.id)
            .limit(500)
        )
    )
    for change in changes:
        change.processed_at = now
        shift = db.session.get(DutyShift, change.shift_id) if change.shift_id else None
        if shift is None or change.new_lawyer_id == change.old_lawyer_id:
            continue
        tz = shift.station.timezone
        if shift.duty_on < to_local(now, tz).date():
            continue
        if change.old_lawyer_id is not None:
            old_keys = [f"{kind}:{shift.id}:{change.old_lawyer_id}" for kind in DUTY_KINDS]
            expire_pending(OutboxMessage.dedupe_key.in_(old_keys), LAWYER_CHANGED, now)
        if change.cause == CLOSURE_CAUSE and change.new_lawyer_id is None:
            notice = _duty_cancelled(change, shift, now)
            planned += [notice] if notice is not None else []
            continue
        bookings = db.session.scalars(
            sa.select(Booking).where(Booking.shift_id == shift.id, Booking.status == BOOKED)
        )
        for booking in bookings:
            planned.append(
                Planned(
                    kind="lawyer_changed",
                    recipient=veteran_contact(booking),
                    template="lawyer_changed",
                    params=booking_params(booking),
                    due_at=now,
                    expires_at=booking.slot.starts_at,
                    dedupe_key=f"lawyer-changed:{change.id}:{booking.id}",
                    tz=tz,
                )
            )
    return planned


def matter_reminders(now: datetime, zones: Zones) -> list[Planned]:
    """The follow-up owner: the day before a matter falls due; when overdue, once, then weekly. The
    leader of a matter under 领导包案 gets the overdue notices too, naming who handles it."""
    planned: list[Planned] = []
    every = days("overdue_every_days")
    users: dict[int, User | None] = {}
    contacts: dict[int, Contact | None] = {}

    def contact_of(user_id: int | None) -> Contact | None:
        if user_id is None:
            return None
        if user_id not in contacts:
            user = users[user_id] = db.session.get(User, user_id)
            contacts[user_id] = user_contact(user) if user is not None and user.active else None
        return contacts[user_id]

    for tz, stations in zones.items():
        today = to_local(now, tz).date()
        matters = db.session.scalars(
            sa.select(Matter).where(
                Matter.station_id.in_([s.id for s in stations]),
                Matter.status != CLOSED,
                Matter.due_on <= today + timedelta(days=1),
            )
        )
        for matter in matters:
            contact = contact_of(matter.owner_id)
            params = {
                "matter": matter.id,
                "name": mask_name(matter.consultation.name),
                "due": f"{matter.due_on:%Y-%m-%d}",
            }
            if matter.due_on >= today:
                due = at(matter.due_on - timedelta(days=1), "matter_at", tz)
                kind, key = "matter_due", f"matter-due:{matter.id}:{matter.due_on}"
                expires = local_to_utc(matter.due_on + timedelta(days=1), time.min, tz)
            else:
                weeks = (today - matter.due_on - timedelta(days=1)).days // every
                first = matter.due_on + timedelta(days=1 + weeks * every)
                due = at(first, "matter_at", tz)
                kind, key = "matter_overdue", f"matter-overdue:{matter.id}:{matter.due_on}:{weeks}"
                expires = due + timedelta(days=every)
            if contact is not None:
                planned.append(
                    Planned(
                        kind=kind,
                        recipient=contact,
                        template=kind,
                        params=params,
                        due_at=due,
                        expires_at=expires,
                        dedupe_key=key,
                        tz=tz,
                    )
                )
            leader = contact_of(matter.leader_id) if matter.leader_id != matter.owner_id else None
            if kind == "matter_overdue" and leader is not None:
                owner = users.get(matter.owner_id)
                planned.append(
                    Planned(
                        kind=kind,
                        recipient=leader,
                        template="matter_overdue_led",
                        params={**params, "owner": owner.display_name if owner else ""},
                        due_at=due,
                        expires_at=expires,
                        # The leader's own key: told once a week, whoever holds the matter.
                        dedupe_key=f"{key}:lead:{matter.leader_id}",
                        tz=tz,
                    )
                )
    return planned


def contract_notices(now: datetime, zones: Zones, admins: list[Contact]) -> list[Planned]:
    """Administrators: a lawyer's contract ends within 30 days (once per contract end date)."""
    planned: list[Planned] = []
    before = days("contract_days_before")
    for tz, stations in zones.items():
        today = to_local(now, tz).date()
        lawyers = db.session.scalars(
            sa.select(Lawyer).where(
                Lawyer.station_id.in_([s.id for s in stations]),
                Lawyer.active.is_(True),
                Lawyer.contract_end.between(today, today + timedelta(days=before)),
            )
        )
        for lawyer in lawyers:
            end = lawyer.contract_end
            if end is None:  # the query asked for an end date; this keeps the type checker sure too
                continue
            due = at(end - timedelta(days=before), "admin_at", tz)
            params = {
                "lawyer": lawyer.name,
                "firm": lawyer.firm.name,
                "end": f"{lawyer.contract_end:%Y-%m-%d}",
            }
            for admin in admins:
                planned.append(
                    Planned(
                        kind="contract_ending",
                        recipient=admin,
                        template="contract_ending",
                        params=params,
                        due_at=due,
                        expires_at=local_to_utc(end + timedelta(days=1), time.min, tz),
                        dedupe_key=f"contract-ending:{lawyer.id}:{lawyer.contract_end}:{admin.recipient_id}",
                        tz=tz,
                    )
                )
    return planned


def review_summary(station: Station, month_start: date, today: date) -> dict:
    """每月研判: last month's figures, as the review page shows them, and a link to that page."""
    from flask import current_app

    from legalaid.consultations.forms import label
    from legalaid.reports.services import month_figures

    last_start = (month_start - timedelta(days=1)).replace(day=1)
    figures = month_figures(station.id, last_start, today)
    counted = sorted(((n, code) for code, n in figures.outcomes.items() if n), key=lambda nc: -nc[0])
    with force_locale(DEFAULT_LOCALE):
        by_outcome = "，".join(f"{label('outcome', code)} {n}" for n, code in counted) or "—"
    base = current_app.config.get("PUBLIC_URL", "").rstrip("/")
    return {
        "station": station.name,
        "month": f"{last_start:%Y-%m}",
        "consultations": figures.consultations,
        "new_matters": figures.new_matters,
        "overdue": len(figures.overdue),
        "outcomes": by_outcome,
        "link": f"{base}/admin/reports/monthly/{last_start:%Y-%m}?station={station.id}",
    }


def monthly_reviews(now: datetime, zones: Zones, admins: list[Contact]) -> list[Planned]:
    """Administrators: the monthly review summary on the first working day of the month, per station."""
    planned: list[Planned] = []
    for tz, stations in zones.items():
        today = to_local(now, tz).date()
        first = first_working_day(today.year, today.month)
        due = at(first, "admin_at", tz)
        if now < due:
            continue
        for station in stations:
            key = f"monthly-review:{station.id}:{first:%Y-%m}"
            keys = [f"{key}:{admin.recipient_id}" for admin in admins]
            queued = db.session.scalars(
                sa.select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(keys))
            )
            if len(set(queued)) == len(keys):
                continue  # every administrator has this month's summary: skip the counting
            params = review_summary(station, today.replace(day=1), today)
            for admin in admins:
                planned.append(
                    Planned(
                        kind="monthly_review",
                        recipient=admin,
                        template="monthly_review",
                        params=params,
                        due_at=due,
                        expires_at=due + timedelta(days=7),
                        dedupe_key=f"{key}:{admin.recipient_id}",
                        tz=tz,
                    )
                )
    return planned


def enqueue_due(now: datetime | None = None) -> dict[str, int]:
    """Queue every reminder whose time has come (the scheduler's job; safe to run twice). Flushes."""
    now = now or now_utc()
    zones, admins = stations_by_zone(), admin_contacts()
    report = {
        "duty": queue(duty_reminders(now, zones), now),
        "booking_notices": booking_notices(now),
        "booking": queue(booking_reminders(now, zones), now),
        "lawyer_changed": queue(lawyer_change_notices(now), now),
        "matter": queue(matter_reminders(now, zones), now),
        "contract": queue(contract_notices(now, zones, admins), now),
        "review": queue(monthly_reviews(now, zones, admins), now),
    }
    db.session.flush()
    return report
