"""Recording consultations, correcting them with history, and following matters until settled."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import InstrumentedAttribute, defer, lazyload, load_only

from legalaid import audit
from legalaid.auth.models import User
from legalaid.bookings import services as bookings
from legalaid.bookings.models import (
    ACTIVE_STATES,
    COMPLETED,
    CONSENT_READ_ALOUD,
    WALKIN,
    Booking,
    Veteran,
    WalkIn,
)
from legalaid.bookings.validation import check_category, clean_prose
from legalaid.consultations import notices
from legalaid.consultations.models import (
    CLOSED,
    IN_PROGRESS,
    MILESTONES,
    OPEN,
    OUTCOMES,
    RESULTS,
    Consultation,
    ConsultationVersion,
    Matter,
    MatterNote,
)
from legalaid.dates import local_today, now_utc
from legalaid.db import get_by_id, rows_changed
from legalaid.errors import InvalidInput, NotAllowed
from legalaid.extensions import db
from legalaid.lawyers.models import Lawyer
from legalaid.paging import COUNT_CAP, CappedPage, capped_count, fixed
from legalaid.ratings import notices as rating_notices
from legalaid.roster import services as roster
from legalaid.roster.models import DutyShift
from legalaid.stations.models import Station

ADMIN = "admin"


@dataclass
class Record:
    """What the lawyer writes, as plain values."""

    category: str
    summary: str = ""
    advice: str = ""
    outcomes: list[str] = field(default_factory=list)
    counselling_notes: str = ""
    follow_up: bool = False
    due_on: date | None = None


def _check(record: Record, today: date) -> Record:
    record.category = check_category(record.category)
    record.summary = clean_prose(record.summary)[:4000]
    record.advice = clean_prose(record.advice)[:4000]
    record.counselling_notes = clean_prose(record.counselling_notes)[:4000]
    if not record.summary:
        raise InvalidInput(_("Write what the problem is."), field="summary")
    if not record.outcomes or not set(record.outcomes) <= set(OUTCOMES):
        raise InvalidInput(_("Choose at least one outcome."), field="outcomes")
    if record.follow_up and (record.due_on is None or record.due_on < today):
        raise InvalidInput(_("Give the follow-up a due date from today on."), field="due_on")
    return record


def duty_lawyer_for(user: User, station: Station, today: date) -> Lawyer | None:
    """The lawyer record of this user if they are on duty at the station today."""
    shift = roster.shift_on(station, today)
    if shift is None or shift.lawyer.user_id != user.id:
        return None
    return shift.lawyer


def may_record(
    user: User,
    station: Station,
    booking: Booking | None = None,
    walkin: WalkIn | None = None,
    today: date | None = None,
) -> bool:
    """Whether this user may open the record form (of a booking, a walk-in number, or someone who just
    came in): administrators, and the lawyer on duty for that very shift on its day. The form shows the
    person's name, problem, booking code and the mobile's last digits: enough to cancel the booking."""
    if user.role == ADMIN:
        return True
    today = today or local_today(station.timezone)
    if booking is not None:
        shift = booking.shift
    elif walkin is not None:
        shift = db.session.get(DutyShift, walkin.shift_id) if walkin.shift_id else None
    else:
        shift = roster.shift_on(station, today)
    return (
        shift is not None
        and shift.station_id == station.id
        and shift.duty_on == today
        and shift.lawyer.user_id == user.id
    )


def needs_consent(booking: Booking | None, walkin: WalkIn | None) -> bool:
    """Whether the record form must ask for consent: a booking holds it, and so does a walk-in number
    given with a mobile; anyone else has the notice read to them before their details are written."""
    if booking is not None:
        return False
    return walkin is None or walkin.consent_at is None


def check_consent(booking: Booking | None, walkin: WalkIn | None, given: bool) -> None:
    """Refuse a record of someone who was not read the notice, or did not agree (PIPL)."""
    bookings.check_consent(given, needed=needs_consent(booking, walkin))


@dataclass(frozen=True)
class Consent:
    """A recorded consent: when, how (kiosk, online, read aloud, by telephone) and who read the notice."""

    at: datetime
    how: str
    by: User | None


def consent_of(c: Consultation) -> Consent | None:
    """The consent behind a consultation: its own, its booking's, or its walk-in number's."""
    holder: Consultation | Booking | WalkIn | None = c
    if c.consent_at is None:
        holder = (db.session.get(Booking, c.booking_id) if c.booking_id else None) or (
            db.session.get(WalkIn, c.walkin_id) if c.walkin_id else None
        )
    if holder is None or holder.consent_at is None or holder.consent_how is None:
        return None
    by = db.session.get(User, holder.consent_by_id) if holder.consent_by_id else None
    return Consent(holder.consent_at, holder.consent_how, by)


def open_record_form(user: User, booking: Booking) -> None:
    """Note in the audit log that a booking's record form was shown (who looked; no personal data)."""
    audit.record("booking.record_form", booking, actor=user, station_id=booking.shift.station_id)


