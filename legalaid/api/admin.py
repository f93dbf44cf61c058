"""The administrator's page of API keys (/admin/api-keys): make one (shown once), list them, revoke one."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers.response import Response

from legalaid.access import ADMIN, roles
from legalaid.api import services
from legalaid.api.forms import CHANNEL_LABELS, SCOPE_LABELS, ApiKeyForm, RevokeKeyForm
from legalaid.forms import attempt, attempt_or_flash
from legalaid.stations import services as stations

bp = Blueprint("api_keys", __name__, url_prefix="/admin/api-keys")


def _form(empty: bool = False) -> ApiKeyForm:
    form = ApiKeyForm(formdata=None) if empty else ApiKeyForm()
    form.station_id.choices = [(0, _("Every station"))] + [
        (s.id, s.name) for s in stations.list_stations(include_inactive=False)
    ]
    return form


def _page(form: ApiKeyForm, created: tuple[object, str] | None = None) -> str:
    return render_template(
        "api/keys.html",
        form=form,
        revoke_form=RevokeKeyForm(),
        keys=services.list_keys(),
        scope_labels=SCOPE_LABELS,
        channel_labels=CHANNEL_LABELS,
        created=created,
    )


@bp.get("/")
@roles(ADMIN)
def index() -> str:
    """The keys, and the form that makes one."""
    return _page(_form())


@bp.post("/")
@roles(ADMIN)
def create() -> str:
    """Make a key and show it this once (the page is not stored: no redirect, no flash with the key)."""
    form = _form()
    if form.validate_on_submit():
        station_id = form.station_id.data or None  # 0: every station
        done = attempt(
            form,
            lambda: services.create_key(
                form.name.data,
                form.scopes.data or [],
                station_id,
                by=current_user,
                channel=form.channel.data or "",
                rate_per_minute=form.rate_per_minute.data,
            ),
        )
        if done.ok:
            return _page(_form(empty=True), created=done.value)
    return _page(form)


@bp.post("/<int:key_id>/revoke")
@roles(ADMIN)
def revoke(key_id: int) -> Response:
    """Revoke a key: its next call is refused."""
    key = services.get_key(key_id)
    if key is None:
        abort(404)
    form = RevokeKeyForm()
    if form.validate_on_submit() and attempt_or_flash(lambda: services.revoke_key(key, by=current_user)):
        flash(_("The key “%(name)s” is revoked: it is refused from its next call.", name=key.name), "success")
    return redirect(url_for("api_keys.index"))
