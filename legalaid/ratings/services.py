"""Rating a consultation once (kiosk or phone link), flagging poor ratings, replying, and the counts the
reports print.

Rules: only a consultation that was recorded can be rated, within `RATING_DAYS` of the day it was held,
once (the database's unique constraint decides between two submits that arrive together); a rating of
不满意 or 非常不满意 is poor (差评): the administrators are told and one of them records a reply.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from legalaid import audit
from legalaid.auth.models import User
from legalaid.bookings.models import COMPLETED, Booking
from legalaid.bookings.validation import clean_prose
from legalaid.consultations.models import Consultation
from legalaid.dates import local_today, now_utc
from legalaid.db import get_by_id
from legalaid.errors import InvalidInput, NotAllowed
from legalaid.extensions import db
from legalaid.lawyers.models import Lawyer
from legalaid.ratings import notices
from legalaid.ratings.links import RATING_DAYS
from legalaid.ratings.models import (
    GOOD_REASONS,
    LEVELS,
    POOR_AT_MOST,
    POOR_REASONS,
    RATING_CHANNELS,
    SATISFIED_FROM,
    Rating,
)
from legalaid.stations.models import Station

COMMENT_MAX = 500
REPLY_MAX = 2000
# The administrators' list filters.
ALL, POOR, UNANSWERED = "all", "poor", "unanswered"
FILTERS = (UNANSWERED, POOR, ALL)


class AlreadyRated(NotAllowed):
    """The consultation has its rating already: one per consultation."""


# -- who may rate what ----------------------------------------------------------------------------------


def reasons_for(level: int) -> tuple[str, ...]:
    """The reasons offered with a level: what went well, or what went wrong."""
    return POOR_REASONS if level <= POOR_AT_MOST else GOOD_REASONS


def rating_of(consultation: Consultation) -> Rating | None:
    """The consultation's rating, if it has one."""
    return db.session.scalar(sa.select(Rating).where(Rating.consultation_id == consultation.id))


def why_not(consultation: Consultation | None, today: date | None = None) -> str | None:
    """Why this consultation cannot be rated now (in words), or None when it can."""
    if consultation is None:
        return _("There is no record of this consultation.")
    if consultation.erased_at is not None:
        return _("This consultation can no longer be rated.")
    today = today or station_today(consultation.station_id)
    if consultation.held_on > today:
        return _("This consultation has not taken place yet.")
    if consultation.held_on < today - timedelta(days=RATING_DAYS):
        return _(
            "A consultation can be rated for %(days)s days; this one can no longer be rated.",
            days=RATING_DAYS,
        )
    if rating_of(consultation) is not None:
        return _("This consultation has already been rated. Thank you.")
    return None


def consultation_of_booking(booking: Booking | None) -> Consultation | None:
    """The consultation recorded for a booking, once the booking is completed."""
    if booking is None or booking.status != COMPLETED:
        return None
    return db.session.scalar(sa.select(Consultation).where(Consultation.booking_id == booking.id))


def booking_can_be_rated(booking: Booking | None) -> bool:
    """Whether the kiosk offers to rate this booking's consultation (held, recorded, not yet rated)."""
    consultation = consultation_of_booking(booking)
    return consultation is not None and why_not(consultation) is None


# -- rating ---------------------------------------------------------------------------------------------


def check_level(level: Any) -> int:
    """The level as a number 1–5, or InvalidInput."""
    try:
        value = int(level)
    except (TypeError, ValueError):
        value = 0
    if value not in LEVELS:
        raise InvalidInput(_("Choose how satisfied you are."), field="level")
    return value


