"""Showing a masked number in full (PIPL): only to those who need it, with a reason, always audited.

One mechanism for every page: the desk's bookings, the consultation log and records, follow-up matters.
Administrators may reveal anywhere; hall staff a booking of their own station on its day or ahead (to
call a 12345 caller back); a lawyer the consultations they recorded and the matters they hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from legalaid import audit
from legalaid.auth.models import User
from legalaid.bookings.models import Booking, Veteran
from legalaid.consultations.models import Consultation, Matter
from legalaid.dates import local_today
from legalaid.db import get_by_id
from legalaid.errors import InvalidInput, NotAllowed
from legalaid.extensions import db
from legalaid.lawyers.models import Lawyer
from legalaid.privacy import mask_mobile, mask_text
from legalaid.stations.models import Station

REASONS: dict[str, object] = {
    "callback": _l("Call the person back"),
    "legal_aid": _l("Legal-aid application"),
    "identity": _l("Check who the person is"),
    "follow_up": _l("Follow up the matter"),
    "other": _l("Other (say what)"),
}
FIELDS: dict[str, object] = {"mobile": _l("Mobile number"), "id_number": _l("ID number")}
KINDS = {"booking": Booking, "consultation": Consultation, "matter": Matter}


@dataclass(frozen=True)
class Subject:
    """A record that holds a person's numbers, and the person."""

    kind: str
    record: Any
    veteran: Veteran | None
    station_id: int


def subject(kind: str, record_id: int) -> Subject | None:
    """The booking, consultation or matter with this id, with the person behind it."""
    model = KINDS.get(kind)
    record = get_by_id(model, record_id) if model else None
    if record is None:
        return None
    if isinstance(record, Booking):
        return Subject(kind, record, record.veteran, record.shift.station_id)
    consultation = record.consultation if isinstance(record, Matter) else record
    veteran = db.session.get(Veteran, consultation.veteran_id) if consultation.veteran_id else None
    return Subject(kind, record, veteran, record.station_id)


def may_reveal(user: User, subject: Subject) -> bool:
    """Whether this user may see the person's numbers in full on this record."""
    if user.role == "admin":
        return True
    record = subject.record
    if user.role == "staff":
        if subject.kind != "booking" or user.station_id != subject.station_id:
            return False
        station = db.session.get_one(Station, subject.station_id)
        return record.shift.duty_on >= local_today(station.timezone)
    if user.role == "lawyer":
        if subject.kind == "matter":
            return record.owner_id == user.id
        if subject.kind == "consultation":
            lawyer = db.session.get(Lawyer, record.lawyer_id)
            return record.author_id == user.id or (lawyer is not None and lawyer.user_id == user.id)
    return False


def masked(subject: Subject, field: str) -> str:
    """The number as shown by default."""
    value = getattr(subject.veteran, field, None) if subject.veteran else None
    return (mask_mobile(value) if field == "mobile" else mask_text(value)) if value else ""


def reveal(user: User, subject: Subject, field: str, reason: str, note: str = "") -> str:
    """The full number, for a user who may see it and gave a reason; audited (who, whose, why)."""
    if field not in FIELDS:
        raise InvalidInput(_("Choose which number to show."), field="field")
    if not may_reveal(user, subject):
        raise NotAllowed(_("You may not see this number in full."))
    note = " ".join((note or "").split())[:200]
    if reason not in REASONS:
        raise InvalidInput(_("Choose why you need the full number."), field="reason")
    if reason == "other" and not note:
        raise InvalidInput(_("Say why you need the full number."), field="note")
    value = getattr(subject.veteran, field, None) if subject.veteran else None
    if not value:
        raise InvalidInput(_("There is no number to show."), field="field")
    audit.record(
        "privacy.reveal",
        subject.record,
        details={
            "field": field,
            "reason": reason,
            "note": note,
            "person": subject.veteran.id if subject.veteran else None,
        },
        station_id=subject.station_id,
    )
    return value
