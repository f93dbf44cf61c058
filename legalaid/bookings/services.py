"""Slots, bookings and walk-ins: the rules that keep every place real.

A place is taken by a conditional UPDATE of the slot's count (`booked < capacity`), never by
checking and then inserting; a check constraint on the table is the last line of defence. On
PostgreSQL the row lock orders competitors; on SQLite the first write takes the database's write
lock, and the count is re-read under it. A replayed submit carries the same idempotency key, which
is unique in the database, so it finds the first booking instead of making a second.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager

from legalaid import audit
from legalaid.bookings import validation
from legalaid.bookings.models import (
    ACTIVE_STATES,
    BOOKED,
    CANCELLED,
    CHANNELS,
    CHECKED_IN,
    NO_SHOW,
    ONLINE,
    PUBLIC_CHANNELS,
    STAFF,
    Booking,
    DailyCounter,
    ShiftQuota,
    Slot,
    Veteran,
    WalkIn,
)
from legalaid.dates import local_to_utc, local_today, now_utc, to_local
from legalaid.db import get_by_id, insert_if_absent
from legalaid.errors import AlreadyBooked, InvalidInput, NotAllowed, SlotFull
from legalaid.extensions import db
from legalaid.privacy import mask_name
from legalaid.reminders import rules as reminders
from legalaid.roster import services as roster
from legalaid.roster.models import DutyShift
from legalaid.stations.models import Station
from legalaid.stations.services import shift_capacity

# Booking codes avoid characters that are easy to misread: no 0/O, 1/I/L.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 6


def new_code() -> str:
    """A random booking code such as 7KQ2MX."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(code: str | None) -> str:
    """What a person typed as a code, made comparable (spaces gone, upper case)."""
    return validation.clean_text(code).replace(" ", "").upper()[:CODE_LENGTH]


# -- slots: planned when a shift is made or the settings change; pages only read them ---------------
#
# A duty day's plan is its slots (times and places) and its quota (places the public may book ahead).
# It is made when the roster makes the shift (`plan_slots`, called through the roster's hook), and made
# afresh after a settings change (`replan_coming_days`). A page never writes it: a shift without a plan
# (made before plans were made with the shift, until `flask bookings plan-slots` runs) shows no places.
# A slot dropped from a new plan is deleted, unless a cancelled booking still points at it: then it
# stays with no places (capacity 0), out of every list, so that booking's history keeps its time.

OFFERED = Slot.capacity > 0


def planned_times(station: Station, day: date) -> list[tuple[datetime, datetime]]:
    """The slot times (start, end in UTC) a duty day has under the station's current settings."""
    times = []
    step = timedelta(minutes=station.slot_minutes)
    for session in station.sessions:
        begin = local_to_utc(day, session.start_time, station.timezone)
        finish = local_to_utc(day, session.end_time, station.timezone)
        while begin + step <= finish:
            times.append((begin, begin + step))
            begin += step
    return times


def public_capacity(station: Station) -> int:
    """How many places of a duty day the kiosk and online booking may take: all but the walk-in reserve."""
    sessions = [(s.start_time, s.end_time) for s in station.sessions]
    return max(
        0, shift_capacity(sessions, station.slot_minutes, station.places_per_slot) - station.walkin_reserve
    )


def slots_of(shift: DutyShift) -> list[Slot]:
    """The shift's slots in time order; only reads (a shift without a plan has none)."""
    query = sa.select(Slot).where(Slot.shift_id == shift.id, OFFERED).order_by(Slot.starts_at)
    return list(db.session.scalars(query))


@dataclass
class _Plan:
    """A shift's plan as it stands: every slot row by start, its quota, and the places people hold."""

    slots: dict[datetime, Slot]
    quota: ShiftQuota | None
    held: dict[int, int]  # slot id → bookings not cancelled (they keep their place)
    referenced: set[int]  # slot ids any booking points at, cancelled ones included
    public_held: int  # of the held places, those taken from the quota for booking ahead

    @property
    def booked(self) -> int:
        """How many people hold a place in this plan."""
        return sum(self.held.values())