def rate(
    consultation: Consultation,
    level: Any,
    reasons: Iterable[str] = (),
    comment: str = "",
    channel: str = "kiosk",
    now: datetime | None = None,
) -> Rating:
    """Record the veteran's rating, once per consultation; a poor one is flagged to the administrators.

    Reasons that do not go with the level (ticked, then another level chosen) are left out."""
    now = now or now_utc()
    if channel not in RATING_CHANNELS:
        raise ValueError(f"unknown rating channel {channel!r}")
    value = check_level(level)
    refusal = why_not(consultation)
    if refusal:
        raise AlreadyRated(refusal) if rating_of(consultation) else NotAllowed(refusal)
    offered = reasons_for(value)
    chosen = [code for code in offered if code in set(reasons or ())]
    text = clean_prose(comment)
    if len(text) > COMMENT_MAX:
        raise InvalidInput(
            _("Please keep the comment under %(n)s characters.", n=COMMENT_MAX), field="comment"
        )
    rating = Rating(
        consultation_id=consultation.id,
        level=value,
        reasons=chosen,
        comment=text,
        channel=channel,
        rated_at=now,
        reply="",
    )
    # The unique constraint decides: of two submits arriving together, the second is refused here, in
    # a savepoint, so the request's other work stays intact.
    try:
        with db.session.begin_nested():
            db.session.add(rating)
            db.session.flush()
    except IntegrityError:
        raise AlreadyRated(_("This consultation has already been rated. Thank you.")) from None
    audit.record(
        "rating.give",
        rating,
        details={"level": value, "channel": channel, "consultation": consultation.id},
        station_id=consultation.station_id,
    )
    if rating.poor:
        notices.on_poor_rating(rating, now)
    db.session.flush()
    return rating


def reply(rating: Rating, user: User, text: str, now: datetime | None = None) -> Rating:
    """An administrator records the reply to a poor rating (who and when); audited; once."""
    now = now or now_utc()
    text = clean_prose(text)
    if not text:
        raise InvalidInput(_("Write the reply: what was done about this rating."), field="reply")
    if len(text) > REPLY_MAX:
        raise InvalidInput(_("Please keep the reply under %(n)s characters.", n=REPLY_MAX), field="reply")
    changed = db.session.execute(
        sa.update(Rating)
        .where(Rating.id == rating.id, Rating.replied_at.is_(None))
        .values(reply=text, replied_at=now, replied_by_id=user.id)
        .execution_options(synchronize_session=False)
    )
    if not changed.rowcount:  # type: ignore[attr-defined]
        raise NotAllowed(_("This rating has been answered already."))
    db.session.refresh(rating)
    audit.record(
        "rating.reply", rating, details={"level": rating.level}, station_id=rating.consultation.station_id
    )
    return rating


# -- the administrators' list ---------------------------------------------------------------------------


def get(rating_id: int) -> Rating | None:
    """The rating with this id, if any."""
    return get_by_id(Rating, rating_id)


def flagged_count() -> int:
    """How many poor ratings wait for a reply (the administrators' badge)."""
    return int(
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Rating)
            .where(Rating.level <= POOR_AT_MOST, Rating.replied_at.is_(None))
        )
        or 0
    )


def search(which: str = ALL, station_id: int | None = None, limit: int = 200) -> list[Rating]:
    """Ratings newest first: all, the poor ones, or the poor ones without a reply; at one station."""
    # The consultations by key once the rows are known (joined, the database joined before it limited);
    # the level written into the statement, so the partial indexes of the poor ratings apply.
    query = (
        sa.select(Rating)
        .join(Consultation, Consultation.id == Rating.consultation_id)
        .options(
            # Only what the list shows: the day and the lawyer, not the record's encrypted texts.
            selectinload(Rating.consultation)
            .load_only(Consultation.held_on, Consultation.lawyer_id)
            .lazyload(Consultation.outcome_rows)
        )
    )
    if which in (POOR, UNANSWERED):
        query = query.where(Rating.level <= sa.literal(POOR_AT_MOST, literal_execute=True))
    if which == UNANSWERED:
        query = query.where(Rating.replied_at.is_(None))
    if station_id is not None:
        query = query.where(Consultation.station_id == station_id)
    return list(db.session.scalars(query.order_by(Rating.rated_at.desc(), Rating.id.desc()).limit(limit)))


# -- the counts for the reports ---------------------------------------------------------------------------


