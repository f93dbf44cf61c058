"""Summary tables kept exactly right: the figures of every (station, month) a transaction touched are
recomputed from the raw rows inside that same transaction, just before it commits.

Why recompute and not add and subtract: a recomputed row cannot drift, whatever path changed the raw
rows. Every path is seen: the ORM's flushes (`after_flush`: new, changed and deleted objects, with
their old keys), bulk `UPDATE`/`DELETE` statements through the session (`do_orm_execute`: the rows they
hit are read first), and paths that bypass the session altogether (the data generator, migrations)
call `rebuild_all()`. Readers call `refresh()` first, so figures read inside a transaction that has
not committed yet are right too.

On PostgreSQL each (station, month) is recomputed under a transaction-level advisory lock taken just
before it: a second transaction touching the same month waits for the first to commit, and then reads
its rows (READ COMMITTED gives each statement a fresh snapshot), so the last to commit counts all.

A new booking is the one change made hundreds of times a second in a rush, each holding the day's
places until it commits: its month is not recomputed but counted up, by one upsert under the same lock
(its channel, and whether it is due or a no-show). It is exact for the same reason: the row it adds to
is exact, and nobody else changes it until this transaction commits. Any other change of that month in
the same transaction (a move, a cancellation, a walk-in) makes it recomputed instead.

Each station's version (`report_versions`) is raised in the transaction that recomputes its rows, so a
figure kept in memory under the versions read (`legalaid.reports.services._kept`) is never one change
behind, whichever process or host made the change.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import date
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, scoped_session

from legalaid.bookings.models import CANCELLED, CHECKED_IN, COMPLETED, NO_SHOW, Booking, WalkIn
from legalaid.consultations.models import (
    CLOSED,
    IN_PROGRESS,
    OPEN,
    Consultation,
    ConsultationOutcome,
    Matter,
    MatterNote,
)
from legalaid.ratings.models import POOR_AT_MOST, Rating
from legalaid.reports.models import (
    CHANNEL_CODES,
    LEVEL_CODES,
    OUTCOME_CODES,
    ReportCategoryMonth,
    ReportCloseDays,
    ReportLawyerMonth,
    ReportMonth,
    ReportOpenMatter,
    ReportVersion,
    ReportVisitMonth,
    ReportYear,
)
from legalaid.roster.models import DutyShift
from legalaid.stations.models import Station

# What a key names: a station's month of consultations, of duty days (bookings, walk-ins), or a year
# of persons (scope = the station, and 0 for all stations).
CONSULTED, VISITED, PERSONS = "c", "v", "y"
Key = tuple[str, int, int, int]  # (family, station or scope, year, month; 0 for a year key)

SOLVED_RESULTS = ("resolved", "legal_aid_granted", "mediation_agreement")
# Columns whose change moves a figure; other changes (texts, erasure, call times) leave figures alone.
COUNTED = {
    "consultations": {"station_id", "held_on", "lawyer_id", "category", "channel", "veteran_id"},
    "consultation_outcomes": {"outcome", "consultation_id"},
    "ratings": {"level", "replied_at", "consultation_id"},
    "matters": {"status", "result", "money_saved", "closed_at", "created_at", "consultation_id"},
    "matter_notes": {"milestone", "matter_id"},
    "bookings": {"status", "channel", "shift_id"},
    "duty_shifts": {"station_id", "duty_on", "released_at"},
    "walk_ins": {"station_id", "day"},
}
PERSON_COLUMNS = {"station_id", "held_on", "category", "veteran_id"}
_LOCK_BASE = 0x52505400 << 32  # "RPT\0": this module's advisory locks


# -- what a transaction touched -----------------------------------------------------------------------


class Pending:
    """Keys and row ids a transaction touched, resolved to keys when the figures are recomputed."""

    def __init__(self) -> None:
        self.keys: set[Key] = set()
        self.consultations: set[int] = set()  # their month's figures
        self.persons: set[int] = set()  # also their year's persons
        self.matters: set[int] = set()
        self.shifts: set[int] = set()
        self.bookings: set[int] = set()
        self.walkins: set[int] = set()
        self.added: list[Booking] = []  # new bookings, counted up unless their month is recomputed

    def __bool__(self) -> bool:
        return any(
            (
                self.added,
                self.keys,
                self.consultations,
                self.persons,
                self.matters,
                self.shifts,
                self.bookings,
                self.walkins,
            )
        )


def _pending(session: Session) -> Pending:
    pending = session.info.get("report_pending")
    if pending is None:
        pending = session.info["report_pending"] = Pending()
    return pending


def _month_key(family: str, station_id: Any, day: Any) -> Key | None:
    if station_id is None or day is None:
        return None
    if isinstance(day, str):
        day = date.fromisoformat(day[:10])
    return (family, int(station_id), day.year, day.month)


def _add_consultation_keys(pending: Pending, station_id: Any, held_on: Any, persons: bool) -> None:
    key = _month_key(CONSULTED, station_id, held_on)
    if key is None:
        return
    pending.keys.add(key)
    if persons:
        pending.keys.add((PERSONS, key[1], key[2], 0))
        pending.keys.add((PERSONS, 0, key[2], 0))


def _values(obj: Any, name: str) -> list[Any]:
    """The attribute's value now and, if it changed in this flush, before."""
    history = sa.inspect(obj).attrs[name].history
    values = [*history.added, *history.unchanged, *history.deleted]
    if not values:
        values = [getattr(obj, name, None)]
    return values