def record_consultation(
    station: Station,
    author: User,
    record: Record,
    booking: Booking | None = None,
    walkin: WalkIn | None = None,
    name: str = "",
    today: date | None = None,
    consent: bool = False,
) -> Consultation:
    """Record a consultation on today's shift; a booking becomes completed; a follow-up opens a matter.
    `consent`: the lawyer read the notice to someone whose consent no booking or number holds."""
    today = today or local_today(station.timezone)
    shift = roster.shift_on(station, today)
    if shift is None:
        raise NotAllowed(_("There is no lawyer on duty today."))
    if author.role != ADMIN and shift.lawyer.user_id != author.id:
        raise NotAllowed(_("Only today's duty lawyer records consultations."))
    record = _check(record, today)
    veteran_id, channel = None, WALKIN
    if booking is not None:
        if booking.shift_id != shift.id or booking.status not in ACTIVE_STATES:
            raise NotAllowed(_("This booking is not open today."))
        changed = rows_changed(
            db.session.execute(
                sa.update(Booking)
                .where(Booking.id == booking.id, Booking.status.in_(ACTIVE_STATES))
                .values(status=COMPLETED, updated_at=now_utc())
            )
        )
        if not changed:
            raise NotAllowed(_("This booking was changed a moment ago. Please look at it again."))
        bookings.announce(booking, COMPLETED, now_utc())  # the webhooks tell other systems
        veteran_id, name, channel = booking.veteran_id, booking.name, booking.channel
    elif walkin is not None:
        veteran_id, name = walkin.veteran_id, walkin.person
        walkin.status = "done"
    consultation = Consultation(
        station_id=station.id,
        shift_id=shift.id,
        lawyer_id=shift.lawyer_id,
        author_id=author.id,
        booking_id=booking.id if booking else None,
        walkin_id=walkin.id if walkin else None,
        veteran_id=veteran_id,
        name=clean_prose(name)[:30],
        held_on=today,
        channel=channel,
        category=record.category,
        summary=record.summary,
        advice=record.advice,
        outcomes=list(record.outcomes),
        counselling_notes=record.counselling_notes,
    )
    if consent and needs_consent(booking, walkin):
        consultation.consent_at, consultation.consent_how = now_utc(), CONSENT_READ_ALOUD
        consultation.consent_by_id = author.id
    db.session.add(consultation)
    db.session.flush()
    if record.follow_up:
        db.session.add(
            Matter(
                consultation_id=consultation.id,
                station_id=station.id,
                owner_id=author.id,
                due_on=record.due_on,
                status=OPEN,
            )
        )
    audit.record(
        "consultation.create", consultation, details={"outcomes": record.outcomes}, station_id=station.id
    )
    # The person is thanked with a link to rate it (好差评), once per consultation (the outbox's key).
    rating_notices.on_consultation_recorded(consultation, now_utc())
    db.session.flush()
    return consultation


def _snapshot(c: Consultation) -> dict:
    return {
        "category": c.category,
        "summary": c.summary,
        "advice": c.advice,
        "outcomes": list(c.outcomes),
        "counselling_notes": c.counselling_notes,
    }


