"""Veterans, bookable slots, bookings and walk-in numbers."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from legalaid.crypto import Encrypted, blind_index
from legalaid.dates import now_utc
from legalaid.extensions import Model

# Channels a booking comes through.
KIOSK, ONLINE, WALKIN, HOTLINE, PHONE, STAFF = "kiosk", "online", "walkin", "hotline", "phone", "staff"
CHANNELS = (KIOSK, ONLINE, WALKIN, HOTLINE, PHONE, STAFF)
PUBLIC_CHANNELS = (KIOSK, ONLINE)  # these may not use the places kept for walk-ins

# Booking states: booked → checked_in → completed; booked → cancelled; booked → no_show.
BOOKED, CHECKED_IN, COMPLETED, CANCELLED, NO_SHOW = (
    "booked",
    "checked_in",
    "completed",
    "cancelled",
    "no_show",
)
BOOKING_STATES = (BOOKED, CHECKED_IN, COMPLETED, CANCELLED, NO_SHOW)
ACTIVE_STATES = (BOOKED, CHECKED_IN)

# What a booking event announces, and who or what caused a cancellation.
MADE, MOVED, CANCELLED_EVENT = "made", "moved", "cancelled"
EVENT_KINDS = (MADE, MOVED, CANCELLED_EVENT)
BY_VETERAN, BY_STAFF, BY_CLOSURE = "veteran", "staff", "closure"

# How a person's consent to the use of their details was given (PIPL): on the kiosk or online by the
# person, or after the notice was read to them at the desk (or by the duty lawyer), or by telephone.
CONSENT_KIOSK, CONSENT_ONLINE, CONSENT_READ_ALOUD, CONSENT_PHONE = "kiosk", "online", "read_aloud", "phone"
CONSENT_WAYS = (CONSENT_KIOSK, CONSENT_ONLINE, CONSENT_READ_ALOUD, CONSENT_PHONE)


class Veteran(Model):
    """A person who books: stored once per mobile number; numbers are shown masked and stored encrypted,
    the mobile found by its keyed hash (legalaid/crypto.py)."""

    __tablename__ = "veterans"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(30))
    # Stored encrypted, found by keyed hashes (legalaid/crypto.py). NULL once the person is erased
    # (legalaid.privacy.retention); typed str because nothing reads an erased person's number.
    mobile: Mapped[str] = mapped_column(Encrypted, nullable=True)
    mobile_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    # Loaded (and decrypted) only when read: every list of bookings joins the person, and only the
    # person's own pages show these two.
    id_number: Mapped[str | None] = mapped_column(Encrypted, deferred=True)
    id_number_hash: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    veteran_card_no: Mapped[str | None] = mapped_column(Encrypted, deferred=True)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(default=now_utc, onupdate=now_utc)
    erased_at: Mapped[datetime | None]  # personal data erased (retention or the person's request)

    @validates("mobile", "id_number")
    def _index(self, key: str, value: str | None) -> str | None:
        setattr(self, f"{key}_hash", blind_index(value))
        return value

    @staticmethod
    def with_mobile(mobile: str) -> sa.ColumnElement[bool]:
        """The condition that finds the person with this mobile number."""
        return Veteran.mobile_hash == blind_index(mobile)

    @staticmethod
    def with_id_number(id_number: str) -> sa.ColumnElement[bool]:
        """The condition that finds the people who gave this ID number."""
        return Veteran.id_number_hash == blind_index(id_number)


class Slot(Model):
    """A bookable time in a duty shift; `booked` only ever grows by a conditional update."""

    __tablename__ = "slots"
    __table_args__ = (
        sa.UniqueConstraint("shift_id", "starts_at"),
        # The last line of defence against overbooking, whatever the code above it does.
        sa.CheckConstraint("booked >= 0 AND booked <= capacity", name="booked_within_capacity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shift_id: Mapped[int] = mapped_column(sa.ForeignKey("duty_shifts.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    capacity: Mapped[int]
    booked: Mapped[int] = mapped_column(default=0)

    shift = relationship("DutyShift")

    @property
    def free(self) -> int:
        """Places left in this slot."""
        return max(0, self.capacity - self.booked)


class ShiftQuota(Model):
    """Per shift: how many places the kiosk and online booking may take (the rest is for walk-ins)."""

    __tablename__ = "shift_quotas"
    __table_args__ = (
        sa.CheckConstraint("public_booked >= 0 AND public_booked <= public_capacity", name="within"),
    )

    shift_id: Mapped[int] = mapped_column(
        sa.ForeignKey("duty_shifts.id", ondelete="CASCADE"), primary_key=True
    )
    public_capacity: Mapped[int]
    public_booked: Mapped[int] = mapped_column(default=0)


class Booking(Model):
    """A veteran's place in a slot (预约), found again by its short code."""

    __tablename__ = "bookings"
    __table_args__ = (
        sa.CheckConstraint(f"status IN {BOOKING_STATES!r}", name="status_known"),
        sa.CheckConstraint(f"channel IN {CHANNELS!r}", name="channel_known"),
        sa.CheckConstraint(f"consent_how IN {CONSENT_WAYS!r}", name="consent_how_known"),
        # One active booking per person per duty day.
        sa.Index(
            "uq_bookings_active_veteran_shift",
            "veteran_id",
            "shift_id",
            unique=True,
            sqlite_where=sa.text("status IN ('booked', 'checked_in')"),
            postgresql_where=sa.text("status IN ('booked', 'checked_in')"),
        ),
        sa.Index("ix_bookings_shift_status", "shift_id", "status"),
        # A checked-in booking's queue number (B001 …) is the day's own: one per shift.
        sa.Index("uq_bookings_shift_queue_number", "shift_id", "queue_number", unique=True),
        # The hotline finds its bookings again by its own work-order number.
        sa.Index("ix_bookings_external_ref", "external_ref"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(6), unique=True)
    # A double-tapped or replayed submit carries the same key: the database keeps one booking.
    idempotency_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    slot_id: Mapped[int] = mapped_column(sa.ForeignKey("slots.id", ondelete="RESTRICT"), index=True)
    shift_id: Mapped[int] = mapped_column(sa.ForeignKey("duty_shifts.id", ondelete="RESTRICT"))
    veteran_id: Mapped[int] = mapped_column(sa.ForeignKey("veterans.id", ondelete="RESTRICT"), index=True)
    channel: Mapped[str] = mapped_column(sa.String(10))
    # The name given with this booking: an anonymous visitor never rewrites a known person's record.
    name: Mapped[str] = mapped_column(sa.String(30))
    category: Mapped[str] = mapped_column(sa.String(30))
    description: Mapped[str] = mapped_column(sa.String(500), default="")
    status: Mapped[str] = mapped_column(sa.String(12), default=BOOKED)
    uses_public_quota: Mapped[bool] = mapped_column(default=True)
    consent_at: Mapped[datetime]
    consent_how: Mapped[str] = mapped_column(sa.String(10))
    # The member of staff who read the notice out; None when the person agreed on the kiosk or online.
    consent_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    cancel_reason: Mapped[str] = mapped_column(sa.String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    checked_in_at: Mapped[datetime | None]
    called_at: Mapped[datetime | None]
    # The calling system (叫号): the number given at check-in (B001 …), the last time the hall heard it
    # (a recall moves it: the display notices and plays it again), when it was passed over (过号) and
    # when it was put back into the queue.
    queue_number: Mapped[int | None]
    announced_at: Mapped[datetime | None]
    passed_at: Mapped[datetime | None]
    requeued_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=now_utc, onupdate=now_utc)
    erased_at: Mapped[datetime | None]  # name, description and reason erased; the row still counts
    # Made through the API: the key that made it (its system's name), and that system's own reference
    # for it, such as the 12345 hotline's work-order number.
    api_key_id: Mapped[int | None] = mapped_column(sa.ForeignKey("api_keys.id", ondelete="SET NULL"))
    external_ref: Mapped[str | None] = mapped_column(sa.String(64))

    slot: Mapped[Slot] = relationship(lazy="joined")
    veteran: Mapped[Veteran] = relationship(lazy="joined")
    shift = relationship("DutyShift")
    consent_by = relationship("User", foreign_keys=[consent_by_id])

    @property
    def queue_label(self) -> str:
        """The queue number as shown, printed and called: B001 (empty before check-in)."""
        return f"B{self.queue_number:03d}" if self.queue_number else ""


class DailyCounter(Model):
    """The last walk-in number (A001, A002 …) and the last booking queue number (B001 …) handed out at a
    station on a day."""

    __tablename__ = "daily_counters"

    station_id: Mapped[int] = mapped_column(
        sa.ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(primary_key=True)
    last_number: Mapped[int] = mapped_column(default=0)
    last_booking_number: Mapped[int] = mapped_column(default=0, server_default=sa.text("0"))


class WalkIn(Model):
    """A walk-in queue number for today, optionally with the person's name."""

    __tablename__ = "walk_ins"
    __table_args__ = (
        sa.UniqueConstraint("station_id", "day", "number"),
        sa.CheckConstraint(
            f"consent_how IS NULL OR consent_how IN {CONSENT_WAYS!r}", name="consent_how_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("stations.id", ondelete="CASCADE"))
    day: Mapped[date]
    number: Mapped[int]
    shift_id: Mapped[int | None] = mapped_column(sa.ForeignKey("duty_shifts.id", ondelete="SET NULL"))
    veteran_id: Mapped[int | None] = mapped_column(sa.ForeignKey("veterans.id", ondelete="SET NULL"))
    # A name given without a mobile number (nothing is stored about the person beyond it).
    name: Mapped[str] = mapped_column(sa.String(30), default="")
    category: Mapped[str] = mapped_column(sa.String(30), default="")
    status: Mapped[str] = mapped_column(sa.String(12), default="waiting")
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    called_at: Mapped[datetime | None]
    # As on a booking: last heard in the hall, passed over (过号; status stays "called"), put back.
    announced_at: Mapped[datetime | None]
    passed_at: Mapped[datetime | None]
    requeued_at: Mapped[datetime | None]
    erased_at: Mapped[datetime | None]  # the name erased; the number still counts
    # Consent is asked when a mobile number is taken (a name alone for the queue needs none).
    consent_at: Mapped[datetime | None]
    consent_how: Mapped[str | None] = mapped_column(sa.String(10))
    consent_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    veteran = relationship("Veteran", lazy="joined")

    @property
    def label(self) -> str:
        """The number as shown and printed: A001."""
        return f"A{self.number:03d}"

    @property
    def person(self) -> str:
        """The name the desk was given, if any."""
        return self.veteran.name if self.veteran else self.name


class BookingEvent(Model):
    """Something that happened to a booking — made, moved, cancelled — announced as a row for other
    features to act on later (the reminders tell the veteran), as the roster's shift changes are.
    The booking feature knows nothing of who reads it."""

    __tablename__ = "booking_events"
    __table_args__ = (
        sa.CheckConstraint(f"kind IN {EVENT_KINDS!r}", name="kind_known"),
        sa.Index("ix_booking_events_pending", "processed_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(sa.ForeignKey("bookings.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    cause: Mapped[str] = mapped_column(sa.String(16), default="")  # veteran · staff · closure
    reason: Mapped[str | None] = mapped_column(sa.String(200))  # a closure's reason, as typed
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    # Set by the reader (the reminders) once it has acted on the event.
    processed_at: Mapped[datetime | None]

    booking: Mapped[Booking] = relationship()
