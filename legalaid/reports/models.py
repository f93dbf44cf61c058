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


# -- summary tables (issue 15): figures per station and month, recomputed from the raw rows --------------
#
# Never written by hand: legalaid.reports.summaries recomputes the rows of every (station, month) a
# transaction touched, inside that transaction, and `flask report rebuild-summaries` rebuilds them all.

OUTCOME_CODES = ("advice", "legal_aid", "mediation", "counselling", "drafting", "referral", "petition")
CHANNEL_CODES = ("kiosk", "online", "walkin", "hotline", "phone", "staff")
LEVEL_CODES = (1, 2, 3, 4, 5)


def _counts(prefix: str, codes: tuple) -> dict[str, sa.Column]:
    return {
        f"{prefix}{code}": sa.Column(f"{prefix}{code}", sa.Integer, nullable=False, default=0)
        for code in codes
    }


class ReportMonth(Model):
    """A station's month of consultations: by channel, outcome and rating level; the follow-ups opened
    from them."""

    __tablename__ = "report_months"

    station_id: Mapped[int] = mapped_column(
        sa.ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True
    )
    month_on: Mapped[date] = mapped_column(primary_key=True)
    consultations: Mapped[int] = mapped_column(default=0)
    locals().update(_counts("ch_", CHANNEL_CODES))
    locals().update(_counts("out_", OUTCOME_CODES))
    locals().update(_counts("rated_", LEVEL_CODES))
    poor_answered: Mapped[int] = mapped_column(default=0)
    matters_opened: Mapped[int] = mapped_column(default=0)
    matters_closed: Mapped[int] = mapped_column(default=0)
    matters_solved: Mapped[int] = mapped_column(default=0)
    mediation_agreements: Mapped[int] = mapped_column(default=0)
    money_saved: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    legal_aid_accepted: Mapped[int] = mapped_column(default=0)
    legal_aid_concluded: Mapped[int] = mapped_column(default=0)


class ReportLawyerMonth(Model):
    """A lawyer's month at a station: consultations, outcomes, ratings and follow-ups closed."""

    __tablename__ = "report_lawyer_months"
    __table_args__ = (sa.Index("ix_report_lawyer_months_month_on", "month_on"),)

    station_id: Mapped[int] = mapped_column(
        sa.ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True
    )
    month_on: Mapped[date] = mapped_column(primary_key=True)
    lawyer_id: Mapped[int] = mapped_column(sa.ForeignKey("lawyers.id", ondelete="CASCADE"), primary_key=True)
    consultations: Mapped[int] = mapped_column(default=0)
    locals().update(_counts("out_", OUTCOME_CODES))
    locals().update(_counts("rated_", LEVEL_CODES))
    poor_answered: Mapped[int] = mapped_column(default=0)
    matters_closed: Mapped[int] = mapped_column(default=0)


class ReportCategoryMonth(Model):
    """A station's consultations of a month in one matter category."""

    __tablename__ = "report_category_months"
    # Covering: a province's year of all stations is read from the index alone (PostgreSQL).
    __table_args__ = (
        sa.Index(
            "ix_report_category_months_month_on", "month_on", "category", postgresql_include=["consultations"]
        ),
    )

    station_id: Mapped[int] = mapped_column(
        sa.ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True
    )
    month_on: Mapped[date] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(sa.String(30), primary_key=True)
    consultations: Mapped[int] = mapped_column(default=0)


class ReportCloseDays(Model):
    """How many of a station's month's matters closed after so many tenths of a day (for the median)."""

    __tablename__ = "report_close_days"
    # Covering: a province's year of all stations is read from the index alone (PostgreSQL).
    __table_args__ = (
        sa.Index("ix_report_close_days_month_on", "month_on", "tenths", postgresql_include=["matters"]),
    )

    station_id: Mapped[int] = mapped_column(
        sa.ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True
    )
    month_on: Mapped[date] = mapped_column(primary_key=True)
    tenths: Mapped[int] = mapped_column(primary_key=True)
    matters: Mapped[int] = mapped_column(default=0)


class ReportOpenMatter(Model):
    """Matters still open from a station's month of consultations, by lawyer and due date (few rows:
    "overdue" is then counted against any day without reading the matters)."""

    __tablename__ = "report_open_matters"
    __table_args__ = (sa.Index("ix_report_open_matters_month_on", "month_on"),)

    station_id: Mapped[int] = mapped_column(
        sa.ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True
    )
    month_on: Mapped[date] = mapped_column(primary_key=True)
    lawyer_id: Mapped[int] = mapped_column(sa.ForeignKey("lawyers.id", ondelete="CASCADE"), primary_key=True)
    due_on: Mapped[date] = mapped_column(primary_key=True)
    matters: Mapped[int] = mapped_column(default=0)


class ReportVisitMonth(Model):
    """A station's month of duty days: bookings (not cancelled) by channel, no-shows, walk-in numbers."""

    __tablename__ = "report_visit_months"

    station_id: Mapped[int] = mapped_column(
        sa.ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True
    )
    month_on: Mapped[date] = mapped_column(primary_key=True)
    locals().update(_counts("bk_", CHANNEL_CODES))
    no_shows: Mapped[int] = mapped_column(default=0)
    due: Mapped[int] = mapped_column(default=0)
    walkins: Mapped[int] = mapped_column(default=0)


class ReportYear(Model):
    """Persons and matters of a year by the counting rule, at one station (scope = its id) or at all
    (scope 0): a person counts once, so these cannot be summed from months."""

    __tablename__ = "report_years"

    scope: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    persons: Mapped[int] = mapped_column(default=0)
    matters: Mapped[int] = mapped_column(default=0)


class ReportVersion(Model):
    """How often a station's summary rows changed. Figures read from the summaries are kept in memory
    under the sum of these (legalaid.reports.services._kept): raised in the transaction that changes
    the rows, so it becomes visible with them, and a figure kept is never one change behind."""

    __tablename__ = "report_versions"

    station_id: Mapped[int] = mapped_column(
        sa.ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    version: Mapped[int] = mapped_column(sa.BigInteger, default=0)


def _persons_index() -> sa.Index:
    """The year's persons and matters by the counting rule, read from the index alone (no table rows)."""
    from legalaid.consultations.models import Consultation

    return sa.Index(
        "ix_consultations_held_on_veteran_id_category",
        Consultation.held_on,
        Consultation.veteran_id,
        Consultation.category,
    )


# Declared here, beside the summaries that need it: ReportYear's recomputation counts distinct people.
PERSONS_INDEX = _persons_index()