def _plans(shift_ids: list[int], lock: bool = False) -> dict[int, _Plan]:
    """The current plans of these shifts in three queries. `lock`: rows locked until the commit, so a
    booking in progress finishes first and the next one sees the new plan (PostgreSQL; SQLite's first
    write of the transaction already holds the whole database)."""
    plans = {i: _Plan({}, None, {}, set(), 0) for i in shift_ids}
    if not shift_ids:
        return plans
    if lock:  # the shift row first: two planners of one day wait for each other, not for bookings
        db.session.execute(sa.select(DutyShift.id).where(DutyShift.id.in_(shift_ids)).with_for_update())
    slots = sa.select(Slot).where(Slot.shift_id.in_(shift_ids)).order_by(Slot.id)
    quotas = sa.select(ShiftQuota).where(ShiftQuota.shift_id.in_(shift_ids))
    if lock:
        slots, quotas = slots.with_for_update(), quotas.with_for_update()
    fresh = {"populate_existing": True}
    for slot in db.session.scalars(slots.execution_options(**fresh)):
        plans[slot.shift_id].slots[slot.starts_at] = slot
    for quota in db.session.scalars(quotas.execution_options(**fresh)):
        plans[quota.shift_id].quota = quota
    keys = (Slot.shift_id, Booking.slot_id, Booking.status, Booking.uses_public_quota)
    rows = db.session.execute(
        sa.select(*keys, sa.func.count())
        .join(Slot, Slot.id == Booking.slot_id)
        .where(Slot.shift_id.in_(shift_ids))
        .group_by(*keys)
    )
    for shift_id, slot_id, status, public, count in rows:
        plan = plans[shift_id]
        plan.referenced.add(slot_id)
        if status != CANCELLED:  # a no-show or a finished visit still holds its place
            plan.held[slot_id] = plan.held.get(slot_id, 0) + count
            plan.public_held += count if public else 0
    return plans


def _follows(plan: _Plan, times: list[tuple[datetime, datetime]], places: int, public: int) -> bool:
    """Whether a plan is the one the settings give."""
    offered = sorted((s.starts_at, s.ends_at, s.capacity) for s in plan.slots.values() if s.capacity > 0)
    wanted = [(start, end, places) for start, end in times]
    return offered == wanted and plan.quota is not None and plan.quota.public_capacity == public


def _misfit(plan: _Plan, times: list[tuple[datetime, datetime]], places: int, public: int, tz: str) -> str:
    """Why the new plan cannot keep every booking at its time with its place, or '' if it can."""
    starts = {start for start, _end in times}
    for start, slot in sorted(plan.slots.items()):
        held = max(plan.held.get(slot.id, 0), slot.booked)
        if not held:
            continue
        at = f"{to_local(start, tz):%H:%M}"
        if start not in starts:
            return _("%(time)s is booked, and the new plan has no slot starting then.", time=at)
        if held > places:
            return _(
                "%(time)s has %(n)d bookings, and the new plan has %(places)d places per slot.",
                time=at,
                n=held,
                places=places,
            )
    booked_ahead = max(plan.public_held, plan.quota.public_booked if plan.quota else 0)
    if booked_ahead > public:
        return _(
            "Places booked ahead: %(n)d; the new plan leaves %(m)d for booking ahead.",
            n=booked_ahead,
            m=public,
        )
    return ""


def _write(
    shift: DutyShift, plan: _Plan, times: list[tuple[datetime, datetime]], places: int, public: int
) -> None:
    """Make the shift's slots and quota those of the settings; booked slots keep their rows (and start)."""
    ends = dict(times)
    for start, slot in plan.slots.items():
        if start in ends:
            slot.ends_at, slot.capacity = ends[start], places
        elif slot.id in plan.referenced:
            slot.capacity = 0  # out of the plan; a cancelled booking's history still points here
        else:
            db.session.delete(slot)
    if plan.quota is None:
        db.session.add(ShiftQuota(shift_id=shift.id, public_capacity=public, public_booked=0))
    else:
        plan.quota.public_capacity = public
    db.session.flush()
    new = [
        {"shift_id": shift.id, "starts_at": start, "ends_at": end, "capacity": places, "booked": 0}
        for start, end in times
        if start not in plan.slots
    ]
    if new:
        db.session.execute(sa.insert(Slot), new)


def _replan(shift: DutyShift, keep_bookings: bool) -> tuple[bool, OldPlan | None]:
    """Give one shift the plan of its station's settings (its rows locked first); returns whether it
    was re-planned, and the day kept on its old plan with the reason, if it was kept."""
    station = shift.station
    times, places = planned_times(station, shift.duty_on), station.places_per_slot
    public = public_capacity(station)
    plan = _plans([shift.id])[shift.id]
    if _follows(plan, times, places, public):
        return False, None  # the usual case (a look at a planned day) takes no lock
    plan = _plans([shift.id], lock=True)[shift.id]  # about to write: lock, then read again
    if _follows(plan, times, places, public):
        return False, None
    if plan.booked and not keep_bookings:
        return False, OldPlan(shift, plan.booked, _("People are booked on this day."))
    why = _misfit(plan, times, places, public, station.timezone)
    if why:
        return False, OldPlan(shift, plan.booked, why)
    _write(shift, plan, times, places, public)
    return True, None


