"""Retention (PIPL Art. 19, 47): personal data is kept no longer than the station's retention setting.

Once a record is older than `Station.retention_years` — counted from its own date in the station's time
zone: a consultation's day (or, when it opened a matter, the matter's closing; open matters are never
erased), a booking's duty day, a walk-in's day — its personal data is erased: names, texts, reasons,
edit history and matter notes. The row stays, with its dates, station, lawyer, category, outcomes,
channel, stage, milestones, money and its links by id, so every figure of the reports stays the same.
A person's record goes once none of their records is still kept. Sent messages lose their address and
parameters after OUTBOX_PAYLOAD_KEEP_DAYS. Erasing is the same here and on a person's request
(`legalaid.privacy.people`); a run changes nothing already erased, so it is safe to run twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql

from legalaid import audit
from legalaid.audit.models import AuditEntry
from legalaid.bookings.models import Booking, Veteran, WalkIn
from legalaid.consultations.models import CLOSED, Consultation, ConsultationVersion, Matter, MatterNote
from legalaid.dates import local_to_utc, now_utc, to_local
from legalaid.extensions import db
from legalaid.ratings.models import Rating
from legalaid.reminders.models import EXPIRED, FAILED, SENT, UNKNOWN, OutboxMessage
from legalaid.reminders.services import expire_pending
from legalaid.roster.models import DutyShift
from legalaid.stations.models import Station

DEFAULT_OUTBOX_KEEP_DAYS = 30
CHUNK = 500  # ids per IN (...) list: well inside every database's limit on bound parameters
# Details of the bookings' own audit entries that hold what the person typed or their (masked) number.
PERSONAL_DETAILS = ("mobile", "reason", "name")
DONE_STATUSES = (SENT, FAILED, EXPIRED, UNKNOWN)  # a message nobody will send any more
# The note on a message that lapsed because its person was erased (English, like the outbox's others).
ERASED_NOTE = "the person's data was erased"


@dataclass
class Erased:
    """What one erasure did (or, in a dry run, would do): the ids of each kind of record, and counts."""

    consultations: list[int] = field(default_factory=list)
    bookings: list[int] = field(default_factory=list)
    walk_ins: list[int] = field(default_factory=list)
    people: list[int] = field(default_factory=list)
    versions: int = 0
    notes: int = 0
    messages: int = 0

    def counts(self) -> dict[str, int]:
        """How many rows of each kind (no ids, no personal data: what the audit entry records)."""
        return {
            "consultations": len(self.consultations),
            "bookings": len(self.bookings),
            "walk_ins": len(self.walk_ins),
            "people": len(self.people),
            "versions": self.versions,
            "notes": self.notes,
            "messages": self.messages,
        }

    @property
    def empty(self) -> bool:
        """Whether there is nothing to erase."""
        return not any(self.counts().values())


@dataclass
class StationRun:
    """One station's part of a run: records dated before `before` are due."""

    station_id: int
    station: str
    years: int
    before: date
    erased: Erased


def _postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    """The ids in lists for `_in`: all at once on PostgreSQL (one array parameter, so ten years are a
    few statements, not thousands), CHUNK at a time elsewhere."""
    ids = list(ids)
    size = len(ids) if _postgresql() else CHUNK
    for start in range(0, len(ids), max(size, 1)):
        yield ids[start : start + size]


def _in(column: Any, ids: list[int]) -> sa.ColumnElement[bool]:
    """The column is one of the ids: `= ANY(array)` on PostgreSQL, `IN (…)` elsewhere."""
    if _postgresql():
        return column == sa.any_(sa.bindparam(None, ids, type_=postgresql.ARRAY(sa.Integer)))
    return column.in_(ids)


def cutoff(station: Station, today: date) -> date:
    """The first day still kept: records dated before it are due (29 February counts from the 28th)."""
    try:
        return today.replace(year=today.year - station.retention_years)
    except ValueError:
        return today.replace(year=today.year - station.retention_years, day=28)


def _ids(query: sa.Select) -> list[int]:
    return sorted(db.session.scalars(query))


