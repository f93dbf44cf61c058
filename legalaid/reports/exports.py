"""Spreadsheets of the log and the reports, written row by row into temporary files (memory stays flat).

Cells are written so that a spreadsheet never runs them: text that begins with = + - @, a tab or a
carriage return gets a leading apostrophe in CSV (OWASP's advice) and is stored as plain text in XLSX.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import IO, Any
from xml.sax.saxutils import escape as xml_escape

from flask_babel import gettext as _

from legalaid.categories import category_label
from legalaid.consultations.forms import label as consultation_label
from legalaid.consultations.forms import outcome_words
from legalaid.consultations.models import OUTCOMES
from legalaid.paging import id_url
from legalaid.privacy import mask_mobile, mask_name
from legalaid.ratings.forms import rating_label
from legalaid.reports.forms import label
from legalaid.reports.services import LawyerFigures, LogRow, Statistics

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"  # Excel opens UTF-8 CSV as Chinese only with it
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def inert(value: Any) -> Any:
    """A CSV cell value that a spreadsheet shows and never evaluates (a date as ISO text; the writer
    writes None as an empty cell)."""
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_START) else value
    return value.isoformat() if isinstance(value, date) else value


def csv_stream(header: list[str], rows: Iterable[list[Any]], batch: int = 500) -> Iterator[str]:
    """The CSV text in pieces (UTF-8 with BOM), `batch` rows at a time, so memory stays flat (a piece
    per row cost an export of 100,000 rows a second)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    yield BOM + buffer.getvalue()
    rows = iter(rows)
    while chunk := list(itertools.islice(rows, batch)):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([inert(v) for v in row] for row in chunk)
        yield buffer.getvalue()


def csv_file(header: list[str], rows: Iterable[list[Any]]) -> IO[bytes]:
    """The CSV in a temporary file (kept in memory while small), rewound for sending."""
    out = tempfile.SpooledTemporaryFile(max_size=1 << 20)  # noqa: SIM115  (send_file closes it)
    for piece in csv_stream(header, rows):
        out.write(piece.encode("utf-8"))
    out.seek(0)
    return out


def xlsx_file(sheets: Sequence[tuple[str, list[str], Iterable[list[Any]]]]) -> IO[bytes]:
    """An XLSX workbook of (title, header, rows) sheets in a temporary file, rewound for sending.

    Written here as the few XML parts a workbook needs, a row at a time into the zip: openpyxl's
    writer (without lxml) takes half a minute for 100,000 rows, this a few seconds, in flat memory.
    Every text is an inline string, so nothing is ever a formula."""
    out = tempfile.TemporaryFile()  # noqa: SIM115  (send_file closes it after the response)
    titles: list[str] = []
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        for n, (title, header, rows) in enumerate(sheets, start=1):
            titles.append(_sheet_title(title, titles))
            with book.open(f"xl/worksheets/sheet{n}.xml", "w", force_zip64=True) as part:
                part.write(_SHEET_START)
                # A few hundred rows to each write: the compressor took half the export's time when it
                # was handed one row (half a kilobyte) at a time.
                pending: list[str] = []
                texts: dict[str, str] = {}
                for r, row in enumerate(itertools.chain([header], rows), start=1):
                    pending.append(_xlsx_row(r, row, texts))
                    if len(pending) == 500:
                        part.write("".join(pending).encode("utf-8"))
                        pending.clear()
                part.write("".join(pending).encode("utf-8"))
                part.write(_SHEET_END)
        sheet_list = "".join(
            f'<sheet name="{xml_escape(t, _QUOTE)}" sheetId="{n}" r:id="rId{n}"/>'
            for n, t in enumerate(titles, start=1)
        )
        book.writestr("xl/workbook.xml", _WORKBOOK.format(sheets=sheet_list))
        book.writestr(
            "xl/_rels/workbook.xml.rels",
            _WORKBOOK_RELS.format(
                sheets="".join(
                    f'<Relationship Id="rId{n}" Type="{_REL}/worksheet" Target="worksheets/sheet{n}.xml"/>'
                    for n in range(1, len(titles) + 1)
                ),
                styles=len(titles) + 1,
            ),
        )
        book.writestr(
            "[Content_Types].xml",
            _CONTENT_TYPES.format(
                sheets="".join(
                    f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{_SHEET_TYPE}"/>'
                    for n in range(1, len(titles) + 1)
                )
            ),
        )
        book.writestr("_rels/.rels", _ROOT_RELS)
        book.writestr("xl/styles.xml", _STYLES)
    out.seek(0)
    return out


