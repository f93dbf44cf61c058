"""Shifts whose lawyer can no longer take them (dates off entered over the shift, the lawyer deactivated,
the contract ending before it), the replacement the rotation would pick, and the administrators' notice.

Conflicts are worked out from the roster, the leave and the contracts, never stored: the month view
marks them until the administrator hands the shift over (a hand change tells the booked veterans).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from legalaid.dates import local_to_utc, local_today, now_utc
from legalaid.extensions import db
from legalaid.lawyers.models import Lawyer, Unavailability
from legalaid.reminders.queueing import DEFAULT_LOCALE, Planned, admin_contacts, queue
from legalaid.roster.models import DutyShift
from legalaid.roster.services import ON_DUTY, closed_days, station_lawyers
from legalaid.stations.models import Station

LEAVE, INACTIVE, CONTRACT = "leave", "inactive", "contract"
REASONS = {
    LEAVE: _l("dates off"),
    INACTIVE: _l("lawyer deactivated"),
    CONTRACT: _l("outside the contract"),
}


@dataclass(frozen=True)
class Conflict:
    """A coming shift its lawyer cannot take, and why."""

    shift: DutyShift
    why: str

    @property
    def reason(self) -> str:
        """Why, in the reader's language."""
        return str(REASONS[self.why])


def _on_leave(lawyer_ids: list[int], start: date, end: date) -> dict[int, list[tuple[date, date]]]:
    leave: dict[int, list[tuple[date, date]]] = {}
    if not lawyer_ids:
        return leave
    rows = db.session.execute(
        sa.select(Unavailability.lawyer_id, Unavailability.start_on, Unavailability.end_on).where(
            Unavailability.lawyer_id.in_(lawyer_ids),
            Unavailability.end_on >= start,
            Unavailability.start_on <= end,
        )
    )
    for lawyer_id, first, last in rows:
        leave.setdefault(lawyer_id, []).append((first, last))
    return leave


def _why(lawyer: Lawyer, day: date, leave: dict[int, list[tuple[date, date]]]) -> str | None:
    if not lawyer.active:
        return INACTIVE
    if not lawyer.under_contract_on(day):
        return CONTRACT
    if any(first <= day <= last for first, last in leave.get(lawyer.id, [])):
        return LEAVE
    return None


def _conflicts(shifts: list[DutyShift]) -> list[Conflict]:
    if not shifts:
        return []
    days = [s.duty_on for s in shifts]
    leave = _on_leave(list({s.lawyer_id for s in shifts}), min(days), max(days))
    found = []
    for shift in shifts:
        why = _why(shift.lawyer, shift.duty_on, leave)
        if why is not None:
            found.append(Conflict(shift, why))
    return found


def station_conflicts(
    station: Station, start: date, end: date, today: date | None = None
) -> dict[int, Conflict]:
    """The coming shifts of a date range whose lawyer cannot take them, by shift id (for the month view)."""
    today = today or local_today(station.timezone)
    shifts = db.session.scalars(
        sa.select(DutyShift).where(
            DutyShift.station_id == station.id,
            DutyShift.duty_on >= max(start, today),
            DutyShift.duty_on <= end,
            ON_DUTY,
        )
    )
    return {c.shift.id: c for c in _conflicts(list(shifts))}


def lawyer_conflicts(lawyer: Lawyer, today: date | None = None) -> list[Conflict]:
    """A lawyer's coming shifts they cannot take, in date order."""
    today = today or local_today(lawyer.station.timezone)
    shifts = db.session.scalars(
        sa.select(DutyShift)
        .where(DutyShift.lawyer_id == lawyer.id, DutyShift.duty_on >= today, ON_DUTY)
        .order_by(DutyShift.duty_on)
    )
    return _conflicts(list(shifts))


def replacement_for(shift: DutyShift) -> Lawyer | None:
    """The lawyer the rotation would pick for this day: free that day (active, under contract, no dates
    off, no other duty that day), and on duty least recently before it."""
    station, day = shift.station, shift.duty_on
    if day in closed_days(station, day, day):
        return None
    lawyers = [lw for lw in station_lawyers(station) if lw.id != shift.lawyer_id]
    leave = _on_leave([lw.id for lw in lawyers], day, day)
    free = [lw for lw in lawyers if _why(lw, day, leave) is None]
    if not free:
        return None
    last = dict(
        db.session.execute(
            sa.select(DutyShift.lawyer_id, sa.func.max(DutyShift.duty_on))
            .where(
                DutyShift.station_id == station.id,
                DutyShift.duty_on < day,
                DutyShift.lawyer_id.in_([lw.id for lw in free]),
                ON_DUTY,
            )
            .group_by(DutyShift.lawyer_id)
        ).all()
    )
    return min(free, key=lambda lw: (last.get(lw.id) or date.min, lw.name, lw.id))


def tell_administrators(conflicts: list[Conflict], now: datetime | None = None) -> int:
    """Queue one notice per conflict to every active administrator, with the page to choose a
    replacement; the same conflict is never announced twice. Flushes; returns how many were queued."""
    now = now or now_utc()
    if not conflicts:
        return 0
    admins = admin_contacts()
    base = current_app.config.get("PUBLIC_URL", "").rstrip("/")
    planned = []
    for conflict in conflicts:
        shift = conflict.shift
        station = shift.station
        day = f"{shift.duty_on:%Y-%m-%d}"
        with force_locale(DEFAULT_LOCALE):  # messages carry plain text: the reason in the station's words
            why = conflict.reason
        for admin in admins:
            planned.append(
                Planned(
                    kind="shift_conflict",
                    recipient=admin,
                    template="shift_conflict",
                    params={
                        "lawyer": shift.lawyer.name,
                        "station": station.name,
                        "day": day,
                        "why": why,
                        "link": f"{base}/admin/roster?station={station.id}&month={shift.duty_on:%Y-%m}",
                    },
                    due_at=now,
                    expires_at=local_to_utc(shift.duty_on, time.min, station.timezone) + timedelta(days=1),
                    dedupe_key=f"shift-conflict:{shift.id}:{shift.lawyer_id}:{conflict.why}:{admin.recipient_id}",
                    tz=station.timezone,
                )
            )
    return queue(planned, now)
