"""Law firms, their contracted lawyers, and the lawyers' dates off."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from legalaid.crypto import Encrypted
from legalaid.dates import now_utc
from legalaid.extensions import Model


class LawFirm(Model):
    """A contracted law firm (合作律师事务所) that sends lawyers to the station."""

    __tablename__ = "law_firms"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    contact_person: Mapped[str] = mapped_column(sa.String(60), default="")
    phone: Mapped[str] = mapped_column(sa.String(30), default="")
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    lawyers: Mapped[list[Lawyer]] = relationship(back_populates="firm", order_by="Lawyer.name")


class Lawyer(Model):
    """A contracted lawyer who takes duty shifts at one station."""

    __tablename__ = "lawyers"
    __table_args__ = (
        sa.CheckConstraint("contract_end IS NULL OR contract_end >= contract_start", name="contract_order"),
        sa.CheckConstraint("length(licence_no) = 17", name="licence_no_17_digits"),
        sa.UniqueConstraint("station_id", "licence_no"),
        sa.Index("ix_lawyers_station_active", "station_id", "active"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("stations.id", ondelete="RESTRICT"))
    firm_id: Mapped[int] = mapped_column(sa.ForeignKey("law_firms.id", ondelete="RESTRICT"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), unique=True)
    name: Mapped[str] = mapped_column(sa.String(60))
    licence_no: Mapped[str] = mapped_column(sa.String(17))
    mobile: Mapped[str] = mapped_column(Encrypted, default="")  # stored encrypted
    email: Mapped[str] = mapped_column(sa.String(120), default="")
    specialties: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    contract_start: Mapped[date]
    contract_end: Mapped[date | None]
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # The secret in the lawyer's personal calendar address; regenerating it kills the old address.
    calendar_token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    firm: Mapped[LawFirm] = relationship(back_populates="lawyers", lazy="joined")
    station = relationship("Station")
    user = relationship("User", backref=sa.orm.backref("lawyer", uselist=False))
    leaves: Mapped[list[Unavailability]] = relationship(
        back_populates="lawyer", order_by="Unavailability.start_on", cascade="all, delete-orphan"
    )

    def under_contract_on(self, day: date) -> bool:
        """Whether the service contract covers this date."""
        return self.contract_start <= day and (self.contract_end is None or day <= self.contract_end)


class Unavailability(Model):
    """Dates a lawyer cannot take duty (请假), both ends included."""

    __tablename__ = "unavailabilities"
    __table_args__ = (
        sa.CheckConstraint("end_on >= start_on", name="end_not_before_start"),
        sa.Index("ix_unavailabilities_lawyer_dates", "lawyer_id", "start_on", "end_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lawyer_id: Mapped[int] = mapped_column(sa.ForeignKey("lawyers.id", ondelete="CASCADE"))
    start_on: Mapped[date]
    end_on: Mapped[date]
    reason: Mapped[str] = mapped_column(sa.String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    lawyer: Mapped[Lawyer] = relationship(back_populates="leaves")