@dataclass
class RatingCounts:
    """Ratings counted by level, with the share satisfied (基本满意 or better) and the poor ones."""

    levels: dict[int, int] = field(default_factory=lambda: dict.fromkeys(LEVELS, 0))
    answered: int = 0  # poor ratings with a reply

    @property
    def total(self) -> int:
        """All ratings counted."""
        return sum(self.levels.values())

    @property
    def satisfied(self) -> int:
        """Ratings of 基本满意 or better."""
        return sum(n for level, n in self.levels.items() if level >= SATISFIED_FROM)

    @property
    def poor(self) -> int:
        """Ratings of 不满意 or 非常不满意 (差评)."""
        return sum(n for level, n in self.levels.items() if level <= POOR_AT_MOST)

    @property
    def satisfied_share(self) -> float | None:
        """满意率 in per cent, one decimal; None when nothing was rated."""
        return round(100.0 * self.satisfied / self.total, 1) if self.total else None

    def as_dict(self) -> dict[str, Any]:
        """Plain values for the JSON of `flask report annual`."""
        return {
            "total": self.total,
            "levels": {str(level): n for level, n in self.levels.items()},
            "satisfied": self.satisfied,
            "satisfied_share": self.satisfied_share,
            "poor": self.poor,
            "poor_answered": self.answered,
        }


@dataclass
class RatingReport:
    """A period's ratings: in all, per month of the consultation, and per lawyer."""

    overall: RatingCounts
    by_month: list[tuple[date, RatingCounts]]
    by_lawyer: list[tuple[int, str, RatingCounts]]

    def as_dict(self) -> dict[str, Any]:
        """Plain values for the JSON of `flask report annual`."""
        return {
            **self.overall.as_dict(),
            "by_month": [{"month": f"{m:%Y-%m}", **c.as_dict()} for m, c in self.by_month],
            "by_lawyer": [{"lawyer": name, **c.as_dict()} for _id, name, c in self.by_lawyer],
        }


def _rows(where: sa.ColumnElement[bool], *keys: Any) -> list[sa.Row]:
    answered = sa.func.count().filter(Rating.level <= POOR_AT_MOST, Rating.replied_at.is_not(None))
    query = (
        sa.select(*keys, Rating.level, sa.func.count(), answered)
        .select_from(Rating)
        .join(Consultation, Consultation.id == Rating.consultation_id)
        .where(where)
        .group_by(*keys, Rating.level)
    )
    return list(db.session.execute(query))


def _add(counts: RatingCounts, level: int, n: int, answered: int) -> None:
    counts.levels[int(level)] += int(n)
    counts.answered += int(answered or 0)


def report(where: sa.ColumnElement[bool], months: list[date]) -> RatingReport:
    """Count the ratings of the consultations `where` picks (a rating counts in its consultation's month)."""
    overall = RatingCounts()
    for level, n, answered in _rows(where):
        _add(overall, level, n, answered)
    year, month = sa.extract("year", Consultation.held_on), sa.extract("month", Consultation.held_on)
    monthly = {m: RatingCounts() for m in months}
    for y, mo, level, n, answered in _rows(where, year, month):
        key = date(int(y), int(mo), 1)
        if key in monthly:
            _add(monthly[key], level, n, answered)
    lawyers = counts_by_lawyer(where)
    query = sa.select(Lawyer.id, Lawyer.name).where(Lawyer.id.in_(list(lawyers)))
    names = {lawyer_id: name for lawyer_id, name in db.session.execute(query)}
    by_lawyer = sorted(((i, names.get(i, ""), c) for i, c in lawyers.items()), key=lambda row: row[1])
    return RatingReport(overall, list(monthly.items()), by_lawyer)


def counts_by_lawyer(where: sa.ColumnElement[bool]) -> dict[int, RatingCounts]:
    """Each lawyer's rating counts over the consultations `where` picks (the lawyer performance page)."""
    lawyers: dict[int, RatingCounts] = {}
    for lawyer_id, level, n, answered in _rows(where, Consultation.lawyer_id):
        _add(lawyers.setdefault(lawyer_id, RatingCounts()), level, n, answered)
    return lawyers


def station_today(station_id: int | None) -> date:
    """Today where the station is (the server's own date is wrong before 08:00 in Beijing)."""
    station = db.session.get(Station, station_id) if station_id else None
    return local_today(station.timezone if station else None)


def own_counts(lawyer: Lawyer, year: int) -> dict[str, Any]:
    """A lawyer's ratings of the year per month (RatingReport.as_dict(), their own row only)."""
    start, end = date(year, 1, 1), date(year, 12, 31)
    where = sa.and_(
        Consultation.lawyer_id == lawyer.id, Consultation.held_on >= start, Consultation.held_on <= end
    )
    months = [date(year, month, 1) for month in range(1, 13)]
    return report(where, months).as_dict()