def due_consultations(station: Station, before: date) -> list[int]:
    """Consultations of the station held before the day, whose matter (if any) closed before it too."""
    closed_before = local_to_utc(before, time.min, station.timezone)
    return _ids(
        sa.select(Consultation.id)
        .outerjoin(Matter, Matter.consultation_id == Consultation.id)
        .where(
            Consultation.station_id == station.id,
            Consultation.erased_at.is_(None),
            Consultation.held_on < before,
            sa.or_(Matter.id.is_(None), sa.and_(Matter.status == CLOSED, Matter.closed_at < closed_before)),
        )
    )


def due_bookings(station: Station, before: date) -> list[int]:
    """Bookings of the station for a duty day before the day."""
    return _ids(
        sa.select(Booking.id)
        .join(DutyShift, DutyShift.id == Booking.shift_id)
        .where(DutyShift.station_id == station.id, DutyShift.duty_on < before, Booking.erased_at.is_(None))
    )


def due_walk_ins(station: Station, before: date) -> list[int]:
    """Walk-in numbers of the station given before the day."""
    return _ids(
        sa.select(WalkIn.id).where(
            WalkIn.station_id == station.id, WalkIn.day < before, WalkIn.erased_at.is_(None)
        )
    )


def _people_of(erased: Erased) -> list[int]:
    """The people behind these records, not yet erased."""
    found: set[int] = set()
    for model, ids in (
        (Booking, erased.bookings),
        (WalkIn, erased.walk_ins),
        (Consultation, erased.consultations),
    ):
        for chunk in _chunks(ids):
            found.update(
                db.session.scalars(
                    sa.select(model.veteran_id).where(_in(model.id, chunk), model.veteran_id.is_not(None))
                )
            )
    people: list[int] = []
    for chunk in _chunks(sorted(found)):
        people += _ids(sa.select(Veteran.id).where(_in(Veteran.id, chunk), Veteran.erased_at.is_(None)))
    return people


def _people_left_without_records(erased: Erased) -> list[int]:
    """Of the people behind these records, those none of whose other records is still kept."""
    candidates = _people_of(erased)
    due: dict[Any, set[int]] = {
        Booking: set(erased.bookings),
        WalkIn: set(erased.walk_ins),
        Consultation: set(erased.consultations),
    }
    kept: set[int] = set()
    for chunk in _chunks(candidates):
        for model, ids in due.items():
            rows = db.session.execute(
                sa.select(model.id, model.veteran_id).where(
                    _in(model.veteran_id, chunk), model.erased_at.is_(None)
                )
            )
            kept.update(veteran for record, veteran in rows if record not in ids)
    return [person for person in candidates if person not in kept]


def plan(station: Station, today: date) -> StationRun:
    """What a run would erase at this station today (nothing is changed)."""
    before = cutoff(station, today)
    erased = Erased(
        consultations=due_consultations(station, before),
        bookings=due_bookings(station, before),
        walk_ins=due_walk_ins(station, before),
    )
    erased.people = _people_left_without_records(erased)
    erased.versions, erased.notes = _history_counts(erased.consultations)
    return StationRun(station.id, station.name, station.retention_years, before, erased)


def _history_counts(consultations: list[int]) -> tuple[int, int]:
    versions = notes = 0
    for chunk in _chunks(consultations):
        versions += (
            db.session.scalar(
                sa.select(sa.func.count()).where(_in(ConsultationVersion.consultation_id, chunk))
            )
            or 0
        )
        notes += (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(MatterNote)
                .join(Matter, Matter.id == MatterNote.matter_id)
                .where(_in(Matter.consultation_id, chunk), MatterNote.text != "")
            )
            or 0
        )
    return versions, notes


# -- erasing ----------------------------------------------------------------------------------------