def plan_slots(shift: DutyShift) -> list[Slot]:
    """Give a shift the slots and quota of its station's settings: made when it has none, made afresh
    when nobody holds a place in it (a day open again); a day with bookings keeps its plan. Flushes;
    returns the slots. The roster calls this for every shift it makes or brings back."""
    _replan(shift, keep_bookings=False)
    db.session.flush()
    return slots_of(shift)


# Tests and older callers know this name; it now only ever writes through `plan_slots`.
ensure_slots = plan_slots


def _coming_shifts(station: Station, today: date | None = None) -> list[DutyShift]:
    """The station's duty days after today (today's may be under way: its plan stays as it is)."""
    today = today or local_today(station.timezone)
    query = (
        sa.select(DutyShift)
        .where(DutyShift.station_id == station.id, DutyShift.duty_on > today, roster.ON_DUTY)
        .order_by(DutyShift.duty_on)
    )
    return list(db.session.scalars(query))


class OldPlan(NamedTuple):
    """A coming duty day whose slots differ from the station's settings, as people are booked on it."""

    shift: DutyShift
    booked: int
    reason: str  # why a re-plan cannot keep its bookings at their times; '' if it can


def days_on_old_plan(station: Station, today: date | None = None) -> list[OldPlan]:
    """Coming duty days whose plan is not the one the settings give, and whether each can be re-planned
    keeping every booking at its time. Reads only (four queries, whatever the number of days)."""
    shifts = _coming_shifts(station, today)
    plans = _plans([s.id for s in shifts])
    places, public = station.places_per_slot, public_capacity(station)
    days = []
    for shift in shifts:
        plan, times = plans[shift.id], planned_times(station, shift.duty_on)
        if not _follows(plan, times, places, public):
            days.append(OldPlan(shift, plan.booked, _misfit(plan, times, places, public, station.timezone)))
    return days


def booked_coming_days(station: Station, today: date | None = None) -> int:
    """How many coming duty days have people booked (they keep their plan when the settings change)."""
    ids = [s.id for s in _coming_shifts(station, today)]
    return sum(1 for n in booking_counts(ids).values() if n)


class Replanned(NamedTuple):
    """What a re-plan did: the days given the new plan, and the days that keep their old one (and why)."""

    days: list[date]
    kept: list[OldPlan]


def replan_coming_days(station: Station, keep_bookings: bool = False, today: date | None = None) -> Replanned:
    """Give the station's coming duty days the plan of its settings. Days nobody is booked on always;
    with `keep_bookings`, booked days too, when every booking keeps its time and place in the new plan.
    Audited; flushes."""
    days, kept = [], []
    for shift in _coming_shifts(station, today):
        replanned, old = _replan(shift, keep_bookings)
        if replanned:
            days.append(shift.duty_on)
        elif old is not None:
            kept.append(old)
    db.session.flush()
    if days or kept:
        audit.record(
            "station.replan_booked" if keep_bookings else "station.replan",
            station,
            details={
                "days": [d.isoformat() for d in days],
                "kept": {o.shift.duty_on.isoformat(): o.reason for o in kept},
            },
        )
    return Replanned(days, kept)


def plan_unplanned(today: date | None = None) -> int:
    """Plan every duty day from today on that has no plan yet (shifts made before plans were made with
    the shift); safe to run twice. Returns how many were planned."""
    planned = 0
    for station in db.session.scalars(sa.select(Station).order_by(Station.id)):
        first = today or local_today(station.timezone)
        query = (
            sa.select(DutyShift)
            .where(
                DutyShift.station_id == station.id,
                DutyShift.duty_on >= first,
                roster.ON_DUTY,
                ~sa.exists().where(ShiftQuota.shift_id == DutyShift.id),
            )
            .order_by(DutyShift.duty_on)
        )
        for shift in db.session.scalars(query).all():
            plan_slots(shift)
            planned += 1
    return planned


def public_places_left(shift: DutyShift) -> int:
    """How many more places the kiosk and online booking may still take on this shift."""
    quota = db.session.get(ShiftQuota, shift.id)
    return 0 if quota is None else max(0, quota.public_capacity - quota.public_booked)


