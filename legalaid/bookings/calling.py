"""Walk-in numbers, the day's queue and calling the next person (叫号): a call is a conditional claim,
so two desks never call one person."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import contains_eager, selectinload

from legalaid import audit, cache
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

WAITING, CALLED = "waiting", "called"  # a walk-in number's states (passed over: called, with passed_at)


def get_walkin(walkin_id: int) -> WalkIn | None:
    """The walk-in number with this id, if any."""
    return get_by_id(WalkIn, walkin_id)


def issue_window(station: Station, now: datetime | None = None) -> tuple[datetime, datetime] | None:
    """When the kiosk hands out numbers today: from the station's lead time before the first session
    until the last session ends; None if today is no duty day (or the station has no sessions)."""
    now = now or now_utc()
    today = to_local(now, station.timezone).date()
    if roster.shift_on(station, today) is None or today in roster.closed_days(station, today, today):
        return None
    if not station.sessions:
        return None
    starts = min(local_to_utc(today, s.start_time, station.timezone) for s in station.sessions)
    ends = max(local_to_utc(today, s.end_time, station.timezone) for s in station.sessions)
    return starts - timedelta(minutes=station.queue_opens_minutes), ends


def reception_ends(station: Station, now: datetime | None = None) -> datetime | None:
    """When today's reception ends (the end of the day's last session), or None if today is no duty day."""
    window = issue_window(station, now)
    return window[1] if window else None


def taking_walkins(station: Station, now: datetime | None = None) -> bool:
    """Whether the kiosk hands out walk-in numbers now: on a duty day, from the opening time until the
    day's reception ends."""
    now = now or now_utc()
    window = issue_window(station, now)
    return window is not None and window[0] <= now < window[1]


def walkin_notice(station: Station, now: datetime | None = None) -> str:
    """Why the kiosk gives no number now, for its start screen ("" while it does, or on no duty day)."""
    now = now or now_utc()
    window = issue_window(station, now)
    if window is None or window[0] <= now < window[1]:
        return ""
    if now < window[0]:
        return _(
            "Queue numbers for today are given from %(time)s.",
            time=to_local(window[0], station.timezone).strftime("%H:%M"),
        )
    return _("Today's reception has ended. Please come again on the next duty day.")


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
        raise NotAllowed(
            walkin_notice(station, now)
            or _("Today's reception has ended. Please come again on the next duty day.")
        )
    number = _next_number(station, today, DailyCounter.last_number)
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


def _next_number(station: Station, day: date, counter: sa.orm.InstrumentedAttribute[int]) -> int:
    """Count one up on the station's counter of the day: a conditional UPDATE, so two desks or kiosks
    at the same moment never get the same number."""
    insert_if_absent(
        DailyCounter, {"station_id": station.id, "day": day, "last_number": 0, "last_booking_number": 0}
    )
    return db.session.execute(
        sa.update(DailyCounter)
        .where(DailyCounter.station_id == station.id, DailyCounter.day == day)
        .values({counter: counter + 1})
        .returning(counter)
    ).scalar_one()


def number_booking(booking: Booking, station: Station) -> None:
    """Give a booking just checked in its queue number of the day (B001, B002 …, in order of arrival).

    Arrival order, not the booking's place in the day's list: the number is printed and called, and a
    list position would change under a person's feet when an earlier booking is cancelled."""
    if booking.queue_number is None:
        booking.queue_number = _next_number(station, booking.shift.duty_on, DailyCounter.last_booking_number)


@dataclass
class QueueEntry:
    """One person in today's queue: a checked-in booking or a walk-in number."""

    kind: str  # booking · walkin
    label: str  # the queue number as called (A003, B001); a booking without one: its code
    name: str  # masked
    at: datetime | None  # last heard in the hall (a recall moves it)
    booking: Booking | None = None
    walkin: WalkIn | None = None

    @property
    def record(self) -> Booking | WalkIn:
        """The booking or walk-in behind this entry."""
        record = self.booking or self.walkin
        assert record is not None
        return record

    @property
    def key(self) -> str:
        """What changes when this person is called or called again: the hall display plays the call
        when its key differs from the one it played last."""
        return f"{self.kind}-{self.record.id}-{self.at.timestamp() if self.at else 0:.6f}"

    @property
    def speakable(self) -> bool:
        """Whether the label is a queue number the hall's voice can say (not a booking code)."""
        return self.label[:1] in "AB" and self.label[1:].isdigit()


