"""Closing a duty day that people are already booked on (闭馆): see who it affects first, then close
the day, cancel each booking with the reason, release the shift and tell everyone, in one transaction.

Kept apart from `roster.services` because it uses the bookings feature, which itself reads the roster.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from legalaid.bookings import services as bookings
from legalaid.bookings.models import ACTIVE_STATES, CHECKED_IN, Booking, Slot, WalkIn
from legalaid.bookings.validation import clean_prose
from legalaid.dates import local_today, now_utc
from legalaid.errors import InvalidInput, NotAllowed
from legalaid.extensions import db
from legalaid.roster import services as roster
from legalaid.roster.models import DutyShift
from legalaid.stations.models import Station


@dataclass
class ClosureImpact:
    """Who a closure of one day affects: the shift and its lawyer, the open bookings, the walk-ins."""

    day: date
    shift: DutyShift | None
    bookings: list[Booking] = field(default_factory=list)
    walkins: list[WalkIn] = field(default_factory=list)

    @property
    def affects_anyone(self) -> bool:
        """Whether closing the day changes anybody's plans."""
        return bool(self.shift or self.bookings or self.walkins)


def closure_impact(station: Station, day: date) -> ClosureImpact:
    """What closing this day would change, for the administrator to read before confirming."""
    shift = roster.shift_on(station, day)
    impact = ClosureImpact(day, shift)
    if shift is not None:
        impact.bookings = list(
            db.session.scalars(
                sa.select(Booking)
                .join(Slot, Slot.id == Booking.slot_id)
                .where(Booking.shift_id == shift.id, Booking.status.in_(ACTIVE_STATES))
                .order_by(Slot.starts_at, Booking.id)
            )
        )
    impact.walkins = list(
        db.session.scalars(
            sa.select(WalkIn)
            .where(WalkIn.station_id == station.id, WalkIn.day == day, WalkIn.status == "waiting")
            .order_by(WalkIn.number)
        )
    )
    return impact


def close_day(station: Station, day: date, reason: str, now: datetime | None = None) -> ClosureImpact:
    """Close a day: the closure, each open booking cancelled with the reason, the shift released, waiting
    walk-in numbers withdrawn. Flushes. The cancellations and the release are announced as rows
    (`booking_events`, `shift_changes`), from which the reminders tell each booked person and the
    lawyer on their next run, once."""
    now = now or now_utc()
    if day < local_today(station.timezone):
        raise NotAllowed(_("A day that has passed cannot be closed."))
    impact = closure_impact(station, day)
    reason = clean_prose(reason)[:200]
    if impact.affects_anyone and not reason:
        raise InvalidInput(_("Give the reason: the people booked will read it."), field="reason")
    if any(b.status == CHECKED_IN for b in impact.bookings):
        raise NotAllowed(_("People have already arrived today: close the day after they are seen."))
    roster.set_closure(station, day, True, reason)
    cancel_reason = _("The station is closed that day: %(reason)s", reason=reason)[:200]
    for booking in impact.bookings:
        bookings.cancel(booking, cancel_reason, by_staff=True, now=now, closure=reason)
    for walkin in impact.walkins:
        walkin.status = "withdrawn"
    if impact.shift is not None:
        roster.release_shift(impact.shift, "closure")
    db.session.flush()
    return impact
