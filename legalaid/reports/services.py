"""Every figure the administration reads, counted in SQL: the consultation log, statistics, lawyer
performance, the annual report and the monthly review.

The counting rule (PRODUCT.md), the same on the pages, in the exports and on the command line:
every visit is one consultation (人次); a person's visits about the same matter category are one matter
(事项); a person is counted once however often they came. A person is known by their veteran record (one
per mobile number); a visitor who left no mobile number counts as a person and a matter of their own.
Follow-up figures are those of the matters opened from the period's consultations, as they stand now.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import aliased

from legalaid import audit, cache
from legalaid.auth.models import User
from legalaid.bookings.models import (
    CANCELLED,
    CHECKED_IN,
    COMPLETED,
    NO_SHOW,
    WALKIN,
    Booking,
    Veteran,
    WalkIn,
)
from legalaid.bookings.validation import clean_prose
from legalaid.consultations.models import (
    CLOSED,
    IN_PROGRESS,
    OPEN,
    OUTCOMES,
    Consultation,
    ConsultationOutcome,
    Matter,
    MatterNote,
)
from legalaid.dates import local_day_bounds, local_today
from legalaid.db import read_ahead
from legalaid.errors import InvalidInput
from legalaid.extensions import db
from legalaid.lawyers.models import LawFirm, Lawyer
from legalaid.ratings import services as ratings
from legalaid.ratings.services import RatingCounts, RatingReport
from legalaid.reports import summaries
from legalaid.reports.models import (
    CHANNEL_CODES,
    LEVEL_CODES,
    MonthlyReview,
    ReportCategoryMonth,
    ReportCloseDays,
    ReportLawyerMonth,
    ReportMonth,
    ReportOpenMatter,
    ReportVisitMonth,
    ReportYear,
)
from legalaid.roster.models import DutyShift
from legalaid.stations.models import Station
from legalaid.swaps.models import APPROVED, SwapRequest

# Follow-up stages a consultation shows in the log; exactly one each.
NONE, OVERDUE = "none", "overdue"
STAGES = (NONE, OPEN, IN_PROGRESS, OVERDUE, CLOSED)
# Closing results that mean the problem was solved (the rest: referred, withdrawn, unresolved).
SOLVED_RESULTS = ("resolved", "legal_aid_granted", "mediation_agreement")
# Channels as the annual report groups them: the desk takes telephone and counter bookings.
CHANNEL_GROUPS = {
    "kiosk": ("kiosk",),
    "online": ("online",),
    "desk": ("phone", "staff"),
    "hotline": ("hotline",),
    "walkin": (WALKIN,),
}
SORTS = {
    "date": (Consultation.held_on, Consultation.id),
    "station": (Station.name, Consultation.held_on, Consultation.id),
    "lawyer": (Lawyer.name, Consultation.held_on, Consultation.id),
    "category": (Consultation.category, Consultation.held_on, Consultation.id),
    "channel": (Consultation.channel, Consultation.held_on, Consultation.id),
}


# -- the consultation log -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LogFilter:
    """What the administrator narrows the log to; every field is optional."""

    station_id: int | None = None
    start_on: date | None = None
    end_on: date | None = None
    lawyer_id: int | None = None
    category: str | None = None
    outcome: str | None = None
    stage: str | None = None
    channel: str | None = None
    text: str | None = None
    sort: str = "date"
    descending: bool = True

    def as_details(self) -> dict[str, Any]:
        """The filter as plain values for the audit log (no free text: it may hold a name)."""
        values = {k: v for k, v in self.__dict__.items() if v not in (None, "") and k != "text"}
        if self.text:
            values["text"] = True
        return {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}


@dataclass(frozen=True)
class LogRow:
    """One consultation as the log and the exports show it."""

    id: int
    held_on: date
    station: str
    lawyer: str
    name: str
    mobile: str | None
    channel: str
    category: str
    outcomes: tuple[str, ...]
    stage: str
    due_on: date | None
    result: str | None
    money_saved: int | None
    matter_id: int | None


@dataclass
class Page:
    """One page of log rows, with what the pager needs."""

    items: list[LogRow]
    page: int
    per_page: int
    total: int
    exact: bool = True  # False: there are more than `total` rows, not counted to the end

    @property
    def pages(self) -> int:
        """How many pages there are (when the total is exact)."""
        return max(1, -(-self.total // self.per_page))

    @property
    def has_next(self) -> bool:
        """Whether a page follows this one."""
        return self.page < self.pages if self.exact else len(self.items) == self.per_page


def _stage_expr(today: date) -> sa.ColumnElement[str]:
    return sa.case(
        (Matter.id.is_(None), NONE),
        (Matter.status == CLOSED, CLOSED),
        (Matter.due_on < today, OVERDUE),
        else_=Matter.status,
    )


def _log_query(criteria: LogFilter, today: date) -> sa.Select:
    outcomes = (
        sa.select(sa.func.aggregate_strings(ConsultationOutcome.outcome, ","))
        .where(ConsultationOutcome.consultation_id == Consultation.id)
        .scalar_subquery()
    )
    query = (
        sa.select(
            Consultation.id,
            Consultation.held_on,
            Station.name.label("station"),
            Lawyer.name.label("lawyer"),
            Consultation.name,
            Veteran.mobile,
            Consultation.channel,
            Consultation.category,
            outcomes.label("outcomes"),
            _stage_expr(today).label("stage"),
            Matter.due_on,
            Matter.result,
            Matter.money_saved,
            Matter.id.label("matter_id"),
        )
        .select_from(Consultation)
        .join(Station, Station.id == Consultation.station_id)
        .join(Lawyer, Lawyer.id == Consultation.lawyer_id)
        .outerjoin(Veteran, Veteran.id == Consultation.veteran_id)
        .outerjoin(Matter, Matter.consultation_id == Consultation.id)
    )
    return _filtered(query, criteria, today)


def _filtered(query: sa.Select, c: LogFilter, today: date) -> sa.Select:
    if c.station_id is not None:
        query = query.where(Consultation.station_id == c.station_id)
    if c.start_on is not None:
        query = query.where(Consultation.held_on >= c.start_on)
    if c.end_on is not None:
        query = query.where(Consultation.held_on <= c.end_on)
    if c.lawyer_id is not None:
        query = query.where(Consultation.lawyer_id == c.lawyer_id)
    if c.category:
        query = query.where(Consultation.category == c.category)
    if c.channel:
        query = query.where(Consultation.channel == c.channel)
    if c.outcome:
        query = query.where(
            sa.exists().where(
                ConsultationOutcome.consultation_id == Consultation.id,
                ConsultationOutcome.outcome == c.outcome,
            )
        )
    if c.stage == NONE:
        query = query.where(Matter.id.is_(None))
    elif c.stage == CLOSED:
        query = query.where(Matter.status == CLOSED)
    elif c.stage == OVERDUE:
        query = query.where(Matter.status != CLOSED, Matter.due_on < today)
    elif c.stage in (OPEN, IN_PROGRESS):
        query = query.where(Matter.status == c.stage, Matter.due_on >= today)
    if c.text:
        query = query.where(Consultation.summary.contains(c.text, autoescape=True))
    return query


@functools.lru_cache(maxsize=256)
def _outcome_codes(joined: str | None) -> tuple[str, ...]:
    """The outcomes of a row, in their order, from the database's comma-joined codes (a few dozen
    combinations: read once each, not once for each of an export's 100,000 rows)."""
    codes = set((joined or "").split(","))
    return tuple(code for code in OUTCOMES if code in codes)