def _booking_entry(booking: Booking) -> QueueEntry:
    label = booking.queue_label or booking.code
    return QueueEntry("booking", label, mask_name(booking.name), booking.announced_at, booking=booking)


def _walkin_entry(walkin: WalkIn) -> QueueEntry:
    return QueueEntry("walkin", walkin.label, mask_name(walkin.person), walkin.announced_at, walkin=walkin)


def _is_waiting(record: Booking | WalkIn) -> bool:
    if isinstance(record, Booking):
        return record.status == CHECKED_IN and record.called_at is None
    return record.status == WAITING


@dataclass
class Queue:
    """Today at a station: the shift (if any), its bookings in time order, and walk-ins by number."""

    shift: DutyShift | None
    bookings: list[Booking]
    walkins: list[WalkIn]

    @property
    def calling(self) -> QueueEntry | None:
        """Who is being called (last heard and not passed), from the lists already loaded."""
        entries = [_booking_entry(b) for b in self.bookings if _on_the_line(b)] + [
            _walkin_entry(w) for w in self.walkins if _on_the_line(w)
        ]
        return max(entries, key=_called_at) if entries else None

    def line(self, now: datetime) -> list[QueueEntry]:
        """Who waits, in the order "call next" calls them (the one rule; see waiting_line)."""
        return waiting_line(self, now)

    def ahead(self, now: datetime) -> dict[tuple[str, int], int]:
        """For each person waiting, how many are before them (前面还有 N 人), keyed by (kind, id)."""
        return {(e.kind, e.record.id): n for n, e in enumerate(self.line(now))}


def _on_the_line(record: Booking | WalkIn) -> bool:
    """Called and not passed over: the hall shows them."""
    return record.called_at is not None and record.passed_at is None


def waiting_line(queue: Queue, now: datetime) -> list[QueueEntry]:
    """Who waits, in calling order: arrived bookings whose time has come (in time order), then walk-ins
    by number, then the other arrived bookings. A number passed over and put back (过号 → 重新排队)
    comes after the person who was next when it was put back, as a hall does: once someone has been
    called since, it is first in line."""
    soon = now + timedelta(minutes=10)
    arrived = [b for b in queue.bookings if _is_waiting(b)]
    walkins = [w for w in queue.walkins if _is_waiting(w)]
    normal = (
        [_booking_entry(b) for b in arrived if b.requeued_at is None and b.slot.starts_at <= soon]
        + [_walkin_entry(w) for w in walkins if w.requeued_at is None]
        + [_booking_entry(b) for b in arrived if b.requeued_at is None and b.slot.starts_at > soon]
    )
    back: list[Booking | WalkIn] = [b for b in arrived if b.requeued_at]
    back += [w for w in walkins if w.requeued_at]
    back.sort(key=lambda r: (r.requeued_at, r.id))
    calls = [b.called_at for b in queue.bookings if b.called_at is not None]
    calls += [w.called_at for w in queue.walkins if w.called_at is not None]

    def ready(record: Booking | WalkIn) -> bool:
        return record.requeued_at is not None and any(at > record.requeued_at for at in calls)

    def entry(record: Booking | WalkIn) -> QueueEntry:
        return _booking_entry(record) if isinstance(record, Booking) else _walkin_entry(record)

    first = [entry(r) for r in back if ready(r)]
    then = [entry(r) for r in back if not ready(r)]
    return first + normal[:1] + then + normal[1:]


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


def ahead_of(record: Booking | WalkIn, station: Station, now: datetime | None = None) -> int | None:
    """How many people "call next" will call before this one (前面还有 N 人); None if not waiting."""
    now = now or now_utc()
    kind = "booking" if isinstance(record, Booking) else "walkin"
    return todays_queue(station, now).ahead(now).get((kind, record.id))