def correct_consultation(c: Consultation, editor: User, record: Record, today: date | None = None) -> None:
    """The author corrects their record; the earlier text is kept as a version every time."""
    today = today or local_today()
    if editor.id != c.author_id:
        raise NotAllowed(_("Only the lawyer who wrote a record may correct it."))
    record = _check(Record(**{**record.__dict__, "follow_up": False}), today)
    db.session.add(ConsultationVersion(consultation_id=c.id, saved_by_id=editor.id, data=_snapshot(c)))
    c.category, c.summary, c.advice = record.category, record.summary, record.advice
    c.outcomes, c.counselling_notes = list(record.outcomes), record.counselling_notes
    audit.record("consultation.correct", c, details={"same_day": c.held_on == today}, station_id=c.station_id)
    db.session.flush()


def may_read(c: Consultation, user: User) -> bool:
    """A lawyer reads what they recorded and the consultation behind a matter they hold (a hand-over
    must not leave the new owner blind); administrators read everything; staff read no content."""
    if user.role == ADMIN or c.author_id == user.id:
        return True
    return c.matter is not None and c.matter.owner_id == user.id


def may_read_counselling(c: Consultation, user: User) -> bool:
    """Counselling notes stay with their author and administrators, even after a hand-over."""
    return user.role == ADMIN or c.author_id == user.id


def read_consultation(c: Consultation, user: User) -> Consultation:
    """Open a record's content for a user who may read it; every such view is audited."""
    if not may_read(c, user):
        raise NotAllowed(_("You may not read this record."))
    audit.record("consultation.view", c, station_id=c.station_id)
    return c


def history(veteran_id: int | None, station: Station) -> list[Consultation]:
    """The same person's earlier consultations within the station's retention period."""
    if veteran_id is None:
        return []
    since = local_today(station.timezone) - timedelta(days=365 * station.retention_years)
    query = sa.select(Consultation).where(
        Consultation.veteran_id == veteran_id, Consultation.held_on >= since
    )
    return list(db.session.scalars(query.order_by(Consultation.held_on.desc())))


def held_on(station: Station, day: date) -> list[Consultation]:
    """The consultations recorded at a station on a day, in the order they were written (their texts are
    loaded only if read: the console lists names, matters and outcomes)."""
    texts = (Consultation.summary, Consultation.advice, Consultation.counselling_notes)
    query = (
        sa.select(Consultation)
        .options(*(defer(text) for text in texts))
        .where(Consultation.station_id == station.id, Consultation.held_on == day)
    )
    return list(db.session.scalars(query.order_by(Consultation.created_at, Consultation.id)))


def get(consultation_id: int) -> Consultation | None:
    """The consultation with this id, if any."""
    return get_by_id(Consultation, consultation_id)


# -- matters ---------------------------------------------------------------------------------------------


def get_matter(matter_id: int) -> Matter | None:
    """The matter with this id, if any."""
    return get_by_id(Matter, matter_id)