def erase_consultations(ids: list[int], now: datetime) -> None:
    """Blank the consultations' name and texts, their earlier versions and their matters' notes."""
    for chunk in _chunks(ids):
        db.session.execute(
            sa.update(Consultation)
            .where(_in(Consultation.id, chunk))
            .values(name="", summary="", advice="", counselling_notes="", erased_at=now),
            execution_options={"synchronize_session": False},
        )
        db.session.execute(
            sa.update(ConsultationVersion)
            .where(_in(ConsultationVersion.consultation_id, chunk))
            .values(data={}),
            execution_options={"synchronize_session": False},
        )
        # A rating's comment (typed by the person) and its reply go; the level, what reports count, stays.
        db.session.execute(
            sa.update(Rating).where(_in(Rating.consultation_id, chunk)).values(comment="", reply=""),
            execution_options={"synchronize_session": False},
        )
        matters = sa.select(Matter.id).where(_in(Matter.consultation_id, chunk)).scalar_subquery()
        # The note's text goes; the milestone and its date (what the reports count) stay.
        db.session.execute(
            sa.update(MatterNote).where(MatterNote.matter_id.in_(matters)).values(text=""),
            execution_options={"synchronize_session": False},
        )


def erase_bookings(ids: list[int], now: datetime) -> None:
    """Blank the bookings' name, description and cancel reason, and the same in their audit entries."""
    for chunk in _chunks(ids):
        db.session.execute(
            sa.update(Booking)
            .where(_in(Booking.id, chunk))
            .values(name="", description="", cancel_reason="", erased_at=now),
            execution_options={"synchronize_session": False},
        )
        _scrub_audit("bookings", chunk)


def erase_walk_ins(ids: list[int], now: datetime) -> None:
    """Blank the name given with each walk-in number."""
    for chunk in _chunks(ids):
        db.session.execute(
            sa.update(WalkIn).where(_in(WalkIn.id, chunk)).values(name="", erased_at=now),
            execution_options={"synchronize_session": False},
        )


def erase_people(ids: list[int], now: datetime) -> None:
    """Blank each person's name and numbers; the row stays so that a person is still counted once."""
    for chunk in _chunks(ids):
        db.session.execute(
            sa.update(Veteran)
            .where(_in(Veteran.id, chunk))
            .values(
                name="",
                mobile=None,
                mobile_hash=None,
                id_number=None,
                id_number_hash=None,
                veteran_card_no=None,
                erased_at=now,
            ),
            execution_options={"synchronize_session": False},
        )


def _scrub_audit(target_type: str, ids: list[int]) -> None:
    """Drop what the person typed (a reason) and their masked number from the entries about these rows;
    who did what and when stays. One UPDATE in the database's own JSON functions."""
    if _postgresql():
        keys = sa.cast(postgresql.array(PERSONAL_DETAILS), postgresql.ARRAY(sa.Text))
        details: Any = sa.cast(AuditEntry.details, postgresql.JSONB)
        for key in PERSONAL_DETAILS:
            details = details.op("-")(sa.literal(key, sa.Text))
        scrubbed: Any = sa.cast(details, sa.JSON)
        has_any = sa.cast(AuditEntry.details, postgresql.JSONB).has_any(keys)
    else:
        paths = [f"$.{key}" for key in PERSONAL_DETAILS]
        scrubbed = sa.func.json_remove(AuditEntry.details, *paths)
        has_any = sa.or_(*(sa.func.json_type(AuditEntry.details, path).is_not(None) for path in paths))
    db.session.execute(
        sa.update(AuditEntry)
        .where(AuditEntry.target_type == target_type, _in(AuditEntry.target_id, ids), has_any)
        .values(details=scrubbed),
        execution_options={"synchronize_session": False},
    )


def to_people(ids: list[int]) -> sa.ColumnElement[bool]:
    """Messages addressed to these people."""
    return sa.and_(OutboxMessage.recipient_type == "veteran", _in(OutboxMessage.recipient_id, ids))


def silence(condition: sa.ColumnElement[bool], now: datetime) -> list[int]:
    """Lapse the waiting messages matching the condition and empty all of them; the ids emptied."""
    expire_pending(condition, ERASED_NOTE, now)
    ids = done_messages(condition)
    empty_messages(ids)
    return ids


