"""A person's rights (PIPL Art. 44–47): an administrator finds a person by their mobile or ID number,
sees and exports everything the system holds about them, corrects it, or erases it.

Erasing is the retention's erasure (`legalaid.privacy.retention.erase`), whatever the records' age.
Every step is audited with ids and counts only. A person's own fields are read and written only in the
small functions at the top of this module (`_lookup`, `person_fields`, `_set_fields`), so that a change
in how they are stored (encryption, a keyed hash for look-ups) is made in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from legalaid import audit
from legalaid.audit.models import AuditEntry
from legalaid.bookings import validation
from legalaid.bookings.models import ACTIVE_STATES, Booking, Veteran, WalkIn
from legalaid.consultations.models import Consultation, ConsultationVersion, Matter
from legalaid.dates import now_utc
from legalaid.errors import InvalidInput, NotAllowed, Problems
from legalaid.extensions import db
from legalaid.privacy import mask_mobile, mask_name, mask_text
from legalaid.privacy.retention import Erased, erase, silence
from legalaid.reminders.models import OutboxMessage

SEARCH_BY = ("mobile", "id_number")

# -- the person's own fields (the one place that reads and writes them) --------------------------------


def _lookup(by: str, value: str) -> list[Veteran]:
    """People whose mobile or ID number is exactly this value (erased people have neither)."""
    found = Veteran.with_mobile(value) if by == "mobile" else Veteran.with_id_number(value)
    return list(db.session.scalars(sa.select(Veteran).where(found).order_by(Veteran.id)))


def person_fields(veteran: Veteran) -> dict[str, str | None]:
    """The person's name and numbers, in full."""
    return {
        "name": veteran.name,
        "mobile": veteran.mobile,
        "id_number": veteran.id_number,
        "veteran_card_no": veteran.veteran_card_no,
    }


def masked_fields(veteran: Veteran) -> dict[str, str]:
    """The person's name and numbers as shown by default (masked)."""
    values = person_fields(veteran)
    return {
        "name": mask_name(values["name"] or ""),
        "mobile": mask_mobile(values["mobile"]),
        "id_number": mask_text(values["id_number"] or ""),
        "veteran_card_no": mask_text(values["veteran_card_no"] or ""),
    }


def _set_fields(veteran: Veteran, values: dict[str, str | None]) -> None:
    for name, value in values.items():
        setattr(veteran, name, value)


def _mobile_taken(mobile: str, veteran: Veteran) -> bool:
    return any(other.id != veteran.id for other in _lookup("mobile", mobile))


# -- finding and reading ------------------------------------------------------------------------------


def find(by: str, value: str | None) -> list[Veteran]:
    """The people with exactly this mobile or ID number (checked as the booking forms check them)."""
    if by not in SEARCH_BY:
        raise InvalidInput(_("Choose what to search by."), field="by")
    if by == "mobile":
        number = validation.check_mobile(value, field="value")
    else:
        try:
            id_number = validation.check_id_number(value)
        except InvalidInput as error:
            raise InvalidInput(error.message, field="value") from error
        if id_number is None:
            raise InvalidInput(_("Enter the ID number."), field="value")
        number = id_number
    people = _lookup(by, number)
    audit.record("privacy.search", details={"by": by, "found": len(people)})
    return people


def get_person(person_id: int) -> Veteran | None:
    """The person with this id, or None."""
    return db.session.get(Veteran, person_id)


@dataclass
class Holdings:
    """Everything the system holds about one person."""

    veteran: Veteran
    bookings: list[Booking] = field(default_factory=list)
    walk_ins: list[WalkIn] = field(default_factory=list)
    consultations: list[Consultation] = field(default_factory=list)
    matters: list[Matter] = field(default_factory=list)
    messages: list[OutboxMessage] = field(default_factory=list)
    reveals: list[AuditEntry] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """How many records of each kind (what the audit entries record)."""
        return {
            "bookings": len(self.bookings),
            "walk_ins": len(self.walk_ins),
            "consultations": len(self.consultations),
            "matters": len(self.matters),
            "messages": len(self.messages),
            "reveals": len(self.reveals),
        }


def _matter_messages(matters: list[Matter]) -> sa.ColumnElement[bool]:
    """Messages about these matters (to their owner or leader): their keys begin with the kind and the
    matter's id (`matter-due:<id>:…`, `matter-overdue:<id>:…`), matched from the start so that another
    matter's key that holds the same number further on is never taken for one of these."""
    if not matters:
        return sa.false()
    return sa.or_(
        *(
            OutboxMessage.dedupe_key.startswith(f"{prefix}:{m.id}:")
            for m in matters
            for prefix in ("matter-due", "matter-overdue")
        )
    )