def _sheet_title(title: str, taken: list[str]) -> str:
    clean = re.sub(r"[\\/?*\[\]:]", " ", title)[:31] or "Sheet"
    name, n = clean, 1
    while name in taken:
        n += 1
        name = f"{clean[:28]} {n}"
    return name


def _column(index: int) -> str:
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


_COLUMNS = [_column(i) for i in range(1, 200)]


def _xlsx_row(r: int, values: Sequence[Any], texts: dict[str, str]) -> str:
    """One row's XML; `texts` keeps each text's cell (after its reference) across the sheet's rows: an
    export repeats the same stations, lawyers, labels and dates on most of its rows, and escaping each
    cell afresh was half of a 100,000-row export's time."""
    cells = []
    for col, value in zip(_COLUMNS, values, strict=False):
        if value is None or value == "":
            continue
        if isinstance(value, str | date):
            text = value if isinstance(value, str) else value.isoformat()
            cell = texts.get(text)
            if cell is None:
                if len(texts) >= _KEPT_TEXTS:  # a sheet of unique texts: memory stays flat
                    texts.clear()
                cell = texts[text] = _text_cell(text)
            cells.append(f'<c r="{col}{r}"{cell}')
        elif isinstance(value, bool):
            cells.append(f'<c r="{col}{r}" t="b"><v>{int(value)}</v></c>')
        elif isinstance(value, int | float):
            cells.append(f'<c r="{col}{r}"><v>{value!r}</v></c>')
        else:
            cells.append(f'<c r="{col}{r}"{_text_cell(str(value))}')
    return f'<row r="{r}">{"".join(cells)}</row>'


def _text_cell(text: str) -> str:
    """A text cell's type and inline string, after its reference."""
    text = xml_escape(_ILLEGAL_XML.sub("", text))
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f' t="inlineStr"><is><t{space}>{text}</t></is></c>'


_KEPT_TEXTS = 50_000
# Characters XML 1.0 cannot hold (a control character typed into a free-text field).
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_QUOTE = {'"': "&quot;"}
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_SHEET_START = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_MAIN}"><sheetData>'
).encode()
_SHEET_END = b"</sheetData></worksheet>"
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>{{sheets}}</sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{sheets}'
    f'<Relationship Id="rId{{styles}}" Type="{_REL}/styles" Target="styles.xml"/></Relationships>'
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "{sheets}</Types>"
)
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<styleSheet xmlns="{_MAIN}">'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


# -- what goes into each table ------------------------------------------------------------------------


class Counted:
    """An iterable that counts the rows it hands out (for the export's audit entry)."""

    def __init__(self, rows: Iterable[list[Any]]) -> None:
        self.rows, self.n = rows, 0

    def __iter__(self) -> Iterator[list[Any]]:
        for row in self.rows:
            self.n += 1
            yield row


class LogLabels:
    """A log row's codes in words, each translated once: an export asks for the same few labels on each
    of 100,000 rows, a log page on each of fifty (a call per cell was half the page's rendering)."""

    _TRANSLATE: dict[str, Callable[[Any], str]] = {
        "channel": lambda code: str(label("channel", code)),
        "category": lambda code: str(category_label(code)),
        "outcomes": outcome_words,
        "stage": lambda code: str(label("stage", code)),
        "result": lambda code: str(consultation_label("result", code)) if code else "",
    }

    def __init__(self) -> None:
        self._made: dict[tuple[str, Any], str] = {}

    def __call__(self, kind: str, code: Any) -> str:
        """The words for a channel, category, outcomes, stage or result code."""
        key = (kind, code)
        if key not in self._made:
            self._made[key] = self._TRANSLATE[kind](code)
        return self._made[key]


@dataclass(frozen=True)
class LogLine:
    """A log row as its page shows it: the person masked and every code in words."""

    row: LogRow
    name: str
    mobile: str
    channel: str
    category: str
    outcomes: str
    stage: str
    href: str  # the record
    matter_href: str | None  # its follow-up, if any


