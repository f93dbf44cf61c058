"""Law firms, lawyers (one by one or imported from a spreadsheet) and their dates off."""

from __future__ import annotations

import csv
import io
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from legalaid import audit, cache
from legalaid.access import current_user_id
from legalaid.auth import services as accounts
from legalaid.auth.models import User
from legalaid.bookings.validation import check_mobile, clean_prose, clean_text, has_foreign_digits
from legalaid.categories import MATTER_CATEGORIES
from legalaid.errors import FieldErrors, InvalidInput, Problems
from legalaid.extensions import db
from legalaid.i18n import LANGUAGE_NAMES
from legalaid.lawyers.models import LawFirm, Lawyer, Unavailability
from legalaid.privacy import is_email, mask_mobile
from legalaid.roster import conflicts
from legalaid.stations.models import Station

# ASCII digits only: \d would also take Arabic-Indic and full-width digits.
LICENCE_NO = re.compile(r"^[0-9]{17}$")


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


def lawyer_counts() -> dict[int, int]:
    """How many lawyers each firm has, in one query (the firms page counts, it does not list them)."""
    rows = db.session.execute(sa.select(Lawyer.firm_id, sa.func.count()).group_by(Lawyer.firm_id))
    return {firm_id: int(n) for firm_id, n in rows}


def get_firm(firm_id: int) -> LawFirm | None:
    """The firm with this id, if any."""
    return db.session.get(LawFirm, firm_id)


def find_firm(name: str) -> LawFirm | None:
    """The firm with exactly this name, if any."""
    return db.session.scalar(sa.select(LawFirm).where(LawFirm.name == name.strip()))


def save_firm(firm: LawFirm | None, name: str, contact_person: str, phone: str) -> LawFirm:
    """Create a firm (firm=None) or change one; names are unique."""
    name = clean_prose(name)
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
    firm.contact_person = clean_prose(contact_person)
    firm.phone = clean_prose(phone)
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
    contract_start: date | None  # None only until checked: `check_lawyer` refuses it
    contract_end: date | None = None
    mobile: str = ""
    email: str = ""
    specialties: list[str] = field(default_factory=list)
    user_id: int | None = None


def check_lawyer(
    station: Station, data: LawyerData, lawyer: Lawyer | None = None, firm_exists: bool = True
) -> None:
    """Check every rule of a lawyer's record; raises FieldErrors naming every wrong field at once.

    The mobile number is normalised in `data` (spaces and dashes dropped). `firm_exists=False` is for an
    import row whose firm will be created with it.
    """
    problems = Problems()
    if not clean_prose(data.name):
        problems.add(_("Enter the lawyer's name."), field="name")
    if firm_exists and get_firm(data.firm_id or 0) is None:
        problems.add(_("Choose the law firm."), field="firm_id")
    problems.check(lambda: _check_licence(station, data.licence_no, lawyer))
    if data.mobile:
        data.mobile = problems.check(lambda: check_mobile(data.mobile), data.mobile)
    if data.email and not is_email(data.email):
        problems.add(_("Enter a valid e-mail address."), field="email")
    if data.contract_start is None:
        problems.add(_("Enter the contract's start date."), field="contract_start")
    elif data.contract_end is not None and data.contract_end < data.contract_start:
        problems.add(_("The contract cannot end before it starts."), field="contract_end")
    if set(data.specialties or []) - set(MATTER_CATEGORIES):
        problems.add(_("Unknown specialty."), field="specialties")
    account = data.user_id
    if account:
        problems.check(lambda: _check_account(account, lawyer))
    problems.raise_any()


def _check_licence(station: Station, licence_no: str, lawyer: Lawyer | None) -> None:
    """17 digits 0–9, not another lawyer's of the station."""
    licence = (licence_no or "").strip()
    if has_foreign_digits(licence):
        raise InvalidInput(
            _("Type the number with the digits 0–9 (not full-width or other digits)."), field="licence_no"
        )
    if not LICENCE_NO.match(licence):
        raise InvalidInput(_("A practising-licence number has exactly 17 digits."), field="licence_no")
    clash = db.session.scalar(
        sa.select(Lawyer.id).where(Lawyer.station_id == station.id, Lawyer.licence_no == licence)
    )
    if clash is not None and (lawyer is None or clash != lawyer.id):
        raise InvalidInput(
            _("A lawyer with licence number %(no)s already exists.", no=licence), field="licence_no"
        )