def _changed(obj: Any, names: set[str]) -> bool:
    state = sa.inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names if name in state.attrs)


def _after_flush(session: Session, _context: Any) -> None:
    pending = _pending(session)
    for obj in (*session.new, *session.dirty, *session.deleted):
        table = getattr(obj, "__tablename__", None)
        if table not in COUNTED:
            continue
        whole = obj in session.new or obj in session.deleted
        if not whole and not _changed(obj, COUNTED[table]):
            continue
        if isinstance(obj, Consultation):
            persons = whole or _changed(obj, PERSON_COLUMNS)
            for station_id in _values(obj, "station_id"):
                for held_on in _values(obj, "held_on"):
                    _add_consultation_keys(pending, station_id, held_on, persons)
            if obj.id is not None and obj not in session.deleted:
                (pending.persons if persons else pending.consultations).add(obj.id)
        elif isinstance(obj, (ConsultationOutcome, Rating, Matter)):
            pending.consultations.update(v for v in _values(obj, "consultation_id") if v is not None)
        elif isinstance(obj, MatterNote):
            pending.matters.update(v for v in _values(obj, "matter_id") if v is not None)
        elif isinstance(obj, Booking):
            if obj in session.new and _added_booking(session, pending, obj):
                continue
            for shift_id in _values(obj, "shift_id"):
                if shift_id is not None:
                    _add_shift(session, pending, shift_id)
        elif isinstance(obj, DutyShift):
            for station_id in _values(obj, "station_id"):
                for day in _values(obj, "duty_on"):
                    key = _month_key(VISITED, station_id, day)
                    if key:
                        pending.keys.add(key)
        elif isinstance(obj, WalkIn):
            for station_id in _values(obj, "station_id"):
                for day in _values(obj, "day"):
                    key = _month_key(VISITED, station_id, day)
                    if key:
                        pending.keys.add(key)


def _live_shift(session: Any, shift_id: Any) -> dict[str, Any] | None:
    """The loaded values of a duty day in the session (station, day, released), or None."""
    shift = session.identity_map.get(session.identity_key(DutyShift, shift_id))
    loaded = shift.__dict__ if shift is not None else {}  # an expired attribute is not there
    if not {"station_id", "duty_on", "released_at"} <= loaded.keys():
        return None
    return loaded


def _added_booking(session: Session, pending: Pending, booking: Booking) -> bool:
    """Note a new booking to be counted up; False when its duty day is not in the session (its month
    is then recomputed)."""
    shift = _live_shift(session, booking.shift_id)
    if shift is None:
        return False
    if shift["released_at"] is None and booking.status != CANCELLED:  # else it counts nowhere
        pending.added.append(booking)
    return True