def matters_page(user: User, mine: bool = False, page: int = 1, per_page: int = 50) -> CappedPage:
    """A lawyer's own matters; for an administrator all of them, or (`mine`) those they hold or lead
    (领导包案); open ones first by due date, then the closed ones, most recently due first — a page at
    a time, counted up to the cap (ten years hold hundreds of thousands of closed matters)."""

    def scoped(query: sa.Select) -> sa.Select:
        if user.role != ADMIN:
            return query.where(Matter.owner_id == user.id)
        if mine:
            return query.where(sa.or_(Matter.owner_id == user.id, Matter.leader_id == user.id))
        return query

    # IN, not <>: the index on (status, due_on) finds the few open ones among the many closed. The
    # states are written into the statement: with them as parameters a prepared statement's generic
    # plan cannot tell the few open ones from the many closed, and reads them all.
    states = [sa.literal(state, literal_execute=True) for state in (OPEN, IN_PROGRESS)]
    still_open = scoped(sa.select(Matter).where(Matter.status.in_(states))).order_by(Matter.due_on, Matter.id)
    closed_state = sa.literal(CLOSED, literal_execute=True)
    closed = scoped(sa.select(Matter).where(Matter.status == closed_state)).order_by(
        Matter.due_on.desc(), Matter.id.desc()
    )
    # The consultations, owners and leaders are read by key once the page is known (joined to the page
    # query, the database joined and sorted every match before it limited); each part is one
    # statement, whatever it holds.
    loads = (lazyload(Matter.consultation), lazyload(Matter.owner), lazyload(Matter.leader))
    still_open, closed = still_open.options(*loads), closed.options(*loads)
    open_count, closed_count = capped_count(still_open), capped_count(closed)
    total = min(open_count + closed_count, COUNT_CAP)
    start = (page - 1) * per_page
    items: list[Matter] = []
    related: list[object] = []
    if start < total:
        open_rows = still_open.limit(fixed(per_page)).offset(fixed(min(start, open_count)))
        items = list(db.session.scalars(open_rows).unique())
        items = items[: max(0, open_count - start)]
        skip = max(0, start - open_count)
        items += db.session.scalars(closed.limit(fixed(per_page - len(items))).offset(fixed(skip))).unique()
        consultations = {m.consultation_id for m in items}
        # Only what the list shows (name, category): not the record's texts, lawyer and outcomes.
        shown = (
            load_only(Consultation.name, Consultation.category),
            lazyload(Consultation.lawyer),
            lazyload(Consultation.outcome_rows),
        )
        related += db.session.scalars(
            sa.select(Consultation).where(Consultation.id.in_(consultations)).options(*shown)
        )
        people = {m.owner_id for m in items} | {m.leader_id for m in items if m.leader_id is not None}
        related += db.session.scalars(sa.select(User).where(User.id.in_(people)))
        # The page's stations too: `is_overdue` then finds each in the session.
        stations = {m.station_id for m in items}
        related += db.session.scalars(sa.select(Station).where(Station.id.in_(stations)))
    return CappedPage(items, page, per_page, total, open_count + closed_count > COUNT_CAP, related)


def matters_for(user: User, mine: bool = False) -> list[Matter]:
    """The first page of `matters_page`."""
    return list(matters_page(user, mine).items)


def may_see_matter(matter: Matter, user: User) -> bool:
    """Its owner and administrators (a leader is one) open a matter."""
    return user.role == ADMIN or matter.owner_id == user.id


def is_overdue(matter: Matter, today: date | None = None) -> bool:
    """Open past its due date, in the station's time."""
    if matter.status == CLOSED:
        return False
    station = db.session.get_one(Station, matter.station_id)
    return matter.due_on < (today or local_today(station.timezone))


def _may_work_on(matter: Matter, user: User) -> None:
    if user.role != ADMIN and matter.owner_id != user.id:
        raise NotAllowed(_("This matter belongs to someone else."))


def add_note(
    matter: Matter, user: User, text: str, milestone: str | None = None, on: date | None = None
) -> None:
    """Add a note (or a legal-aid milestone with its date) to the timeline; open becomes in progress."""
    _may_work_on(matter, user)
    if matter.status == CLOSED:
        raise NotAllowed(_("The matter is closed."))
    text = clean_prose(text)[:2000]
    if milestone:
        if milestone not in MILESTONES or on is None:
            raise InvalidInput(_("Choose the step and its date."), field="milestone")
    elif not text:
        raise InvalidInput(_("Write the note."), field="text")
    db.session.add(
        MatterNote(matter_id=matter.id, author_id=user.id, text=text, milestone=milestone, milestone_on=on)
    )
    if matter.status == OPEN:
        matter.status = IN_PROGRESS
    audit.record("matter.note", matter, details={"milestone": milestone}, station_id=matter.station_id)
    db.session.flush()


# Called with each matter just closed, and when, in the caller's transaction: the webhooks queue their
# deliveries here (`create_app` registers them; this feature knows nothing of who listens).
on_matter_closed: list[Callable[[Matter, datetime], object]] = []


