"""A veteran's rating of a consultation (好差评) and the administrator's reply to a poor one."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from legalaid.dates import now_utc
from legalaid.extensions import Model

# The government 好差评 scale: 5 非常满意 · 4 满意 · 3 基本满意 · 2 不满意 · 1 非常不满意.
LEVELS = (5, 4, 3, 2, 1)
POOR_AT_MOST = 2  # 不满意 and 非常不满意 are 差评: flagged for an administrator's reply
SATISFIED_FROM = 3  # 基本满意 and better count as satisfied (满意率), as the national system counts
# Where the veteran rated: the hall's kiosk (with the booking code) or the link sent to their phone.
KIOSK, PHONE = "kiosk", "phone"
RATING_CHANNELS = (KIOSK, PHONE)
# Reasons to tick, different for a good and a poor rating (as the national 好差评 system asks).
GOOD_REASONS = ("warm", "expert", "short_wait", "efficient")
POOR_REASONS = ("long_wait", "attitude", "unclear", "unsolved", "other")
REASONS = GOOD_REASONS + POOR_REASONS


class Rating(Model):
    """One consultation's rating: its level, the reasons ticked, a comment; a poor one gets a reply.

    No personal data of its own: it points at the consultation, and the comment and reply are erased
    with the consultation's texts (legalaid.privacy.retention)."""

    __tablename__ = "ratings"
    __table_args__ = (
        sa.CheckConstraint("level BETWEEN 1 AND 5", name="level_known"),
        sa.CheckConstraint(f"channel IN {RATING_CHANNELS!r}", name="channel_known"),
        # A reply has its time; its author may be gone later (account removed), its time stays.
        sa.CheckConstraint("replied_at IS NOT NULL OR replied_by_id IS NULL", name="reply_has_time"),
        # The administrators' list: poor ratings without a reply, newest first.
        sa.Index("ix_ratings_level_replied_at", "level", "replied_at"),
        sa.Index("ix_ratings_rated_at", "rated_at"),
        # The list's filters, newest first: a few dozen rows among hundreds of thousands of ratings.
        sa.Index(
            "ix_ratings_poor_at",
            "rated_at",
            postgresql_where=sa.text(f"level <= {POOR_AT_MOST}"),
            sqlite_where=sa.text(f"level <= {POOR_AT_MOST}"),
        ),
        sa.Index(
            "ix_ratings_unanswered_at",
            "rated_at",
            postgresql_where=sa.text(f"level <= {POOR_AT_MOST} AND replied_at IS NULL"),
            sqlite_where=sa.text(f"level <= {POOR_AT_MOST} AND replied_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Once per consultation: the database refuses a second rating, however the two arrive.
    consultation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("consultations.id", ondelete="CASCADE"), unique=True
    )
    level: Mapped[int] = mapped_column(sa.SmallInteger)
    reasons: Mapped[list] = mapped_column(sa.JSON, default=list)
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    channel: Mapped[str] = mapped_column(sa.String(8))
    rated_at: Mapped[datetime] = mapped_column(default=now_utc)
    reply: Mapped[str] = mapped_column(sa.Text, default="")
    replied_at: Mapped[datetime | None]
    replied_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    consultation = relationship("Consultation", lazy="joined")
    replied_by = relationship("User")

    @property
    def poor(self) -> bool:
        """Whether this is a poor rating (差评), which an administrator answers."""
        return self.level <= POOR_AT_MOST
