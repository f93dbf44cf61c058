"""The booking life cycle: a place taken, moved, cancelled, checked in, or not kept (no-show).

Slots are planned in `planning`; walk-in numbers and the day's queue are in `calling`. Services
flush; the request, command or job commits.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from legalaid import audit, cache
from legalaid.bookings import calling, validation
from legalaid.bookings.models import (
    ACTIVE_STATES,
    BOOKED,
    BY_CLOSURE,
    BY_STAFF,
    BY_VETERAN,
    CANCELLED,
    CANCELLED_EVENT,
    CHANNELS,
    CHECKED_IN,
    CONSENT_PHONE,
    CONSENT_READ_ALOUD,
    EVENT_KINDS,
    HOTLINE,
    MADE,
    MOVED,
    NO_SHOW,
    ONLINE,
    PHONE,
    PUBLIC_CHANNELS,
    STAFF,
    Booking,
    BookingEvent,
    ShiftQuota,
    Slot,
    Veteran,
)
from legalaid.bookings.planning import OFFERED, bookable_days, get_slot, slot_is_open
from legalaid.crypto import blind_index
from legalaid.dates import local_today, now_utc, to_local
from legalaid.db import add_if_absent, get_by_id, rows_changed
from legalaid.errors import AlreadyBooked, InvalidInput, NotAllowed, Problems, SlotFull
from legalaid.extensions import db
from legalaid.roster import services as roster
from legalaid.roster.models import DutyShift

EXTERNAL_REF_MAX = 64
# Booking codes avoid characters that are easy to misread: no 0/O, 1/I/L.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 6


def new_code() -> str:
    """A random booking code such as 7KQ2MX."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(code: str | None) -> str:
    """What a person typed as a code, made comparable (spaces gone, upper case)."""
    return validation.clean_text(code).replace(" ", "").upper()[:CODE_LENGTH]


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
    external_ref: str | None = None  # another system's reference (the hotline's work-order number)
    api_key_id: int | None = None  # made through the API with this key


def consent_way(channel: str) -> str:
    """How a person booking through this channel gave consent: on the kiosk or online themselves, by
    telephone (a caller or the 12345 hotline), or with the notice read aloud at the desk."""
    if channel in PUBLIC_CHANNELS:
        return channel
    return CONSENT_PHONE if channel in (HOTLINE, PHONE) else CONSENT_READ_ALOUD


def check_consent(given: bool, needed: bool = True) -> None:
    """Refuse personal details taken without the person's consent (PIPL: asked wherever data is collected)."""
    if needed and not given:
        raise InvalidInput(
            _("Read the notice to the person and tick that they agreed."), field="consent"
        )


def check_desk_walkin(
    name: str | None, mobile: str | None, category: str | None, consent: bool
) -> tuple[str, str | None, str]:
    """What the desk may give with a walk-in number, every problem at once: (name, mobile, category);
    a mobile number is taken only after the notice was read and the person agreed."""
    problems = Problems()
    details = problems.check(lambda: validation.check_walkin(name, mobile, category))
    problems.check(lambda: check_consent(consent, needed=bool(validation.clean_text(mobile))))
    problems.raise_any()
    assert details is not None  # no problem noted: check_walkin returned
    return details


def check_request(req: BookingRequest) -> BookingRequest:
    """Validate and normalise a request; raises FieldErrors naming every wrong field at once."""
    problems = Problems()
    if req.channel not in CHANNELS:
        problems.add(_("Unknown channel."), field="channel")
    _check_details(req, problems)
    req.category = problems.check(lambda: validation.check_category(req.category), req.category)
    req.description = problems.check(lambda: validation.check_description(req.description), req.description)
    if req.channel in PUBLIC_CHANNELS and not req.consent:
        problems.add(_("Please agree to the use of your details for this consultation."), field="consent")
    elif req.channel not in PUBLIC_CHANNELS:
        problems.check(lambda: check_consent(req.consent))  # the desk read the notice out
    if req.external_ref is not None:
        req.external_ref = " ".join(validation.clean_text(req.external_ref).split()) or None
        if req.external_ref is not None and len(req.external_ref) > EXTERNAL_REF_MAX:
            problems.add(_("At most %(n)d characters.", n=EXTERNAL_REF_MAX), field="external_ref")
    key = validation.clean_text(req.idempotency_key)
    if not 16 <= len(key) <= 64:
        problems.add(_("The form has expired. Please start again."), field="idempotency_key")
    problems.raise_any()
    req.idempotency_key = key
    return req


