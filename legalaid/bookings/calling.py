"""Walk-in numbers, the day's queue and calling the next person (叫号): a call is a conditional claim,
so two desks never call one person."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import contains_eager, selectinload

from legalaid import audit
from legalaid.auth.models import User
from legalaid.bookings.models import (
    CANCELLED,
    CHECKED_IN,
    CONSENT_READ_ALOUD,
    Booking,
    DailyCounter,
    Slot,
    Veteran,
    WalkIn,
)
from legalaid.dates import local_to_utc, now_utc, to_local
from legalaid.db import get_by_id, insert_if_absent, rows_changed
from legalaid.errors import NotAllowed
from legalaid.extensions import db
from legalaid.privacy import mask_name
from legalaid.roster import services as roster
from legalaid.roster.models import DutyShift
from legalaid.stations.models import Station


def get_walkin(walkin_id: int) -> WalkIn | None:
    """The walk-in number with this id, if any."""
    return get_by_id(WalkIn, walkin_id)


def reception_ends(station: Station, now: datetime | None = None) -> datetime | None:
    """When today's reception ends (the end of the day's last session), or None if today is no duty day."""
    now = now or now_utc()
    today = to_local(now, station.timezone).date()
    if roster.shift_on(station, today) is None or today in roster.closed_days(station, today, today):
        return None
    ends = [local_to_utc(today, s.end_time, station.timezone) for s in station.sessions]
    return max(ends) if ends else None


def taking_walkins(station: Station, now: datetime | None = None) -> bool:
    """Whether the kiosk hands out walk-in numbers now: on a duty day, until its reception ends."""
    now = now or now_utc()
    ends = reception_ends(station, now)
    return ends is not None and now < ends


def issue_walkin(
    station: Station,
    category: str = "",
    veteran: Veteran | None = None,
    now: datetime | None = None,
    name: str = "",
    public: bool = False,
    consent_by: User | None = None,
) -> WalkIn:
    """Hand out the next walk-in number of the day (A001, A002 …) on a duty day. At the kiosk
    (`public`) only until the day's reception ends; the desk may still give one to someone it sees.
    `consent_by`: the member of staff who read the notice to the person, who agreed."""
    now = now or now_utc()
    today = to_local(now, station.timezone).date()
    shift = roster.shift_on(station, today)
    if shift is None or today in roster.closed_days(station, today, today):
        raise NotAllowed(_("There is no lawyer on duty today."))
    if public and not taking_walkins(station, now):
        raise NotAllowed(_("Today's reception has ended. Please come again on the next duty day."))
    insert_if_absent(DailyCounter, {"station_id": station.id, "day": today, "last_number": 0})
    number = db.session.execute(
        sa.update(DailyCounter)
        .where(DailyCounter.station_id == station.id, DailyCounter.day == today)
        .values(last_number=DailyCounter.last_number + 1)
        .returning(DailyCounter.last_number)
    ).scalar_one()
    walkin = WalkIn(
        station_id=station.id,
        day=today,
        number=number,
        shift_id=shift.id,
        veteran_id=veteran.id if veteran else None,
        name=name if veteran is None else "",
        category=category or "",
    )
    if consent_by is not None:
        walkin.consent_at, walkin.consent_how, walkin.consent_by_id = now, CONSENT_READ_ALOUD, consent_by.id
    db.session.add(walkin)
    db.session.flush()
    audit.record("walkin.issue", walkin, details={"number": walkin.label}, station_id=station.id)
    return walkin


@dataclass
class QueueEntry:
    """One person called today: a checked-in booking or a walk-in number."""

    kind: str  # booking · walkin
    label: str  # the booking code or the number
    name: str  # masked
    at: datetime | None
    booking: Booking | None = None
    walkin: WalkIn | None = None


def _booking_entry(booking: Booking) -> QueueEntry:
    return QueueEntry("booking", booking.code, mask_name(booking.name), booking.called_at, booking=booking)


def _walkin_entry(walkin: WalkIn) -> QueueEntry:
    return QueueEntry("walkin", walkin.label, mask_name(walkin.person), walkin.called_at, walkin=walkin)


@dataclass
class Queue:
    """Today at a station: the shift (if any), its bookings in time order, and walk-ins by number."""

    shift: DutyShift | None
    bookings: list[Booking]
    walkins: list[WalkIn]

    @property
    def calling(self) -> QueueEntry | None:
        """Who was called last, from the lists already loaded."""
        entries = [_booking_entry(b) for b in self.bookings if b.called_at] + [
            _walkin_entry(w) for w in self.walkins if w.called_at
        ]
        return max(entries, key=_called_at) if entries else None


def todays_queue(station: Station, now: datetime | None = None) -> Queue:
    """Today's shift, its bookings in time order and the walk-ins by number."""
    now = now or now_utc()
    today = to_local(now, station.timezone).date()
    shift = roster.shift_on(station, today)
    bookings = []
    if shift is not None:
        bookings = list(
            db.session.scalars(
                sa.select(Booking)
                .join(Booking.slot)
                # The join orders and loads: no second join; who read the consent notice, in one query.
                .options(contains_eager(Booking.slot), selectinload(Booking.consent_by))
                .where(Booking.shift_id == shift.id, Booking.status != CANCELLED)
                .order_by(Slot.starts_at, Booking.id)
            ).unique()
        )
    walkins = list(
        db.session.scalars(
            sa.select(WalkIn)
            .where(WalkIn.station_id == station.id, WalkIn.day == today)
            .order_by(WalkIn.number)
        )
    )
    return Queue(shift, bookings, walkins)


