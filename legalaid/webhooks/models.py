"""The addresses other systems (the 12345 hotline's) gave to be told when a booking or a matter changes,
each with the secret its deliveries are signed with."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from legalaid.crypto import Encrypted
from legalaid.dates import now_utc
from legalaid.extensions import Model
from legalaid.stations.models import Station

BOOKING_MADE = "booking.made"
BOOKING_MOVED = "booking.moved"
BOOKING_CANCELLED = "booking.cancelled"
BOOKING_COMPLETED = "booking.completed"
MATTER_CLOSED = "matter.closed"
EVENTS = (BOOKING_MADE, BOOKING_MOVED, BOOKING_CANCELLED, BOOKING_COMPLETED, MATTER_CLOSED)


class WebhookEndpoint(Model):
    """A URL told of the chosen events (at every station, or at one), through the outbox.

    The secret signs each delivery (HMAC-SHA256), so it must be readable: it is stored encrypted, never
    hashed, and shown once, when the endpoint is registered. A deactivated endpoint is told nothing more.
    """

    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        sa.CheckConstraint("events <> ''", name="events_given"),
        sa.CheckConstraint("url <> ''", name="url_given"),
        # Deactivated exactly when it has a deactivation time: the two never disagree.
        sa.CheckConstraint(
            "(active AND revoked_at IS NULL) OR (NOT active AND revoked_at IS NOT NULL)",
            name="revoked_when_inactive",
        ),
        sa.CheckConstraint("revoked_at IS NOT NULL OR revoked_by_id IS NULL", name="revoke_has_time"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60), unique=True)
    url: Mapped[str] = mapped_column(sa.String(500))
    secret: Mapped[str] = mapped_column(Encrypted)  # readable to sign with: stored encrypted
    events: Mapped[str] = mapped_column(sa.String(100))  # space-separated, from EVENTS
    # An endpoint for one station hears only that station's events, and goes with it.
    station_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("stations.id", ondelete="CASCADE"), index=True
    )
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    station: Mapped[Station | None] = relationship()

    @property
    def event_list(self) -> list[str]:
        """The events this endpoint is told of, in the order of EVENTS."""
        chosen = set(self.events.split())
        return [event for event in EVENTS if event in chosen]

    def wants(self, event: str, station_id: int | None) -> bool:
        """Whether this endpoint is told of this event at this station."""
        return self.active and event in self.events.split() and self.station_id in (None, station_id)
