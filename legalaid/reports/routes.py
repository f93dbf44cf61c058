"""The administrator's pages: the consultation log and its exports, statistics, lawyer performance,
the annual report and the monthly review."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers.response import Response as BaseResponse

from legalaid import audit, cache
from legalaid.access import ADMIN, roles
from legalaid.dates import local_today
from legalaid.db import MAX_ID
from legalaid.extensions import db
from legalaid.forms import attempt
from legalaid.lawyers.models import Lawyer
from legalaid.reports import charts, commands, exports, services  # noqa: F401  (commands: its CLI)
from legalaid.reports.forms import ExportForm, LogFilterForm, PeriodForm, ReviewForm
from legalaid.stations import services as stations
from legalaid.stations.models import Station

bp = Blueprint("reports", __name__, url_prefix="/admin")

PER_PAGE = 50
MAX_PAGE = 100_000
SHOWN_LAWYERS = 20  # lawyers listed with their ratings on the statistics and annual report pages


def _station_choices(form: PeriodForm) -> None:
    # Ids and names only: a province has a hundred stations, and the page needs nothing else of them.
    def read() -> tuple[tuple[str, str], ...]:
        rows = db.session.execute(sa.select(Station.id, Station.name).order_by(Station.name, Station.id))
        return tuple((str(i), name) for i, name in rows)

    form.station.choices = (("", _("All stations")), *cache.memo(("report-stations", None), read))


def _lawyer_choices(station_id: int | None) -> tuple[tuple[str, str], ...]:
    """The lawyers the log can be filtered by: the chosen station's (a lawyer works at one), or all."""

    def read() -> tuple[tuple[str, str], ...]:
        query = sa.select(Lawyer.id, Lawyer.name).order_by(Lawyer.name, Lawyer.id)
        if station_id is not None:
            query = query.where(Lawyer.station_id == station_id)
        return tuple((str(i), name) for i, name in db.session.execute(query))

    # Kept as the station's sessions are (cache.memo): a lawyer added or renamed here drops it at once.
    return cache.memo(("report-lawyers", station_id), read)


def _station_id(form: PeriodForm) -> int | None:
    value = form.station.data
    if not value or not value.isascii() or not value.isdigit() or len(value) > len(str(MAX_ID)):
        return None
    number = int(value)
    return number if 0 < number <= MAX_ID else None


def _kept_args(*names: str) -> dict[str, Any]:
    """The query parameters a redirect carries on: only those named (never `_external`, `year` …, which
    `url_for` would read as its own)."""
    return {name: request.args[name] for name in names if name in request.args}


def _today() -> date:
    return local_today()


def _period(form: PeriodForm) -> services.Period:
    """The form's period; this year so far by default, or what was valid of it."""
    today = _today()
    start = form.start_on.data if not form.start_on.errors else None
    end = form.end_on.data if not form.end_on.errors else None
    start = start or date(today.year, 1, 1)
    end = end or max(start, date(today.year, 12, 31))
    if end < start:
        end = start
    return services.Period(start, end, _station_id(form))


# -- the consultation log -----------------------------------------------------------------------------


def _log_form() -> tuple[LogFilterForm, services.LogFilter]:
    form = LogFilterForm(request.args)
    _station_choices(form)
    station_id = _station_id(form)
    if station_id is not None and not any(value == str(station_id) for value, _name in form.station.choices):
        station_id = None  # no such station (its own message shows): every lawyer, nothing kept for it
    form.lawyer.choices = (("", "—"), *_lawyer_choices(station_id))
    if request.args:
        form.validate()  # wrong fields show their message; the rest still filters
    data = {name: (f.data if not f.errors else None) for name, f in form._fields.items()}
    sort = data.get("sort") or "-date"
    criteria = services.LogFilter(
        station_id=_station_id(form) if not form.station.errors else None,
        start_on=data["start_on"],
        end_on=data["end_on"],
        lawyer_id=int(data["lawyer"]) if data["lawyer"] and str(data["lawyer"]).isdigit() else None,
        category=data["category"] or None,
        outcome=data["outcome"] or None,
        stage=data["stage"] or None,
        channel=data["channel"] or None,
        text=(data["q"] or "").strip() or None,
        sort=sort.lstrip("-"),
        descending=sort.startswith("-"),
    )
    return form, criteria


def _filter_args(form: LogFilterForm) -> dict[str, str]:
    """The filters as given, to carry into paging, sorting and export links."""
    return {
        name: request.args[name]
        for name in form._fields
        if name not in ("submit", "csrf_token") and request.args.get(name)
    }


