"""Law firms, lawyers (one by one or imported from a spreadsheet) and their dates off."""

from __future__ import annotations

import csv
import io
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from legalaid import audit
from legalaid.access import current_user_id
from legalaid.auth import services as accounts
from legalaid.auth.models import User
from legalaid.categories import MATTER_CATEGORIES
from legalaid.errors import InvalidInput
from legalaid.extensions import db
from legalaid.lawyers.models import LawFirm, Lawyer, Unavailability
from legalaid.privacy import is_email, mask_mobile
from legalaid.roster import conflicts
from legalaid.stations.models import Station

LICENCE_NO = re.compile(r"^\d{17}$")
MOBILE = re.compile(r"^1[3-9]\d{9}$")
IMPORT_COLUMNS = ("name", "firm", "licence_no", "mobile", "email", "contract_start", "contract_end")


def new_calendar_token() -> str:
    """A fresh unguessable secret for a calendar address."""
    return secrets.token_urlsafe(24)


# -- firms -----------------------------------------------------------------------------------------


def list_firms(with_lawyers: bool = False) -> list[LawFirm]:
    """Every firm by name; with its lawyers loaded in one query when the page lists or counts them."""
    query = sa.select(LawFirm).order_by(LawFirm.name)
    if with_lawyers:
        query = query.options(selectinload(LawFirm.lawyers))
    return list(db.session.scalars(query))


def get_firm(firm_id: int) -> LawFirm | None:
    """The firm with this id, if any."""
    return db.session.get(LawFirm, firm_id)


def find_firm(name: str) -> LawFirm | None:
    """The firm with exactly this name, if any."""
    return db.session.scalar(sa.select(LawFirm).where(LawFirm.name == name.strip()))


def save_firm(firm: LawFirm | None, name: str, contact_person: str, phone: str) -> LawFirm:
    """Create a firm (firm=None) or change one; names are unique."""
    name = (name or "").strip()
    if not name:
        raise InvalidInput(_("Enter the firm's name."), field="name")
    clash = find_firm(name)
    if clash is not None and clash is not firm:
        raise InvalidInput(_("A firm named %(name)s already exists.", name=name), field="name")
    created = firm is None
    if firm is None:
        firm = LawFirm()
        db.session.add(firm)
    firm.name = name
    firm.contact_person = (contact_person or "").strip()
    firm.phone = (phone or "").strip()
    db.session.flush()
    audit.record("firm.create" if created else "firm.update", firm, details={"name": name})
    return firm


# -- lawyers ---------------------------------------------------------------------------------------


@dataclass
class LawyerData:
    """What an administrator enters for a lawyer, as plain values."""

    name: str
    firm_id: int
    licence_no: str
    contract_start: date
    contract_end: date | None = None
    mobile: str = ""
    email: str = ""
    specialties: list[str] = field(default_factory=list)
    user_id: int | None = None


def check_lawyer(
    station: Station, data: LawyerData, lawyer: Lawyer | None = None, firm_exists: bool = True
) -> None:
    """Check every rule of a lawyer's record; raises InvalidInput naming the field.

    `firm_exists=False` is for an import row whose firm will be created with it.
    """
    if not (data.name or "").strip():
        raise InvalidInput(_("Enter the lawyer's name."), field="name")
    if firm_exists and get_firm(data.firm_id) is None:
        raise InvalidInput(_("Choose the law firm."), field="firm_id")
    licence = (data.licence_no or "").strip()
    if not LICENCE_NO.match(licence):
        raise InvalidInput(_("A practising-licence number has exactly 17 digits."), field="licence_no")
    clash = db.session.scalar(
        sa.select(Lawyer.id).where(Lawyer.station_id == station.id, Lawyer.licence_no == licence)
    )
    if clash is not None and (lawyer is None or clash != lawyer.id):
        raise InvalidInput(
            _("A lawyer with licence number %(no)s already exists.", no=licence), field="licence_no"
        )
    if data.mobile and not MOBILE.match(data.mobile.strip()):
        raise InvalidInput(_("Enter an 11-digit mobile number starting with 1."), field="mobile")
    if data.email and not is_email(data.email):
        raise InvalidInput(_("Enter a valid e-mail address."), field="email")
    if data.contract_start is None:
        raise InvalidInput(_("Enter the contract's start date."), field="contract_start")
    if data.contract_end is not None and data.contract_end < data.contract_start:
        raise InvalidInput(_("The contract cannot end before it starts."), field="contract_end")
    unknown = set(data.specialties or []) - set(MATTER_CATEGORIES)
    if unknown:
        raise InvalidInput(_("Unknown specialty."), field="specialties")
    if data.user_id:
        user = db.session.get(User, data.user_id)
        if user is None or user.role != "lawyer":
            raise InvalidInput(_("Link only an account with the lawyer role."), field="user_id")
        linked = db.session.scalar(sa.select(Lawyer.id).where(Lawyer.user_id == data.user_id))
        if linked is not None and (lawyer is None or linked != lawyer.id):
            raise InvalidInput(_("That account is already linked to another lawyer."), field="user_id")