def _check_account(user_id: int, lawyer: Lawyer | None) -> None:
    """A lawyer-role account not linked to another lawyer."""
    user = db.session.get(User, user_id)
    if user is None or user.role != "lawyer":
        raise InvalidInput(_("Link only an account with the lawyer role."), field="user_id")
    linked = db.session.scalar(sa.select(Lawyer.id).where(Lawyer.user_id == user_id))
    if linked is not None and (lawyer is None or linked != lawyer.id):
        raise InvalidInput(_("That account is already linked to another lawyer."), field="user_id")


def _apply(lawyer: Lawyer, data: LawyerData) -> None:
    lawyer.name = clean_prose(data.name)
    lawyer.firm_id = data.firm_id
    lawyer.licence_no = data.licence_no.strip()
    if data.contract_start is not None:  # always, once checked
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
    cache.forget_station(station.id)  # the log's choice of lawyers shows the new one at once
    return lawyer


def update_lawyer(lawyer: Lawyer, data: LawyerData) -> None:
    """Change a lawyer's record."""
    check_lawyer(lawyer.station, data, lawyer)
    _apply(lawyer, data)
    db.session.flush()
    audit.record("lawyer.update", lawyer, details={"name": lawyer.name})
    cache.forget_station(lawyer.station_id)  # the log's choice of lawyers shows the new name at once
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


@dataclass(frozen=True)
class ImportColumn:
    """A column of the lawyers' spreadsheet: its key, the header a bureau's sheet has in Chinese, the
    English header, whether it must be filled, and how to fill it (for the template)."""

    key: str
    chinese: str
    english: str
    label: object  # the column's name in messages, translated
    required: bool
    how: object  # translated


IMPORT_COLUMNS = (
    ImportColumn("name", "姓名", "name", _l("Name"), True, _l("The lawyer's full name.")),
    ImportColumn(
        "firm", "律师事务所", "firm", _l("Law firm"), True, _l("A firm not yet known is added with its name.")
    ),
    ImportColumn(
        "licence_no",
        "执业证号",
        "licence_no",
        _l("Licence number"),
        True,
        _l("Exactly 17 digits, as on the practising licence; keep the column formatted as text."),
    ),
    ImportColumn(
        "mobile", "手机号码", "mobile", _l("Mobile"), False, _l("11 digits starting with 1 (digits 0–9).")
    ),
    ImportColumn("email", "电子邮箱", "email", _l("E-mail"), False, _l("Where the lawyer's notices go.")),
    ImportColumn(
        "contract_start",
        "服务协议开始日期",
        "contract_start",
        _l("Contract start"),
        True,
        _l("Like 2026-03-03."),
    ),
    ImportColumn(
        "contract_end",
        "服务协议结束日期",
        "contract_end",
        _l("Contract end"),
        False,
        _l("Like 2026-12-31; empty if open-ended."),
    ),
    ImportColumn(
        "specialties",
        "擅长领域",
        "specialties",
        _l("Specialties"),
        False,
        _l("Matter categories separated by 、 or commas, e.g. 劳动争议、婚姻家庭."),
    ),
)
# Other spellings seen in bureaus' sheets.
_HEADER_ALIASES = {
    "律所": "firm",
    "律师事务所名称": "firm",
    "执业证号码": "licence_no",
    "律师执业证号": "licence_no",
    "licence": "licence_no",
    "license_no": "licence_no",
    "手机": "mobile",
    "手机号": "mobile",
    "联系电话": "mobile",
    "邮箱": "email",
    "e-mail": "email",
    "协议开始日期": "contract_start",
    "协议结束日期": "contract_end",
    "专长": "specialties",
}
# Which column a problem found on a field of the lawyer's record is about.
_FIELD_COLUMNS = {"firm_id": "firm"}
_SEPARATORS = re.compile(r"[、,，;；/|\s]+")


def _header_key(text: object) -> str | None:
    """The column a header names: Chinese or English, in any case, with spaces or underscores."""
    header = re.sub(r"[\s*＊]+", "", clean_text(str(text or ""))).lower()
    for column in IMPORT_COLUMNS:
        if header in (column.chinese, column.english, column.english.replace("_", "")):
            return column.key
    return _HEADER_ALIASES.get(header)


def _names_columns(rows: list[list[object]]) -> bool:
    """Whether the first of these rows names every required column."""
    required = {c.key for c in IMPORT_COLUMNS if c.required}
    return bool(rows) and required <= {_header_key(h) for h in rows[0]}


