"""The administrator's station pages."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers.response import Response

from legalaid.access import ADMIN, roles
from legalaid.bookings import planning
from legalaid.forms import attempt
from legalaid.stations import services
from legalaid.stations.forms import ReplanForm, StationForm
from legalaid.stations.services import DEFAULT_SESSIONS, PLAN_SETTINGS

bp = Blueprint("stations", __name__, url_prefix="/admin/stations")


@bp.get("/")
@roles(ADMIN)
def index() -> str:
    """Every station with its main settings."""
    return render_template("stations/index.html", stations=services.list_stations())


@bp.route("/new", methods=["GET", "POST"])
@roles(ADMIN)
def new() -> Response | str:
    """Add a station (Tuesdays, two sessions, the usual rules, unless changed)."""
    form = StationForm()
    if not form.is_submitted():
        form.fill_sessions(list(DEFAULT_SESSIONS))
    if form.validate_on_submit():
        done = attempt(form, lambda: services.create_station(form.to_settings(), by=current_user))
        if done.ok:
            station = done.value
            flash(_("Station %(name)s added.", name=station.name), "success")
            return redirect(url_for("stations.index"))
    return render_template("stations/edit.html", form=form, station=None)


@bp.route("/<int:station_id>", methods=["GET", "POST"])
@roles(ADMIN)
def edit(station_id: int) -> Response | str:
    """Change a station's settings; coming days with bookings that keep their old plan are listed, with
    a button that re-plans them keeping every booking at its time."""
    station = services.get_station(station_id)
    if station is None:
        abort(404)
    replan_form = ReplanForm(prefix="replan")
    form = StationForm()
    if replan_form.submit.data:
        if replan_form.validate_on_submit():
            done = attempt(
                replan_form, lambda: planning.replan_coming_days(station, keep_bookings=True, by=current_user)
            )
            if done.ok:
                _flash_replanned(done.value)
                return redirect(url_for("stations.edit", station_id=station.id, _anchor="old-plan"))
        form.fill_from(station)
    elif not form.is_submitted():
        form.fill_from(station)
    elif form.validate_on_submit():
        done = attempt(form, lambda: services.update_station(station, form.to_settings(), by=current_user))
        if done.ok:
            changes = done.value
            if changes:
                flash(_("The settings of %(name)s are saved.", name=station.name), "success")
            else:
                flash(_("Nothing was changed."), "info")
            if any(name in changes for name in PLAN_SETTINGS):
                flash(_("Coming duty days without bookings now have the new slots."), "info")
            return redirect(url_for("stations.edit", station_id=station.id))
    return render_template(
        "stations/edit.html",
        form=form,
        station=station,
        replan_form=replan_form,
        old_plan=planning.days_on_old_plan(station),
        booked_days=planning.booked_coming_days(station),
    )


def _flash_replanned(result: planning.Replanned) -> None:
    """Say what a re-plan of the booked days did."""
    if result.days:
        flash(
            _("%(n)d days now have the new slots; every booking kept its time.", n=len(result.days)),
            "success",
        )
    if result.kept:
        flash(
            _("%(n)d days keep their old plan: their bookings do not fit the new one.", n=len(result.kept)),
            "warning",
        )
    if not result.days and not result.kept:
        flash(_("Every coming day already has the new slots."), "info")
