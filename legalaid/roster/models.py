"""Duty shifts, closures, swaps, and the record of shift changes that veterans must hear about."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from legalaid.dates import now_utc
from legalaid.extensions import Model

GENERATED = "generated"
MANUAL = "manual"
SHIFT_SOURCES = (GENERATED, MANUAL)


class DutyShift(Model):
    """One station, one date, one lawyer on duty (值班)."""

    __tablename__ = "duty_shifts"
    __table_args__ = (
        sa.UniqueConstraint("station_id", "duty_on"),
        sa.CheckConstraint(f"source IN {SHIFT_SOURCES!r}", name="source_known"),
        sa.Index("ix_duty_shifts_lawyer_on", "lawyer_id", "duty_on"),
        # A province's year of shifts, every station (lawyer performance, the annual report).
        sa.Index("ix_duty_shifts_duty_on", "duty_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("stations.id", ondelete="CASCADE"))
    duty_on: Mapped[date]
    lawyer_id: Mapped[int] = mapped_column(sa.ForeignKey("lawyers.id", ondelete="RESTRICT"))
    source: Mapped[str] = mapped_column(sa.String(16), default=GENERATED)
    reason: Mapped[str] = mapped_column(sa.String(200), default="")
    checked_in_at: Mapped[datetime | None]
    checked_in_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    # Set when the day was closed after the shift was made: nobody is on duty, but the row stays because
    # the day's (cancelled) bookings still point at it. A released shift is not part of the roster.
    released_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(default=now_utc, onupdate=now_utc)

    lawyer = relationship("Lawyer", lazy="joined")
    station = relationship("Station")


class Closure(Model):
    """An administrator's word on a date: closed (a hall event …) or re-opened (a holiday kept open)."""

    __tablename__ = "closures"
    __table_args__ = (sa.UniqueConstraint("station_id", "closed_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("stations.id", ondelete="CASCADE"))
    closed_on: Mapped[date]
    # False means "open after all" on a statutory holiday.
    closed: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    reason: Mapped[str] = mapped_column(sa.String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)


class HolidayYear(Model):
    """A year the holiday data does not cover, confirmed by an administrator after entering closures."""

    __tablename__ = "holiday_years"
    __table_args__ = (sa.UniqueConstraint("station_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("stations.id", ondelete="CASCADE"))
    year: Mapped[int]
    confirmed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    confirmed_at: Mapped[datetime] = mapped_column(default=now_utc)


class ShiftChange(Model):
    """A shift's lawyer changed (swap or hand change): the reminders feature tells booked veterans."""

    __tablename__ = "shift_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Kept (as NULL) when the shift itself is removed: the veterans still need telling.
    shift_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("duty_shifts.id", ondelete="SET NULL"), index=True
    )
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("stations.id", ondelete="CASCADE"))
    duty_on: Mapped[date]
    old_lawyer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lawyers.id", ondelete="SET NULL"))
    new_lawyer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lawyers.id", ondelete="SET NULL"))
    cause: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    # Set by the reminders feature once the booked veterans have been told.
    processed_at: Mapped[datetime | None] = mapped_column(index=True)