@bp.get("/consultations")
@roles(ADMIN)
def log() -> str:
    """Every consultation, filtered, sorted and paged; each row opens the record."""
    form, criteria = _log_form()
    page = min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE)
    result = services.search_log(criteria, page=page, per_page=PER_PAGE)
    return render_template(
        "reports/log.html",
        form=form,
        result=result,
        lines=exports.log_lines(result.items),
        args=_filter_args(form),
        criteria=criteria,
        export_form=ExportForm(),
    )


def _export_response(criteria: services.LogFilter, fmt: str, full: bool, reason: str = "", note: str = ""):
    rows = services.iter_log(criteria)
    header, body = exports.log_table(rows, full=full)
    stamp = _today().isoformat()
    counted = exports.Counted(body)
    details = {"format": fmt, "full_numbers": full, "filter": criteria.as_details()}
    if full:
        details.update(reason=reason, note=note)
    if fmt == "csv":
        file, mimetype = exports.csv_file(header, counted), "text/csv"
    else:
        file, mimetype = exports.xlsx_file([(_("Consultations"), header, counted)]), exports.XLSX_MIMETYPE
    # Written down before the file leaves: an export is in the log even if the download breaks off.
    _audit_export(details, counted.n)
    return send_file(
        file, mimetype=mimetype, as_attachment=True, download_name=f"consultations-{stamp}.{fmt}"
    )


def _audit_export(details: dict[str, Any], rows: int) -> None:
    audit.record("report.export", details={**details, "rows": rows}, actor=current_user)


@bp.get("/consultations/export.<any(csv, xlsx):fmt>")
@roles(ADMIN)
def export(fmt: str) -> Response:
    """The filtered log as CSV or XLSX, numbers masked; audited with its filter and row count."""
    _form, criteria = _log_form()
    return _export_response(criteria, fmt, full=False)


@bp.post("/consultations/export-full")
@roles(ADMIN)
def export_full() -> Response | str | tuple[str, int]:
    """The filtered log with full names and numbers: a reason first; audited."""
    form, criteria = _log_form()
    export_form = ExportForm()
    if export_form.validate_on_submit():
        return _export_response(
            criteria,
            export_form.format.data,
            full=True,
            reason=export_form.reason.data,
            note=(export_form.note.data or "").strip(),
        )
    result = services.search_log(criteria, page=1, per_page=PER_PAGE)
    return render_template(
        "reports/log.html",
        form=form,
        result=result,
        lines=exports.log_lines(result.items),
        args=_filter_args(form),
        criteria=criteria,
        export_form=export_form,
        export_open=True,
    ), 400


# -- statistics and lawyer performance ----------------------------------------------------------------


def _period_form() -> tuple[PeriodForm, services.Period]:
    form = PeriodForm(request.args)
    _station_choices(form)
    if request.args:
        form.validate()
    period = _period(form)
    if not request.args.get("start_on"):
        form.start_on.data = period.start_on
    if not request.args.get("end_on"):
        form.end_on.data = period.end_on
    return form, period


@bp.get("/statistics")
@roles(ADMIN)
def statistics() -> str:
    """Figures for a period: per month, category, outcome, lawyer and channel; bookings; follow-ups."""
    form, period = _period_form()
    figures = services.statistics(period)
    rated = figures.ratings.by_lawyer if figures.ratings else []
    if figures.ratings and len(rated) > SHOWN_LAWYERS:
        figures.ratings = replace(figures.ratings, by_lawyer=_most_rated(rated, lambda row: row[2].total))
    return render_template(
        "reports/statistics.html",
        form=form,
        s=figures,
        charts=exports.statistics_charts(figures, charts.bar_chart),
        args={k: v for k, v in request.args.items() if k in ("station", "start_on", "end_on")},
        lawyers_left_out=max(len(rated) - SHOWN_LAWYERS, 0),
        shown_lawyers=SHOWN_LAWYERS,
    )


def _most_rated(rows: list, total: Any) -> list:
    """The SHOWN_LAWYERS rows with most ratings, in their order: a province has hundreds of lawyers,
    and the lawyer performance page lists them all."""
    kept = set(map(id, sorted(rows, key=total, reverse=True)[:SHOWN_LAWYERS]))
    return [row for row in rows if id(row) in kept]


