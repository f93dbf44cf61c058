"""Consultation records, their edit history, and the follow-up of open matters (跟踪)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from legalaid.bookings.models import CONSENT_WAYS
from legalaid.crypto import Encrypted, EncryptedJSON
from legalaid.dates import now_utc
from legalaid.extensions import Model

OUTCOMES = ("advice", "legal_aid", "mediation", "counselling", "drafting", "referral", "petition")
OPEN, IN_PROGRESS, CLOSED = "open", "in_progress", "closed"
MATTER_STATES = (OPEN, IN_PROGRESS, CLOSED)
RESULTS = ("resolved", "legal_aid_granted", "mediation_agreement", "referred", "withdrawn", "unresolved")
MILESTONES = ("submitted", "accepted", "lawyer_assigned", "concluded")


class Consultation(Model):
    """What happened when a veteran saw the duty lawyer (咨询记录)."""

    __tablename__ = "consultations"
    __table_args__ = (
        # One index for each filter of the consultation log (reports feature), date second.
        sa.Index("ix_consultations_station_on", "station_id", "held_on"),
        sa.Index("ix_consultations_held_on_id", "held_on", "id"),  # the log's order
        sa.Index("ix_consultations_lawyer_on", "lawyer_id", "held_on"),
        sa.Index("ix_consultations_category_on", "category", "held_on"),
        sa.Index("ix_consultations_channel_on", "channel", "held_on"),
        sa.CheckConstraint(
            f"consent_how IS NULL OR consent_how IN {CONSENT_WAYS!r}",
            name="consent_how_known",
        ),
        # Free text over the summary: trigrams on PostgreSQL (SQLite scans).
        sa.Index(
            "ix_consultations_summary_trgm",
            "summary",
            postgresql_using="gin",
            postgresql_ops={"summary": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("stations.id", ondelete="RESTRICT"))
    shift_id: Mapped[int | None] = mapped_column(sa.ForeignKey("duty_shifts.id", ondelete="SET NULL"))
    lawyer_id: Mapped[int] = mapped_column(sa.ForeignKey("lawyers.id", ondelete="RESTRICT"))
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    booking_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("bookings.id", ondelete="SET NULL"), unique=True
    )
    walkin_id: Mapped[int | None] = mapped_column(sa.ForeignKey("walk_ins.id", ondelete="SET NULL"))
    veteran_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("veterans.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(30), default="")
    held_on: Mapped[date]
    # How the person came: the booking's channel, or walk-in (counted in reports without a join).
    channel: Mapped[str] = mapped_column(sa.String(10), default="walkin")
    category: Mapped[str] = mapped_column(sa.String(30))
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    advice: Mapped[str] = mapped_column(sa.Text, default="")
    # Kept apart: shown only to its author and to administrators.
    counselling_notes: Mapped[str] = mapped_column(Encrypted, default="")  # stored encrypted
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(default=now_utc, onupdate=now_utc)
    # Texts, name, earlier versions and its matter's notes erased; what the reports count stays.
    erased_at: Mapped[datetime | None]
    # Consent of someone who came without a booking or number, the notice read out by the lawyer
    # (a booking's or a walk-in's consent is kept on it).
    consent_at: Mapped[datetime | None]
    consent_how: Mapped[str | None] = mapped_column(sa.String(10))
    consent_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    lawyer = relationship("Lawyer", lazy="joined")
    matter: Mapped[Matter | None] = relationship(back_populates="consultation", uselist=False)
    outcome_rows: Mapped[list[ConsultationOutcome]] = relationship(
        order_by="ConsultationOutcome.position", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def outcomes(self) -> list[str]:
        """The outcome codes, in the order they were given."""
        return [row.outcome for row in self.outcome_rows]

    @outcomes.setter
    def outcomes(self, codes: list[str]) -> None:
        self.outcome_rows = [ConsultationOutcome(outcome=code, position=i) for i, code in enumerate(codes)]


class ConsultationOutcome(Model):
    """One outcome of a consultation: a row each, so the log filters and the statistics count in SQL."""

    __tablename__ = "consultation_outcomes"
    __table_args__ = (
        sa.CheckConstraint(f"outcome IN {OUTCOMES!r}", name="outcome_known"),
        sa.Index("ix_consultation_outcomes_outcome", "outcome", "consultation_id"),
    )

    consultation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("consultations.id", ondelete="CASCADE"), primary_key=True
    )
    outcome: Mapped[str] = mapped_column(sa.String(12), primary_key=True)
    position: Mapped[int] = mapped_column(sa.SmallInteger, default=0)


class ConsultationVersion(Model):
    """An earlier text of a consultation record, kept when it is corrected."""

    __tablename__ = "consultation_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("consultations.id", ondelete="CASCADE"), index=True
    )
    saved_at: Mapped[datetime] = mapped_column(default=now_utc)
    saved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    data: Mapped[dict] = mapped_column(EncryptedJSON)  # may hold counselling notes: encrypted


class Matter(Model):
    """An open matter followed until it is settled: owner, due date, notes, result, and the
    administrator who leads it (领导包案) beside the lawyer who handles it, if any."""

    __tablename__ = "matters"
    __table_args__ = (
        sa.CheckConstraint(f"status IN {MATTER_STATES!r}", name="status_known"),
        sa.CheckConstraint("status <> 'closed' OR result IS NOT NULL", name="closed_has_result"),
        sa.CheckConstraint("money_saved IS NULL OR money_saved >= 0", name="money_not_negative"),
        sa.Index("ix_matters_owner_status", "owner_id", "status"),
        sa.Index("ix_matters_leader_status", "leader_id", "status"),
        sa.Index("ix_matters_station_status_due", "station_id", "status", "due_on"),
        sa.Index("ix_matters_status_due", "status", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("consultations.id", ondelete="CASCADE"), unique=True
    )
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("stations.id", ondelete="RESTRICT"))
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    # 领导包案: the leader follows the matter; the owner keeps working it. A removed account lets go.
    leader_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(sa.String(12), default=OPEN)
    due_on: Mapped[date]
    result: Mapped[str | None] = mapped_column(sa.String(24))
    money_saved: Mapped[int | None]  # yuan (挽回损失)
    closed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    consultation: Mapped[Consultation] = relationship(back_populates="matter", lazy="joined")
    owner = relationship("User", foreign_keys=[owner_id], lazy="joined")
    leader = relationship("User", foreign_keys=[leader_id], lazy="joined")
    notes: Mapped[list[MatterNote]] = relationship(order_by="MatterNote.at", cascade="all, delete-orphan")


class MatterNote(Model):
    """A step in a matter's timeline: a note, or a legal-aid milestone with its date."""

    __tablename__ = "matter_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    matter_id: Mapped[int] = mapped_column(sa.ForeignKey("matters.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=now_utc)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(sa.Text, default="")
    milestone: Mapped[str | None] = mapped_column(sa.String(20))
    milestone_on: Mapped[date | None]

    author = relationship("User")
