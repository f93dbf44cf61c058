"""Creating stations and changing their settings, with the rules that keep the settings sane."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from legalaid import audit, cache
from legalaid.access import ADMIN
from legalaid.dates import DEFAULT_TIMEZONE, is_valid_timezone
from legalaid.db import get_by_id
from legalaid.errors import InvalidInput, NotAllowed, Problems
from legalaid.extensions import db
from legalaid.stations.models import Station, StationSession, mask_to_weekdays, weekdays_to_mask

DEFAULT_SESSIONS = ((time(9, 0), time(12, 0)), (time(14, 30), time(17, 30)))
# The settings a duty day's slots and quota are made from.
PLAN_SETTINGS = ("timezone", "sessions", "slot_minutes", "places_per_slot", "walkin_reserve")
# Called with a station whose plan settings changed, after the change is flushed: the bookings feature
# re-plans the coming days here (`create_app` registers it; bookings imports this module, not the reverse).
on_plan_changed: list[Callable[[Station], object]] = []


@dataclass
class StationSettings:
    """Everything an administrator can set on a station, as plain values."""

    name: str
    address: str = ""
    timezone: str = DEFAULT_TIMEZONE
    duty_weekdays: list[int] = field(default_factory=lambda: [2])
    sessions: list[tuple[time, time]] = field(default_factory=lambda: list(DEFAULT_SESSIONS))
    slot_minutes: int = 30
    places_per_slot: int = 1
    walkin_reserve: int = 2
    booking_window_days: int = 28
    booking_cutoff_hours: int = 2
    retention_years: int = 3
    queue_opens_minutes: int = 60
    swap_auto_approve: bool = False

    @classmethod
    def of(cls, station: Station) -> StationSettings:
        """The current settings of a station."""
        return cls(
            name=station.name,
            address=station.address,
            timezone=station.timezone,
            duty_weekdays=mask_to_weekdays(station.duty_weekdays),
            sessions=[(s.start_time, s.end_time) for s in station.sessions],
            slot_minutes=station.slot_minutes,
            places_per_slot=station.places_per_slot,
            walkin_reserve=station.walkin_reserve,
            booking_window_days=station.booking_window_days,
            booking_cutoff_hours=station.booking_cutoff_hours,
            retention_years=station.retention_years,
            queue_opens_minutes=station.queue_opens_minutes,
            swap_auto_approve=station.swap_auto_approve,
        )


def _minutes(at: time) -> int:
    return at.hour * 60 + at.minute


def check_sessions(sessions: list[tuple[time, time]], slot_minutes: int) -> None:
    """Sessions must exist, end after they start, not overlap, and hold at least one slot."""
    if not sessions:
        raise InvalidInput(_("Enter at least one session (for example 09:00–12:00)."), field="sessions")
    if slot_minutes is None or slot_minutes <= 0:
        raise InvalidInput(_("The slot length must be more than zero minutes."), field="slot_minutes")
    ordered = sorted(sessions)
    for start, end in ordered:
        if end <= start:
            raise InvalidInput(
                _(
                    "A session must end after it starts (%(start)s–%(end)s).",
                    start=f"{start:%H:%M}",
                    end=f"{end:%H:%M}",
                ),
                field="sessions",
            )
        if _minutes(end) - _minutes(start) < slot_minutes:
            raise InvalidInput(
                _(
                    "The session %(start)s–%(end)s is shorter than one slot of %(n)d minutes.",
                    start=f"{start:%H:%M}",
                    end=f"{end:%H:%M}",
                    n=slot_minutes,
                ),
                field="slot_minutes",
            )
    for (start_a, end_a), (start_b, end_b) in zip(ordered, ordered[1:], strict=False):
        if start_b < end_a:
            raise InvalidInput(
                _(
                    "The sessions %(a)s and %(b)s overlap.",
                    a=f"{start_a:%H:%M}–{end_a:%H:%M}",
                    b=f"{start_b:%H:%M}–{end_b:%H:%M}",
                ),
                field="sessions",
            )


def check_settings(settings: StationSettings, station: Station | None = None) -> None:
    """Check every rule of a station's settings; raises InvalidInput naming the field."""
    name = settings.name.strip()
    if not name:
        raise InvalidInput(_("Enter the station's name."), field="name")
    clash = sa.select(Station.id).where(Station.name == name)
    if station is not None:
        clash = clash.where(Station.id != station.id)
    if db.session.scalar(clash) is not None:
        raise InvalidInput(_("A station named %(name)s already exists.", name=name), field="name")
    if "/" not in settings.timezone or not is_valid_timezone(settings.timezone):
        raise InvalidInput(_("Unknown time zone: %(tz)s.", tz=settings.timezone), field="timezone")
    if not settings.duty_weekdays or not set(settings.duty_weekdays) <= set(range(1, 8)):
        raise InvalidInput(_("Choose at least one duty weekday."), field="duty_weekdays")
    check_sessions(settings.sessions, settings.slot_minutes)
    ranges = (
        ("places_per_slot", settings.places_per_slot, 1, 50),
        ("walkin_reserve", settings.walkin_reserve, 0, 500),
        ("booking_window_days", settings.booking_window_days, 1, 366),
        ("booking_cutoff_hours", settings.booking_cutoff_hours, 0, 168),
        ("retention_years", settings.retention_years, 1, 30),
        ("queue_opens_minutes", settings.queue_opens_minutes, 0, 720),
        ("slot_minutes", settings.slot_minutes, 5, 240),
    )
    for field_name, value, low, high in ranges:
        if value is None or not low <= value <= high:
            raise InvalidInput(
                _("Enter a whole number from %(low)d to %(high)d.", low=low, high=high), field=field_name
            )
    capacity = shift_capacity(settings.sessions, settings.slot_minutes, settings.places_per_slot)
    if settings.walkin_reserve > capacity:
        raise InvalidInput(
            _("A shift has only %(n)d places; fewer can be kept for walk-ins.", n=capacity),
            field="walkin_reserve",
        )