@bp.get("/statistics/lawyers")
@roles(ADMIN)
def lawyers() -> Response | str:
    """合同履约: each lawyer's shifts, attendance, swaps, consultations, outcomes and follow-ups."""
    form, period = _period_form()
    rows = services.lawyer_performance(period)
    if request.args.get("format") == "xlsx":
        header, body = exports.performance_table(rows)
        audit.record(
            "report.export",
            details={
                "report": "lawyers",
                "format": "xlsx",
                "rows": len(rows),
                "filter": _period_details(period),
            },
        )
        return send_file(
            exports.xlsx_file([(_("Lawyer performance"), header, body)]),
            mimetype=exports.XLSX_MIMETYPE,
            as_attachment=True,
            download_name=f"lawyers-{period.start_on}-{period.end_on}.xlsx",
        )
    pages = max(1, -(-len(rows) // PER_PAGE))
    page = min(max(request.args.get("page", 1, type=int), 1), pages)
    return render_template(
        "reports/lawyers.html",
        form=form,
        rows=rows[(page - 1) * PER_PAGE : page * PER_PAGE],
        total=len(rows),
        page=page,
        pages=pages,
        period=period,
        args={k: v for k, v in request.args.items() if k in ("station", "start_on", "end_on")},
    )


def _period_details(period: services.Period) -> dict[str, Any]:
    return {
        "station_id": period.station_id,
        "from": period.start_on.isoformat(),
        "to": period.end_on.isoformat(),
    }


# -- the annual report --------------------------------------------------------------------------------


@bp.get("/reports/annual")
@roles(ADMIN)
def annual_this_year() -> BaseResponse:
    """This year's annual report."""
    return redirect(url_for("reports.annual", year=_today().year, **_kept_args("station", "format")))


@bp.get("/reports/annual/<int:year>")
@roles(ADMIN)
def annual(year: int) -> Response | str:
    """The year's figures for the bureau's report: a printable A4 page, or the same as XLSX."""
    if not 2000 <= year <= 2100:
        abort(404)
    form = PeriodForm(request.args)
    _station_choices(form)
    station_id = _station_id(form) if request.args.get("station") else None
    if station_id is not None and stations.get_station(station_id) is None:
        abort(404)
    report = services.annual_report(year, station_id)
    if request.args.get("format") == "xlsx":
        audit.record(
            "report.export",
            details={"report": "annual", "year": year, "station_id": station_id, "format": "xlsx"},
        )
        return send_file(
            exports.xlsx_file(exports.annual_sheets(report)),
            mimetype=exports.XLSX_MIMETYPE,
            as_attachment=True,
            download_name=f"annual-report-{year}.xlsx",
        )
    shown = report
    rated = report["ratings"]["by_lawyer"]
    if len(rated) > SHOWN_LAWYERS:
        ratings = {**report["ratings"], "by_lawyer": _most_rated(rated, lambda row: row["total"])}
        shown = {**report, "ratings": ratings}
    return render_template(
        "reports/annual.html",
        form=form,
        r=shown,
        lawyers_left_out=max(len(rated) - SHOWN_LAWYERS, 0),
        shown_lawyers=SHOWN_LAWYERS,
        rows=exports.annual_rows(report),
        year=year,
        args={"station": station_id} if station_id else {},
    )


# -- the monthly review -------------------------------------------------------------------------------


def _month(text: str) -> date:
    try:
        year, month = (int(part) for part in text.split("-"))
        if not 2000 <= year <= 2100:
            raise ValueError
        return date(year, month, 1)
    except ValueError:
        abort(404)


@bp.get("/reports/monthly")
@roles(ADMIN)
def monthly_last() -> BaseResponse:
    """Last month's review, the one the meeting at the start of a month is about."""
    first = _today().replace(day=1)
    last_month = services.month_bounds(date.fromordinal(first.toordinal() - 1))[0]
    return redirect(url_for("reports.monthly", month=f"{last_month:%Y-%m}", **_kept_args("station")))


@bp.route("/reports/monthly/<month>", methods=["GET", "POST"])
@roles(ADMIN)
def monthly(month: str) -> BaseResponse | str:
    """每月研判: the month's figures against the month before, overdue matters, and the meeting's record."""
    first = _month(month)
    station = stations.station_for(current_user, request.args.get("station", type=int))
    if station is None:
        abort(404)
    review = services.get_review(station.id, first)
    form = ReviewForm(obj=review) if request.method == "GET" else ReviewForm()
    if request.method == "GET" and review is None:
        form.held_on.data = _today()
    if form.validate_on_submit():
        record = services.ReviewRecord(
            held_on=form.held_on.data,
            attendees=form.attendees.data or "",
            conclusions=form.conclusions.data or "",
            actions=form.actions.data or "",
        )
        done = attempt(
            form, lambda: services.save_review(station, first, record, current_user._get_current_object())
        )
        if done.ok:
            flash(_("The review is recorded."), "success")
            return redirect(url_for("reports.monthly", month=month, station=station.id))
    figures = services.month_figures(station.id, first)
    return render_template(
        "reports/monthly.html",
        station=station,
        stations=stations.list_stations(),
        f=figures,
        review=review,
        form=form,
        month=first,
        previous=services.month_bounds(date.fromordinal(first.toordinal() - 1))[0],
        following=date.fromordinal(services.month_bounds(first)[1].toordinal() + 1),
    )
