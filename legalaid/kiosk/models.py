"""The public pages' own records: the hall's enrolled kiosks, and the counters that limit what one
address or one mobile number can do in a day or a week."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from legalaid.dates import now_utc
from legalaid.extensions import Model
from legalaid.stations.models import Station


class KioskDevice(Model):
    """A browser an administrator enrolled as a station's touch screen; it holds a long-lived cookie
    whose token is kept here only as a hash. Revoking it stops the browser at its next request."""

    __tablename__ = "kiosk_devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60))
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("stations.id", ondelete="CASCADE"), index=True)
    # SHA-256 of the cookie's random token: a copy of the database does not give anyone a kiosk.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    enrolled_at: Mapped[datetime] = mapped_column(default=now_utc)
    enrolled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    station: Mapped[Station] = relationship()

    @property
    def active(self) -> bool:
        """Whether the device still counts as the hall's kiosk."""
        return self.revoked_at is None


class PublicCounter(Model):
    """How often one client (a hashed address or mobile number) did one thing in one period.

    Raised with a conditional UPDATE (`count < limit`), so two requests at once can never both take the
    last allowance, on SQLite or PostgreSQL. Only keyed hashes are kept: no address, no number.
    """

    __tablename__ = "public_counters"
    __table_args__ = (
        sa.UniqueConstraint("scope", "key", "period_on"),
        sa.CheckConstraint("count >= 0", name="count_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(sa.String(24))  # what is counted: "booking:address", …
    key: Mapped[str] = mapped_column(sa.String(64))  # HMAC of the address or number
    period_on: Mapped[date] = mapped_column(index=True)  # the local day, or the Monday of the week
    count: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=now_utc)
