"""The administrator's pages for firms, lawyers, imports and dates off."""

from __future__ import annotations

import io

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers.response import Response

from legalaid.access import ADMIN, roles
from legalaid.auth.forms import ConfirmForm
from legalaid.errors import DomainError
from legalaid.extensions import db
from legalaid.forms import attempt, show_error, validate_all
from legalaid.i18n import format_day, series
from legalaid.lawyers import services
from legalaid.lawyers.forms import FirmForm, ImportForm, LawyerForm, LeaveForm
from legalaid.lawyers.models import LawFirm, Lawyer
from legalaid.roster import conflicts
from legalaid.stations import services as stations

bp = Blueprint("lawyers", __name__, url_prefix="/admin")


def require_own_lawyer() -> Lawyer:
    """The signed-in lawyer's own record; without one, back to the start page, which explains."""
    lawyer = services.lawyer_for_user(current_user)
    if lawyer is None:
        abort(redirect(url_for("core.home")))
    return lawyer


def _firm_or_404(firm_id: int) -> LawFirm:
    return services.get_firm(firm_id) or abort(404)


def _lawyer_or_404(lawyer_id: int) -> Lawyer:
    return services.get_lawyer(lawyer_id) or abort(404)


@bp.route("/firms", methods=["GET", "POST"])
@roles(ADMIN)
def firms() -> Response | str:
    """List the firms and add one."""
    form = FirmForm()
    if form.validate_on_submit():
        done = attempt(
            form, lambda: services.save_firm(None, form.name.data, form.contact_person.data, form.phone.data)
        )
        if done.ok:
            firm = done.value
            flash(_("Firm %(name)s added.", name=firm.name), "success")
            return redirect(url_for("lawyers.firms"))
    return render_template(
        "lawyers/firms.html", firms=services.list_firms(), lawyers=services.lawyer_counts(), form=form
    )


@bp.route("/firms/<int:firm_id>", methods=["GET", "POST"])
@roles(ADMIN)
def firm_edit(firm_id: int) -> Response | str:
    """Change a firm."""
    firm = _firm_or_404(firm_id)
    form = FirmForm(obj=firm)
    if form.validate_on_submit():
        done = attempt(
            form, lambda: services.save_firm(firm, form.name.data, form.contact_person.data, form.phone.data)
        )
        if done.ok:
            flash(_("Saved."), "success")
            return redirect(url_for("lawyers.firms"))
    return render_template("lawyers/firm_edit.html", firm=firm, form=form)


@bp.get("/lawyers")
@roles(ADMIN)
def index() -> str:
    """The lawyers of a station."""
    station = stations.station_for(current_user, request.args.get("station", type=int))
    lawyers = services.list_lawyers(station) if station else []
    return render_template(
        "lawyers/index.html", station=station, stations=stations.list_stations(), lawyers=lawyers
    )


def _lawyer_form(form: LawyerForm, keep_user: int | None = None) -> LawyerForm:
    form.firm_id.choices = [(0, "—")] + [(f.id, f.name) for f in services.list_firms()]
    form.user_id.choices = [(0, _("(no account)"))] + [
        (u.id, f"{u.username} · {u.display_name}") for u in services.unlinked_lawyer_accounts(keep=keep_user)
    ]
    return form


@bp.route("/lawyers/new", methods=["GET", "POST"])
@roles(ADMIN)
def new() -> Response | str:
    """Add a lawyer to a station."""
    station = stations.station_for(current_user, request.args.get("station", type=int)) or abort(404)
    form = _lawyer_form(LawyerForm())
    if validate_all(form, lambda: services.check_lawyer(station, form.to_data())):
        done = attempt(form, lambda: services.create_lawyer(station, form.to_data()))
        if done.ok:
            lawyer = done.value
            flash(_("Lawyer %(name)s added.", name=lawyer.name), "success")
            return redirect(url_for("lawyers.edit", lawyer_id=lawyer.id))
    return render_template("lawyers/edit.html", form=form, lawyer=None, station=station)


@bp.route("/lawyers/<int:lawyer_id>", methods=["GET", "POST"])
@roles(ADMIN)
def edit(lawyer_id: int) -> Response | str:
    """A lawyer's record, dates off and status."""
    lawyer = _lawyer_or_404(lawyer_id)
    form = _lawyer_form(
        LawyerForm(obj=lawyer) if request.method == "GET" else LawyerForm(), keep_user=lawyer.user_id
    )
    if request.method == "GET":
        form.user_id.data = lawyer.user_id or 0
    if validate_all(form, lambda: services.check_lawyer(lawyer.station, form.to_data(), lawyer)):
        done = attempt(form, lambda: services.update_lawyer(lawyer, form.to_data()))
        if done.ok:
            flash(_("Saved."), "success")
            _flash_conflicts(
                lawyer, [c for c in conflicts.lawyer_conflicts(lawyer) if c.why == conflicts.CONTRACT]
            )
            return redirect(url_for("lawyers.edit", lawyer_id=lawyer.id))
    return render_template(
        "lawyers/edit.html",
        form=form,
        lawyer=lawyer,
        station=lawyer.station,
        leave_form=LeaveForm(),
        confirm=ConfirmForm(),
    )


