"""Swap requests (调班): a lawyer hands a future shift to a colleague; an administrator approves."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from legalaid.dates import now_utc
from legalaid.extensions import Model
from legalaid.roster.models import DutyShift

# Swap states: requested → accepted → approved; or declined / rejected / cancelled on the way.
REQUESTED = "requested"
ACCEPTED = "accepted"
APPROVED = "approved"
DECLINED = "declined"
REJECTED = "rejected"
CANCELLED = "cancelled"
SWAP_STATES = (REQUESTED, ACCEPTED, APPROVED, DECLINED, REJECTED, CANCELLED)
OPEN_SWAP_STATES = (REQUESTED, ACCEPTED)


class SwapRequest(Model):
    """A lawyer hands a shift to a named colleague, or offers it to any colleague (调班)."""

    __tablename__ = "swap_requests"
    __table_args__ = (
        sa.CheckConstraint(f"status IN {SWAP_STATES!r}", name="status_known"),
        sa.CheckConstraint("to_lawyer_id IS NULL OR to_lawyer_id <> from_lawyer_id", name="not_to_self"),
        # At most one open request per shift, enforced by the database on both engines.
        sa.Index(
            "uq_swap_requests_open_shift",
            "shift_id",
            unique=True,
            sqlite_where=sa.text("status IN ('requested', 'accepted')"),
            postgresql_where=sa.text("status IN ('requested', 'accepted')"),
        ),
        sa.Index("ix_swap_requests_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shift_id: Mapped[int] = mapped_column(sa.ForeignKey("duty_shifts.id", ondelete="CASCADE"), index=True)
    from_lawyer_id: Mapped[int] = mapped_column(sa.ForeignKey("lawyers.id", ondelete="RESTRICT"))
    # None: offered to any colleague of the station.
    to_lawyer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lawyers.id", ondelete="RESTRICT"))
    accepted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lawyers.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(sa.String(16), default=REQUESTED)
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(default=now_utc, onupdate=now_utc)

    shift: Mapped[DutyShift] = relationship(lazy="joined")
    from_lawyer = relationship("Lawyer", foreign_keys=[from_lawyer_id], lazy="joined")
    to_lawyer = relationship("Lawyer", foreign_keys=[to_lawyer_id], lazy="joined")
    accepted_by = relationship("Lawyer", foreign_keys=[accepted_by_id], lazy="joined")