def _row(values: sa.Row) -> LogRow:
    # By position (the columns of `_log_query`, in order): reading fourteen fields by name was a fifth of
    # a 100,000-row export's time.
    (id_, held_on, station, lawyer, name, mobile, channel, category, outcomes, stage, due_on, result,
     money_saved, matter_id) = values  # fmt: skip
    return LogRow(
        id_, held_on, station, lawyer, name, mobile, channel, category, _outcome_codes(outcomes), stage,
        due_on, result, money_saved, matter_id,
    )  # fmt: skip


def _today(station_id: int | None) -> date:
    def read() -> str | None:
        return db.session.scalar(sa.select(Station.timezone).where(Station.id == station_id))

    # The station's time zone is kept as its sessions are (cache.memo; a change of it drops it).
    return local_today(cache.memo(("station-timezone", station_id), read) if station_id else None)


# Beyond this many rows a filter the summaries cannot count is shown as "more than": counting a
# million rows for a pager costs more than the page itself.
COUNT_CAP = 10_000


def _month_counts(c: LogFilter) -> list[tuple[date, int]] | None:
    """The filtered log's rows per month, from the summary tables, when they can tell: dates none or
    whole months, and at most one of lawyer, category, channel and outcome beside the station."""
    aligned = (c.start_on is None or c.start_on.day == 1) and (
        c.end_on is None or (c.end_on + timedelta(days=1)).day == 1
    )
    chosen = [v for v in (c.lawyer_id, c.category, c.channel, c.outcome) if v]
    if not aligned or c.stage or c.text or len(chosen) > 1:
        return None
    model: Any = ReportMonth
    column: Any = ReportMonth.consultations
    where: list[sa.ColumnElement[bool]] = []
    if c.lawyer_id:
        model, column = ReportLawyerMonth, ReportLawyerMonth.consultations
        where.append(ReportLawyerMonth.lawyer_id == c.lawyer_id)
    elif c.category:
        model, column = ReportCategoryMonth, ReportCategoryMonth.consultations
        where.append(ReportCategoryMonth.category == c.category)
    elif c.channel:
        if c.channel not in CHANNEL_CODES:
            return None
        column = ReportMonth.__table__.c[f"ch_{c.channel}"]
    elif c.outcome:
        if c.outcome not in OUTCOMES:
            return None
        column = ReportMonth.__table__.c[f"out_{c.outcome}"]
    if c.station_id is not None:
        where.append(model.station_id == c.station_id)
    if c.start_on is not None:
        where.append(model.month_on >= c.start_on)
    if c.end_on is not None:
        where.append(model.month_on <= c.end_on)
    query = sa.select(model.month_on, sa.func.sum(column)).where(*where).group_by(model.month_on)

    def read() -> list[tuple[date, int]]:
        return [(month, int(n)) for month, n in db.session.execute(query.order_by(model.month_on)) if n]

    counted = (c.station_id, c.start_on, c.end_on, c.lawyer_id, c.category, c.channel, c.outcome)
    return _kept("log-months", c.station_id, read, *counted)


@dataclass(frozen=True)
class _Seek:
    """Where a page in date order is found: a bound on the day, the rows to skip past it, and the order."""

    bound: sa.ColumnElement[bool]
    skip: int
    take: int
    backwards: bool = False  # walked from the month's other end (the page's ids come reversed)


def _seek(months: list[tuple[date, int]], offset: int, per_page: int, descending: bool) -> _Seek:
    """Where a page at `offset` in date order starts: a bound on the day and the rows to skip past it
    (at most half a month's), so a deep page costs what a first page does.

    A page in the later half of its month is walked to from the month's other end (the "Last" page
    of the whole log most of all), when it lies within the month or the month is the last one."""
    walk = list(reversed(months)) if descending else months
    seen = 0
    for index, (month, n) in enumerate(walk):
        if offset < seen + n:
            skip = offset - seen
            left = n - skip  # the month's rows from the page's first on
            first_day, last_day = month_bounds(month)
            if skip > n // 2 and (left >= per_page or index == len(walk) - 1):
                take = min(per_page, left)
                within = sa.and_(Consultation.held_on >= first_day, Consultation.held_on <= last_day)
                return _Seek(within, left - take, take, backwards=True)
            if descending:
                return _Seek(Consultation.held_on <= last_day, skip, per_page)
            return _Seek(Consultation.held_on >= first_day, skip, per_page)
        seen += n
    return _Seek(sa.false(), 0, per_page)