def _check_may_call(station: Station, queue: Queue, by: User | None) -> None:
    if by is not None and not roster.serves_the_day(by, station.id, queue.shift):
        raise NotAllowed(
            _("Only the desk of this station, an administrator or today's duty lawyer can call.")
        )


def call_next(station: Station, now: datetime | None = None, by: User | None = None) -> QueueEntry | None:
    """Call the next person in the order of waiting_line.

    Calling is a claim, like taking a place: each candidate is taken by a conditional UPDATE. When the
    desk and the console press at the same moment, one wins the person and the other moves on to the
    next in line, so nobody is called twice and nobody is skipped. `by` must work the day (the desk,
    an administrator, the duty lawyer); without it (the demo) nobody's permission is asked.
    """
    now = now or now_utc()
    queue = todays_queue(station, now)
    _check_may_call(station, queue, by)
    for entry in waiting_line(queue, now):
        if entry.booking is not None and _call_booking(entry.booking, station, now):
            return _booking_entry(entry.booking)
        if entry.walkin is not None and _call_walkin(entry.walkin, station, now):
            return _walkin_entry(entry.walkin)
    return None


def _call_booking(booking: Booking, station: Station, now: datetime) -> bool:
    """Claim an arrived booking for calling; False if someone called (or changed) it first."""
    called = rows_changed(db.session.execute(
        sa.update(Booking)
        .where(Booking.id == booking.id, Booking.status == CHECKED_IN, Booking.called_at.is_(None))
        .values(called_at=now, announced_at=now, passed_at=None)
        .execution_options(synchronize_session=False)
    ))
    db.session.expire(booking)  # the row as the database now has it, whoever won
    if called:
        details = {"number": booking.queue_label} if booking.queue_number else None
        audit.record("booking.call", booking, details=details, station_id=station.id)
        db.session.flush()
        cache.drop_pages(station.id, cache.HALL)  # the hall display shows the call at once
    return bool(called)


def _call_walkin(walkin: WalkIn, station: Station, now: datetime) -> bool:
    """Claim a waiting walk-in number for calling; False if someone called it first."""
    called = rows_changed(db.session.execute(
        sa.update(WalkIn)
        .where(WalkIn.id == walkin.id, WalkIn.status == WAITING)
        .values(status=CALLED, called_at=now, announced_at=now, passed_at=None)
        .execution_options(synchronize_session=False)
    ))
    db.session.expire(walkin)
    if called:
        audit.record("walkin.call", walkin, details={"number": walkin.label}, station_id=station.id)
        db.session.flush()
        cache.drop_pages(station.id, cache.HALL)
    return bool(called)


# A second press of "recall" within this time is the same press (two desks, or a double tap): the hall
# is still saying the number.
RECALL_GAP = timedelta(seconds=8)
RECALL, PASS, REQUEUE = "recall", "pass", "requeue"
QUEUE_ACTIONS = (RECALL, PASS, REQUEUE)


def get_entry(
    station: Station, kind: str, record_id: int, now: datetime | None = None
) -> QueueEntry | None:
    """Today's booking or walk-in number of this station, as a queue entry; None if it is not one."""
    today = to_local(now or now_utc(), station.timezone).date()
    if kind == "walkin":
        walkin = get_walkin(record_id)
        if walkin is None or walkin.station_id != station.id or walkin.day != today:
            return None
        return _walkin_entry(walkin)
    booking = get_by_id(Booking, record_id) if kind == "booking" else None
    if booking is None or booking.shift.station_id != station.id or booking.shift.duty_on != today:
        return None
    return _booking_entry(booking)