def _messages_about(veteran: Veteran, matters: list[Matter]) -> sa.ColumnElement[bool]:
    to_them = sa.and_(OutboxMessage.recipient_type == "veteran", OutboxMessage.recipient_id == veteran.id)
    return sa.or_(to_them, _matter_messages(matters))


def holdings(veteran: Veteran) -> Holdings:
    """Gather the person's records: bookings, walk-ins, consultations, matters, messages, reveals."""
    held = Holdings(veteran)
    held.bookings = list(
        db.session.scalars(sa.select(Booking).where(Booking.veteran_id == veteran.id).order_by(Booking.id))
    )
    held.walk_ins = list(
        db.session.scalars(sa.select(WalkIn).where(WalkIn.veteran_id == veteran.id).order_by(WalkIn.id))
    )
    booking_ids = [b.id for b in held.bookings]
    walkin_ids = [w.id for w in held.walk_ins]
    held.consultations = list(
        db.session.scalars(
            sa.select(Consultation)
            .where(
                sa.or_(
                    Consultation.veteran_id == veteran.id,
                    Consultation.booking_id.in_(booking_ids),
                    Consultation.walkin_id.in_(walkin_ids),
                )
            )
            .order_by(Consultation.held_on, Consultation.id)
        )
    )
    held.matters = [c.matter for c in held.consultations if c.matter is not None]
    held.messages = list(
        db.session.scalars(
            sa.select(OutboxMessage)
            .where(_messages_about(veteran, held.matters))
            .order_by(OutboxMessage.due_at, OutboxMessage.id)
        )
    )
    targets = [
        ("bookings", booking_ids),
        ("consultations", [c.id for c in held.consultations]),
        ("matters", [m.id for m in held.matters]),
    ]
    held.reveals = list(
        db.session.scalars(
            sa.select(AuditEntry)
            .where(
                AuditEntry.action == "privacy.reveal",
                sa.or_(
                    *(
                        sa.and_(AuditEntry.target_type == kind, AuditEntry.target_id.in_(ids))
                        for kind, ids in targets
                    )
                ),
            )
            .order_by(AuditEntry.at, AuditEntry.id)
        )
    )
    return held


def view(veteran: Veteran) -> Holdings:
    """The person's records for the administrator's page; the look is audited."""
    held = holdings(veteran)
    audit.record("privacy.person_view", veteran, details=held.counts())
    return held


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def export(veteran: Veteran) -> dict[str, Any]:
    """Everything held about the person, in full, as plain values (their copy); audited."""
    held = holdings(veteran)
    versions: dict[int, list[ConsultationVersion]] = {c.id: [] for c in held.consultations}
    if versions:
        for version in db.session.scalars(
            sa.select(ConsultationVersion)
            .where(ConsultationVersion.consultation_id.in_(list(versions)))
            .order_by(ConsultationVersion.saved_at, ConsultationVersion.id)
        ):
            versions[version.consultation_id].append(version)
    data = {
        "person": {
            "id": veteran.id,
            **person_fields(veteran),
            "created_at": _iso(veteran.created_at),
            "erased_at": _iso(veteran.erased_at),
        },
        "bookings": [
            {
                "id": b.id,
                "code": b.code,
                "station": b.shift.station.name,
                "duty_on": _iso(b.shift.duty_on),
                "starts_at": _iso(b.slot.starts_at),
                "channel": b.channel,
                "name": b.name,
                "category": b.category,
                "description": b.description,
                "status": b.status,
                "cancel_reason": b.cancel_reason,
                "consent_at": _iso(b.consent_at),
                "created_at": _iso(b.created_at),
                "checked_in_at": _iso(b.checked_in_at),
                "erased_at": _iso(b.erased_at),
            }
            for b in held.bookings
        ],
        "walk_ins": [
            {
                "id": w.id,
                "number": w.label,
                "day": _iso(w.day),
                "name": w.name,
                "category": w.category,
                "status": w.status,
                "erased_at": _iso(w.erased_at),
            }
            for w in held.walk_ins
        ],
        "consultations": [
            {
                "id": c.id,
                "held_on": _iso(c.held_on),
                "station_id": c.station_id,
                "lawyer": c.lawyer.name if c.lawyer else None,
                "channel": c.channel,
                "category": c.category,
                "name": c.name,
                "summary": c.summary,
                "advice": c.advice,
                "counselling_notes": c.counselling_notes,
                "outcomes": c.outcomes,
                "earlier_versions": [{"saved_at": _iso(v.saved_at), "data": v.data} for v in versions[c.id]],
                "erased_at": _iso(c.erased_at),
            }
            for c in held.consultations
        ],
        "matters": [
            {
                "id": m.id,
                "consultation_id": m.consultation_id,
                "status": m.status,
                "due_on": _iso(m.due_on),
                "result": m.result,
                "money_saved": m.money_saved,
                "closed_at": _iso(m.closed_at),
                "notes": [
                    {"at": _iso(n.at), "text": n.text, "milestone": n.milestone, "on": _iso(n.milestone_on)}
                    for n in m.notes
                ],
            }
            for m in held.matters
        ],
        "messages": [
            {
                "id": msg.id,
                "kind": msg.kind,
                "channel": msg.channel,
                # Their own address only: a reminder about their matter went to a lawyer.
                "to": msg.address if msg.recipient_type == "veteran" else "",
                "params": msg.params,
                "status": msg.status,
                "due_at": _iso(msg.due_at),
                "sent_at": _iso(msg.sent_at),
            }
            for msg in held.messages
        ],
        "shown_in_full": [
            {
                "at": _iso(e.at),
                "by": e.actor_name,
                "record": f"{e.target_type}:{e.target_id}",
                "which": (e.details or {}).get("field"),
                "why": (e.details or {}).get("reason"),
            }
            for e in held.reveals
        ],
    }
    audit.record("privacy.export", veteran, details=held.counts())
    return data