def booking_opens(station: Station, now: datetime | None = None) -> tuple[date, date]:
    """The first and last dates a veteran may book now (today … today + window)."""
    today = to_local(now or now_utc(), station.timezone).date()
    return today, today + timedelta(days=station.booking_window_days)


def slot_is_open(slot: Slot, channel: str, now: datetime | None = None) -> bool:
    """Whether this channel may still book the slot: before the cutoff for the public, before the
    end of the slot for the desk."""
    now = now or now_utc()
    station = slot.shift.station
    first, last = booking_opens(station, now)
    if not first <= slot.shift.duty_on <= last and channel in PUBLIC_CHANNELS:
        return False
    if channel in PUBLIC_CHANNELS:
        return slot.starts_at - timedelta(hours=station.booking_cutoff_hours) > now
    return slot.ends_at > now


class BookableDay(NamedTuple):
    """A coming duty day: its shift, the slots a channel may book, and the places it has left."""

    shift: DutyShift
    slots: list[Slot]
    left: int


def bookable_days(station: Station, channel: str, now: datetime | None = None) -> list[BookableDay]:
    """The coming duty days a channel can book (closed days excluded), with slots and places left.

    Slots and quotas of the whole window are read in two queries, not per day; nothing is written (a day
    without a plan shows no places).
    """
    now = now or now_utc()
    first, last = booking_opens(station, now)
    closed = roster.closed_days(station, first, last)
    shifts = [s for s in roster.shifts_between(station, first, last) if s.duty_on not in closed]
    ids = [s.id for s in shifts]
    if not ids:
        return []
    slots: dict[int, list[Slot]] = {i: [] for i in ids}
    query = sa.select(Slot).where(Slot.shift_id.in_(ids), OFFERED).order_by(Slot.starts_at)
    for slot in db.session.scalars(query):
        slots[slot.shift_id].append(slot)
    quota_left = {
        q.shift_id: max(0, q.public_capacity - q.public_booked)
        for q in db.session.scalars(sa.select(ShiftQuota).where(ShiftQuota.shift_id.in_(ids)))
    }
    days = []
    for shift in shifts:
        open_ = [s for s in slots[shift.id] if slot_is_open(s, channel, now)]
        left = sum(s.free for s in open_)
        if channel in PUBLIC_CHANNELS:
            left = min(left, quota_left.get(shift.id, 0))
        days.append(BookableDay(shift, open_, left))
    return days


def open_slots(shift: DutyShift, channel: str, now: datetime | None = None) -> list[Slot]:
    """The shift's slots this channel may still book, in time order (full ones included)."""
    return [s for s in slots_of(shift) if slot_is_open(s, channel, now)]


def get_slot(slot_id: int) -> Slot | None:
    """The slot with this id, if any."""
    return get_by_id(Slot, slot_id)


# -- booking -------------------------------------------------------------------------------------------


@dataclass
class BookingRequest:
    """Everything a booking needs, as plain values from any channel."""

    slot_id: int
    name: str
    mobile: str
    category: str
    channel: str
    idempotency_key: str
    consent: bool = False
    description: str = ""
    id_number: str | None = None
    veteran_card_no: str | None = None


def check_request(req: BookingRequest) -> BookingRequest:
    """Validate and normalise a request; raises InvalidInput naming the first wrong field."""
    if req.channel not in CHANNELS:
        raise InvalidInput(_("Unknown channel."), field="channel")
    req.name = validation.check_name(req.name)
    req.mobile = validation.check_mobile(req.mobile)
    req.category = validation.check_category(req.category)
    req.id_number = validation.check_id_number(req.id_number)
    req.veteran_card_no = validation.check_card_number(req.veteran_card_no)
    req.description = validation.check_description(req.description)
    if not req.consent:
        raise InvalidInput(
            _("Please agree to the use of your details for this consultation."), field="consent"
        )
    key = validation.clean_text(req.idempotency_key)
    if not 16 <= len(key) <= 64:
        raise InvalidInput(_("The form has expired. Please start again."), field="idempotency_key")
    req.idempotency_key = key
    return req


def validation_for_details(req: BookingRequest) -> BookingRequest:
    """Check the personal details screen alone (name, mobile, ID and card numbers)."""
    req.name = validation.check_name(req.name)
    req.mobile = validation.check_mobile(req.mobile)
    req.id_number = validation.check_id_number(req.id_number)
    req.veteran_card_no = validation.check_card_number(req.veteran_card_no)
    return req