def close_matter(matter: Matter, user: User, result: str | None, money_saved: int | None = None) -> None:
    """Close a matter: a result is required, and the money recovered or saved where there is any."""
    _may_work_on(matter, user)
    if matter.status == CLOSED:
        raise NotAllowed(_("The matter is closed."))
    if result not in RESULTS:
        raise InvalidInput(_("Choose the result."), field="result")
    if money_saved is not None and money_saved < 0:
        raise InvalidInput(_("Enter an amount of 0 or more."), field="money_saved")
    closed_at = now_utc()
    matter.status, matter.result, matter.money_saved, matter.closed_at = (
        CLOSED,
        result,
        money_saved,
        closed_at,
    )
    audit.record(
        "matter.close", matter, details={"result": result, "money": money_saved}, station_id=matter.station_id
    )
    db.session.flush()
    for hook in on_matter_closed:
        hook(matter, closed_at)


def _set_if_unchanged(
    matter: Matter, column: InstrumentedAttribute, old: int | None, new: int | None
) -> None:
    """Set owner or leader only if nobody changed it meanwhile: two administrators at once cannot both
    hand the matter over, and nobody is told it is theirs when it is not."""
    changed = rows_changed(
        db.session.execute(
            sa.update(Matter)
            .where(Matter.id == matter.id, column.is_not_distinct_from(old))
            .values({column.key: new})
            .execution_options(synchronize_session=False)
        )
    )
    if not changed:
        raise NotAllowed(_("This matter was changed a moment ago. Please look at it again."))
    db.session.expire(matter)


def reassign(matter: Matter, admin: User, owner: User, now: datetime | None = None) -> bool:
    """An administrator gives a matter to another lawyer, or takes it; the new owner is told and may
    read the consultation behind it. False (nothing done, nobody told) when it is theirs already."""
    if admin.role != ADMIN:
        raise NotAllowed(_("Only an administrator reassigns matters."))
    if owner.role not in (ADMIN, "lawyer") or not owner.active:
        raise InvalidInput(_("Choose a lawyer or an administrator."), field="owner_id")
    old = matter.owner_id
    if owner.id == old:
        return False
    if owner.id == matter.leader_id:
        raise InvalidInput(_("The leader of a matter cannot also be its owner."), field="owner_id")
    _set_if_unchanged(matter, Matter.owner_id, old, owner.id)
    entry = audit.record(
        "matter.reassign", matter, details={"from": old, "to": owner.id}, station_id=matter.station_id
    )
    notices.on_reassigned(matter, owner, admin, entry.id, now or now_utc())
    db.session.flush()
    return True


def lead(matter: Matter, admin: User, leader: User, now: datetime | None = None) -> bool:
    """领导包案: an administrator attaches a leader (an administrator) beside the lawyer who handles
    the matter, who keeps working it; the leader is told. False when they lead it already."""
    if admin.role != ADMIN:
        raise NotAllowed(_("Only an administrator attaches a leader to a matter."))
    if leader.role != ADMIN or not leader.active:
        raise InvalidInput(_("Choose an administrator as the leader."), field="leader_id")
    if matter.status == CLOSED:
        raise NotAllowed(_("The matter is closed."))
    old = matter.leader_id
    if leader.id == old:
        return False
    if leader.id == matter.owner_id:
        raise InvalidInput(_("The leader of a matter cannot also be its owner."), field="leader_id")
    _set_if_unchanged(matter, Matter.leader_id, old, leader.id)
    entry = audit.record(
        "matter.lead", matter, details={"from": old, "to": leader.id}, station_id=matter.station_id
    )
    notices.on_leader_attached(matter, leader, admin, entry.id, now or now_utc())
    db.session.flush()
    return True