def search_log(criteria: LogFilter, page: int = 1, per_page: int = 50, today: date | None = None) -> Page:
    """One page of the log, in the chosen order; ties broken by id so pages never overlap.

    The total comes from the summary tables when they can count the filter (exact), or from a count
    that stops past COUNT_CAP rows (then `exact` is False); a deep page in date order starts at its
    month, found from the same monthly counts, instead of stepping over every row before it."""
    today = today or _today(criteria.station_id)
    months = _month_counts(criteria)
    if months is not None:
        total, exact = sum(n for _m, n in months), True
    else:
        counted = sa.select(sa.literal(1)).select_from(Consultation)
        if criteria.stage:
            counted = counted.outerjoin(Matter, Matter.consultation_id == Consultation.id)
        capped = _filtered(counted, criteria, today).limit(COUNT_CAP + 1)
        total = _count(sa.select(sa.func.count()).select_from(capped.subquery()))
        exact = total <= COUNT_CAP
        total = min(total, COUNT_CAP)
    columns = SORTS.get(criteria.sort, SORTS["date"])
    if exact:
        page = max(1, min(page, -(-total // per_page) or 1))
    offset = (page - 1) * per_page
    # The page's ids first, from the consultations (and what the filter and order need) alone: rows
    # stepped over are then index entries, not joined rows with their outcomes.
    ids = _filtered(sa.select(Consultation.id).select_from(Consultation), criteria, today)
    if criteria.stage:
        ids = ids.outerjoin(Matter, Matter.consultation_id == Consultation.id)
    if criteria.sort == "station":
        ids = ids.join(Station, Station.id == Consultation.station_id)
    elif criteria.sort == "lawyer":
        ids = ids.join(Lawyer, Lawyer.id == Consultation.lawyer_id)
    seek = _Seek(sa.true(), offset, per_page)
    if months is not None and criteria.sort == "date":
        seek = _seek(months, offset, per_page, criteria.descending)
    descending = criteria.descending != seek.backwards
    ids = ids.where(seek.bound).order_by(*(col.desc() if descending else col.asc() for col in columns))
    chosen = list(db.session.scalars(ids.limit(seek.take).offset(seek.skip)))
    # Then those rows by their ids alone: the filter again would lead PostgreSQL to find them through it.
    query = _log_query(LogFilter(), today).where(Consultation.id.in_(chosen))
    query = query.order_by(*(col.desc() if criteria.descending else col.asc() for col in columns))
    rows: Iterable[Any] = db.session.execute(query) if chosen else []
    return Page([_row(r) for r in rows], page, per_page, total, exact)


def iter_log(criteria: LogFilter, today: date | None = None, batch: int = 1000) -> Iterator[LogRow]:
    """Every row of the filtered log, streamed from the database in batches (for exports)."""
    today = today or _today(criteria.station_id)
    columns = SORTS.get(criteria.sort, SORTS["date"])
    query = _log_query(criteria, today).order_by(
        *(col.desc() if criteria.descending else col.asc() for col in columns)
    )
    if criteria.sort != "date":
        for values in db.session.execute(query.execution_options(yield_per=batch)):
            yield _row(values)
        return
    # In date order, batch after batch from where the last one ended (keyset): each batch is a short
    # walk down the (date, id) index, where one cursor over the whole log would sort a million joined rows.
    def batches() -> Iterator[Sequence[sa.Row]]:
        after: tuple[date, int] | None = None
        while True:
            page = query
            if after is not None:
                day = after[0]
                if criteria.descending:
                    page = page.where(
                        Consultation.held_on <= day, sa.tuple_(Consultation.held_on, Consultation.id) < after
                    )
                else:
                    page = page.where(
                        Consultation.held_on >= day, sa.tuple_(Consultation.held_on, Consultation.id) > after
                    )
            rows = db.session.execute(page.limit(batch)).all()
            yield rows
            if len(rows) < batch:
                return
            after = (rows[-1].held_on, rows[-1].id)

    # Read ahead on PostgreSQL, whose server works on the next batch on its own core. (SQLite reads in
    # this process; and its tests' rows may not be committed yet, which another connection cannot see.)
    for rows in read_ahead(batches) if db.engine.dialect.name == "postgresql" else batches():
        for values in rows:
            yield _row(values)


# -- figures shared by the statistics, the annual report and the monthly review -----------------------


# A column in a condition: a mapped attribute or any SQL expression.
Column = sa.ColumnElement[Any] | sa.orm.QueryableAttribute[Any]


@dataclass(frozen=True)
class Period:
    """Which consultations a figure counts: a date range, at one station or at all."""

    start_on: date
    end_on: date
    station_id: int | None = None

    def held(self, column: Column = Consultation.held_on) -> sa.ColumnElement[bool]:
        """The condition on a date column and on the station."""
        return sa.and_(column >= self.start_on, column <= self.end_on)

    def consultations(self) -> sa.ColumnElement[bool]:
        """The condition that picks the period's consultations."""
        cond = self.held()
        if self.station_id is not None:
            cond = sa.and_(cond, Consultation.station_id == self.station_id)
        return cond

    @property
    def whole_months(self) -> bool:
        """Whether the period is whole months, which the summary tables answer."""
        return self.start_on.day == 1 and (self.end_on + timedelta(days=1)).day == 1

    def months(self, model: Any) -> sa.ColumnElement[bool]:
        """The condition that picks a summary table's rows of the period."""
        cond = sa.and_(model.month_on >= self.start_on, model.month_on <= self.end_on)
        if self.station_id is not None:
            cond = sa.and_(cond, model.station_id == self.station_id)
        return cond

    def shifts(self) -> sa.ColumnElement[bool]:
        """The condition that picks the period's duty shifts (not those released when a day closed)."""
        cond = sa.and_(self.held(DutyShift.duty_on), DutyShift.released_at.is_(None))
        if self.station_id is not None:
            cond = sa.and_(cond, DutyShift.station_id == self.station_id)
        return cond


def _count(query: sa.Select) -> int:
    return int(db.session.scalar(query) or 0)


def _grouped(column: Column, where: sa.ColumnElement[bool], *joins: tuple) -> dict:
    query = sa.select(column, sa.func.count()).select_from(Consultation)
    for target, on in joins:
        query = query.join(target, on)
    rows = db.session.execute(query.where(where).group_by(column))
    return {key: int(n) for key, n in rows}


def outcome_counts(period: Period) -> dict[str, int]:
    """How many of the period's consultations had each outcome (every outcome listed, 0 included)."""
    if period.whole_months:
        return _outcomes_of(_month_sums(period).total)
    counts = _grouped(
        ConsultationOutcome.outcome,
        period.consultations(),
        (ConsultationOutcome, ConsultationOutcome.consultation_id == Consultation.id),
    )
    return {code: counts.get(code, 0) for code in OUTCOMES}


def people_and_matters(period: Period) -> tuple[int, int]:
    """(persons, matters) of the period by the counting rule: a person once; a person's category once."""
    start, end = period.start_on, period.end_on
    if (start.month, start.day, end.month, end.day) == (1, 1, 12, 31) and start.year == end.year:
        return _kept("persons", period.station_id, lambda: _persons_read(period), period)
    return people_and_matters_live(period)


def _persons_read(period: Period) -> tuple[int, int]:
    row = db.session.execute(
        sa.select(ReportYear.persons, ReportYear.matters).where(
            ReportYear.scope == (period.station_id or 0), ReportYear.year == period.start_on.year
        )
    ).first()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def people_and_matters_live(period: Period) -> tuple[int, int]:
    """(persons, matters) counted from the raw rows."""
    where = period.consultations()
    known = sa.select(sa.func.count(sa.distinct(Consultation.veteran_id))).where(
        where, Consultation.veteran_id.is_not(None)
    )
    unknown = _count(
        sa.select(sa.func.count()).select_from(Consultation).where(where, Consultation.veteran_id.is_(None))
    )
    pairs = (
        sa.select(Consultation.veteran_id, Consultation.category)
        .where(where, Consultation.veteran_id.is_not(None))
        .distinct()
        .subquery()
    )
    matters = _count(sa.select(sa.func.count()).select_from(pairs))
    return _count(known) + unknown, matters + unknown


def _days_to_close() -> sa.ColumnElement[Any]:
    if db.engine.dialect.name == "postgresql":
        return sa.extract("epoch", Matter.closed_at - Matter.created_at) / 86400.0
    return sa.func.julianday(Matter.closed_at) - sa.func.julianday(Matter.created_at)


@dataclass
class FollowUps:
    """The matters opened from a period's consultations, as they stand on `today`."""

    opened: int = 0
    open: int = 0
    overdue: int = 0
    closed: int = 0
    solved: int = 0
    median_days_to_close: float | None = None
    money_saved: int = 0
    legal_aid_accepted: int = 0
    legal_aid_concluded: int = 0
    mediation_agreements: int = 0


def follow_ups(period: Period, today: date) -> FollowUps:
    """Opened, open, overdue and closed matters; median days to close; money recovered or saved."""
    if period.whole_months:
        return _follow_ups_of(period, today, _month_sums(period).total)
    base = (
        sa.select(Matter.id)
        .join(Consultation, Consultation.id == Matter.consultation_id)
        .where(period.consultations())
    )
    ids = base.subquery()
    in_period = Matter.id.in_(sa.select(ids.c.id))
    row = db.session.execute(
        sa.select(
            sa.func.count(),
            sa.func.count().filter(Matter.status != CLOSED),
            sa.func.count().filter(Matter.status != CLOSED, Matter.due_on < today),
            sa.func.count().filter(Matter.status == CLOSED),
            sa.func.count().filter(Matter.result.in_(SOLVED_RESULTS)),
            sa.func.count().filter(Matter.result == "mediation_agreement"),
            sa.func.coalesce(sa.func.sum(Matter.money_saved), 0),
        ).where(in_period)
    ).one()
    figures = FollowUps(*(int(v) for v in row[:4]))
    figures.solved, figures.mediation_agreements = int(row[4] or 0), int(row[5] or 0)
    figures.money_saved = int(row[6] or 0)
    figures.median_days_to_close = _median(
        sa.select(_days_to_close().label("days")).where(in_period, Matter.status == CLOSED), figures.closed
    )
    # Legal aid: the centre accepted it (a milestone, or the matter closed as granted), or concluded it.
    accepted = sa.select(MatterNote.matter_id).where(MatterNote.milestone.in_(("accepted", "concluded")))
    figures.legal_aid_accepted = _count(
        sa.select(sa.func.count()).where(
            in_period, sa.or_(Matter.id.in_(accepted), Matter.result == "legal_aid_granted")
        )
    )
    concluded = sa.select(MatterNote.matter_id).where(MatterNote.milestone == "concluded")
    figures.legal_aid_concluded = _count(
        sa.select(sa.func.count()).where(in_period, Matter.id.in_(concluded))
    )
    return figures


def _median(query: sa.Select, n: int) -> float | None:
    """The median of a one-column query with n rows, by ordering in the database (portable)."""
    if n == 0:
        return None
    sub = query.subquery()
    middle = db.session.scalars(
        sa.select(sub.c.days).order_by(sub.c.days).limit(2 - n % 2).offset((n - 1) // 2)
    ).all()
    return round(sum(float(v) for v in middle) / len(middle), 1)


@dataclass
class Visits:
    """Bookings and walk-ins of a period's duty days."""

    bookings: int = 0
    no_shows: int = 0
    due: int = 0  # bookings whose time came: completed, checked in or not come
    walkins: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)

    @property
    def no_show_rate(self) -> float | None:
        """Share of the bookings whose time came that nobody came for."""
        return round(100.0 * self.no_shows / self.due, 1) if self.due else None


def visits(period: Period) -> Visits:
    """Bookings (not cancelled) by channel, no-shows, and walk-in numbers given out."""
    if period.whole_months:
        return _visits_of(period)
    rows = db.session.execute(
        sa.select(Booking.channel, Booking.status, sa.func.count())
        .join(DutyShift, DutyShift.id == Booking.shift_id)
        .where(period.shifts(), Booking.status != CANCELLED)
        .group_by(Booking.channel, Booking.status)
    )
    result = Visits(by_channel={group: 0 for group in CHANNEL_GROUPS})
    for channel, status, n in rows:
        result.bookings += n
        if status == NO_SHOW:
            result.no_shows += n
        if status in (NO_SHOW, COMPLETED, CHECKED_IN):
            result.due += n
        group = next((g for g, members in CHANNEL_GROUPS.items() if channel in members), "desk")
        result.by_channel[group] += n
    walkin_where = period.held(WalkIn.day)
    if period.station_id is not None:
        walkin_where = sa.and_(walkin_where, WalkIn.station_id == period.station_id)
    result.walkins = _count(sa.select(sa.func.count()).select_from(WalkIn).where(walkin_where))
    result.by_channel["walkin"] += result.walkins
    return result


# -- statistics ---------------------------------------------------------------------------------------


@dataclass
class Statistics:
    """The statistics page's figures for a period."""

    period: Period
    consultations: int
    by_month: list[tuple[date, int]]
    by_category: dict[str, int]
    by_outcome: dict[str, int]
    by_lawyer: list[tuple[str, int]]
    by_channel: dict[str, int]
    visits: Visits
    follow_ups: FollowUps
    ratings: RatingReport | None = None  # 好差评, counted in the month of the consultation rated


def months_between(start: date, end: date) -> list[date]:
    """The first day of every month from start's to end's."""
    months, month = [], start.replace(day=1)
    while month <= end:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return months


def statistics(period: Period, today: date | None = None) -> Statistics:
    """Consultations per month, category, outcome, lawyer and channel; bookings; follow-ups."""
    today = today or _today(period.station_id)
    if period.whole_months:
        return _statistics_of(period, today)
    return statistics_live(period, today)


def statistics_live(period: Period, today: date) -> Statistics:
    """The statistics counted from the raw rows (a period that is not whole months)."""
    where = period.consultations()
    year, month = sa.extract("year", Consultation.held_on), sa.extract("month", Consultation.held_on)
    monthly = {
        (int(y), int(m)): int(n)
        for y, m, n in db.session.execute(
            sa.select(year, month, sa.func.count()).where(where).group_by(year, month)
        )
    }
    lawyers = db.session.execute(
        sa.select(Lawyer.name, sa.func.count())
        .select_from(Consultation)
        .join(Lawyer, Lawyer.id == Consultation.lawyer_id)
        .where(where)
        .group_by(Lawyer.id, Lawyer.name)
        .order_by(sa.func.count().desc(), Lawyer.name)
    )
    by_month = [
        (m, monthly.get((m.year, m.month), 0)) for m in months_between(period.start_on, period.end_on)
    ]
    categories = _grouped(Consultation.category, where)
    return Statistics(
        period=period,
        consultations=sum(n for _m, n in by_month),
        by_month=by_month,
        by_category=dict(sorted(categories.items(), key=lambda kv: -kv[1])),
        by_outcome=outcome_counts(period),
        by_lawyer=[(name, int(n)) for name, n in lawyers],
        by_channel=_grouped(Consultation.channel, where),
        visits=visits(period),
        follow_ups=follow_ups(period, today),
        ratings=ratings.report(where, [m for m, _n in by_month]),
    )


# -- lawyer performance (合同履约) --------------------------------------------------------------------


@dataclass
class LawyerFigures:
    """One lawyer's record over a period, as the bureau reviews it when a contract is renewed."""

    lawyer_id: int
    name: str
    firm: str
    scheduled: int = 0
    attended: int = 0
    missed: int = 0
    swapped_away: int = 0
    taken_over: int = 0
    consultations: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    follow_ups_closed: int = 0
    follow_ups_overdue: int = 0
    ratings: RatingCounts = field(default_factory=RatingCounts)  # 好差评 of their consultations


_NAMES_BY_ID = 100  # up to this many lawyers met, their names are read by id


def lawyer_performance(period: Period, today: date | None = None, live: bool = False) -> list[LawyerFigures]:
    """Shifts scheduled, attended, missed, swapped away and taken over; consultations, outcomes and
    follow-ups of every lawyer who had a shift or a consultation in the period (from the summary tables
    for whole months, unless `live` asks for a count of the raw rows)."""
    today = today or _today(period.station_id)
    figures: dict[int, LawyerFigures] = {}

    def of(lawyer_id: int) -> LawyerFigures:
        # Names are filled in at the end, with one query for every lawyer met. Made only when first met
        # (not `setdefault`, which made and dropped a row for every shift, swap and sum of a lawyer).
        row = figures.get(lawyer_id)
        if row is None:
            row = figures[lawyer_id] = LawyerFigures(lawyer_id, "", "")
        return row

    shifts = db.session.execute(
        sa.select(
            DutyShift.lawyer_id,
            sa.func.count(),
            sa.func.count(DutyShift.checked_in_at),
            sa.func.count().filter(DutyShift.checked_in_at.is_(None), DutyShift.duty_on < today),
        )
        .where(period.shifts())
        .group_by(DutyShift.lawyer_id)
    )
    for lawyer_id, scheduled, attended, missed in shifts:
        row = of(lawyer_id)
        row.scheduled, row.attended, row.missed = int(scheduled), int(attended), int(missed)
    # The period's approved swaps are few (a few hundred a year in a province): read once, counted here.
    for away, taken in db.session.execute(
        sa.select(SwapRequest.from_lawyer_id, SwapRequest.accepted_by_id)
        .join(DutyShift, DutyShift.id == SwapRequest.shift_id)
        .where(period.shifts(), SwapRequest.status == APPROVED)
    ):
        if away is not None:
            of(away).swapped_away += 1
        if taken is not None:
            of(taken).taken_over += 1
    where = period.consultations()
    if period.whole_months and not live:
        _lawyer_figures_of(period, today, of)
    else:
        _lawyer_figures_live(where, today, of)
    # A province meets most of its thousand lawyers in a period, and a thousand ids bound one by one cost
    # more than reading every name; a station's period meets a few, read by id.
    names_query = sa.select(Lawyer.id, Lawyer.name, LawFirm.name).join(LawFirm, LawFirm.id == Lawyer.firm_id)
    if len(figures) <= _NAMES_BY_ID:
        names_query = names_query.where(Lawyer.id.in_(figures))
    names = db.session.execute(names_query) if figures else ()
    for lawyer_id, name, firm in names:
        if lawyer_id in figures:
            figures[lawyer_id].name, figures[lawyer_id].firm = name, firm
    return sorted(figures.values(), key=lambda r: r.name)


def _lawyer_figures_live(where: sa.ColumnElement[bool], today: date, of: Any) -> None:
    for lawyer_id, n in db.session.execute(
        sa.select(Consultation.lawyer_id, sa.func.count()).where(where).group_by(Consultation.lawyer_id)
    ):
        of(lawyer_id).consultations = int(n)
    for lawyer_id, counts in ratings.counts_by_lawyer(where).items():
        of(lawyer_id).ratings = counts
    for lawyer_id, code, n in db.session.execute(
        sa.select(Consultation.lawyer_id, ConsultationOutcome.outcome, sa.func.count())
        .join(ConsultationOutcome, ConsultationOutcome.consultation_id == Consultation.id)
        .where(where)
        .group_by(Consultation.lawyer_id, ConsultationOutcome.outcome)
    ):
        of(lawyer_id).outcomes[code] = int(n)
    for lawyer_id, closed, overdue in db.session.execute(
        sa.select(
            Consultation.lawyer_id,
            sa.func.count().filter(Matter.status == CLOSED),
            sa.func.count().filter(Matter.status != CLOSED, Matter.due_on < today),
        )
        .join(Matter, Matter.consultation_id == Consultation.id)
        .where(where)
        .group_by(Consultation.lawyer_id)
    ):
        row = of(lawyer_id)
        row.follow_ups_closed, row.follow_ups_overdue = int(closed), int(overdue)


# -- the annual report (年度报告) ---------------------------------------------------------------------


def annual_report(year: int, station_id: int | None = None, today: date | None = None) -> dict[str, Any]:
    """The figures a bureau writes into its yearly report, as plain values (the page, the XLSX and
    `flask report annual` all print this)."""
    today = today or _today(station_id)
    period = Period(date(year, 1, 1), date(year, 12, 31), station_id)
    station = db.session.get(Station, station_id) if station_id else None
    held = period.shifts()
    shifts = db.session.execute(
        sa.select(
            sa.func.count().filter(DutyShift.duty_on <= today),
            sa.func.count(DutyShift.checked_in_at),
            sa.func.count(sa.distinct(DutyShift.lawyer_id)),
        ).where(held)
    ).one()
    sums = _month_sums(period)
    consultations = sums.total["consultations"]
    persons, matters = people_and_matters(period)
    outcomes = _outcomes_of(sums.total)
    follow = _follow_ups_of(period, today, sums.total)
    seen = visits(period)
    return {
        "year": year,
        "station": station.name if station else None,
        "station_id": station_id,
        "as_of": today.isoformat(),
        "duty_days_held": int(shifts[0]),
        "duty_days_attended": int(shifts[1]),
        "lawyers_on_roster": int(shifts[2]),
        "consultations": consultations,
        "persons": persons,
        "matters": matters,
        "outcomes": outcomes,
        "legal_aid_accepted": follow.legal_aid_accepted,
        "legal_aid_concluded": follow.legal_aid_concluded,
        "mediation_agreements": follow.mediation_agreements,
        "follow_ups_opened": follow.opened,
        "problems_solved": follow.solved,
        "closed_otherwise": follow.closed - follow.solved,
        "still_open": follow.open,
        "overdue": follow.overdue,
        "money_saved": follow.money_saved,
        "bookings": seen.bookings,
        "no_shows": seen.no_shows,
        "by_channel": seen.by_channel,
        "ratings": _ratings_of(period, sums).as_dict(),
    }


# -- figures read from the summary tables (legalaid.reports.summaries) ---------------------------------
#
# A period of whole months (the statistics' default, the annual report, the monthly review) is read from
# the summary tables, kept exactly right in every transaction; any other period is counted from the raw
# rows. What depends on today (matters open and overdue now, shifts missed) is always counted live, from
# the few open matters and the shifts.

_SUMMED = [c for c in ReportMonth.__table__.c if c.name not in ("station_id", "month_on")]
_LAWYER_SUMMED = [
    c for c in ReportLawyerMonth.__table__.c if c.name not in ("station_id", "month_on", "lawyer_id")
]


T = TypeVar("T")


def _kept(name: str, station_id: int | None, make: Callable[[], T], *key: Hashable) -> T:
    """Figures read from the summary tables, kept in memory (`cache.memo`) under the summaries' version:
    a change to any of their rows, in this process or another, makes the next reader read them again.
    A province's year of a hundred stations is thousands of summary rows to add up; the figures change
    about once a minute, and are read far more often."""
    summaries.refresh(db.session)
    version = summaries.version(db.session, station_id)
    if version is None:  # this transaction changed them: what it reads is its own
        return make()
    return cache.memo(("report", station_id, name, version, *key), make)


@dataclass
class MonthSums:
    """The summary columns of a period, per month and in all."""

    by_month: dict[date, dict[str, int]]
    total: dict[str, int]


def _month_sums(period: Period) -> MonthSums:
    return _kept("months", period.station_id, lambda: _month_sums_read(period), period)


def _month_sums_read(period: Period) -> MonthSums:
    rows = db.session.execute(
        sa.select(ReportMonth.month_on, *(sa.func.sum(c).label(c.name) for c in _SUMMED))
        .where(period.months(ReportMonth))
        .group_by(ReportMonth.month_on)
    )
    by_month: dict[date, dict[str, int]] = {}
    total = dict.fromkeys((c.name for c in _SUMMED), 0)
    names = [c.name for c in _SUMMED]
    for row in rows:
        values = dict(zip(names, (int(v or 0) for v in row[1:]), strict=True))
        by_month[row[0]] = values
        for name, n in values.items():
            total[name] += n
    return MonthSums(by_month, total)


def _outcomes_of(total: dict[str, int]) -> dict[str, int]:
    return {code: total[f"out_{code}"] for code in OUTCOMES}


def _ratings_counts(values: dict[str, int]) -> RatingCounts:
    counts = RatingCounts()
    for level in LEVEL_CODES:
        counts.levels[level] = values[f"rated_{level}"]
    counts.answered = values["poor_answered"]
    return counts


def _open_matters(period: Period, today: date, *keys: Any) -> sa.Select:
    """Matters of the period's consultations still open, and those overdue on `today`."""
    return sa.select(
        *keys,
        sa.func.coalesce(sa.func.sum(ReportOpenMatter.matters), 0),
        sa.func.coalesce(
            sa.func.sum(sa.case((ReportOpenMatter.due_on < today, ReportOpenMatter.matters), else_=0)), 0
        ),
    ).where(period.months(ReportOpenMatter))


def _follow_ups_of(period: Period, today: date, total: dict[str, int]) -> FollowUps:
    open_now, overdue, histogram = _kept(
        "follow-ups", period.station_id, lambda: _follow_up_reads(period, today), period, today
    )
    figures = FollowUps(
        opened=total["matters_opened"],
        open=open_now,
        overdue=overdue,
        closed=total["matters_closed"],
        solved=total["matters_solved"],
        money_saved=total["money_saved"],
        legal_aid_accepted=total["legal_aid_accepted"],
        legal_aid_concluded=total["legal_aid_concluded"],
        mediation_agreements=total["mediation_agreements"],
    )
    figures.median_days_to_close = _histogram_median(histogram)
    return figures


def _follow_up_reads(period: Period, today: date) -> tuple[int, int, list[tuple[int, int]]]:
    """Matters open and overdue on `today`, and the days-to-close histogram."""
    open_now, overdue = db.session.execute(_open_matters(period, today)).one()
    histogram = db.session.execute(
        sa.select(ReportCloseDays.tenths, sa.func.sum(ReportCloseDays.matters))
        .where(period.months(ReportCloseDays))
        .group_by(ReportCloseDays.tenths)
        .order_by(ReportCloseDays.tenths)
    ).all()
    return int(open_now), int(overdue), [(int(t), int(n)) for t, n in histogram]


def _histogram_median(histogram: list[tuple[int, int]]) -> float | None:
    """The median of values given as (tenths of a day, how many), in tenths' order."""
    n = sum(count for _t, count in histogram)
    if n == 0:
        return None
    wanted, middle, seen = {(n - 1) // 2, n // 2}, [], 0
    for tenths, count in histogram:
        for index in sorted(wanted):
            if seen <= index < seen + count:
                middle.append(tenths / 10)
        seen += count
    return round(sum(middle) / len(middle), 1)


def _visits_of(period: Period) -> Visits:
    kept = _kept("visits", period.station_id, lambda: _visits_read(period), period)
    return replace(kept, by_channel=dict(kept.by_channel))  # the caller's own


def _visits_read(period: Period) -> Visits:
    columns = [c for c in ReportVisitMonth.__table__.c if c.name not in ("station_id", "month_on")]
    row = (
        db.session.execute(
            sa.select(*(sa.func.coalesce(sa.func.sum(c), 0).label(c.name) for c in columns)).where(
                period.months(ReportVisitMonth)
            )
        )
        .one()
        ._mapping
    )
    result = Visits(by_channel={group: 0 for group in CHANNEL_GROUPS})
    for channel in CHANNEL_CODES:
        n = int(row[f"bk_{channel}"])
        result.bookings += n
        group = next((g for g, members in CHANNEL_GROUPS.items() if channel in members), "desk")
        result.by_channel[group] += n
    result.no_shows, result.due = int(row["no_shows"]), int(row["due"])
    result.walkins = int(row["walkins"])
    result.by_channel["walkin"] += result.walkins
    return result


def _lawyer_sums(period: Period) -> tuple[dict[int, dict[str, int]], dict[int, str]]:
    """Each lawyer's summed figures over the period, and their names (joined: a province has a
    thousand lawyers, and a second query for their names by id cost as much as the sums)."""
    return _kept("lawyers", period.station_id, lambda: _lawyer_sums_read(period), period)


def _lawyer_sums_read(period: Period) -> tuple[dict[int, dict[str, int]], dict[int, str]]:
    rows = db.session.execute(
        sa.select(
            ReportLawyerMonth.lawyer_id, Lawyer.name, *(sa.func.sum(c).label(c.name) for c in _LAWYER_SUMMED)
        )
        .join(Lawyer, Lawyer.id == ReportLawyerMonth.lawyer_id)
        .where(period.months(ReportLawyerMonth))
        .group_by(ReportLawyerMonth.lawyer_id, Lawyer.name)
    )
    columns = [c.name for c in _LAWYER_SUMMED]
    sums: dict[int, dict[str, int]] = {}
    names: dict[int, str] = {}
    for row in rows:
        sums[row[0]] = dict(zip(columns, (int(v or 0) for v in row[2:]), strict=True))
        names[row[0]] = row[1]
    return sums, names


def _ratings_of(
    period: Period, sums: MonthSums, lawyers: tuple[dict[int, dict[str, int]], dict[int, str]] | None = None
) -> RatingReport:
    figures, names = _lawyer_sums(period) if lawyers is None else lawyers
    rated = {i: _ratings_counts(v) for i, v in figures.items()}
    rated = {i: c for i, c in rated.items() if c.total}
    zero = dict.fromkeys((c.name for c in _SUMMED), 0)
    return RatingReport(
        _ratings_counts(sums.total),
        [
            (m, _ratings_counts(sums.by_month.get(m, zero)))
            for m in months_between(period.start_on, period.end_on)
        ],
        sorted(((i, names.get(i, ""), c) for i, c in rated.items()), key=lambda row: row[1]),
    )


def _statistics_of(period: Period, today: date) -> Statistics:
    sums = _month_sums(period)
    lawyers = _lawyer_sums(period)
    figures, names = lawyers
    by_lawyer = sorted(
        ((names.get(i, ""), v["consultations"]) for i, v in figures.items() if v["consultations"]),
        key=lambda row: (-row[1], row[0]),
    )
    categories = _kept("categories", period.station_id, lambda: _category_sums(period), period)
    by_month = [
        (m, sums.by_month.get(m, {}).get("consultations", 0))
        for m in months_between(period.start_on, period.end_on)
    ]
    return Statistics(
        period=period,
        consultations=sums.total["consultations"],
        by_month=by_month,
        by_category=dict(sorted(((c, int(n)) for c, n in categories if n), key=lambda kv: -kv[1])),
        by_outcome=_outcomes_of(sums.total),
        by_lawyer=by_lawyer,
        by_channel={c: sums.total[f"ch_{c}"] for c in CHANNEL_CODES if sums.total[f"ch_{c}"]},
        visits=_visits_of(period),
        follow_ups=_follow_ups_of(period, today, sums.total),
        ratings=_ratings_of(period, sums, lawyers),
    )


def _category_sums(period: Period) -> list[tuple[str, int]]:
    return [
        (category, int(n or 0))
        for category, n in db.session.execute(
            sa.select(ReportCategoryMonth.category, sa.func.sum(ReportCategoryMonth.consultations))
            .where(period.months(ReportCategoryMonth))
            .group_by(ReportCategoryMonth.category)
        )
    ]


def _lawyer_figures_of(period: Period, today: date, of: Any) -> None:
    for lawyer_id, values in _lawyer_sums(period)[0].items():
        row = of(lawyer_id)
        row.consultations = values["consultations"]
        row.outcomes = {code: values[f"out_{code}"] for code in OUTCOMES}
        row.ratings = _ratings_counts(values)
        row.follow_ups_closed = values["matters_closed"]
        if not row.ratings.total:
            row.ratings = RatingCounts()
    overdue = _kept(
        "lawyers-overdue", period.station_id, lambda: _overdue_by_lawyer(period, today), period, today
    )
    for lawyer_id, n in overdue:
        of(lawyer_id).follow_ups_overdue = n


def _overdue_by_lawyer(period: Period, today: date) -> list[tuple[int, int]]:
    return [
        (lawyer_id, int(overdue))
        for lawyer_id, _open, overdue in db.session.execute(
            _open_matters(period, today, ReportOpenMatter.lawyer_id).group_by(ReportOpenMatter.lawyer_id)
        )
    ]


# -- the monthly review (每月研判) --------------------------------------------------------------------


def month_bounds(month: date) -> tuple[date, date]:
    """The first and last day of the month that `month` falls in."""
    first = month.replace(day=1)
    return first, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)


@dataclass
class OverdueMatter:
    """An overdue matter in the review's list: who holds it and for how long it has been overdue."""

    id: int
    name: str
    category: str
    owner: str
    due_on: date
    days_overdue: int
    leader: str = ""  # 领导包案: the administrator who leads it, if any


@dataclass
class LedMatter:
    """A matter under 领导包案 in the review's list: its leader beside the lawyer who handles it."""

    id: int
    name: str
    category: str
    owner: str
    leader: str
    status: str
    due_on: date
    days_overdue: int  # 0 when not overdue
    result: str | None = None


@dataclass
class MonthFigures:
    """A station's month for the review, next to the month before."""

    month: date
    consultations: int
    previous_consultations: int
    new_matters: int
    previous_new_matters: int
    outcomes: dict[str, int]
    previous_outcomes: dict[str, int]
    still_open: int
    overdue: list[OverdueMatter]
    # Matters under 领导包案: those still open today, and those closed during the month.
    led: list[LedMatter] = field(default_factory=list)


def _new_matters(period: Period) -> int:
    return _count(
        sa.select(sa.func.count())
        .select_from(Matter)
        .join(Consultation, Consultation.id == Matter.consultation_id)
        .where(period.consultations())
    )


def month_figures(station_id: int, month: date, today: date | None = None) -> MonthFigures:
    """The month's consultations, new matters and outcomes against the month before; the station's
    matters still open and overdue on `today`, with owner, leader and days overdue; and its matters
    under 领导包案 (open today, or closed in the month) with their leader."""
    today = today or _today(station_id)
    first, last = month_bounds(month)
    before = Period(*month_bounds(first - timedelta(days=1)), station_id)
    period = Period(first, last, station_id)
    count = sa.select(sa.func.count()).select_from(Consultation)
    open_matters = sa.and_(Matter.station_id == station_id, Matter.status != CLOSED)
    owner, leader = aliased(User), aliased(User)
    listed = (
        sa.select(
            Matter.id,
            Consultation.name,
            Consultation.category,
            owner.display_name,
            sa.func.coalesce(leader.display_name, ""),
            Matter.status,
            Matter.due_on,
            Matter.result,
        )
        .join(Consultation, Consultation.id == Matter.consultation_id)
        .join(owner, owner.id == Matter.owner_id)
        .outerjoin(leader, leader.id == Matter.leader_id)
        .order_by(Matter.due_on, Matter.id)
    )
    overdue = db.session.execute(listed.where(open_matters, Matter.due_on < today))
    station = db.session.get(Station, station_id)
    tz = station.timezone if station else None
    closed_in_month = sa.and_(
        Matter.status == CLOSED,
        Matter.closed_at >= local_day_bounds(first, tz)[0],
        Matter.closed_at < local_day_bounds(last, tz)[1],
    )
    led = db.session.execute(
        listed.where(
            Matter.station_id == station_id,
            Matter.leader_id.is_not(None),
            sa.or_(Matter.status != CLOSED, closed_in_month),
        )
    )

    def late(status: str, due: date) -> int:
        return max((today - due).days, 0) if status != CLOSED else 0

    return MonthFigures(
        month=first,
        consultations=_count(count.where(period.consultations())),
        previous_consultations=_count(count.where(before.consultations())),
        new_matters=_new_matters(period),
        previous_new_matters=_new_matters(before),
        outcomes=outcome_counts(period),
        previous_outcomes=outcome_counts(before),
        still_open=_count(sa.select(sa.func.count()).select_from(Matter).where(open_matters)),
        overdue=[
            OverdueMatter(mid, name, category, who, due, (today - due).days, lead)
            for mid, name, category, who, lead, _status, due, _result in overdue
        ],
        led=[
            LedMatter(mid, name, category, who, lead, status, due, late(status, due), result)
            for mid, name, category, who, lead, status, due, result in led
        ],
    )


@dataclass
class ReviewRecord:
    """What the administrator writes about the review meeting."""

    held_on: date
    attendees: str
    conclusions: str
    actions: str = ""


def get_review(station_id: int, month: date) -> MonthlyReview | None:
    """The saved record of a month's review meeting, if any."""
    return db.session.scalar(
        sa.select(MonthlyReview).where(
            MonthlyReview.station_id == station_id, MonthlyReview.month_on == month.replace(day=1)
        )
    )


def save_review(station: Station, month: date, record: ReviewRecord, user: User) -> MonthlyReview:
    """Record (or correct) the month's review meeting; audited. Flushes."""
    first = month.replace(day=1)
    if record.held_on < first:
        raise InvalidInput(_("The meeting cannot be held before the month it reviews."), field="held_on")
    attendees = clean_prose(record.attendees)[:500]
    conclusions = clean_prose(record.conclusions)[:4000]
    if not attendees:
        raise InvalidInput(_("Write who attended."), field="attendees")
    if not conclusions:
        raise InvalidInput(_("Write what the meeting concluded."), field="conclusions")
    review = get_review(station.id, first)
    if review is None:
        review = MonthlyReview(station_id=station.id, month_on=first)
        db.session.add(review)
    review.held_on, review.attendees, review.conclusions = record.held_on, attendees, conclusions
    review.actions, review.recorded_by_id = clean_prose(record.actions)[:4000], user.id
    db.session.flush()
    audit.record("review.save", review, details={"month": f"{first:%Y-%m}"}, station_id=station.id)
    return review


@dataclass
class KeyFigures:
    """This month at a glance, for an administrator's start page."""

    month: date
    consultations: int
    previous_consultations: int
    new_matters: int
    open_matters: int
    overdue_matters: int
    bookings_ahead: int


def key_figures(today: date, station_id: int | None = None) -> KeyFigures:
    """This month's consultations (and last month's), new matters, matters open and overdue now, and
    the bookings still to come."""
    first, last = month_bounds(today)
    before = Period(*month_bounds(first - timedelta(days=1)), station_id)
    period = Period(first, last, station_id)
    count = sa.select(sa.func.count()).select_from(Consultation)
    matters = sa.select(
        sa.func.count().filter(Matter.status != CLOSED),
        sa.func.count().filter(Matter.status != CLOSED, Matter.due_on < today),
    )
    if station_id is not None:
        matters = matters.where(Matter.station_id == station_id)
    open_now, overdue_now = db.session.execute(matters).one()
    ahead = Period(today, date(2100, 12, 31), station_id)
    bookings = (
        sa.select(sa.func.count())
        .select_from(Booking)
        .join(DutyShift, DutyShift.id == Booking.shift_id)
        .where(ahead.shifts(), Booking.status.in_(("booked", CHECKED_IN)))
    )
    return KeyFigures(
        month=first,
        consultations=_count(count.where(period.consultations())),
        previous_consultations=_count(count.where(before.consultations())),
        new_matters=_new_matters(period),
        open_matters=int(open_now),
        overdue_matters=int(overdue_now),
        bookings_ahead=_count(bookings),
    )