def find_by_code(code: str) -> Booking | None:
    """The booking with this code (for the ticket the same visitor just got)."""
    return db.session.scalar(sa.select(Booking).where(Booking.code == normalize_code(code)))


def get_walkin(walkin_id: int) -> WalkIn | None:
    """The walk-in number with this id, if any."""
    return get_by_id(WalkIn, walkin_id)


def by_idempotency_key(key: str) -> Booking | None:
    """The booking a submit with this key made, if any."""
    return db.session.scalar(sa.select(Booking).where(Booking.idempotency_key == key))


def active_booking(veteran_id: int, shift_id: int) -> Booking | None:
    """The person's active booking on a duty day, if any."""
    return db.session.scalar(
        sa.select(Booking).where(
            Booking.veteran_id == veteran_id, Booking.shift_id == shift_id, Booking.status.in_(ACTIVE_STATES)
        )
    )


def _take_slot(slot: Slot) -> None:
    """Take one place in the slot, or raise SlotFull."""
    taken = db.session.execute(
        sa.update(Slot).where(Slot.id == slot.id, Slot.booked < Slot.capacity).values(booked=Slot.booked + 1)
    ).rowcount
    if not taken:
        raise SlotFull(_("Sorry, this time is now full. Please choose another time."))


def _take_quota(shift_id: int) -> None:
    """Take one of the shift's places for booking ahead (not the walk-in reserve), or raise SlotFull."""
    taken = db.session.execute(
        sa.update(ShiftQuota)
        .where(ShiftQuota.shift_id == shift_id, ShiftQuota.public_booked < ShiftQuota.public_capacity)
        .values(public_booked=ShiftQuota.public_booked + 1)
    ).rowcount
    if not taken:
        raise SlotFull(
            _(
                "Sorry, the places for booking ahead are taken that day. "  # noqa: ISC001
                "Come in person: places are kept for walk-ins."
            )
        )


def _take_place(slot: Slot, public: bool) -> None:
    """Take one place in the slot (and in the shift's public quota), or raise SlotFull."""
    _take_slot(slot)
    if public:
        _take_quota(slot.shift_id)


def _find_or_add_veteran(name: str, mobile: str) -> Veteran:
    now = now_utc()
    insert_if_absent(Veteran, {"name": name, "mobile": mobile, "created_at": now, "updated_at": now})
    return db.session.scalar(sa.select(Veteran).where(Veteran.mobile == mobile))


def veteran_for(name: str, mobile: str) -> Veteran:
    """The person with this mobile number (created on first contact), with the name the desk was given."""
    veteran = _find_or_add_veteran(name, mobile)
    veteran.name = name
    return veteran


def _veteran_for(req: BookingRequest) -> Veteran:
    """The person behind a booking. Public channels only fill what is still empty: whoever types a
    known mobile number must not rename that person or replace their ID number."""
    trusted = req.channel not in PUBLIC_CHANNELS  # the desk sees the person or their papers
    veteran = _find_or_add_veteran(req.name, req.mobile)
    if trusted:
        veteran.name = req.name
    if req.id_number and (trusted or not veteran.id_number):
        veteran.id_number = req.id_number
    if req.veteran_card_no and (trusted or not veteran.veteran_card_no):
        veteran.veteran_card_no = req.veteran_card_no
    return veteran


def _book(req: BookingRequest, now: datetime, actor_id: int | None) -> Booking:
    existing = by_idempotency_key(req.idempotency_key)
    if existing is not None:
        return existing
    slot = get_slot(req.slot_id)
    if slot is None:
        raise InvalidInput(_("Choose a time."), field="slot_id")
    shift = slot.shift
    if shift.duty_on in roster.closed_days(shift.station, shift.duty_on, shift.duty_on):
        raise NotAllowed(_("The station is closed that day."))
    if not slot_is_open(slot, req.channel, now):
        raise NotAllowed(_("Booking for this time has closed. Please choose a later time."))
    public = req.channel in PUBLIC_CHANNELS
    # The write that decides comes first: from here on, competitors for this place wait for us.
    _take_place(slot, public)
    veteran = _veteran_for(req)
    db.session.flush()
    already = active_booking(veteran.id, shift.id)
    if already is not None:
        raise AlreadyBooked(_("You already have a booking that day."), booking=already)
    booking = Booking(
        code=new_code(),
        idempotency_key=req.idempotency_key,
        slot_id=slot.id,
        shift_id=shift.id,
        veteran_id=veteran.id,
        channel=req.channel,
        name=req.name,
        category=req.category,
        description=req.description,
        status=BOOKED,
        uses_public_quota=public,
        consent_at=now,
        created_by_id=actor_id,
    )
    db.session.add(booking)
    db.session.flush()
    audit.record(
        "booking.create",
        booking,
        details={"channel": req.channel, "date": shift.duty_on.isoformat(), "mobile": req.mobile},
        station_id=shift.station_id,
    )
    reminders.on_booking_made(booking, now)
    return booking