def erase(erased: Erased, now: datetime) -> None:
    """Erase everything listed (the one erasure, for retention and for a person's request); nothing more
    goes out to an erased person, and what went out to them loses its address and parameters."""
    erase_consultations(erased.consultations, now)
    erase_bookings(erased.bookings, now)
    erase_walk_ins(erased.walk_ins, now)
    erase_people(erased.people, now)
    for chunk in _chunks(erased.people):
        erased.messages += len(silence(to_people(chunk), now))
    db.session.flush()
    db.session.expire_all()  # the bulk updates went around the objects the session holds


def done_messages(condition: sa.ColumnElement[bool]) -> list[int]:
    """The messages matching the condition that nobody will send any more and still hold a payload."""
    return _ids(
        sa.select(OutboxMessage.id).where(
            condition, OutboxMessage.status.in_(DONE_STATUSES), OutboxMessage.address != ""
        )
    )


def empty_messages(ids: list[int]) -> None:
    """Empty these messages' address and parameters (their kind, status and times stay)."""
    for chunk in _chunks(ids):
        db.session.execute(
            sa.update(OutboxMessage).where(_in(OutboxMessage.id, chunk)).values(address="", params={}),
            execution_options={"synchronize_session": False},
        )


def outbox_keep_days() -> int:
    """How many days a message's address and parameters are kept after it was sent (a setting)."""
    return int(current_app.config.get("OUTBOX_PAYLOAD_KEEP_DAYS", DEFAULT_OUTBOX_KEEP_DAYS))


def old_messages(now: datetime) -> sa.ColumnElement[bool]:
    """Messages done with longer ago than the setting (sent, or due when they were never sent)."""
    done_at = sa.func.coalesce(OutboxMessage.sent_at, OutboxMessage.due_at)
    return done_at < now - timedelta(days=outbox_keep_days())


@dataclass
class Run:
    """A whole run: each station's part, and the messages emptied."""

    stations: list[StationRun]
    messages: list[int]
    dry_run: bool

    def as_dict(self) -> dict[str, Any]:
        """Plain values for the command line (counts and ids, never personal data)."""
        return {
            "dry_run": self.dry_run,
            "stations": [
                {
                    "station_id": part.station_id,
                    "before": part.before.isoformat(),
                    "years": part.years,
                    "counts": part.erased.counts(),
                    "ids": {
                        "consultations": part.erased.consultations,
                        "bookings": part.erased.bookings,
                        "walk_ins": part.erased.walk_ins,
                        "people": part.erased.people,
                    },
                }
                for part in self.stations
            ],
            "messages": {"count": len(self.messages), "ids": self.messages},
        }


def run(now: datetime | None = None, station_id: int | None = None, dry_run: bool = False) -> Run:
    """Erase what is past each station's retention (or list it, in a dry run); audited per station.

    With a station, only that station's records; the outbox (not a station's) is emptied on full runs.
    """
    now = now or now_utc()
    query = sa.select(Station).order_by(Station.id)
    if station_id is not None:
        query = query.where(Station.id == station_id)
    parts: list[StationRun] = []
    for station in db.session.scalars(query).all():
        part = plan(station, to_local(now, station.timezone).date())
        parts.append(part)
        if dry_run:
            continue
        erase(part.erased, now)
        audit.record(
            "privacy.retention",
            station,
            details={"years": part.years, "before": part.before.isoformat(), **part.erased.counts()},
            station_id=station.id,
        )
    messages: list[int] = []
    if station_id is None:
        messages = done_messages(old_messages(now))
        if not dry_run and messages:
            empty_messages(messages)
            audit.record("privacy.outbox_emptied", details={"messages": len(messages)})
    db.session.flush()
    return Run(parts, messages, dry_run)


def job() -> dict[str, int]:
    """The scheduled run: totals of what it erased (for the job's record)."""
    result = run()
    totals: dict[str, int] = {}
    for part in result.stations:
        for key, value in part.erased.counts().items():
            totals[key] = totals.get(key, 0) + value
    totals["messages"] = len(result.messages)
    return totals