def _check_details(req: BookingRequest, problems: Problems) -> None:
    """Check and normalise the person's details (name, mobile, ID and card numbers), noting each problem."""
    req.name = problems.check(lambda: validation.check_name(req.name), req.name)
    req.mobile = problems.check(lambda: validation.check_mobile(req.mobile), req.mobile)
    req.id_number = problems.check(lambda: validation.check_id_number(req.id_number), req.id_number)
    req.veteran_card_no = problems.check(
        lambda: validation.check_card_number(req.veteran_card_no), req.veteran_card_no
    )


def validation_for_details(req: BookingRequest) -> BookingRequest:
    """Check the personal details screen alone (name, mobile, ID and card numbers), every field at once."""
    problems = Problems()
    _check_details(req, problems)
    problems.raise_any()
    return req


def find_by_code(code: str) -> Booking | None:
    """The booking with this code (for the ticket the same visitor just got)."""
    return db.session.scalar(sa.select(Booking).where(Booking.code == normalize_code(code)))


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


# Called with each change of a booking as it happens, in the caller's transaction: made, moved, cancelled,
# and completed (its consultation recorded). The webhooks queue their deliveries here (`create_app`
# registers them): they must not miss a change, nor read `booking_events`, whose one `processed_at` is
# the reminders'. The bookings feature knows nothing of who listens.
on_announced: list[Callable[[Booking, str, datetime], object]] = []


def announce(booking: Booking, kind: str, now: datetime, cause: str = "", reason: str | None = None) -> None:
    """Record what happened to a booking for the features that act on it later (the reminders), and tell
    the hooks at once; a completion (`COMPLETED`) is only told: the reminders have nothing to say of it."""
    if kind in EVENT_KINDS:
        db.session.add(
            BookingEvent(booking_id=booking.id, kind=kind, cause=cause, reason=reason, created_at=now)
        )
    for hook in on_announced:
        hook(booking, kind, now)


def _take_slot(slot: Slot) -> None:
    """Take one place in the slot, or raise SlotFull."""
    taken = rows_changed(db.session.execute(
        sa.update(Slot).where(Slot.id == slot.id, Slot.booked < Slot.capacity).values(booked=Slot.booked + 1)
    ))
    if not taken:
        raise SlotFull(_("Sorry, this time is now full. Please choose another time."))


def _take_quota(shift_id: int) -> None:
    """Take one of the shift's places for booking ahead (not the walk-in reserve), or raise SlotFull."""
    taken = rows_changed(db.session.execute(
        sa.update(ShiftQuota)
        .where(ShiftQuota.shift_id == shift_id, ShiftQuota.public_booked < ShiftQuota.public_capacity)
        .values(public_booked=ShiftQuota.public_booked + 1)
    ))
    if not taken:
        raise SlotFull(
            _(
                "Sorry, the places for booking ahead are taken that day. "  # noqa: ISC001
                "Come in person: places are kept for walk-ins."
            )
        )


def _take_place(slot: Slot, public: bool) -> None:
    """Take one place in the slot (and in the shift's public quota), or raise SlotFull; called inside a
    savepoint, whose rollback gives the slot's place back when the quota is full."""
    _take_slot(slot)
    if public:
        _take_quota(slot.shift_id)


def sold_out(slot: Slot, channel: str) -> bool:
    """Whether the slot, or the day's places for booking ahead (public channels), were gone when read.

    Only a shortcut for the many who confirm after the last place went (a rush): a read, not a lock, so
    `False` promises nothing; the conditional UPDATEs of `_take_place` decide."""
    if slot.free <= 0:
        return True
    if channel not in PUBLIC_CHANNELS:
        return False
    left = db.session.scalar(
        sa.select(ShiftQuota.public_capacity - ShiftQuota.public_booked).where(
            ShiftQuota.shift_id == slot.shift_id
        )
    )
    return left is not None and left <= 0