def _add_shift(session: Session, pending: Pending, shift_id: int) -> None:
    """A duty day's month: from the shift in the session when it is there (a booking's always is), else
    noted to be read (a statement, inside a booking's hold on the day's places)."""
    shift = session.identity_map.get(session.identity_key(DutyShift, shift_id))
    loaded = shift.__dict__ if shift is not None else {}  # an expired attribute is not there
    key = _month_key(VISITED, loaded.get("station_id"), loaded.get("duty_on"))
    if key:
        pending.keys.add(key)
    else:
        pending.shifts.add(shift_id)


def _statement_columns(statement: Any) -> set[str]:
    values = getattr(statement, "_values", None) or {}
    return {getattr(column, "key", column) for column in values}


def _do_orm_execute(state: ORMExecuteState) -> None:
    """A bulk UPDATE or DELETE through the session: note the rows it is about to change."""
    if not (state.is_update or state.is_delete):
        return
    statement = state.statement
    table = getattr(getattr(statement, "table", None), "name", None)
    if table not in COUNTED:
        return
    if state.is_update and not (_statement_columns(statement) & COUNTED[table]):
        return
    where = getattr(statement, "whereclause", None)
    if where is None:
        where = sa.true()
    conn = state.session.connection()
    pending = _pending(state.session)
    if table == "consultations":
        for cid, station_id, held_on in conn.execute(
            sa.select(Consultation.id, Consultation.station_id, Consultation.held_on).where(where)
        ):
            _add_consultation_keys(pending, station_id, held_on, persons=True)
            pending.persons.add(cid)
    elif table in ("consultation_outcomes", "ratings", "matters"):
        model: Any = {"consultation_outcomes": ConsultationOutcome, "ratings": Rating, "matters": Matter}[
            table
        ]
        pending.consultations.update(conn.scalars(sa.select(model.consultation_id).where(where)))
    elif table == "matter_notes":
        pending.matters.update(conn.scalars(sa.select(MatterNote.matter_id).where(where)))
    elif table == "bookings":
        for bid, shift_id in conn.execute(sa.select(Booking.id, Booking.shift_id).where(where)):
            pending.shifts.add(shift_id)
            pending.bookings.add(bid)  # after the update: the shift it may have moved to
    elif table == "duty_shifts":
        for sid, station_id, day in conn.execute(
            sa.select(DutyShift.id, DutyShift.station_id, DutyShift.duty_on).where(where)
        ):
            pending.keys.add((VISITED, int(station_id), day.year, day.month))
            pending.shifts.add(sid)
    elif table == "walk_ins":
        for wid, station_id, day in conn.execute(
            sa.select(WalkIn.id, WalkIn.station_id, WalkIn.day).where(where)
        ):
            pending.keys.add((VISITED, int(station_id), day.year, day.month))
            pending.walkins.add(wid)


def _before_commit(session: Session) -> None:
    refresh(session)