def _apply(lawyer: Lawyer, data: LawyerData) -> None:
    lawyer.name = data.name.strip()
    lawyer.firm_id = data.firm_id
    lawyer.licence_no = data.licence_no.strip()
    lawyer.contract_start = data.contract_start
    lawyer.contract_end = data.contract_end
    lawyer.mobile = (data.mobile or "").strip()
    lawyer.email = (data.email or "").strip()
    lawyer.specialties = list(data.specialties or [])
    lawyer.user_id = data.user_id or None


def create_lawyer(station: Station, data: LawyerData) -> Lawyer:
    """Add a lawyer to a station."""
    check_lawyer(station, data)
    return _insert_lawyer(station, data)


def _insert_lawyer(station: Station, data: LawyerData) -> Lawyer:
    lawyer = Lawyer(station_id=station.id, calendar_token=new_calendar_token())
    _apply(lawyer, data)
    db.session.add(lawyer)
    db.session.flush()
    audit.record("lawyer.create", lawyer, details={"name": lawyer.name, "mobile": mask_mobile(lawyer.mobile)})
    return lawyer


def update_lawyer(lawyer: Lawyer, data: LawyerData) -> None:
    """Change a lawyer's record."""
    check_lawyer(lawyer.station, data, lawyer)
    _apply(lawyer, data)
    db.session.flush()
    audit.record("lawyer.update", lawyer, details={"name": lawyer.name})
    # A contract now ending before shifts already given: the administrators choose replacements.
    conflicts.tell_administrators(
        [c for c in conflicts.lawyer_conflicts(lawyer) if c.why == conflicts.CONTRACT]
    )


def set_lawyer_active(lawyer: Lawyer, active: bool) -> list:
    """Deactivate a lawyer (history kept; no longer rostered; their account signed out and closed) or
    reactivate them with their account; returns the coming shifts now without a lawyer, of which the
    administrators are told."""
    if lawyer.active == active:
        return []
    lawyer.active = active
    audit.record("lawyer.activate" if active else "lawyer.deactivate", lawyer)
    if lawyer.user is not None:
        accounts.set_active(lawyer.user, active)
    db.session.flush()
    found = conflicts.lawyer_conflicts(lawyer)
    conflicts.tell_administrators(found)
    return found


def regenerate_calendar_token(lawyer: Lawyer) -> str:
    """Give the lawyer a new calendar address; the old one stops working at once."""
    lawyer.calendar_token = new_calendar_token()
    audit.record("lawyer.calendar_reset", lawyer)
    db.session.flush()
    return lawyer.calendar_token


def get_lawyer(lawyer_id: int) -> Lawyer | None:
    """The lawyer with this id, if any."""
    return db.session.get(Lawyer, lawyer_id)


def lawyer_for_user(user: User) -> Lawyer | None:
    """The lawyer record linked to a signed-in account, if any."""
    return db.session.scalar(sa.select(Lawyer).where(Lawyer.user_id == user.id))


def lawyer_by_calendar_token(token: str) -> Lawyer | None:
    """The active lawyer whose calendar address has this secret."""
    if not token or len(token) > 64:
        return None
    return db.session.scalar(sa.select(Lawyer).where(Lawyer.calendar_token == token, Lawyer.active))


def list_lawyers(station: Station | None = None, include_inactive: bool = True) -> list[Lawyer]:
    """Lawyers (of one station or all), active first, by name."""
    query = sa.select(Lawyer).order_by(Lawyer.active.desc(), Lawyer.name)
    if station is not None:
        query = query.where(Lawyer.station_id == station.id)
    if not include_inactive:
        query = query.where(Lawyer.active)
    return list(db.session.scalars(query))


def unlinked_lawyer_accounts(keep: int | None = None) -> list[User]:
    """Active lawyer-role accounts not yet linked to a lawyer (plus `keep`, the current link)."""
    linked = sa.select(Lawyer.user_id).where(Lawyer.user_id.is_not(None))
    if keep:
        linked = linked.where(Lawyer.user_id != keep)
    query = (
        sa.select(User)
        .where(User.role == "lawyer", User.active, User.id.not_in(linked))
        .order_by(User.username)
    )
    return list(db.session.scalars(query))


# -- import ----------------------------------------------------------------------------------------


@dataclass
class ImportProblem:
    """A row of the spreadsheet that cannot be imported, and why."""

    line: int
    message: str


def _parse_date(value: object) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip().replace("/", "-").replace(".", "-")
    return date.fromisoformat("-".join(part.zfill(2) for part in text.split("-")))