def place_booking(req: BookingRequest, now: datetime | None = None, actor_id: int | None = None) -> Booking:
    """Book a place and commit; a lost race is settled by rolling back and reading the winner's row.

    Unlike other services this one commits: a unique-key clash (the same submit twice, the same
    person twice that day) is only known at the database, after which the transaction is void.
    """
    check_request(req)
    now = now or now_utc()
    for _attempt in range(3):
        try:
            booking = _book(req, now, actor_id)
            db.session.commit()
            return booking
        except (SlotFull, AlreadyBooked):
            db.session.rollback()
            # The same form sent twice: the first submit took the place; show its ticket.
            existing = by_idempotency_key(req.idempotency_key)
            if existing is not None:
                return existing
            raise
        except (NotAllowed, InvalidInput):
            db.session.rollback()
            raise
        except IntegrityError:
            db.session.rollback()
            existing = by_idempotency_key(req.idempotency_key)
            if existing is not None:
                return existing  # the other submit of the same form won: show its ticket
            veteran = db.session.scalar(sa.select(Veteran).where(Veteran.mobile == req.mobile))
            slot = get_slot(req.slot_id)
            if veteran is not None and slot is not None:
                already = active_booking(veteran.id, slot.shift_id)
                if already is not None:
                    raise AlreadyBooked(_("You already have a booking that day."), booking=already) from None
            # Otherwise a booking code clashed (1 in ~900 million): try again with a new one.
    raise SlotFull(_("Sorry, this time is now full. Please choose another time."))


def booking_counts(shift_ids: list[int]) -> dict[int, int]:
    """How many active bookings each of these shifts has (one query for a whole list)."""
    if not shift_ids:
        return {}
    rows = db.session.execute(
        sa.select(Booking.shift_id, sa.func.count())
        .where(Booking.shift_id.in_(shift_ids), Booking.status.in_(ACTIVE_STATES))
        .group_by(Booking.shift_id)
    )
    return dict(rows.all())


def find_booking(code: str, mobile_last4: str) -> Booking | None:
    """The booking with this code whose mobile ends in these four digits (else None, whichever is wrong)."""
    code = normalize_code(code)
    digits = "".join(ch for ch in validation.clean_text(mobile_last4) if ch in "0123456789")
    if len(code) != CODE_LENGTH or len(digits) != 4:
        return None
    booking = db.session.scalar(sa.select(Booking).where(Booking.code == code))
    if booking is None or not secrets.compare_digest(booking.veteran.mobile[-4:].encode(), digits.encode()):
        return None
    return booking


def get_booking(booking_id: int) -> Booking | None:
    """The booking with this id, if any."""
    return get_by_id(Booking, booking_id)


def _claim(booking: Booking, to_status: str, **values: object) -> None:
    """Change a booking's state only if it is still open, as the transaction's first write.

    Two taps (or two tabs, or the desk and the veteran at once) then cannot both cancel or move the
    same booking: the second finds it changed and is refused, so no place is given back twice.
    """
    changed = db.session.execute(
        sa.update(Booking)
        .where(Booking.id == booking.id, Booking.status == BOOKED, Booking.slot_id == booking.slot_id)
        .values(status=to_status, updated_at=now_utc(), **values)
    ).rowcount
    if not changed:
        raise NotAllowed(_("This booking was changed a moment ago. Please look at it again."))
    db.session.expire(booking)


