"""The administrator's kiosk pages (/admin/kiosks): the enrolled kiosks, enrolling the browser the page
is open in, and revoking one."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers.response import Response

from legalaid.access import ADMIN, roles
from legalaid.forms import attempt, attempt_or_flash
from legalaid.kiosk import devices
from legalaid.kiosk import labels as _labels  # noqa: F401  (the audit log's words for kiosks)
from legalaid.kiosk.forms import EnrolForm, RevokeForm
from legalaid.stations import services as stations

bp = Blueprint("kiosks", __name__, url_prefix="/admin/kiosks")


def _page(form: EnrolForm) -> str:
    return render_template(
        "kiosk/devices.html",
        form=form,
        revoke_form=RevokeForm(),
        devices=devices.list_devices(),
        this_device=devices.current_device(),
    )


def _enrol_form() -> EnrolForm:
    form = EnrolForm()
    form.station_id.choices = [(s.id, s.name) for s in stations.list_stations(include_inactive=False)]
    return form


@bp.get("/")
@roles(ADMIN)
def index() -> str:
    """The enrolled kiosks, and the form that enrols this browser."""
    return _page(_enrol_form())


@bp.post("/enrol")
@roles(ADMIN)
def enrol() -> Response | str:
    """Enrol the browser this page is open in, and give it the device cookie."""
    form = _enrol_form()
    if form.validate_on_submit():
        station = stations.get_station(form.station_id.data or 0)
        done = attempt(form, lambda: devices.enrol(form.name.data, station, by=current_user))
        if done.ok:
            device, token = done.value
            flash(
                _(
                    "This browser is now the kiosk “%(name)s”. Sign out before leaving it to visitors.",
                    name=device.name,
                ),
                "success",
            )
            response = redirect(url_for("kiosks.index"))
            devices.set_cookie(response, token)
            return response
    return _page(form)


@bp.post("/<int:device_id>/revoke")
@roles(ADMIN)
def revoke(device_id: int) -> Response:
    """Revoke a kiosk: from its next request on it is an anonymous browser."""
    device = devices.get_device(device_id)
    if device is None:
        abort(404)
    form = RevokeForm()
    if form.validate_on_submit() and attempt_or_flash(lambda: devices.revoke(device, by=current_user)):
        flash(_("The kiosk “%(name)s” is revoked.", name=device.name), "success")
    return redirect(url_for("kiosks.index"))