def _find_or_add_veteran(name: str, mobile: str) -> Veteran:
    now = now_utc()
    values = {"name": name, "mobile": mobile, "mobile_hash": blind_index(mobile), "created_at": now}
    added = add_if_absent(Veteran, {**values, "updated_at": now})
    if added is not None:
        return added
    # Known already (or made a moment ago by another request): read.
    return db.session.scalars(sa.select(Veteran).where(Veteran.with_mobile(mobile))).one()


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
    slot = get_slot(req.slot_id)
    if slot is None:
        raise InvalidInput(_("Choose a time."), field="slot_id")
    _check_open(slot, req.channel, now, roster.closed_days)
    # The person first: a write, so on SQLite the transaction holds the write lock before the savepoint
    # (a savepoint opened first would begin a read transaction, which cannot wait for the lock later).
    veteran = _veteran_for(req)
    db.session.flush()
    with db.session.begin_nested():
        booking = _add_booking(req, slot, veteran, now, actor_id)
        # The write that decides comes last: competitors for the day's places wait for this transaction
        # from here to its commit only, not while the booking's rows are written. When the day is full
        # the savepoint undoes the booking and the place taken in the slot alike.
        _take_place(slot, req.channel in PUBLIC_CHANNELS)
        return booking


def _check_open(slot: Slot, channel: str, now: datetime, closed: Callable[..., dict]) -> None:
    """Refuse a slot on a closed day, or past this channel's cutoff, with what the visitor should know."""
    shift = slot.shift
    if shift.duty_on in closed(shift.station, shift.duty_on, shift.duty_on):
        raise NotAllowed(_("The station is closed that day."))
    if not slot_is_open(slot, channel, now):
        raise NotAllowed(_("Booking for this time has closed. Please choose a later time."))


def _add_booking(
    req: BookingRequest, slot: Slot, veteran: Veteran, now: datetime, actor_id: int | None
) -> Booking:
    shift = slot.shift
    # A second active booking of the person that day is refused by the database's unique index (the
    # clash is read in `place_booking`): no read of it here, on every booking's way to its commit.
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
        uses_public_quota=req.channel in PUBLIC_CHANNELS,
        consent_at=now,
        consent_how=consent_way(req.channel),
        consent_by_id=None if req.channel in PUBLIC_CHANNELS else actor_id,
        created_by_id=actor_id,
        api_key_id=req.api_key_id,
        external_ref=req.external_ref,
    )
    db.session.add(booking)
    db.session.flush()
    audit.record(
        "booking.create",
        booking,
        details={"channel": req.channel, "date": shift.duty_on.isoformat(), "mobile": req.mobile},
        station_id=shift.station_id,
    )
    announce(booking, MADE, now)
    cache.drop_pages(shift.station_id, cache.KIOSK)  # the next day list here shows one place fewer
    return booking