def queue_action(
    station: Station,
    kind: str,
    record_id: int,
    action: str,
    now: datetime | None = None,
    by: User | None = None,
) -> QueueEntry:
    """Recall (重呼) a number being called, pass it over (过号), or put a passed number back in the queue.

    Each is a conditional UPDATE on the state the desk saw, so two desks pressing at once act once:
    the second is told the number has changed meanwhile. Audited with the number."""
    now = now or now_utc()
    entry = get_entry(station, kind, record_id, now)
    if entry is None:
        raise NotAllowed(_("This number is not in today's queue."))
    _check_may_call(station, todays_queue(station, now), by)
    model: type[Booking] | type[WalkIn] = Booking if kind == "booking" else WalkIn
    where = [model.id == record_id]
    if action == RECALL:
        where += [model.called_at.is_not(None), model.passed_at.is_(None)]
        where.append(model.announced_at <= now - RECALL_GAP)
        values: dict[str, object] = {"announced_at": now}
    elif action == PASS:
        where += [model.called_at.is_not(None), model.passed_at.is_(None)]
        values = {"passed_at": now}
    elif action == REQUEUE:
        where += [model.passed_at.is_not(None)]
        values = {"passed_at": None, "called_at": None, "requeued_at": now}
        if model is WalkIn:
            values["status"] = WAITING
    else:
        raise ValueError(action)
    if model is Booking:
        where.append(Booking.status == CHECKED_IN)
    changed = rows_changed(db.session.execute(
        sa.update(model).where(*where).values(values).execution_options(synchronize_session=False)
    ))
    db.session.expire(entry.record)
    if not changed:
        if action == RECALL and entry.record.passed_at is None and entry.record.called_at is not None:
            raise NotAllowed(_("%(number)s was called a moment ago.", number=entry.label))
        raise NotAllowed(_("%(number)s has changed meanwhile; nothing was done.", number=entry.label))
    _audit(entry, action, station)
    db.session.flush()
    cache.drop_pages(station.id, cache.HALL)  # a recall is heard again, a passed number leaves the screen
    return _booking_entry(entry.record) if isinstance(entry.record, Booking) else _walkin_entry(entry.record)


def _audit(entry: QueueEntry, action: str, station: Station) -> None:
    """The audit entry of a recall, pass or return (each action spelled out for the audit labels)."""
    booking = entry.kind == "booking"
    record, details, where = entry.record, {"number": entry.label}, {"station_id": station.id}
    if action == RECALL:
        audit.record("booking.recall" if booking else "walkin.recall", record, details=details, **where)
    elif action == PASS:
        audit.record("booking.pass" if booking else "walkin.pass", record, details=details, **where)
    else:
        audit.record("booking.requeue" if booking else "walkin.requeue", record, details=details, **where)


def hall_calls(station: Station, now: datetime | None = None, limit: int = 6) -> list[QueueEntry]:
    """Who is being called (first) and the calls before, for the hall display: the last heard first,
    passed numbers left out. Polled every few seconds: two small reads."""
    now = now or now_utc()
    today = to_local(now, station.timezone).date()
    # Today's shift joined in, not looked up first: two reads per poll, whatever is shown.
    bookings = list(db.session.scalars(
        sa.select(Booking)
        .join(DutyShift, DutyShift.id == Booking.shift_id)
        .where(
            DutyShift.station_id == station.id,
            DutyShift.duty_on == today,
            roster.ON_DUTY,
            Booking.called_at.is_not(None),
            Booking.passed_at.is_(None),
            Booking.announced_at.is_not(None),
        )
        .order_by(Booking.announced_at.desc())
        .limit(limit)
    ))
    walkins = list(db.session.scalars(
        sa.select(WalkIn)
        .where(
            WalkIn.station_id == station.id,
            WalkIn.day == today,
            WalkIn.called_at.is_not(None),
            WalkIn.passed_at.is_(None),
            WalkIn.announced_at.is_not(None),
        )
        .order_by(WalkIn.announced_at.desc())
        .limit(limit)
    ))
    entries = [_booking_entry(b) for b in bookings] + [_walkin_entry(w) for w in walkins]
    return sorted(entries, key=_called_at, reverse=True)[:limit]


def now_calling(station: Station, now: datetime | None = None) -> QueueEntry | None:
    """Who is being called today, for the hall display."""
    calls = hall_calls(station, now, limit=1)
    return calls[0] if calls else None


def _called_at(entry: QueueEntry) -> float:
    return entry.at.timestamp() if entry.at else 0.0
