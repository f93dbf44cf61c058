"""The administrator's station pages."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers.response import Response

from legalaid.access import ADMIN, roles
from legalaid.forms import commit_or_show
from legalaid.stations import services
from legalaid.stations.forms import StationForm
from legalaid.stations.services import DEFAULT_SESSIONS

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
        done = commit_or_show(form, lambda: services.create_station(form.to_settings()))
        if done.ok:
            station = done.value
            flash(_("Station %(name)s added.", name=station.name), "success")
            return redirect(url_for("stations.index"))
    return render_template("stations/edit.html", form=form, station=None)


@bp.route("/<int:station_id>", methods=["GET", "POST"])
@roles(ADMIN)
def edit(station_id: int) -> Response | str:
    """Change a station's settings."""
    station = services.get_station(station_id)
    if station is None:
        abort(404)
    form = StationForm()
    if not form.is_submitted():
        form.fill_from(station)
    if form.validate_on_submit():
        done = commit_or_show(form, lambda: services.update_station(station, form.to_settings()))
        if done.ok:
            changes = done.value
            if changes:
                flash(_("The settings of %(name)s are saved.", name=station.name), "success")
            else:
                flash(_("Nothing was changed."), "info")
            return redirect(url_for("stations.edit", station_id=station.id))
    return render_template("stations/edit.html", form=form, station=station)