def shift_capacity(sessions: list[tuple[time, time]], slot_minutes: int, places_per_slot: int) -> int:
    """How many people one duty day can receive: whole slots in every session times places per slot."""
    slots = sum((_minutes(end) - _minutes(start)) // slot_minutes for start, end in sessions)
    return slots * places_per_slot


def _apply(station: Station, settings: StationSettings) -> None:
    station.name = settings.name.strip()
    station.address = settings.address.strip()
    station.timezone = settings.timezone
    station.duty_weekdays = weekdays_to_mask(settings.duty_weekdays)
    station.slot_minutes = settings.slot_minutes
    station.places_per_slot = settings.places_per_slot
    station.walkin_reserve = settings.walkin_reserve
    station.booking_window_days = settings.booking_window_days
    station.booking_cutoff_hours = settings.booking_cutoff_hours
    station.retention_years = settings.retention_years
    station.queue_opens_minutes = settings.queue_opens_minutes
    station.swap_auto_approve = bool(settings.swap_auto_approve)
    wanted = sorted(settings.sessions)
    if [(s.start_time, s.end_time) for s in station.sessions] != wanted:
        station.sessions.clear()
        db.session.flush()  # remove the old rows before inserting, or the unique key clashes
        station.sessions.extend(StationSession(start_time=a, end_time=b) for a, b in wanted)


def may_configure(user: object | None) -> bool:
    """Whether this person may add stations and change their settings: an active administrator
    (administrators are bureau-wide). `None` is the system itself: a command or the demo."""
    return user is None or (getattr(user, "role", None) == ADMIN and bool(getattr(user, "active", False)))


def require_configure(user: object | None) -> None:
    """Refuse a station change by anyone who may not make it."""
    if not may_configure(user):
        raise NotAllowed(_("Only an administrator may change a station's settings."))


def create_station(settings: StationSettings, by: object | None = None) -> Station:
    """Add a station with these settings (the defaults are Tuesdays, 09:00–12:00 and 14:30–17:30)."""
    require_configure(by)
    check_settings(settings)
    station = Station()
    _apply(station, settings)
    db.session.add(station)
    db.session.flush()
    audit.record("station.create", station, details={"name": station.name})
    cache.forget_station(None)  # the public pages' first station may be this one now
    return station


def update_station(station: Station, settings: StationSettings, by: object | None = None) -> dict[str, list]:
    """Change a station's settings; returns what changed as {field: [old, new]}."""
    require_configure(by)
    check_settings(settings, station)
    before = StationSettings.of(station)
    _apply(station, settings)
    db.session.flush()
    cache.forget_station(station.id)  # the kiosk and the hall show the new settings at once
    after = StationSettings.of(station)
    changes = {
        name: [_plain(getattr(before, name)), _plain(getattr(after, name))]
        for name in before.__dataclass_fields__
        if getattr(before, name) != getattr(after, name)
    }
    if changes:
        audit.record("station.update", station, details=changes)
    if any(name in changes for name in PLAN_SETTINGS):
        for hook in on_plan_changed:
            hook(station)
    return changes


def _plain(value: object) -> object:
    """Make a settings value JSON-friendly for the audit log."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, tuple):
        return "–".join(f"{t:%H:%M}" for t in value)
    if isinstance(value, time | datetime):
        return value.isoformat()
    return value


def list_stations(include_inactive: bool = True) -> list[Station]:
    """All stations by name."""
    query = sa.select(Station).options(selectinload(Station.sessions)).order_by(Station.name)
    if not include_inactive:
        query = query.where(Station.active)
    return list(db.session.scalars(query))


def chosen_station(station_id: int | None, problems: Problems) -> Station | None:
    """The station a form limited something to (None: every station); one gone meanwhile is noted as a
    problem on `station_id`, never widened to every station."""
    if station_id is None:
        return None
    station = get_by_id(Station, station_id)
    if station is None:
        problems.add(_("Choose the station."), "station_id")
    return station


def get_station(station_id: int) -> Station | None:
    """The station with this id, if any (ids from query strings may be anything)."""
    return get_by_id(Station, station_id)


def _public_copy(station_id: int | None) -> Station | None:
    """The memo's detached copy of the station a public page is about (see `public_station`)."""

    def load() -> Station | None:
        if station_id:
            found = get_station(station_id)
        else:
            found = db.session.scalar(sa.select(Station).where(Station.active).order_by(Station.id).limit(1))
        return None if found is None else cache.detached_copy(found, "sessions")

    # Keyed by the id asked for: a forgotten station drops its own entry, any station the default's.
    return cache.memo(("station", station_id or None), load)


def public_station(station_id: int | None) -> Station | None:
    """The station a public page (the kiosk, the hall display) is about: the one with this id, else the
    first active one; from the memo (`legalaid.cache`), so a poll or a step of the booking flow asks the
    database nothing for it. A change of the settings in this process is seen at once, elsewhere within
    the memo's time."""
    copy = _public_copy(station_id)
    return None if copy is None else cache.attach(copy)


def public_station_id(station_id: int | None) -> int | None:
    """The id of `public_station(station_id)`, without giving the request a row (a cached page needs
    only the id)."""
    copy = _public_copy(station_id)
    return None if copy is None else copy.id


def station_for(user: object, station_id: int | None = None) -> Station | None:
    """The station a page is about: the one asked for if the user may see it, else their own or the first.

    Staff and lawyers see only their own station; an administrator without a station sees all.
    """
    own = getattr(user, "station_id", None)
    if own is None and getattr(user, "role", None) == "staff":
        return None  # hall staff not attached to a station work at none of them (issue 13)
    if own is not None and getattr(user, "role", None) != "admin":
        return get_station(own)
    if station_id is not None:
        station = get_station(station_id)
        if station is not None and (own is None or station.id == own):
            return station
    if own is not None:
        return get_station(own)
    return db.session.scalar(sa.select(Station).where(Station.active).order_by(Station.id).limit(1))