def _column(key: str) -> ImportColumn:
    return next(c for c in IMPORT_COLUMNS if c.key == key)


@dataclass
class ImportProblem:
    """A row of the spreadsheet that cannot be imported, and every reason, column by column."""

    line: int
    problems: list[tuple[str | None, str]]  # (column key or None, message)

    @property
    def messages(self) -> list[str]:
        """Each reason, named by its column: "执业证号: …"."""
        return [f"{_column(key).label}: {text}" if key else text for key, text in self.problems]

    @property
    def message(self) -> str:
        """Every reason on one line (for the command line)."""
        return "; ".join(self.messages)


def _parse_date(value: object) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = clean_text(str(value)).replace("年", "-").replace("月", "-").replace("日", "")
    text = text.replace("/", "-").replace(".", "-")
    return date.fromisoformat("-".join(part.zfill(2) for part in text.split("-")))


def _specialty_codes() -> dict[str, str]:
    """Every way a specialty may be written: its code, and its label in each of our languages."""
    names = {code: code for code in MATTER_CATEGORIES}
    for locale in LANGUAGE_NAMES:
        with force_locale(locale):
            names.update({str(label).lower(): code for code, label in MATTER_CATEGORIES.items()})
    return names


def read_rows(filename: str, content: bytes) -> list[tuple[int, dict[str, object]]]:
    """Read (line number, row) pairs from a CSV or XLSX file whose first row names the columns, in
    Chinese (姓名, 律师事务所, 执业证号 …) or English (name, firm, licence_no …)."""
    if filename.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
            sheets = [[list(r) for r in sheet.iter_rows(values_only=True)] for sheet in book.worksheets]
        except Exception as error:  # openpyxl raises many kinds for a damaged file
            raise InvalidInput(_("The file is not a readable XLSX workbook."), field="file") from error
        # The sheet with the lawyers' columns (the template's other sheet explains them).
        rows = next((r for r in sheets if _names_columns(r)), sheets[0] if sheets else [])
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
    header = [_header_key(h) for h in rows[0]]
    missing = [c for c in IMPORT_COLUMNS if c.required and c.key not in header]
    if missing:
        raise InvalidInput(
            _(
                "The first row lacks the columns: %(cols)s.",
                cols=", ".join(f"{c.chinese} ({c.english})" for c in missing),
            ),
            field="file",
        )
    result = []
    for number, row in enumerate(rows[1:], start=2):
        if all(v is None or str(v).strip() == "" for v in row):
            continue
        values = {key: (row[i] if i < len(row) else None) for i, key in enumerate(header) if key}
        result.append((number, values))
    return result