def unlead(matter: Matter, admin: User, now: datetime | None = None) -> bool:
    """End the 包案: the matter has no leader any more. False when it had none."""
    if admin.role != ADMIN:
        raise NotAllowed(_("Only an administrator attaches a leader to a matter."))
    if matter.status == CLOSED:
        raise NotAllowed(_("The matter is closed."))
    old = matter.leader_id
    if old is None:
        return False
    _set_if_unchanged(matter, Matter.leader_id, old, None)
    audit.record("matter.unlead", matter, details={"from": old}, station_id=matter.station_id)
    notices.on_leader_detached(matter, now or now_utc())
    db.session.flush()
    return True


def public_status(booking: Booking) -> tuple[str, str | None] | None:
    """(stage, result) of the matter behind a booking, for the veteran's look-up; no content."""
    consultation = db.session.scalar(sa.select(Consultation).where(Consultation.booking_id == booking.id))
    if consultation is None:
        return None
    matter = consultation.matter
    if matter is None:
        return ("done", None)
    return (matter.status, matter.result)


def possible_owners() -> list[User]:
    """Active lawyers and administrators, for reassigning."""
    query = (
        sa.select(User)
        .where(User.active, User.role.in_(("lawyer", ADMIN)))
        .order_by(User.role, User.username)
    )
    return list(db.session.scalars(query))


def possible_leaders() -> list[User]:
    """Active administrators, for 领导包案."""
    query = sa.select(User).where(User.active, User.role == ADMIN).order_by(User.username)
    return list(db.session.scalars(query))


def queue_person(booking: Booking | None, walkin: WalkIn | None) -> Veteran | None:
    """The person behind a queue entry, if known."""
    if booking is not None:
        return booking.veteran
    return walkin.veteran if walkin is not None else None


# -- edit history and the booking's words ----------------------------------------------------------------

HISTORY_FIELDS = ("category", "summary", "advice", "outcomes", "counselling_notes")


@dataclass(frozen=True)
class FieldChange:
    """One field a correction changed: its text (or codes) before and after."""

    field: str
    before: str | list[str]
    after: str | list[str]


@dataclass(frozen=True)
class Correction:
    """One correction of a record: when, by whom, and what it changed, field by field. `withheld` says it
    also changed the counselling notes, which this reader may not see."""

    at: datetime
    by: User | None
    changes: list[FieldChange]
    withheld: bool = False


@dataclass(frozen=True)
class EditHistory:
    """Who wrote a record and when, and each correction since, newest first."""

    recorded_at: datetime
    recorded_by: User | None
    corrections: list[Correction]


def edit_history(c: Consultation, user: User) -> EditHistory | None:
    """A record's earlier versions as the corrections that replaced them, newest first; None for a user
    who may not read the record, and no counselling notes for one who may not read those."""
    if not may_read(c, user):
        return None
    versions = list(
        db.session.scalars(
            sa.select(ConsultationVersion)
            .where(ConsultationVersion.consultation_id == c.id)
            .order_by(ConsultationVersion.saved_at, ConsultationVersion.id)
        )
    )
    # Each version holds the text a correction replaced: what it changed is that text against the next.
    texts = [version.data for version in versions] + [_snapshot(c)]
    counselling = may_read_counselling(c, user)
    corrections = []
    for version, before, after in zip(versions, texts, texts[1:], strict=False):
        changes = [
            FieldChange(name, before.get(name) or "", after.get(name) or "")
            for name in HISTORY_FIELDS
            if (before.get(name) or "") != (after.get(name) or "")
        ]
        withheld = not counselling and any(ch.field == "counselling_notes" for ch in changes)
        if withheld:
            changes = [ch for ch in changes if ch.field != "counselling_notes"]
        editor = db.session.get(User, version.saved_by_id) if version.saved_by_id else None
        corrections.append(Correction(version.saved_at, editor, changes, withheld))
    return EditHistory(c.created_at, db.session.get(User, c.author_id), corrections[::-1])


def booking_description(c: Consultation) -> str:
    """What the veteran wrote about their problem when booking (it is optional), if anything."""
    if c.booking_id is None:
        return ""
    booking = db.session.get(Booking, c.booking_id)
    return (booking.description or "") if booking is not None else ""
