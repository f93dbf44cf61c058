"""The API's rules: keys (made, revoked, recognised; each change audited) and the reads its
operations are made of, thin over the stations, roster and bookings services. Flushes only: the
request (or command) commits once."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from legalaid import audit
from legalaid.api.models import KEY_CHANNELS, SCOPES, ApiKey, ApiRateWindow
from legalaid.api.problems import ApiProblem
from legalaid.bookings import planning
from legalaid.bookings import services as bookings
from legalaid.bookings.models import HOTLINE, Booking, Slot
from legalaid.dates import clamp_day, is_supported_day, now_utc
from legalaid.db import get_by_id
from legalaid.errors import NotAllowed, Problems
from legalaid.extensions import db
from legalaid.roster import services as roster
from legalaid.roster.models import DutyShift
from legalaid.stations import services as stations
from legalaid.stations.models import Station

KEY_PREFIX = "la"
NAME_MAX = 60
# last_used_at is written at most this often per key: a busy key must not write on every call.
TOUCH_EVERY = timedelta(seconds=60)
RATE_WINDOW = timedelta(minutes=1)
RATE_MAX = 6000
# What an audit entry of a call names as its actor (no account acted): "api:<prefix>".
ACTOR_PREFIX = "api:"


# -- keys --------------------------------------------------------------------------------------------------


def _pepper() -> bytes:
    pepper = str(current_app.config.get("API_KEY_PEPPER") or "")
    if not pepper:  # config.check refuses to start without it in production
        raise RuntimeError("API_KEY_PEPPER is not set.")
    return pepper.encode()


def key_hash(key: str) -> str:
    """HMAC-SHA256 of a key under the pepper: what the database keeps (256 random bits need no
    slow hash; the pepper makes a stolen table useless without the settings)."""
    return hmac.new(_pepper(), key.encode(), hashlib.sha256).hexdigest()


def _clean_name(name: str | None) -> str:
    return " ".join((name or "").split())


def _check_new_key(
    name: str, scopes: list[str], station_id: int | None, problems: Problems, channel: str, rate: int
) -> Station | None:
    if not name:
        problems.add(_("Give the key a name, e.g. the system that uses it."), "name")
    elif len(name) > NAME_MAX:
        problems.add(_("At most %(n)d characters.", n=NAME_MAX), "name")
    elif db.session.scalar(sa.select(ApiKey.id).where(ApiKey.name == name)) is not None:
        problems.add(_("Another key already has this name."), "name")
    if not scopes:
        problems.add(_("Choose at least one permission."), "scopes")
    elif not set(scopes) <= set(SCOPES):
        problems.add(_("Choose permissions from the list."), "scopes")
    if channel not in KEY_CHANNELS:
        problems.add(_("Choose how its bookings are recorded."), "channel")
    if not 1 <= rate <= RATE_MAX:
        problems.add(_("A number from 1 to %(n)d.", n=RATE_MAX), "rate_per_minute")
    return stations.chosen_station(station_id, problems)


def create_key(
    name: str | None,
    scopes: list[str],
    station_id: int | None = None,
    by: object | None = None,
    *,
    channel: str = HOTLINE,
    rate_per_minute: int = 60,
) -> tuple[ApiKey, str]:
    """Make a key (for every station, or only `station_id`) and return it with the key itself,
    `la_<prefix>_<secret>`, to be shown once (flushes, audits; the database keeps its prefix and hash).
    The bookings it makes are recorded under `channel`; it may make `rate_per_minute` calls a minute."""
    name = _clean_name(name)
    scopes = [scope for scope in SCOPES if scope in set(scopes)] + sorted(set(scopes) - set(SCOPES))
    problems = Problems()
    station = _check_new_key(name, scopes, station_id, problems, channel, rate_per_minute)
    problems.raise_any()
    prefix = secrets.token_hex(6)
    plain = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        name=name,
        prefix=prefix,
        secret_hash=key_hash(plain),
        scopes=" ".join(scopes),
        station_id=station.id if station is not None else None,
        channel=channel,
        rate_per_minute=rate_per_minute,
        created_at=now_utc(),
        created_by_id=getattr(by, "id", None),
    )
    db.session.add(key)
    db.session.flush()
    audit.record(
        "api_key.create",
        key,
        details={
            "name": name,
            "prefix": prefix,
            "scopes": scopes,
            "channel": channel,
            "rate_per_minute": rate_per_minute,
        },
        station_id=key.station_id,
    )
    return key, plain


def revoke_key(key: ApiKey, by: object | None = None) -> None:
    """Refuse every call with this key from now on (flushes, audits)."""
    if key.revoked_at is not None:
        raise NotAllowed(_("This key was already revoked."))
    key.revoked_at = now_utc()
    key.revoked_by_id = getattr(by, "id", None)
    db.session.flush()
    audit.record(
        "api_key.revoke", key, details={"name": key.name, "prefix": key.prefix}, station_id=key.station_id
    )


def list_keys() -> list[ApiKey]:
    """Every key ever made, the active ones first, newest first."""
    query = sa.select(ApiKey).options(selectinload(ApiKey.station))
    return list(
        db.session.scalars(
            query.order_by(ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc(), ApiKey.id.desc())
        )
    )


def get_key(key_id: int) -> ApiKey | None:
    """The key with this id, if any."""
    return get_by_id(ApiKey, key_id)


def key_for(plain: str) -> ApiKey | None:
    """The active key this is (found by its prefix, compared in constant time), else None: a revoked
    key is refused from its next call on."""
    parts = plain.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    key = db.session.scalar(sa.select(ApiKey).where(ApiKey.prefix == parts[1], ApiKey.revoked_at.is_(None)))
    expected = key.secret_hash if key is not None else "0" * 64
    # Hashed whether or not the prefix is known: an unknown prefix answers no faster than a wrong secret.
    matches = hmac.compare_digest(key_hash(plain), expected)
    return key if key is not None and matches else None


def take_call(key_id: int, allowed: int, now: datetime | None = None) -> int:
    """Count a call of this key in the current minute and return how many seconds until the next
    minute when it was over `allowed` (0: the call may go on). One statement (INSERT … ON CONFLICT DO
    UPDATE … RETURNING, on either engine): the database counts, so the limit holds across processes."""
    from sqlalchemy.dialects import postgresql, sqlite

    now = now or now_utc()
    start = now.replace(second=0, microsecond=0)
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(ApiRateWindow).values(key_id=key_id, window_start=start, calls=1)
    same_window = ApiRateWindow.window_start == insert.excluded.window_start
    statement = insert.on_conflict_do_update(
        index_elements=[ApiRateWindow.key_id],
        set_={
            "calls": sa.case((same_window, ApiRateWindow.calls + 1), else_=1),
            "window_start": insert.excluded.window_start,
        },
    ).returning(ApiRateWindow.calls)
    calls = int(db.session.execute(statement).scalar_one())
    if calls <= allowed:
        return 0
    return max(1, int((start + RATE_WINDOW - now).total_seconds() + 0.999))


def record_call(key_id: int, station_id: int | None, operation: str, status: int) -> None:
    """Audit one call (which operation, which answer; never its data) and note when the key was last
    used (at most once a minute). Flushes; the caller commits it on its own."""
    key = db.session.get(ApiKey, key_id)
    if key is None:
        return
    now = now_utc()
    db.session.execute(
        sa.update(ApiKey)
        .where(
            ApiKey.id == key_id,
            sa.or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now - TOUCH_EVERY),
        )
        .values(last_used_at=now)
    )
    audit.record(
        "api.call",
        key,
        details={"operation": operation, "status": status},
        station_id=station_id,
    )  # the actor: the key, as `authenticate` put it in g.audit_actor_name


# -- reads -------------------------------------------------------------------------------------------------


def active_station(station_id: int) -> Station | None:
    """A station the API shows: it exists and is active."""
    station = get_by_id(Station, station_id)
    return station if station is not None and station.active else None


def stations_page(only: int | None, after: tuple[str, int] | None, limit: int) -> tuple[list[Station], bool]:
    """Active stations by name (only its own for a key limited to one) after a position; more or not."""
    query = sa.select(Station).options(selectinload(Station.sessions)).where(Station.active)
    if only is not None:
        query = query.where(Station.id == only)
    if after is not None:
        name, last_id = after
        query = query.where(sa.or_(Station.name > name, sa.and_(Station.name == name, Station.id > last_id)))
    rows = list(db.session.scalars(query.order_by(Station.name, Station.id).limit(limit + 1)))
    return rows[:limit], len(rows) > limit


def roster_page(
    station: Station, start: date, end: date, after: tuple[date, int] | None, limit: int
) -> tuple[list[DutyShift], dict[date, str], bool]:
    """The station's duty days in a range, after a position, with the closed days among them; and
    whether more follow. Dates outside the years the application works with are moved into them."""
    start, end = clamp_day(start), clamp_day(end)
    query = sa.select(DutyShift).where(
        DutyShift.station_id == station.id,
        DutyShift.duty_on >= start,
        DutyShift.duty_on <= end,
        roster.ON_DUTY,
    )
    if after is not None:
        day, last_id = after
        query = query.where(
            sa.or_(DutyShift.duty_on > day, sa.and_(DutyShift.duty_on == day, DutyShift.id > last_id))
        )
    rows = list(db.session.scalars(query.order_by(DutyShift.duty_on, DutyShift.id).limit(limit + 1)))
    page = rows[:limit]
    closed = roster.closed_days(station, page[0].duty_on, page[-1].duty_on) if page else {}
    return page, closed, len(rows) > limit


def free_slots(
    station: Station, day: date, after: tuple[datetime, int] | None, limit: int, now: datetime | None = None
) -> tuple[list[Slot], bool]:
    """The slots of a day the hotline may still book that have a place left, after a position; and
    whether more follow. A day without duty, closed or past has none. Only reads."""
    if not is_supported_day(day):
        return [], False
    shift = roster.shift_on(station, day)
    if shift is None or day in roster.closed_days_shown(station, day, day):
        return [], False
    open_, _left = planning.open_day(shift, HOTLINE, now)
    slots = sorted((s for s in open_ if s.free > 0), key=lambda s: (s.starts_at, s.id))
    if after is not None:
        slots = [s for s in slots if (s.starts_at, s.id) > after]
    return slots[:limit], len(slots) > limit


# -- bookings ----------------------------------------------------------------------------------------------

IDEMPOTENCY_PREFIX = "api-"


def internal_idempotency_key(key_id: int, header: str | None) -> str:
    """The booking's idempotency key for a call: the caller's Idempotency-Key, kept apart per API key
    (one system's key never finds another's booking); a random one without the header."""
    if header is None:
        return IDEMPOTENCY_PREFIX + secrets.token_hex(24)
    digest = hashlib.sha256(f"{key_id}:{header}".encode()).hexdigest()
    return IDEMPOTENCY_PREFIX + digest[:60]


@dataclass(frozen=True)
class NewBooking:
    """What a caller asked to book, as plain values (from the API's request body)."""

    slot_id: int
    name: str
    mobile: str
    category: str
    description: str
    external_ref: str | None


def _same_request(booking: Booking, asked: NewBooking, key_id: int) -> bool:
    """Whether a booking is the one this request would have made (a replay), not another request that
    reused the Idempotency-Key."""
    return (
        booking.api_key_id == key_id
        and booking.slot_id == asked.slot_id
        and (booking.veteran.mobile or "") == asked.mobile
        and booking.category == asked.category
    )


def _reused() -> ApiProblem:
    return ApiProblem(
        422,
        "idempotency_key_reused",
        _("This Idempotency-Key was sent with another booking."),
        errors=[{"field": "Idempotency-Key", "code": "reused", "reason": "sent before with other values"}],
    )


def book(
    asked: NewBooking, key_id: int, channel: str, station_id: int | None, idempotency: str | None
) -> tuple[Booking, bool]:
    """Book a place for a caller with the kiosk's rules (flushes); the booking, and whether an earlier
    call with the same Idempotency-Key made it (then nothing new is made). The caller's consent is
    recorded as given by telephone (the notice read out; online for a mini-program's key)."""
    slot = planning.get_slot(asked.slot_id)
    if slot is None or not slot.shift.station.active:
        raise ApiProblem(404, "slot_not_found", _("There is no such slot."))
    if station_id is not None and slot.shift.station_id != station_id:
        raise ApiProblem(403, "station_not_allowed", _("This API key is for another station."))
    internal = internal_idempotency_key(key_id, idempotency)
    earlier = bookings.by_idempotency_key(internal) if idempotency is not None else None
    if earlier is not None:
        if not _same_request(earlier, asked, key_id):
            raise _reused()
        return earlier, True
    made = bookings.place_booking(
        bookings.BookingRequest(
            slot_id=asked.slot_id,
            name=asked.name,
            mobile=asked.mobile,
            category=asked.category,
            description=asked.description,
            channel=channel,
            idempotency_key=internal,
            consent=True,
            external_ref=asked.external_ref,
            api_key_id=key_id,
        )
    )
    # The same key sent twice at once: the other call made it; the same booking either way.
    if not _same_request(made, asked, key_id):
        raise _reused()
    return made, False


def find_booking(code: str, last4: str, station_id: int | None) -> Booking | None:
    """The booking with this code and mobile ending, if the key may see its station."""
    booking = bookings.find_booking(code, last4)
    if booking is None or (station_id is not None and booking.shift.station_id != station_id):
        return None
    return booking


def bookings_with_ref(
    ref: str, station_id: int | None, after: int | None, limit: int
) -> tuple[list[Booking], bool]:
    """The bookings made with this external reference (at the key's station), oldest first, after a
    booking id; and whether more follow."""
    query = sa.select(Booking).where(Booking.external_ref == " ".join(ref.split()))
    if station_id is not None:
        query = query.join(DutyShift, DutyShift.id == Booking.shift_id).where(
            DutyShift.station_id == station_id
        )
    if after is not None:
        query = query.where(Booking.id > after)
    rows = list(db.session.scalars(query.order_by(Booking.id).limit(limit + 1)))
    return rows[:limit], len(rows) > limit