def place_booking(
    req: BookingRequest,
    now: datetime | None = None,
    actor_id: int | None = None,
    count: Callable[[], object] | None = None,
) -> Booking:
    """Book a place (flushes); a lost race is settled by reading the winner's row.

    A unique-key clash (the same submit twice, the same person twice that day) is only known at the
    database: the booking's rows are written in a SAVEPOINT, so a clash undoes this try alone and the
    request's transaction stays usable. `count` is called once a new booking holds its place (never for
    the same form sent again): the public limits' counts, which raise to refuse it (the caller rolls
    back). Counted last, their rows (one per address: a hall's kiosk, a rush from one network) are held
    only from here to the commit, as the day's places are, not while the booking is written.
    """
    check_request(req)
    now = now or now_utc()
    # Whether the places are gone is read before the key is looked up: places gone then were gone before
    # this form's own booking could have been made (what is committed stays committed), so the form is
    # refused at once, the rush's hundreds after the last place with three statements and no write.
    slot = get_slot(req.slot_id)
    if slot is not None and sold_out(slot, req.channel):
        existing = by_idempotency_key(req.idempotency_key)
        if existing is not None:
            return existing  # the same form sent again: its booking took one of the places
        # A closed day or a time past its cutoff is still told as such (from the memo: only the words
        # of a refusal depend on it).
        _check_open(slot, req.channel, now, roster.closed_days_shown)
        raise SlotFull(_("Sorry, this time is now full. Please choose another time."))
    # Not looked up otherwise: the same form sent again clashes with its booking's unique key, and the
    # clash is settled below by reading that booking (a statement less on every new booking's way).
    for _attempt in range(3):
        try:
            booking = _book(req, now, actor_id)
            if count is not None:
                count()
            return booking
        except (SlotFull, AlreadyBooked, NotAllowed):
            # The same form sent twice: the first submit took the place (perhaps before the day closed
            # or its time passed the cutoff); show its ticket.
            existing = by_idempotency_key(req.idempotency_key)
            if existing is not None:
                return existing
            raise
        except IntegrityError:
            existing = by_idempotency_key(req.idempotency_key)
            if existing is not None:
                return existing  # the other submit of the same form won: show its ticket
            veteran = db.session.scalar(sa.select(Veteran).where(Veteran.with_mobile(req.mobile)))
            slot = get_slot(req.slot_id)
            if veteran is not None and slot is not None:
                already = active_booking(veteran.id, slot.shift_id)
                if already is not None:
                    raise AlreadyBooked(_("You already have a booking that day."), booking=already) from None
            # Otherwise a booking code clashed (1 in ~900 million): try again with a new one.
    raise SlotFull(_("Sorry, this time is now full. Please choose another time."))


def find_booking(code: str, mobile_last4: str) -> Booking | None:
    """The booking with this code whose mobile ends in these four digits (else None, whichever is wrong)."""
    code = normalize_code(code)
    digits = "".join(ch for ch in validation.clean_text(mobile_last4) if ch in "0123456789")
    if len(code) != CODE_LENGTH or len(digits) != 4:
        return None
    booking = db.session.scalar(sa.select(Booking).where(Booking.code == code))
    mobile = booking.veteran.mobile or "" if booking is not None else ""  # an erased person has none
    if booking is None or not secrets.compare_digest(mobile[-4:].encode(), digits.encode()):
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
    changed = rows_changed(db.session.execute(
        sa.update(Booking)
        .where(Booking.id == booking.id, Booking.status == BOOKED, Booking.slot_id == booking.slot_id)
        .values(status=to_status, updated_at=now_utc(), **values)
    ))
    if not changed:
        raise NotAllowed(_("This booking was changed a moment ago. Please look at it again."))
    db.session.expire(booking)


def cancel(
    booking: Booking,
    reason: str,
    by_staff: bool = False,
    now: datetime | None = None,
    closure: str | None = None,
) -> None:
    """Cancel a booking with a reason and give its place back; veterans may do so until the cutoff.
    `closure` is the station's reason when the day was closed: the veteran's notice quotes it."""
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
    cause = BY_CLOSURE if closure is not None else BY_STAFF if by_staff else BY_VETERAN
    announce(booking, CANCELLED_EVENT, now, cause=cause, reason=closure)
    db.session.flush()
    cache.drop_pages(booking.shift.station_id, cache.KIOSK)


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
    announce(booking, MOVED, now, cause=BY_STAFF if by_staff else BY_VETERAN)
    cache.drop_pages(new_slot.shift.station_id, cache.KIOSK)


def mark_no_show(booking: Booking, today: date | None = None) -> None:
    """The duty lawyer marks that the booked person did not come — on the booking's own day (later
    days are the no-show job's)."""
    if booking.status != BOOKED:
        raise NotAllowed(_("Only a booking that is still open can be marked."))
    if booking.shift.duty_on != (today or local_today(booking.shift.station.timezone)):
        raise NotAllowed(_("Only a booking of today can be marked as not come."))
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
    calling.number_booking(booking, station)  # its queue number, B001 …, printed and called
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
        changed = rows_changed(db.session.execute(
            sa.update(Booking)
            .where(Booking.id == booking.id, Booking.status == BOOKED)
            .values(status=NO_SHOW)
        ))
        if changed:
            marked += 1
            db.session.expire(booking)
            audit.record("booking.no_show", booking, station_id=station_id)
    db.session.flush()
    return marked