def call_next(station: Station, now: datetime | None = None, by: User | None = None) -> QueueEntry | None:
    """Call the next person: arrived bookings whose time has come, then walk-ins by number, then the
    other arrived bookings.

    Calling is a claim, like taking a place: each candidate is taken by a conditional UPDATE. When the
    desk and the console press at the same moment, one wins the person and the other moves on to the
    next in line, so nobody is called twice and nobody is skipped. `by` must work the day (the desk,
    an administrator, the duty lawyer); without it (the demo) nobody's permission is asked.
    """
    now = now or now_utc()
    queue = todays_queue(station, now)
    if by is not None and not roster.serves_the_day(by, station.id, queue.shift):
        raise NotAllowed(
            _("Only the desk of this station, an administrator or today's duty lawyer can call.")
        )
    arrived = [b for b in queue.bookings if b.status == CHECKED_IN and b.called_at is None]
    soon = now + timedelta(minutes=10)
    due = [b for b in arrived if b.slot.starts_at <= soon]
    later = [b for b in arrived if b.slot.starts_at > soon]
    waiting = [w for w in queue.walkins if w.status == "waiting"]
    for booking in due:
        if _call_booking(booking, station, now):
            return _booking_entry(booking)
    for walkin in waiting:
        if _call_walkin(walkin, station, now):
            return _walkin_entry(walkin)
    for booking in later:
        if _call_booking(booking, station, now):
            return _booking_entry(booking)
    return None


def _call_booking(booking: Booking, station: Station, now: datetime) -> bool:
    """Claim an arrived booking for calling; False if someone called (or changed) it first."""
    called = rows_changed(db.session.execute(
        sa.update(Booking)
        .where(Booking.id == booking.id, Booking.status == CHECKED_IN, Booking.called_at.is_(None))
        .values(called_at=now)
        .execution_options(synchronize_session=False)
    ))
    db.session.expire(booking)  # the row as the database now has it, whoever won
    if called:
        audit.record("booking.call", booking, station_id=station.id)
        db.session.flush()
    return bool(called)


def _call_walkin(walkin: WalkIn, station: Station, now: datetime) -> bool:
    """Claim a waiting walk-in number for calling; False if someone called it first."""
    called = rows_changed(db.session.execute(
        sa.update(WalkIn)
        .where(WalkIn.id == walkin.id, WalkIn.status == "waiting")
        .values(status="called", called_at=now)
        .execution_options(synchronize_session=False)
    ))
    db.session.expire(walkin)
    if called:
        audit.record("walkin.call", walkin, details={"number": walkin.label}, station_id=station.id)
        db.session.flush()
    return bool(called)


def now_calling(station: Station, now: datetime | None = None) -> QueueEntry | None:
    """Who was called last today, for the hall display (polled every few seconds: two small reads)."""
    now = now or now_utc()
    today = to_local(now, station.timezone).date()
    shift = roster.shift_on(station, today)
    booking = shift and db.session.scalar(
        sa.select(Booking)
        .where(Booking.shift_id == shift.id, Booking.called_at.is_not(None))
        .order_by(Booking.called_at.desc())
        .limit(1)
    )
    walkin = db.session.scalar(
        sa.select(WalkIn)
        .where(WalkIn.station_id == station.id, WalkIn.day == today, WalkIn.called_at.is_not(None))
        .order_by(WalkIn.called_at.desc())
        .limit(1)
    )
    entries = [_booking_entry(booking)] if booking else []
    entries += [_walkin_entry(walkin)] if walkin else []
    return max(entries, key=_called_at) if entries else None


def _called_at(entry: QueueEntry) -> float:
    return entry.at.timestamp() if entry.at else 0.0
