"""A station: one service hall with its duty days, sessions, capacity and booking rules."""

from __future__ import annotations

from datetime import datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from legalaid.dates import DEFAULT_TIMEZONE, now_utc
from legalaid.extensions import Model

# Duty weekdays are a bit set: bit 0 is Monday … bit 6 is Sunday (ISO weekday - 1).
TUESDAY_ONLY = 1 << 1


def weekdays_to_mask(isoweekdays: list[int]) -> int:
    """Turn ISO weekday numbers (1 = Monday) into the stored bit set."""
    mask = 0
    for day in isoweekdays:
        mask |= 1 << (int(day) - 1)
    return mask


def mask_to_weekdays(mask: int) -> list[int]:
    """Turn the stored bit set into ISO weekday numbers (1 = Monday)."""
    return [day for day in range(1, 8) if mask & (1 << (day - 1))]


class Station(Model):
    """One legal-aid station in a service hall, and the rules its bookings follow."""

    __tablename__ = "stations"
    __table_args__ = (
        sa.CheckConstraint("duty_weekdays BETWEEN 1 AND 127", name="duty_weekdays_set"),
        sa.CheckConstraint("slot_minutes BETWEEN 5 AND 240", name="slot_minutes_range"),
        sa.CheckConstraint("places_per_slot BETWEEN 1 AND 50", name="places_per_slot_range"),
        sa.CheckConstraint("walkin_reserve >= 0", name="walkin_reserve_not_negative"),
        sa.CheckConstraint("booking_window_days BETWEEN 1 AND 366", name="booking_window_range"),
        sa.CheckConstraint("booking_cutoff_hours BETWEEN 0 AND 168", name="booking_cutoff_range"),
        sa.CheckConstraint("retention_years BETWEEN 1 AND 30", name="retention_years_range"),
        sa.CheckConstraint("queue_opens_minutes BETWEEN 0 AND 720", name="queue_opens_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    address: Mapped[str] = mapped_column(sa.String(200), default="")
    timezone: Mapped[str] = mapped_column(sa.String(64), default=DEFAULT_TIMEZONE)
    duty_weekdays: Mapped[int] = mapped_column(default=TUESDAY_ONLY)
    slot_minutes: Mapped[int] = mapped_column(default=30)
    places_per_slot: Mapped[int] = mapped_column(default=1)
    walkin_reserve: Mapped[int] = mapped_column(default=2)
    booking_window_days: Mapped[int] = mapped_column(default=28)
    booking_cutoff_hours: Mapped[int] = mapped_column(default=2)
    retention_years: Mapped[int] = mapped_column(default=3)
    # The kiosk hands out queue numbers from this many minutes before the day's first session.
    queue_opens_minutes: Mapped[int] = mapped_column(default=60, server_default=sa.text("60"))
    # When on, a swap the colleague accepted takes effect without an administrator's approval.
    swap_auto_approve: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(default=now_utc, onupdate=now_utc)

    sessions: Mapped[list[StationSession]] = relationship(
        back_populates="station",
        order_by="StationSession.start_time",
        cascade="all, delete-orphan",
    )

    @property
    def duty_weekday_list(self) -> list[int]:
        """The duty days as ISO weekday numbers (2 = Tuesday)."""
        return mask_to_weekdays(self.duty_weekdays)


class StationSession(Model):
    """A half-day when the duty lawyer receives visitors, e.g. 09:00–12:00 (local time)."""

    __tablename__ = "station_sessions"
    __table_args__ = (
        sa.CheckConstraint("start_time < end_time", name="end_after_start"),
        sa.UniqueConstraint("station_id", "start_time"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("stations.id", ondelete="CASCADE"))
    start_time: Mapped[time] = mapped_column(sa.Time)
    end_time: Mapped[time] = mapped_column(sa.Time)

    station: Mapped[Station] = relationship(back_populates="sessions")