def log_lines(rows: Iterable[LogRow]) -> list[LogLine]:
    """The rows of a log page, made ready in Python (the template only places them)."""
    words = LogLabels()
    record = id_url("consultations.view", "consultation_id")
    matter = id_url("consultations.matter", "matter_id")
    return [
        LogLine(
            r,
            name=mask_name(r.name),
            mobile=mask_mobile(r.mobile),
            channel=words("channel", r.channel),
            category=words("category", r.category),
            outcomes=words("outcomes", r.outcomes),
            stage=words("stage", r.stage),
            href=record(r.id),
            matter_href=matter(r.matter_id) if r.matter_id else None,
        )
        for r in rows
    ]


def log_table(rows: Iterable[LogRow], full: bool = False) -> tuple[list[str], Iterator[list[Any]]]:
    """The log's header and rows as a spreadsheet shows them: names and numbers masked unless `full`."""
    header = [
        _("No."),
        _("Date"),
        _("Station"),
        _("Lawyer"),
        _("Name"),
        _("Mobile"),
        _("Channel"),
        _("Matter category"),
        _("Outcomes"),
        _("Follow-up"),
        _("Due"),
        _("Result"),
        _("Money recovered or saved (yuan)"),
    ]

    once = LogLabels()

    def body() -> Iterator[list[Any]]:
        for r in rows:
            yield [
                r.id,
                r.held_on,
                r.station,
                r.lawyer,
                r.name if full else mask_name(r.name),
                (r.mobile or "") if full else mask_mobile(r.mobile),
                once("channel", r.channel),
                once("category", r.category),
                once("outcomes", r.outcomes),
                once("stage", r.stage),
                r.due_on,
                once("result", r.result),
                r.money_saved,
            ]

    return header, body()


def performance_table(rows: list[LawyerFigures]) -> tuple[list[str], list[list[Any]]]:
    """The lawyer performance table: one row per lawyer."""
    header = [
        _("Lawyer"),
        _("Law firm"),
        _("Shifts scheduled"),
        _("Attended"),
        _("Missed"),
        _("Swapped away"),
        _("Taken over"),
        _("Consultations"),
        *(consultation_label("outcome", code) for code in OUTCOMES),
        _("Follow-ups closed"),
        _("Follow-ups overdue"),
        _("Number of ratings"),
        _("Satisfied (per cent)"),
        _("Poor ratings"),
    ]
    body = [
        [
            r.name,
            r.firm,
            r.scheduled,
            r.attended,
            r.missed,
            r.swapped_away,
            r.taken_over,
            r.consultations,
            *(r.outcomes[code] for code in OUTCOMES),
            r.follow_ups_closed,
            r.follow_ups_overdue,
            r.ratings.total,
            r.ratings.satisfied_share,
            r.ratings.poor,
        ]
        for r in rows
    ]
    return header, body


def annual_rows(report: dict[str, Any]) -> list[tuple[str, list[tuple[str, Any]]]]:
    """The annual report as sections of (label, figure), in the order the bureau's report uses."""
    outcomes = report["outcomes"]
    channels = report["by_channel"]
    ratings = [(_("Ratings (好差评)"), rating_rows(report["ratings"]))] if "ratings" in report else []
    return [
        (
            _("Duty"),
            [
                (_("Duty days held"), report["duty_days_held"]),
                (_("Duty days the lawyer signed in"), report["duty_days_attended"]),
                (_("Lawyers on the roster"), report["lawyers_on_roster"]),
            ],
        ),
        (
            _("Consultations"),
            [
                (_("Consultations (visits)"), report["consultations"]),
                (_("People served"), report["persons"]),
                (_("Matters"), report["matters"]),
            ],
        ),
        (
            _("Outcomes"),
            [
                (consultation_label("outcome", "advice"), outcomes["advice"]),
                (consultation_label("outcome", "legal_aid"), outcomes["legal_aid"]),
                (_("of which accepted by the legal-aid centre"), report["legal_aid_accepted"]),
                (_("of which concluded"), report["legal_aid_concluded"]),
                (consultation_label("outcome", "mediation"), outcomes["mediation"]),
                (_("of which an agreement was reached"), report["mediation_agreements"]),
                (consultation_label("outcome", "counselling"), outcomes["counselling"]),
                (consultation_label("outcome", "drafting"), outcomes["drafting"]),
                (consultation_label("outcome", "referral"), outcomes["referral"]),
                (consultation_label("outcome", "petition"), outcomes["petition"]),
            ],
        ),
        (
            _("Follow-up"),
            [
                (_("Matters followed up"), report["follow_ups_opened"]),
                (_("Problems resolved"), report["problems_solved"]),
                (_("Closed otherwise (referred, withdrawn, unresolved)"), report["closed_otherwise"]),
                (_("Still open"), report["still_open"]),
                (_("of which overdue"), report["overdue"]),
                (_("Money recovered or saved (yuan)"), report["money_saved"]),
            ],
        ),
        (
            _("Bookings by channel"),
            [
                (label("channel", "kiosk"), channels["kiosk"]),
                (label("channel", "online"), channels["online"]),
                (label("channel", "desk"), channels["desk"]),
                (label("channel", "hotline"), channels["hotline"]),
                (label("channel", "walkin"), channels["walkin"]),
                (_("Booked but did not come"), report["no_shows"]),
            ],
        ),
        *ratings,
    ]


