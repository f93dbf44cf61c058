"""The API's own records: the keys an administrator gives to other systems (the 12345 hotline, a
mini-program, a province's reporting), each shown once and kept here only as a keyed hash."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from legalaid.dates import now_utc
from legalaid.extensions import Model
from legalaid.stations.models import Station

ROSTER_READ = "roster:read"
SLOTS_READ = "slots:read"
BOOKINGS_WRITE = "bookings:write"
REPORTS_READ = "reports:read"
SCOPES = (ROSTER_READ, SLOTS_READ, BOOKINGS_WRITE, REPORTS_READ)
# How the bookings a key makes are recorded (bookings.models.CHANNELS): by the 12345 hotline, which
# reads the notice to the caller, or online, by the veteran themself (a mini-program).
KEY_CHANNELS = ("hotline", "online")


class ApiKey(Model):
    """A key another system calls the API with: what it may do (scopes), optionally at one station.

    The key itself (`la_<prefix>_<secret>`) is shown once when it is made; the database keeps its
    prefix, to find it and to name it in lists, and HMAC-SHA256(API_KEY_PEPPER, key): a copy of the
    database gives nobody a working key. Revoking it refuses its very next call.
    """

    __tablename__ = "api_keys"
    __table_args__ = (
        sa.CheckConstraint("scopes <> ''", name="scopes_given"),
        sa.CheckConstraint("rate_per_minute > 0", name="rate_positive"),
        sa.CheckConstraint("revoked_at IS NOT NULL OR revoked_by_id IS NULL", name="revoke_has_time"),
        sa.CheckConstraint(f"channel IN {KEY_CHANNELS!r}", name="channel_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    scopes: Mapped[str] = mapped_column(sa.String(100))  # space-separated, from SCOPES
    # A key limited to one station goes with it: it must never outlive it as an all-stations key.
    station_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("stations.id", ondelete="CASCADE"), index=True
    )
    # The channel the bookings this key makes are recorded under, and the calls it may make in a minute.
    channel: Mapped[str] = mapped_column(sa.String(20), default="hotline")
    rate_per_minute: Mapped[int] = mapped_column(default=60)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    last_used_at: Mapped[datetime | None]

    station: Mapped[Station | None] = relationship()

    @property
    def scope_list(self) -> list[str]:
        """The key's scopes, in the order of SCOPES."""
        given = set(self.scopes.split())
        return [scope for scope in SCOPES if scope in given]

    @property
    def active(self) -> bool:
        """Whether calls with this key are still answered."""
        return self.revoked_at is None


class ApiRateWindow(Model):
    """How many calls a key made in the current minute (a fixed window), one row per key: counted by a
    single statement that every app process and host shares through the database."""

    __tablename__ = "api_rate_windows"

    key_id: Mapped[int] = mapped_column(sa.ForeignKey("api_keys.id", ondelete="CASCADE"), primary_key=True)
    window_start: Mapped[datetime]
    calls: Mapped[int] = mapped_column(default=0)