def _forget(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:
        session.info.pop("report_pending", None)


def _ended(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # committed or rolled back: the next transaction reads what others see
        session.info.pop(CHANGED, None)
        session.info.pop(VERSIONS, None)


def listen() -> None:
    """Watch every session for changes to the rows the summaries count (once per process)."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "do_orm_execute", _do_orm_execute)
        event.listen(Session, "before_commit", _before_commit)
        event.listen(Session, "after_soft_rollback", _forget)
        event.listen(Session, "after_transaction_end", _ended)


# -- recomputing ----------------------------------------------------------------------------------------


def _chunks(ids: Iterable[int], size: int = 500) -> Iterable[list[int]]:
    items = sorted(ids)
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _resolve(conn: sa.Connection, pending: Pending) -> set[Key]:
    """Turn the row ids noted into the keys of the months (and years) they count in."""
    keys = set(pending.keys)
    for ids, persons in ((pending.consultations, False), (pending.persons, True)):
        for chunk in _chunks(ids):
            for station_id, held_on in conn.execute(
                sa.select(Consultation.station_id, Consultation.held_on).where(Consultation.id.in_(chunk))
            ):
                key = _month_key(CONSULTED, station_id, held_on)
                if key:
                    keys.add(key)
                    if persons:
                        keys.update({(PERSONS, key[1], key[2], 0), (PERSONS, 0, key[2], 0)})
    for chunk in _chunks(pending.matters):
        for station_id, held_on in conn.execute(
            sa.select(Consultation.station_id, Consultation.held_on)
            .join(Matter, Matter.consultation_id == Consultation.id)
            .where(Matter.id.in_(chunk))
        ):
            keys.add((CONSULTED, int(station_id), held_on.year, held_on.month))
    shifts = set(pending.shifts)
    for chunk in _chunks(pending.bookings):
        shifts.update(conn.scalars(sa.select(Booking.shift_id).where(Booking.id.in_(chunk))))
    for chunk in _chunks(shifts):
        for station_id, day in conn.execute(
            sa.select(DutyShift.station_id, DutyShift.duty_on).where(DutyShift.id.in_(chunk))
        ):
            keys.add((VISITED, int(station_id), day.year, day.month))
    for chunk in _chunks(pending.walkins):
        for station_id, day in conn.execute(
            sa.select(WalkIn.station_id, WalkIn.day).where(WalkIn.id.in_(chunk))
        ):
            keys.add((VISITED, int(station_id), day.year, day.month))
    return keys


def refresh(session: Session | scoped_session[Any]) -> None:
    """Recompute the figures of everything this transaction touched so far (no query when nothing)."""
    if session.new or session.dirty or session.deleted:
        session.flush()
    pending = session.info.get("report_pending")
    if not pending:
        return
    conn = session.connection()
    keys = _resolve(conn, pending)
    added = _added_counts(session, pending.added, keys)
    session.info.pop("report_pending", None)
    postgres = conn.dialect.name == "postgresql"
    for key in sorted(keys | added.keys()):  # one order for every transaction: no deadlock
        if key in added:
            _count_up(conn, key, added[key])  # takes the lock itself
            continue
        if postgres:
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_lock_id(key))))
        recompute(conn, key)
    stations = sorted({key[1] for key in keys | added.keys() if key[1]})
    if stations:
        session.info[CHANGED] = True
        for station_id in stations:
            conn.execute(_raise_version(conn.dialect.name), {"station_id": station_id})


_DUE = (NO_SHOW, COMPLETED, CHECKED_IN)


def _added_counts(session: Any, added: list[Booking], recomputed: set[Key]) -> dict[Key, dict[str, int]]:
    """What the new bookings add to their months' rows, leaving out the months recomputed anyway and
    the bookings undone since (a savepoint rolled back: they are no longer in the session)."""
    counts: dict[Key, dict[str, int]] = {}
    for booking in added:
        if not sa.inspect(booking).persistent:
            continue
        shift = _live_shift(session, booking.shift_id)
        key = _month_key(VISITED, shift["station_id"], shift["duty_on"]) if shift else None
        if key is None or key in recomputed:
            continue
        row = counts.setdefault(key, dict.fromkeys(_ADDED_COLUMNS, 0))
        if booking.channel in CHANNEL_CODES:
            row[f"bk_{booking.channel}"] += 1
        row["no_shows"] += booking.status == NO_SHOW
        row["due"] += booking.status in _DUE
    return counts


_ADDED_COLUMNS = (*(f"bk_{code}" for code in CHANNEL_CODES), "no_shows", "due", "walkins")


@functools.lru_cache(maxsize=4)
def _count_up_statement(dialect: str) -> sa.Executable:
    """Add to a month's row of duty days (made when missing), under the month's advisory lock on
    PostgreSQL, taken by the same statement: the row comes from a SELECT that first waits for it."""
    from sqlalchemy.dialects import postgresql, sqlite

    table: Any = ReportVisitMonth.__table__
    insert: Any
    values: list[Any] = [
        sa.bindparam("station_id", type_=sa.Integer),
        sa.bindparam("month_on", type_=sa.Date),
        *(sa.bindparam(name, type_=sa.Integer) for name in _ADDED_COLUMNS),
    ]
    names = ["station_id", "month_on", *_ADDED_COLUMNS]
    if dialect == "postgresql":
        lock = sa.select(sa.func.pg_advisory_xact_lock(sa.bindparam("lock", type_=sa.BigInteger))).subquery()
        insert = postgresql.insert(table).from_select(names, sa.select(*values).select_from(lock))
    else:
        insert = sqlite.insert(table).values(dict(zip(names, values, strict=True)))
    return insert.on_conflict_do_update(
        index_elements=["station_id", "month_on"],
        set_={name: table.c[name] + insert.excluded[name] for name in _ADDED_COLUMNS},
    )


def _count_up(conn: sa.Connection, key: Key, counts: dict[str, int]) -> None:
    _, station_id, year, month = key
    params = {"station_id": station_id, "month_on": date(year, month, 1), "lock": _lock_id(key), **counts}
    if conn.dialect.name != "postgresql":
        params.pop("lock")
    conn.execute(_count_up_statement(conn.dialect.name), params)


# session.info: this transaction changed summary rows (what it reads of them is its own, not to keep),
# and the versions it read.
CHANGED, VERSIONS = "report_changed", "report_versions"


@functools.lru_cache(maxsize=4)
def _raise_version(dialect: str) -> sa.Executable:
    """INSERT … ON CONFLICT DO UPDATE: a station's version one higher (its row made at the first change)."""
    from sqlalchemy.dialects import postgresql, sqlite

    insert = (postgresql if dialect == "postgresql" else sqlite).insert(ReportVersion)
    return insert.values(station_id=sa.bindparam("station_id"), version=1).on_conflict_do_update(
        index_elements=["station_id"], set_={"version": ReportVersion.version + 1}
    )


def version(session: Session | scoped_session[Any], station_id: int | None) -> tuple[int, int] | None:
    """The summaries' version of a station (None: all): a pair that changes whenever any of their rows
    does; None when this transaction changed them itself (call `refresh` first)."""
    if session.info.get(CHANGED):
        return None
    # Read once per transaction: figures read after it are at least as new (each statement of READ
    # COMMITTED sees every commit made before it), so nothing is kept under a version newer than itself.
    known: dict[int | None, tuple[int, int]] = session.info.setdefault(VERSIONS, {})
    if station_id not in known:
        query = sa.select(sa.func.coalesce(sa.func.sum(ReportVersion.version), 0), sa.func.count())
        if station_id is not None:
            query = query.where(ReportVersion.station_id == station_id)
        total, rows = session.execute(query).one()
        known[station_id] = (int(total), int(rows))
    return known[station_id]


def _lock_id(key: Key) -> int:
    family, scope, year, month = key
    return _LOCK_BASE + ("cvy".index(family) << 30) + (scope << 14) + year * 13 + month


def _next_month(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1)


def recompute(conn: sa.Connection, key: Key) -> None:
    """Replace one key's summary rows by what the raw rows say now."""
    family, scope, year, month = key
    if family == PERSONS:
        _persons(conn, scope, year)
        return
    params = {"scope": scope, "first": date(year, month, 1), "after": _next_month(year, month)}
    for statement in _month_statements(conn.dialect.name, family):
        conn.execute(statement, params)


class _Recorder:
    """Stands for a connection while a month's statements are built, and keeps them."""

    def __init__(self, dialect: str) -> None:
        self.dialect = SimpleNamespace(name=dialect)
        self.statements: list[sa.Executable] = []

    def execute(self, statement: sa.Executable) -> None:
        """Keep the statement instead of running it."""
        self.statements.append(statement)


@functools.lru_cache(maxsize=8)
def _month_statements(dialect: str, family: str) -> tuple[sa.Executable, ...]:
    """The statements that recompute one month of a family, built once per dialect with the station and
    the month as parameters (`scope`, `first`, `after`). Building them took longer than running them,
    inside a booking's transaction while it holds the day's places."""
    scope = sa.bindparam("scope", type_=sa.Integer)
    first, after = sa.bindparam("first", type_=sa.Date), sa.bindparam("after", type_=sa.Date)
    conn: Any = _Recorder(dialect)
    if family == CONSULTED:
        for model in (ReportMonth, ReportLawyerMonth, ReportCategoryMonth, ReportCloseDays, ReportOpenMatter):
            conn.execute(sa.delete(model).where(model.station_id == scope, model.month_on == first))
        _consulted(
            conn,
            sa.and_(
                Consultation.station_id == scope, Consultation.held_on >= first, Consultation.held_on < after
            ),
        )
    else:
        conn.execute(
            sa.delete(ReportVisitMonth).where(
                ReportVisitMonth.station_id == scope, ReportVisitMonth.month_on == first
            )
        )
        _visited(
            conn,
            sa.and_(DutyShift.station_id == scope, DutyShift.duty_on >= first, DutyShift.duty_on < after),
            sa.and_(WalkIn.station_id == scope, WalkIn.day >= first, WalkIn.day < after),
        )
    return tuple(conn.statements)


def _month(conn: sa.Connection, column: Any) -> sa.ColumnElement[Any]:
    if conn.dialect.name == "postgresql":
        return sa.cast(sa.func.date_trunc("month", column), sa.Date)
    return sa.func.date(column, "start of month")


def _n(condition: sa.ColumnElement[bool], column: Any = None) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _outcomes(where: sa.ColumnElement[bool]) -> sa.Subquery:
    """One row per consultation with a 0/1 column for each outcome."""
    return (
        sa.select(
            ConsultationOutcome.consultation_id.label("cid"),
            *(
                sa.func.max(sa.case((ConsultationOutcome.outcome == code, 1), else_=0)).label(code)
                for code in OUTCOME_CODES
            ),
        )
        .join(Consultation, Consultation.id == ConsultationOutcome.consultation_id)
        .where(where)
        .group_by(ConsultationOutcome.consultation_id)
        .subquery("o")
    )


def _milestones(where: sa.ColumnElement[bool]) -> sa.Subquery:
    """One row per matter with a legal-aid milestone: accepted (or concluded), concluded."""
    return (
        sa.select(
            MatterNote.matter_id,
            sa.func.max(sa.case((MatterNote.milestone.in_(("accepted", "concluded")), 1), else_=0)).label(
                "accepted"
            ),
            sa.func.max(sa.case((MatterNote.milestone == "concluded", 1), else_=0)).label("concluded"),
        )
        .join(Matter, Matter.id == MatterNote.matter_id)
        .join(Consultation, Consultation.id == Matter.consultation_id)
        .where(where, MatterNote.milestone.is_not(None))
        .group_by(MatterNote.matter_id)
        .subquery("n")
    )


def _consulted(conn: sa.Connection, where: sa.ColumnElement[bool]) -> None:
    month = _month(conn, Consultation.held_on).label("month_on")
    o = _outcomes(where)
    outcomes = [sa.func.coalesce(sa.func.sum(o.c[code]), 0) for code in OUTCOME_CODES]
    levels = [_n(Rating.level == level) for level in LEVEL_CODES]
    answered = _n(sa.and_(Rating.level <= POOR_AT_MOST, Rating.replied_at.is_not(None)))
    notes = _milestones(where)
    accepted = sa.or_(notes.c.accepted == 1, Matter.result == "legal_aid_granted")
    concluded = notes.c.concluded == 1

    def joined(query: sa.Select) -> sa.Select:
        return (
            query.select_from(Consultation)
            .outerjoin(o, o.c.cid == Consultation.id)
            .outerjoin(Rating, Rating.consultation_id == Consultation.id)
            .outerjoin(Matter, Matter.consultation_id == Consultation.id)
            .outerjoin(notes, notes.c.matter_id == Matter.id)
            .where(where)
        )

    cols = ReportMonth.__table__.c
    conn.execute(
        sa.insert(ReportMonth).from_select(
            [c.name for c in cols],
            joined(
                sa.select(
                    Consultation.station_id,
                    month,
                    sa.func.count(),
                    *(_n(Consultation.channel == code) for code in CHANNEL_CODES),
                    *outcomes,
                    *levels,
                    answered,
                    sa.func.count(Matter.id),
                    _n(Matter.status == CLOSED),
                    _n(Matter.result.in_(SOLVED_RESULTS)),
                    _n(Matter.result == "mediation_agreement"),
                    sa.func.coalesce(sa.func.sum(Matter.money_saved), 0),
                    _n(sa.and_(Matter.id.is_not(None), accepted)),
                    _n(sa.and_(Matter.id.is_not(None), concluded)),
                )
            ).group_by(Consultation.station_id, month),
        )
    )
    cols = ReportLawyerMonth.__table__.c
    conn.execute(
        sa.insert(ReportLawyerMonth).from_select(
            [c.name for c in cols],
            joined(
                sa.select(
                    Consultation.station_id,
                    month,
                    Consultation.lawyer_id,
                    sa.func.count(),
                    *outcomes,
                    *levels,
                    answered,
                    _n(Matter.status == CLOSED),
                )
            ).group_by(Consultation.station_id, month, Consultation.lawyer_id),
        )
    )
    conn.execute(
        sa.insert(ReportCategoryMonth).from_select(
            ["station_id", "month_on", "category", "consultations"],
            sa.select(Consultation.station_id, month, Consultation.category, sa.func.count())
            .where(where)
            .group_by(Consultation.station_id, month, Consultation.category),
        )
    )
    _open_matters(conn, where)
    tenths = sa.cast(sa.func.round(_days_to_close(conn) * 10), sa.Integer).label("tenths")
    conn.execute(
        sa.insert(ReportCloseDays).from_select(
            ["station_id", "month_on", "tenths", "matters"],
            sa.select(Consultation.station_id, month, tenths, sa.func.count())
            .select_from(Matter)
            .join(Consultation, Consultation.id == Matter.consultation_id)
            .where(where, Matter.status == CLOSED, Matter.closed_at.is_not(None))
            .group_by(Consultation.station_id, month, tenths),
        )
    )


def _open_matters(conn: sa.Connection, where: sa.ColumnElement[bool]) -> None:
    month = _month(conn, Consultation.held_on).label("month_on")
    conn.execute(
        sa.insert(ReportOpenMatter).from_select(
            ["station_id", "month_on", "lawyer_id", "due_on", "matters"],
            sa.select(Consultation.station_id, month, Consultation.lawyer_id, Matter.due_on, sa.func.count())
            .select_from(Matter)
            .join(Consultation, Consultation.id == Matter.consultation_id)
            .where(where, Matter.status.in_((OPEN, IN_PROGRESS)))
            .group_by(Consultation.station_id, month, Consultation.lawyer_id, Matter.due_on),
        )
    )


def _days_to_close(conn: sa.Connection) -> sa.ColumnElement[Any]:
    if conn.dialect.name == "postgresql":
        return sa.extract("epoch", Matter.closed_at - Matter.created_at) / 86400.0
    return sa.func.julianday(Matter.closed_at) - sa.func.julianday(Matter.created_at)


def _visited(conn: sa.Connection, shifts: sa.ColumnElement[bool], walkins: sa.ColumnElement[bool]) -> None:
    booked = (
        sa.select(
            DutyShift.station_id.label("station_id"),
            _month(conn, DutyShift.duty_on).label("month_on"),
            Booking.channel.label("channel"),
            Booking.status.label("status"),
            sa.literal(0).label("walkin"),
        )
        .join(DutyShift, DutyShift.id == Booking.shift_id)
        .where(shifts, DutyShift.released_at.is_(None), Booking.status != CANCELLED)
    )
    came = sa.select(
        WalkIn.station_id,
        _month(conn, WalkIn.day),
        sa.cast(sa.null(), sa.String),
        sa.cast(sa.null(), sa.String),
        sa.literal(1),
    ).where(walkins)
    u = sa.union_all(booked, came).subquery("u")
    conn.execute(
        sa.insert(ReportVisitMonth).from_select(
            [c.name for c in ReportVisitMonth.__table__.c],
            sa.select(
                u.c.station_id,
                u.c.month_on,
                *(_n(u.c.channel == code) for code in CHANNEL_CODES),
                _n(u.c.status == NO_SHOW),
                _n(u.c.status.in_((NO_SHOW, COMPLETED, CHECKED_IN))),
                sa.func.coalesce(sa.func.sum(u.c.walkin), 0),
            ).group_by(u.c.station_id, u.c.month_on),
        )
    )


def _persons(conn: sa.Connection, scope: int, year: int) -> None:
    conn.execute(sa.delete(ReportYear).where(ReportYear.scope == scope, ReportYear.year == year))
    where = sa.and_(Consultation.held_on >= date(year, 1, 1), Consultation.held_on < date(year + 1, 1, 1))
    if scope:
        where = sa.and_(where, Consultation.station_id == scope)
    known = sa.and_(where, Consultation.veteran_id.is_not(None))
    people = sa.select(sa.func.count(sa.distinct(Consultation.veteran_id))).where(known).scalar_subquery()
    unknown = (
        sa.select(sa.func.count()).select_from(Consultation).where(where, Consultation.veteran_id.is_(None))
    ).scalar_subquery()
    pairs = sa.select(Consultation.veteran_id, Consultation.category).where(known).distinct().subquery()
    matters = sa.select(sa.func.count()).select_from(pairs).scalar_subquery()
    conn.execute(
        sa.insert(ReportYear).from_select(
            ["scope", "year", "persons", "matters"],
            sa.select(sa.literal(scope), sa.literal(year), people + unknown, matters + unknown).where(
                sa.exists(sa.select(Consultation.id).where(where))
            ),
        )
    )


SUMMARY_TABLES = (
    ReportMonth,
    ReportLawyerMonth,
    ReportCategoryMonth,
    ReportCloseDays,
    ReportOpenMatter,
    ReportVisitMonth,
    ReportYear,
)
# The raw tables the summaries read, whose planner statistics a bulk load leaves out of date.
SOURCE_TABLES = (
    "consultations",
    "consultation_outcomes",
    "ratings",
    "matters",
    "matter_notes",
    "bookings",
    "duty_shifts",
    "walk_ins",
)


def rebuild_all(conn: sa.Connection, analyze: bool = False, versions: bool = True) -> dict[str, int]:
    """Recompute every summary table from the raw rows (after bulk loads; `flask report
    rebuild-summaries`); returns the rows written per table. `analyze`: on PostgreSQL, refresh the
    planner's statistics of the raw and summary tables too (a bulk load leaves none). `versions`: raise
    every station's summary version (not in a migration from before their table)."""
    names = ", ".join(model.__tablename__ for model in SUMMARY_TABLES)
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        # No month is recomputed meanwhile (their writers wait); readers go on reading.
        conn.execute(sa.text(f"LOCK TABLE {names} IN EXCLUSIVE MODE"))
    for model in SUMMARY_TABLES:
        conn.execute(sa.delete(model))
    if postgres and analyze:
        conn.execute(sa.text(f"ANALYZE {', '.join(SOURCE_TABLES)}"))
    _consulted(conn, sa.true())
    _visited(conn, sa.true(), sa.true())
    year = sa.cast(sa.extract("year", Consultation.held_on), sa.Integer)
    scopes = conn.execute(
        sa.select(Consultation.station_id, year).group_by(Consultation.station_id, year)
    ).all()
    for station_id, y in scopes:
        _persons(conn, int(station_id), int(y))
    for y in sorted({int(y) for _s, y in scopes}):
        _persons(conn, 0, y)
    stations = [{"station_id": i} for i in conn.scalars(sa.select(Station.id))] if versions else []
    if stations:
        conn.execute(_raise_version(conn.dialect.name), stations)  # one executemany, not one per station
    if postgres and analyze:
        conn.execute(sa.text(f"ANALYZE {names}"))
    return {
        model.__tablename__: int(conn.scalar(sa.select(sa.func.count()).select_from(model)) or 0)
        for model in SUMMARY_TABLES
    }


listen()