def _flash_conflicts(lawyer, clashes: list) -> None:  # noqa: ANN001
    """Say which coming shifts now need another lawyer, and where to choose one."""
    if clashes:
        days = series(format_day(c.shift.duty_on) for c in clashes)
        flash(
            _(
                "%(name)s cannot take the duty of %(days)s: choose a replacement in the month view "
                "(marked there); the people booked are told of the new lawyer.",
                name=lawyer.name,
                days=days,
            ),
            "warning",
        )


@bp.post("/lawyers/<int:lawyer_id>/active")
@roles(ADMIN)
def set_active(lawyer_id: int) -> Response:
    """Deactivate (history kept) or reactivate a lawyer."""
    lawyer = _lawyer_or_404(lawyer_id)
    if ConfirmForm().validate_on_submit():
        active = request.form.get("active") == "1"
        clashes = services.set_lawyer_active(lawyer, active)
        flash(
            _("Lawyer reactivated.") if active else _("Lawyer deactivated; their history is kept."), "success"
        )
        _flash_conflicts(lawyer, clashes)
    return redirect(url_for("lawyers.edit", lawyer_id=lawyer.id))


@bp.post("/lawyers/<int:lawyer_id>/leave")
@roles(ADMIN)
def add_leave(lawyer_id: int) -> Response | str:
    """Enter dates off for a lawyer."""
    lawyer = _lawyer_or_404(lawyer_id)
    form = LeaveForm()
    if validate_all(form, lambda: services.check_leave(form.start_on.data, form.end_on.data)):
        done = attempt(
            form,
            lambda: services.add_unavailability(
                lawyer, form.start_on.data, form.end_on.data, form.reason.data
            ),
        )
        if done.ok:
            flash(_("Dates off saved."), "success")
            _flash_conflicts(lawyer, services.leave_conflicts(lawyer, form.start_on.data, form.end_on.data))
            return redirect(url_for("lawyers.edit", lawyer_id=lawyer.id))
    edit_form = _lawyer_form(LawyerForm(obj=lawyer), keep_user=lawyer.user_id)
    edit_form.user_id.data = lawyer.user_id or 0
    return render_template(
        "lawyers/edit.html",
        form=edit_form,
        lawyer=lawyer,
        station=lawyer.station,
        leave_form=form,
        confirm=ConfirmForm(),
    )


@bp.post("/leave/<int:entry_id>/delete")
@roles(ADMIN)
def delete_leave(entry_id: int) -> Response:
    """Remove an entry of dates off."""
    entry = services.get_unavailability(entry_id) or abort(404)
    lawyer_id = entry.lawyer_id
    if ConfirmForm().validate_on_submit():
        services.remove_unavailability(entry)
        flash(_("Dates off removed."), "success")
    return redirect(url_for("lawyers.edit", lawyer_id=lawyer_id))


@bp.get("/lawyers/import/template.xlsx")
@roles(ADMIN)
def import_template() -> Response:
    """The spreadsheet to fill in for an import: Chinese headers, and a sheet explaining each column."""
    return send_file(
        io.BytesIO(services.import_template()),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name="lawyers-template.xlsx",
    )


@bp.route("/lawyers/import", methods=["GET", "POST"])
@roles(ADMIN)
def import_file() -> Response | str:
    """Import lawyers from the firm's spreadsheet: every row valid, or nothing imported."""
    form = ImportForm()
    form.station_id.choices = [(s.id, s.name) for s in stations.list_stations()]
    problems: list[services.ImportProblem] = []
    if form.validate_on_submit():
        station = stations.get_station(form.station_id.data) or abort(404)
        upload = form.file.data
        try:
            rows = services.read_rows(upload.filename or "", upload.read(5 * 1024 * 1024 + 1))
            count, problems = services.import_lawyers(station, rows)
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            if problems:
                db.session.rollback()
            else:
                flash(_("%(n)d lawyers imported.", n=count), "success")
                return redirect(url_for("lawyers.index", station=station.id))
    return render_template(
        "lawyers/import.html", form=form, problems=problems, columns=services.IMPORT_COLUMNS
    )