def read_rows(filename: str, content: bytes) -> list[tuple[int, dict[str, object]]]:
    """Read (line number, row) pairs from a CSV or XLSX file whose first row names the columns."""
    if filename.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).active
        except Exception as error:  # openpyxl raises many kinds for a damaged file
            raise InvalidInput(_("The file is not a readable XLSX workbook."), field="file") from error
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    elif filename.lower().endswith(".csv"):
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = content.decode("gb18030")  # spreadsheets saved as CSV on Chinese Windows
            except UnicodeDecodeError as error:
                raise InvalidInput(
                    _("The CSV file's text encoding is not readable."), field="file"
                ) from error
        rows = list(csv.reader(io.StringIO(text)))
    else:
        raise InvalidInput(_("Upload a .csv or .xlsx file."), field="file")
    if not rows:
        raise InvalidInput(_("The file is empty."), field="file")
    header = [str(h or "").strip().lower() for h in rows[0]]
    missing = [c for c in IMPORT_COLUMNS if c not in header]
    if missing:
        raise InvalidInput(
            _("The first row lacks the columns: %(cols)s.", cols=", ".join(missing)), field="file"
        )
    result = []
    for number, row in enumerate(rows[1:], start=2):
        if all(v in (None, "") for v in row):
            continue
        result.append((number, {h: (row[i] if i < len(row) else None) for i, h in enumerate(header)}))
    return result


def import_lawyers(
    station: Station, rows: list[tuple[int, dict[str, object]]]
) -> tuple[int, list[ImportProblem]]:
    """Add the lawyers of every row, or none at all if any row is wrong; new firms are created.

    Returns (number imported, problems). With problems, nothing has been written.
    """
    problems: list[ImportProblem] = []
    firms = {firm.name: firm for firm in list_firms()}  # one read, not one per row and step
    seen: set[str] = set()
    prepared: list[tuple[int, str, LawyerData]] = []
    for line, row in rows:
        try:
            firm_name = str(row.get("firm") or "").strip()
            if not firm_name:
                raise InvalidInput(_("The firm is missing."), field="firm")
            raw_licence = row.get("licence_no")
            if isinstance(raw_licence, int | float):
                # Spreadsheets keep only 15 significant digits of a number: the last ones are lost.
                raise InvalidInput(
                    _(
                        "The licence number is stored as a number and has lost digits: "  # noqa: ISC001
                        "format the column as text."
                    ),
                    field="licence_no",
                )
            licence = str(raw_licence or "").strip()
            if licence in seen:
                raise InvalidInput(_("Licence number %(no)s appears twice in the file.", no=licence))
            seen.add(licence)
            try:
                start = _parse_date(row.get("contract_start"))
                end = _parse_date(row.get("contract_end"))
            except ValueError as error:
                raise InvalidInput(_("Dates must look like 2026-03-03."), field="contract_start") from error
            data = LawyerData(
                name=str(row.get("name") or "").strip(),
                firm_id=0,
                licence_no=licence,
                contract_start=start,
                contract_end=end,
                mobile=str(row.get("mobile") or "").strip(),
                email=str(row.get("email") or "").strip(),
            )
            firm = firms.get(firm_name)
            data.firm_id = firm.id if firm else 0
            check_lawyer(station, data, firm_exists=firm is not None)
            prepared.append((line, firm_name, data))
        except InvalidInput as error:
            problems.append(ImportProblem(line, error.message))
    if problems:
        return 0, problems
    for _line, firm_name, data in prepared:
        if firm_name not in firms:
            firms[firm_name] = save_firm(None, firm_name, "", "")
        data.firm_id = firms[firm_name].id
        _insert_lawyer(station, data)  # every row was checked above
    audit.record("lawyer.import", station, details={"count": len(prepared)})
    return len(prepared), []


# -- unavailability --------------------------------------------------------------------------------


def add_unavailability(lawyer: Lawyer, start: date, end: date, reason: str) -> Unavailability:
    """Record dates off for a lawyer (both ends included)."""
    if start is None or end is None:
        raise InvalidInput(_("Enter both dates."), field="start_on")
    if end < start:
        raise InvalidInput(_("The last day cannot be before the first day."), field="end_on")
    if (end - start).days > 366:
        raise InvalidInput(_("Enter at most one year at a time."), field="end_on")
    entry = Unavailability(
        lawyer_id=lawyer.id, start_on=start, end_on=end, reason=(reason or "").strip()[:200]
    )
    entry.created_by_id = current_user_id()
    db.session.add(entry)
    db.session.flush()
    audit.record(
        "lawyer.leave",
        lawyer,
        details={"from": start.isoformat(), "to": end.isoformat(), "reason": entry.reason},
    )
    # Dates off over a shift already given: the administrators hear of it and choose a replacement.
    conflicts.tell_administrators(leave_conflicts(lawyer, start, end))
    return entry


def leave_conflicts(lawyer: Lawyer, start: date, end: date) -> list[conflicts.Conflict]:
    """The lawyer's coming shifts that fall in these dates off."""
    return [c for c in conflicts.lawyer_conflicts(lawyer) if start <= c.shift.duty_on <= end]


def remove_unavailability(entry: Unavailability) -> None:
    """Delete an entry of dates off."""
    lawyer = entry.lawyer
    db.session.delete(entry)
    audit.record("lawyer.leave_removed", lawyer, details={"from": entry.start_on.isoformat()})
    db.session.flush()


def get_unavailability(entry_id: int) -> Unavailability | None:
    """The dates-off entry with this id, if any."""
    return db.session.get(Unavailability, entry_id)
