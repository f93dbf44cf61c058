"""What the reports feature stores: the record of each monthly review meeting (每月研判)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from legalaid.dates import now_utc
from legalaid.extensions import Model


class MonthlyReview(Model):
    """The record of a station's monthly review meeting (每月研判): who met, what they concluded."""

    __tablename__ = "monthly_reviews"
    __table_args__ = (sa.UniqueConstraint("station_id", "month_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("stations.id", ondelete="CASCADE"))
    month_on: Mapped[date]  # the first day of the month reviewed
    held_on: Mapped[date]
    attendees: Mapped[str] = mapped_column(sa.String(500), default="")
    conclusions: Mapped[str] = mapped_column(sa.Text, default="")
    actions: Mapped[str] = mapped_column(sa.Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=now_utc, onupdate=now_utc)

    recorded_by = relationship("User")