def rating_rows(ratings: dict[str, Any]) -> list[tuple[str, Any]]:
    """The year's ratings as (label, figure): by level, the share satisfied, the poor ones answered."""
    share = ratings["satisfied_share"]
    # A share of nothing is no figure: the line is left out when nothing was rated.
    shares = [] if share is None else [(_("Satisfied: fairly satisfied or better (per cent)"), share)]
    return [
        (_("Consultations rated"), ratings["total"]),
        *((rating_label("level", level), n) for level, n in ratings["levels"].items()),
        *shares,
        (_("Poor ratings (dissatisfied or very dissatisfied)"), ratings["poor"]),
        (_("of which answered"), ratings["poor_answered"]),
    ]


def rating_table(ratings: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """The ratings per month and per lawyer as one table: count per level, total, share satisfied, poor."""
    header = [
        _("Month or lawyer"),
        *(rating_label("level", level) for level in ratings["levels"]),
        _("Number of ratings"),
        _("Satisfied (per cent)"),
        _("Poor ratings"),
    ]

    def line(name: str, counts: dict[str, Any]) -> list[Any]:
        share = counts["satisfied_share"]
        return [
            name,
            *counts["levels"].values(),
            counts["total"],
            "" if share is None else share,
            counts["poor"],
        ]

    body = [line(m["month"], m) for m in ratings["by_month"]]
    body += [line(lw["lawyer"], lw) for lw in ratings["by_lawyer"]]
    return header, body


def annual_sheets(report: dict[str, Any]) -> list[tuple[str, list[str], list[list[Any]]]]:
    """The annual report as one XLSX sheet: section, item, figure (the page's tables)."""
    rows = [[section, item, value] for section, items in annual_rows(report) for item, value in items]
    title = _("Annual report %(year)s", year=report["year"])
    scope = report["station"] or _("All stations")
    rows.insert(0, [title, scope, report["as_of"]])
    sheets = [(str(report["year"]), [_("Section"), _("Item"), _("Figure")], rows)]
    if "ratings" in report:  # the ratings per month and per lawyer, on a sheet of their own
        header, body = rating_table(report["ratings"])
        sheets.append((_("Ratings"), header, body))
    return sheets


CHART_MOST = 20  # bars in a chart of lawyers


@dataclass(frozen=True)
class Chart:
    """A chart and the table of the same numbers shown beside it."""

    key: str
    title: str
    rows: list[tuple[str, int]]
    src: str


def statistics_charts(s: Statistics, draw: Callable[..., str]) -> list[Chart]:
    """The statistics page's charts, each drawn from the same numbers as its table."""
    tables = [
        ("month", _("Consultations per month"), [(f"{m:%Y-%m}", n) for m, n in s.by_month], False),
        (
            "category",
            _("By matter category"),
            [(category_label(c), n) for c, n in s.by_category.items()],
            True,
        ),
        (
            "outcome",
            _("By outcome"),
            [(consultation_label("outcome", c), n) for c, n in s.by_outcome.items()],
            True,
        ),
        ("lawyer", _("By lawyer"), list(s.by_lawyer), True),
        ("channel", _("By channel"), [(label("channel", c), n) for c, n in s.by_channel.items()], True),
    ]
    charts = []
    for key, title, rows, horizontal in tables:
        # A province has hundreds of lawyers: the chart and its table show the busiest; the lawyer
        # performance page lists them all.
        if key == "lawyer" and len(rows) > CHART_MOST:
            rows = rows[:CHART_MOST]
            title = _("By lawyer: the %(n)d with most consultations", n=CHART_MOST)
        src = draw(title, [r[0] for r in rows], [r[1] for r in rows], horizontal=horizontal)
        charts.append(Chart(key, title, rows, src))
    return charts
