"""The outbox: every message the system sends is first a row, written with the change that causes it."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from legalaid.crypto import Encrypted, EncryptedJSON
from legalaid.dates import now_utc
from legalaid.extensions import Model

PENDING, SENDING, SENT, FAILED, EXPIRED, UNKNOWN = (
    "pending",
    "sending",
    "sent",
    "failed",
    "expired",
    "unknown",
)
STATUSES = (PENDING, SENDING, SENT, FAILED, EXPIRED, UNKNOWN)
# Notes kept on messages, in English in the database; the admin pages translate them.
LOST_CLAIM = "claimed but never confirmed: check whether it arrived"
STALE = "no longer worth sending"
BOOKING_CHANGED = "the booking changed before it was sent"
LAWYER_CHANGED = "the lawyer of this shift changed"
CHANNELS = ("log", "email", "sms", "webhook")  # webhook: another system's URL (legalaid.webhooks)
# Channels to other systems, not to people: no quiet hours (the hotline's system reads at night too).
MACHINE_CHANNELS = ("webhook",)


class OutboxMessage(Model):
    """One message to send once: to whom, what (a template and its parameters), when, and how it went."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        sa.CheckConstraint(f"status IN {STATUSES!r}", name="status_known"),
        sa.CheckConstraint(f"channel IN {CHANNELS!r}", name="channel_known"),
        sa.Index("ix_outbox_messages_status_due", "status", "due_at"),
        # The outbox page lists the latest due first, unfiltered or by kind.
        sa.Index("ix_outbox_messages_due_at", "due_at"),
        sa.Index("ix_outbox_messages_kind_due", "kind", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    channel: Mapped[str] = mapped_column(sa.String(8))
    recipient_type: Mapped[str] = mapped_column(sa.String(12))  # user · lawyer · veteran
    recipient_id: Mapped[int | None]
    # Where to send (an e-mail address or a mobile number); never written to logs unmasked.
    address: Mapped[str] = mapped_column(Encrypted)  # a mobile or e-mail address: stored encrypted
    locale: Mapped[str] = mapped_column(sa.String(16), default="zh_Hans_CN")
    template: Mapped[str] = mapped_column(sa.String(40))
    params: Mapped[dict] = mapped_column(EncryptedJSON, default=dict)  # names, codes: stored encrypted
    due_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(sa.String(8), default=PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(sa.String(500), default="")
    claimed_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(sa.String(80))
    sent_at: Mapped[datetime | None]
    # The same reminder for the same thing is enqueued once, however often the job runs.
    dedupe_key: Mapped[str] = mapped_column(sa.String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)


class OutboxEvent(Model):
    """One step in a message's life (tried and failed, sent, expired, sent again…), for its history."""

    __tablename__ = "outbox_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        sa.ForeignKey("outbox_messages.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=now_utc)
    status: Mapped[str] = mapped_column(sa.String(8))
    detail: Mapped[str] = mapped_column(sa.String(300), default="")