def _text(value: object) -> str:
    """A cell as text; a whole number a spreadsheet keeps as 13903910021.0 loses its ".0"."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return clean_prose(str(value)) if value is not None else ""


def _row_data(
    row: dict[str, object], problems: Problems, seen: set[str], specialties: dict[str, str]
) -> tuple[str, LawyerData]:
    """The firm's name and the lawyer's record of one row, noting every problem the row alone shows."""
    firm_name = _text(row.get("firm"))
    if not firm_name:
        problems.add(_("The firm is missing."), field="firm")
    raw_licence = row.get("licence_no")
    licence = _text(raw_licence)
    if isinstance(raw_licence, int | float):
        # Spreadsheets keep only 15 significant digits of a number: the last ones are lost.
        problems.add(
            _(
                "The licence number is stored as a number and has lost digits: "  # noqa: ISC001
                "format the column as text."
            ),
            field="licence_no",
        )
    elif licence and licence in seen:
        problems.add(_("Licence number %(no)s appears twice in the file.", no=licence), field="licence_no")
    seen.add(licence)
    dates = {}
    for key in ("contract_start", "contract_end"):
        try:
            dates[key] = _parse_date(row.get(key))
        except ValueError:
            dates[key] = None
            problems.add(_("Dates must look like 2026-03-03."), field=key)
    codes = []
    for word in _SEPARATORS.split(_text(row.get("specialties"))):
        if word:
            code = specialties.get(word.lower())
            if code is None:
                problems.add(_("Unknown specialty: %(name)s.", name=word), field="specialties")
            elif code not in codes:
                codes.append(code)
    data = LawyerData(
        name=_text(row.get("name")),
        firm_id=0,
        licence_no=licence,
        contract_start=dates["contract_start"],
        contract_end=dates["contract_end"],
        mobile=_text(row.get("mobile")),
        email=_text(row.get("email")),
        specialties=codes,
    )
    return firm_name, data


def import_lawyers(
    station: Station, rows: list[tuple[int, dict[str, object]]]
) -> tuple[int, list[ImportProblem]]:
    """Add the lawyers of every row, or none at all if any row is wrong; new firms are created.

    Returns (number imported, problems): every problem of every row. With problems, nothing has been
    written.
    """
    problems: list[ImportProblem] = []
    firms = {firm.name: firm for firm in list_firms()}  # one read, not one per row and step
    specialties = _specialty_codes()
    seen: set[str] = set()
    prepared: list[tuple[str, LawyerData]] = []
    for line, row in rows:
        found = Problems()
        firm_name, data = _row_data(row, found, seen, specialties)
        firm = firms.get(firm_name)
        data.firm_id = firm.id if firm else 0
        try:
            check_lawyer(station, data, firm_exists=firm is not None or not firm_name)
        except FieldErrors as error:
            for field_name, message in error.errors:
                column = _FIELD_COLUMNS.get(field_name or "", field_name)
                if not found.has(column or ""):  # one message per mistake
                    found.add(message, field=column)
        if found.errors:
            order = [c.key for c in IMPORT_COLUMNS]
            found.errors.sort(key=lambda p: order.index(p[0]) if p[0] in order else len(order))
            problems.append(ImportProblem(line, found.errors))
        else:
            prepared.append((firm_name, data))
    if problems:
        return 0, problems
    for firm_name, data in prepared:
        if firm_name not in firms:
            firms[firm_name] = save_firm(None, firm_name, "", "")
        data.firm_id = firms[firm_name].id
        _insert_lawyer(station, data)  # every row was checked above
    audit.record("lawyer.import", station, details={"count": len(prepared)})
    return len(prepared), []


def import_template() -> bytes:
    """An XLSX template for the import: the lawyers' sheet with the Chinese headers (text columns for
    the numbers, date columns for the dates), and a sheet that explains each column and its English
    header, which the import accepts as well."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    sheet = book.active
    sheet.title = "律师名单"
    sheet.append([c.chinese for c in IMPORT_COLUMNS])
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    for index, column in enumerate(IMPORT_COLUMNS, start=1):
        letter = sheet.cell(row=1, column=index).column_letter
        sheet.cell(row=1, column=index).font = bold
        sheet.column_dimensions[letter].width = 22 if column.key != "specialties" else 30
        # Numbers stay text (a 17-digit licence would lose digits as a number); dates are dates.
        style = "yyyy-mm-dd" if column.key.startswith("contract_") else "@"
        for row in range(2, 502):
            sheet.cell(row=row, column=index).number_format = style
    notes = book.create_sheet(_("How to fill in"))
    notes.append([_("Column (Chinese header)"), _("English header"), _("Required"), _("How to fill in")])
    for cell in notes[1]:
        cell.font = bold
    for column in IMPORT_COLUMNS:
        notes.append(
            [column.chinese, column.english, _("yes") if column.required else _("no"), str(column.how)]
        )
    last = notes.max_row + 2  # a blank row, then what to do, across the four columns
    notes.cell(row=last, column=1).value = _(
        "Fill in the first sheet, one lawyer per row, from the second row. Its first row may use "  # noqa: ISC001
        "the Chinese or the English headers. Nothing is imported unless every row is valid."
    )
    notes.merge_cells(start_row=last, end_row=last, start_column=1, end_column=4)
    notes.row_dimensions[last].height = 45
    for letter, width in (("A", 22), ("B", 18), ("C", 10), ("D", 70)):
        notes.column_dimensions[letter].width = width
    for row in notes.iter_rows():
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# -- unavailability --------------------------------------------------------------------------------


def check_leave(start: date | None, end: date | None) -> None:
    """Dates off need both ends, in order, and at most a year."""
    if start is None or end is None:
        raise InvalidInput(_("Enter both dates."), field="start_on" if start is None else "end_on")
    if end < start:
        raise InvalidInput(_("The last day cannot be before the first day."), field="end_on")
    if (end - start).days > 366:
        raise InvalidInput(_("Enter at most one year at a time."), field="end_on")


def add_unavailability(lawyer: Lawyer, start: date, end: date, reason: str) -> Unavailability:
    """Record dates off for a lawyer (both ends included)."""
    check_leave(start, end)
    entry = Unavailability(lawyer_id=lawyer.id, start_on=start, end_on=end, reason=clean_prose(reason)[:200])
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