def cancel(
    booking: Booking, reason: str, by_staff: bool = False, now: datetime | None = None, tell: bool = True
) -> None:
    """Cancel a booking with a reason and give its place back; veterans may do so until the cutoff.
    `tell=False` when the caller sends its own notice (a closed day says why)."""
    now = now or now_utc()
    if booking.status != BOOKED:
        raise NotAllowed(_("Only a booking that is still open can be cancelled."))
    reason = validation.clean_prose(reason)[:200]  # stored as typed, Chinese punctuation included
    if not reason:
        raise InvalidInput(_("Please give a reason."), field="reason")
    if not by_staff and not slot_is_open(booking.slot, ONLINE, now):
        raise NotAllowed(_("It is too late to cancel here. Please call the station."))
    slot_id, shift_id, public = booking.slot_id, booking.shift_id, booking.uses_public_quota
    _claim(booking, CANCELLED, cancel_reason=reason)
    _release(slot_id, shift_id, public)
    audit.record(
        "booking.cancel",
        booking,
        details={"reason": reason, "by_staff": by_staff},
        station_id=booking.shift.station_id,
    )
    if tell:
        reminders.on_booking_cancelled(booking, now)
    db.session.flush()


def _release(slot_id: int, shift_id: int, public: bool) -> None:
    """Give a place back (the check constraint refuses to go below zero: a bug would show)."""
    db.session.execute(sa.update(Slot).where(Slot.id == slot_id).values(booked=Slot.booked - 1))
    if public:
        db.session.execute(
            sa.update(ShiftQuota)
            .where(ShiftQuota.shift_id == shift_id)
            .values(public_booked=ShiftQuota.public_booked - 1)
        )


def move_choices(booking: Booking, now: datetime | None = None) -> list[Slot]:
    """The free slots a veteran may move their booking to: the same day, or a day with public places
    left (a move to another day takes one, as `move` does) where they have no other booking."""
    booked_days = set(
        db.session.scalars(
            sa.select(Booking.shift_id).where(
                Booking.veteran_id == booking.veteran_id,
                Booking.status.in_(ACTIVE_STATES),
                Booking.id != booking.id,
            )
        )
    )
    return [
        slot
        for day in bookable_days(booking.shift.station, ONLINE, now)
        if day.shift.id == booking.shift_id or (day.left > 0 and day.shift.id not in booked_days)
        for slot in day.slots
        if slot.free and slot.id != booking.slot_id
    ]


def move(booking: Booking, new_slot: Slot, by_staff: bool = False, now: datetime | None = None) -> None:
    """Move a booking to another free slot (until the cutoff for veterans), with the same rules as a
    new booking: open day, window and cutoff, the walk-in reserve kept from public moves."""
    now = now or now_utc()
    channel = STAFF if by_staff else ONLINE
    if booking.status != BOOKED:
        raise NotAllowed(_("Only a booking that is still open can be moved."))
    if new_slot.id == booking.slot_id:
        return
    if new_slot.shift.station_id != booking.shift.station_id:
        raise InvalidInput(_("Choose a time at the same station."), field="slot_id")
    day = new_slot.shift.duty_on
    if day in roster.closed_days(new_slot.shift.station, day, day):
        raise NotAllowed(_("The station is closed that day."))
    if not slot_is_open(booking.slot, channel, now) or not slot_is_open(new_slot, channel, now):
        raise NotAllowed(_("It is too late to move this booking here. Please call the station."))
    if new_slot.shift_id != booking.shift_id:
        other = active_booking(booking.veteran_id, new_slot.shift_id)
        if other is not None:
            raise AlreadyBooked(_("You already have a booking that day."), booking=other)
    old_slot_id, old_shift_id, old_public = booking.slot_id, booking.shift_id, booking.uses_public_quota
    new_day = new_slot.shift_id != old_shift_id
    # A veteran moving to another day competes for that day's public places, whatever the channel
    # the booking first came through; on the same day the quota place simply stays.
    new_public = (not by_staff or old_public) if new_day else old_public
    old_start = booking.slot.starts_at
    _claim(booking, BOOKED, slot_id=new_slot.id, shift_id=new_slot.shift_id, uses_public_quota=new_public)
    # Rows are locked in id order (slots, then quotas), so two moves crossing each other's days
    # wait for one another instead of deadlocking.
    for slot_id in sorted((old_slot_id, new_slot.id)):
        if slot_id == new_slot.id:
            _take_slot(new_slot)
        else:
            db.session.execute(sa.update(Slot).where(Slot.id == old_slot_id).values(booked=Slot.booked - 1))
    if new_day:
        for shift_id in sorted((old_shift_id, new_slot.shift_id)):
            if shift_id == new_slot.shift_id and new_public:
                _take_quota(new_slot.shift_id)
            elif shift_id == old_shift_id and old_public:
                db.session.execute(
                    sa.update(ShiftQuota)
                    .where(ShiftQuota.shift_id == old_shift_id)
                    .values(public_booked=ShiftQuota.public_booked - 1)
                )
    db.session.flush()
    tz = new_slot.shift.station.timezone
    audit.record(
        "booking.move",
        booking,
        details={
            "from": f"{to_local(old_start, tz):%Y-%m-%d %H:%M}",
            "to": f"{to_local(new_slot.starts_at, tz):%Y-%m-%d %H:%M}",
        },
        station_id=new_slot.shift.station_id,
    )
    reminders.on_booking_moved(booking, now)


