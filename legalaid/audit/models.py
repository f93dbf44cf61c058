"""The audit log: who did what to which record, when and from where."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from legalaid.dates import now_utc
from legalaid.extensions import Model

SYSTEM_ACTOR = "system"  # nobody signed in and no visitor: a scheduled job, a command, the system
# A veteran acting for themself at the hall's kiosk or on the public site (no account): visitor:kiosk,
# visitor:online. Such an entry has no actor_id, so no username can be mistaken for it.
VISITOR_PREFIX = "visitor:"


class AuditEntry(Model):
    """One recorded action. Details never hold full mobile or ID numbers (see audit.services)."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        sa.Index("ix_audit_entries_target", "target_type", "target_id"),
        sa.Index("ix_audit_entries_actor_at", "actor_id", "at"),
        # The log page's filters, each with the time it is ordered by: the newest matching entries
        # are read from the index instead of sorting every match.
        sa.Index("ix_audit_entries_action_at", "action", "at"),
        sa.Index("ix_audit_entries_actor_name_at", "actor_name", "at"),
        sa.Index("ix_audit_entries_station_at", "station_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=now_utc, index=True)
    # Kept as plain values (no foreign key): the log outlives the records it talks about.
    actor_id: Mapped[int | None]
    actor_name: Mapped[str] = mapped_column(sa.String(100))
    action: Mapped[str] = mapped_column(sa.String(64))
    target_type: Mapped[str | None] = mapped_column(sa.String(40))
    target_id: Mapped[int | None]
    station_id: Mapped[int | None]
    ip: Mapped[str | None] = mapped_column(sa.String(45))
    details: Mapped[dict] = mapped_column(sa.JSON, default=dict)
