"""The slots of a duty day: planned when a shift is made or the settings change, and which are open
for booking by whom. Pages only read them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from legalaid import audit
from legalaid.bookings.models import (
    ACTIVE_STATES,
    CANCELLED,
    PUBLIC_CHANNELS,
    Booking,
    ShiftQuota,
    Slot,
)
from legalaid.dates import local_to_utc, local_today, now_utc, to_local
from legalaid.db import MAX_ID
from legalaid.extensions import db
from legalaid.roster import services as roster
from legalaid.roster.models import DutyShift
from legalaid.stations.models import Station
from legalaid.stations.services import require_configure, shift_capacity

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
    returns the slots. The roster plans the shifts it makes through `plan_shifts`."""
    _replan(shift, keep_bookings=False)
    db.session.flush()
    return slots_of(shift)


def plan_shifts(shifts: list[DutyShift]) -> None:
    """`plan_slots` for many shifts at once (a year of rotation for a station, made by one change): the
    plans are read a few hundred shifts per query, a new day (no plan yet, the usual case) gets its slots
    and quota in two bulk inserts for all, and only a day brought back with an old plan is re-planned on
    its own. Flushes. The roster calls this with every batch of shifts it makes or brings back."""
    db.session.flush()
    ids = [shift.id for shift in shifts]
    plans: dict[int, _Plan] = {}
    for start in range(0, len(ids), 500):
        plans.update(_plans(ids[start : start + 500]))
    quotas: list[dict] = []
    new_slots: list[dict] = []
    settings: dict[int, tuple[int, int]] = {}  # station id → (places per slot, public capacity)
    for shift in shifts:
        plan = plans[shift.id]
        if plan.slots or plan.quota is not None or plan.referenced:
            _replan(shift, keep_bookings=False)  # a day open again: its old plan is looked at with care
            continue
        station = shift.station
        if station.id not in settings:
            settings[station.id] = (station.places_per_slot, public_capacity(station))
        places, public = settings[station.id]
        quotas.append({"shift_id": shift.id, "public_capacity": public, "public_booked": 0})
        new_slots.extend(
            {"shift_id": shift.id, "starts_at": begin, "ends_at": end, "capacity": places, "booked": 0}
            for begin, end in planned_times(station, shift.duty_on)
        )
    if quotas:  # nothing in the session holds these rows: plain bulk inserts
        db.session.execute(sa.insert(ShiftQuota), quotas)
    if new_slots:
        db.session.execute(sa.insert(Slot), new_slots)
    db.session.flush()


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


def replan_coming_days(
    station: Station, keep_bookings: bool = False, today: date | None = None, by: object | None = None
) -> Replanned:
    """Give the station's coming duty days the plan of its settings. Days nobody is booked on always;
    with `keep_bookings`, booked days too, when every booking keeps its time and place in the new plan.
    Only who may change the station's settings may ask for it (`by`; None is the system). Audited;
    flushes."""
    require_configure(by)
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


def slot_is_open(
    slot: Slot, channel: str, now: datetime | None = None, station: Station | None = None
) -> bool:
    """Whether this channel may still book the slot: before the cutoff for the public, before the
    end of the slot for the desk. `station`: the slot's, when the caller has it at hand."""
    now = now or now_utc()
    station = station or slot.shift.station
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

    Two queries, whatever the number of days and slots: the shifts (with their lawyers), then the
    slots with their day's quota. The closed days come from the memo (`roster.closed_days_shown`):
    this only shows; a booking checks the day again. Nothing is written (a day without a plan shows no
    places).
    """
    now = now or now_utc()
    first, last = booking_opens(station, now)
    closed = roster.closed_days_shown(station, first, last)
    shifts = [s for s in roster.shifts_between(station, first, last) if s.duty_on not in closed]
    ids = [s.id for s in shifts]
    if not ids:
        return []
    slots, quota_left = _slots_and_quota_left(ids)
    days = []
    for shift in shifts:
        open_ = [s for s in slots[shift.id] if slot_is_open(s, channel, now, station)]
        left = sum(s.free for s in open_)
        if channel in PUBLIC_CHANNELS:
            left = min(left, quota_left.get(shift.id, 0))
        days.append(BookableDay(shift, open_, left))
    return days


def _slots_and_quota_left(shift_ids: list[int]) -> tuple[dict[int, list[Slot]], dict[int, int]]:
    """The offered slots of these shifts in time order, and the places each shift has left for booking
    ahead, in one query (a shift without a quota has none left)."""
    slots: dict[int, list[Slot]] = {i: [] for i in shift_ids}
    quota_left: dict[int, int] = {}
    query = (
        sa.select(Slot, ShiftQuota.public_capacity - ShiftQuota.public_booked)
        .outerjoin(ShiftQuota, ShiftQuota.shift_id == Slot.shift_id)
        .where(Slot.shift_id.in_(shift_ids), OFFERED)
        .order_by(Slot.starts_at)
    )
    for slot, left in db.session.execute(query):
        slots[slot.shift_id].append(slot)
        if left is not None:
            quota_left[slot.shift_id] = max(0, left)
    return slots, quota_left


def open_day(shift: DutyShift, channel: str, now: datetime | None = None) -> tuple[list[Slot], int]:
    """A day's time page in one query: the slots this channel may still book (full ones included), and
    the places left for booking ahead (`public_places_left`)."""
    slots, quota_left = _slots_and_quota_left([shift.id])
    station = shift.station
    return [s for s in slots[shift.id] if slot_is_open(s, channel, now, station)], quota_left.get(shift.id, 0)


def open_slots(shift: DutyShift, channel: str, now: datetime | None = None) -> list[Slot]:
    """The shift's slots this channel may still book, in time order (full ones included)."""
    return [s for s in slots_of(shift) if slot_is_open(s, channel, now)]


def get_slot(slot_id: int) -> Slot | None:
    """The slot with this id, if any, with its shift (every caller asks for it next): one query."""
    if not isinstance(slot_id, int) or not 0 < slot_id <= MAX_ID:
        return None
    return db.session.get(Slot, slot_id, options=[joinedload(Slot.shift)])


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