def mark_no_show(booking: Booking) -> None:
    """The duty lawyer marks that the booked person did not come."""
    if booking.status != BOOKED:
        raise NotAllowed(_("Only a booking that is still open can be marked."))
    _claim(booking, NO_SHOW)
    audit.record("booking.no_show", booking, station_id=booking.shift.station_id)
    db.session.flush()


def check_in(booking: Booking, now: datetime | None = None) -> None:
    """The veteran has arrived (on the day)."""
    now = now or now_utc()
    station = booking.shift.station
    if booking.status != BOOKED:
        raise NotAllowed(_("This booking cannot be checked in."))
    if to_local(now, station.timezone).date() != booking.shift.duty_on:
        raise NotAllowed(_("Arrivals are checked in on the day of the booking."))
    _claim(booking, CHECKED_IN, checked_in_at=now)
    audit.record("booking.check_in", booking, station_id=station.id)
    db.session.flush()


def mark_no_shows(now: datetime | None = None) -> int:
    """Bookings still open after their shift's last slot ended become no-shows; safe to run twice."""
    now = now or now_utc()
    # Driven from the open bookings (few), not by grouping the whole, ever-growing slots table.
    shift_end = (
        sa.select(sa.func.max(Slot.ends_at))
        .where(Slot.shift_id == Booking.shift_id, OFFERED)
        .scalar_subquery()
    )
    rows = db.session.execute(
        sa.select(Booking, DutyShift.station_id)
        .join(DutyShift, DutyShift.id == Booking.shift_id)
        .where(Booking.status == BOOKED, shift_end < now)
    ).all()
    marked = 0
    for booking, station_id in rows:
        # Conditional, like every state change: a check-in at the last moment wins.
        changed = db.session.execute(
            sa.update(Booking)
            .where(Booking.id == booking.id, Booking.status == BOOKED)
            .values(status=NO_SHOW)
        ).rowcount
        if changed:
            marked += 1
            db.session.expire(booking)
            audit.record("booking.no_show", booking, station_id=station_id)
    db.session.flush()
    return marked


# -- walk-ins and the queue ------------------------------------------------------------------------------


def issue_walkin(
    station: Station,
    category: str = "",
    veteran: Veteran | None = None,
    now: datetime | None = None,
    name: str = "",
) -> WalkIn:
    """Hand out the next walk-in number of the day (A001, A002 …) on a duty day."""
    now = now or now_utc()
    today = to_local(now, station.timezone).date()
    shift = roster.shift_on(station, today)
    if shift is None or today in roster.closed_days(station, today, today):
        raise NotAllowed(_("There is no lawyer on duty today."))
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
        return max(entries, key=lambda e: e.at) if entries else None


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
                .options(contains_eager(Booking.slot))  # the join orders and loads: no second join
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


def call_next(station: Station, now: datetime | None = None) -> QueueEntry | None:
    """Call the next person: arrived bookings whose time has come, then walk-ins by number, then the
    other arrived bookings.

    Calling is a claim, like taking a place: each candidate is taken by a conditional UPDATE. When the
    desk and the console press at the same moment, one wins the person and the other moves on to the
    next in line, so nobody is called twice and nobody is skipped.
    """
    now = now or now_utc()
    queue = todays_queue(station, now)
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
    called = db.session.execute(
        sa.update(Booking)
        .where(Booking.id == booking.id, Booking.status == CHECKED_IN, Booking.called_at.is_(None))
        .values(called_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.expire(booking)  # the row as the database now has it, whoever won
    if called:
        audit.record("booking.call", booking, station_id=station.id)
        db.session.flush()
    return bool(called)


def _call_walkin(walkin: WalkIn, station: Station, now: datetime) -> bool:
    """Claim a waiting walk-in number for calling; False if someone called it first."""
    called = db.session.execute(
        sa.update(WalkIn)
        .where(WalkIn.id == walkin.id, WalkIn.status == "waiting")
        .values(status="called", called_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
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
    return max(entries, key=lambda e: e.at) if entries else None