# -- correcting and erasing ---------------------------------------------------------------------------


def open_correction(veteran: Veteran) -> dict[str, str | None]:
    """The person's name and numbers in full, to correct them; showing them is audited."""
    audit.record("privacy.correct_open", veteran)
    return person_fields(veteran)


def correct(
    veteran: Veteran,
    name: str | None,
    mobile: str | None,
    id_number: str | None,
    card_no: str | None,
) -> list[str]:
    """Correct the person's name and numbers (checked as the booking forms check them, every wrong field
    at once); returns the names of the fields changed, which the audit entry records (not the values)."""
    if veteran.erased_at is not None:
        raise NotAllowed(_("This person's data was erased."))
    problems = Problems()
    values = {
        "name": problems.check(lambda: validation.check_name(name or "")),
        "mobile": problems.check(lambda: validation.check_mobile(mobile)),
        "id_number": problems.check(lambda: validation.check_id_number(id_number)),
        "veteran_card_no": problems.check(lambda: validation.check_card_number(card_no)),
    }
    if not problems.has("mobile") and values["mobile"] and _mobile_taken(values["mobile"], veteran):
        problems.add(_("Another person has this mobile number."), "mobile")
    problems.raise_any()
    old = person_fields(veteran)
    changed = {key: value for key, value in values.items() if value != old[key]}
    if changed:
        _set_fields(veteran, changed)
        db.session.flush()
        audit.record("privacy.correct", veteran, details={"fields": sorted(changed)})
    return sorted(changed)


def what_erasure_does(held: Holdings) -> Erased:
    """The records an erasure of this person would blank (those not blanked already)."""
    return Erased(
        consultations=[c.id for c in held.consultations if c.erased_at is None],
        bookings=[b.id for b in held.bookings if b.erased_at is None],
        walk_ins=[w.id for w in held.walk_ins if w.erased_at is None],
        people=[held.veteran.id] if held.veteran.erased_at is None else [],
        versions=0,
        notes=sum(1 for m in held.matters for n in m.notes if n.text),
        messages=0,  # counted as they are emptied
    )


def may_erase(held: Holdings) -> str | None:
    """Why the person cannot be erased now, or None when they can."""
    if held.veteran.erased_at is not None:
        return _("This person's data was erased.")
    if any(b.status in ACTIVE_STATES for b in held.bookings):
        return _("This person has a booking still to come: cancel it first (the person is told).")
    return None


def erase_person(veteran: Veteran, reason: str, now: datetime | None = None) -> Erased:
    """Erase the person and their records, whatever their age, as retention does; audited with counts.

    An open matter stays open with its dates, owner, stage and milestones; its texts go."""
    now = now or now_utc()
    reason = validation.clean_prose(reason)[:200]
    if not reason:
        raise InvalidInput(_("Say why the data is erased."), field="reason")
    held = holdings(veteran)
    refusal = may_erase(held)
    if refusal:
        raise NotAllowed(refusal)
    erased = what_erasure_does(held)
    erased.versions = sum(
        db.session.scalar(sa.select(sa.func.count()).where(ConsultationVersion.consultation_id == c.id)) or 0
        for c in held.consultations
    )
    erase(erased, now)  # the person's own messages lapse and are emptied there
    erased.messages += len(silence(_matter_messages(held.matters), now))
    db.session.flush()
    db.session.expire_all()
    audit.record("privacy.erase", veteran, details={**erased.counts(), "reason": reason})
    return erased
