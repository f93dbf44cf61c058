"""The administrator's page of webhooks (/admin/webhooks): register one (its secret shown once), list
them, deactivate one."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers.response import Response

from legalaid.access import ADMIN, roles
from legalaid.forms import attempt, attempt_or_flash
from legalaid.stations import services as stations
from legalaid.webhooks import services
from legalaid.webhooks.forms import DeactivateWebhookForm, WebhookForm
from legalaid.webhooks.labels import EVENT_LABELS
from legalaid.webhooks.models import WebhookEndpoint

bp = Blueprint("webhooks", __name__, url_prefix="/admin/webhooks")


def _form(empty: bool = False) -> WebhookForm:
    form = WebhookForm(formdata=None) if empty else WebhookForm()
    form.station_id.choices = [(0, _("Every station"))] + [
        (s.id, s.name) for s in stations.list_stations(include_inactive=False)
    ]
    return form


def _page(form: WebhookForm, created: tuple[WebhookEndpoint, str] | None = None) -> str:
    return render_template(
        "webhooks/endpoints.html",
        form=form,
        deactivate_form=DeactivateWebhookForm(),
        endpoints=services.list_endpoints(),
        event_labels=EVENT_LABELS,
        created=created,
    )


@bp.get("/")
@roles(ADMIN)
def index() -> str:
    """The webhooks, and the form that registers one."""
    return _page(_form())


@bp.post("/")
@roles(ADMIN)
def create() -> str:
    """Register a webhook and show its secret this once (no redirect, no flash with the secret)."""
    form = _form()
    if form.validate_on_submit():
        station_id = form.station_id.data or None  # 0: every station
        done = attempt(
            form,
            lambda: services.register(
                form.name.data, form.url.data, form.events.data or [], station_id, by=current_user
            ),
        )
        if done.ok:
            return _page(_form(empty=True), created=done.value)
    return _page(form)


@bp.post("/<int:endpoint_id>/deactivate")
@roles(ADMIN)
def deactivate(endpoint_id: int) -> Response:
    """Deactivate a webhook: nothing more is delivered to it."""
    endpoint = services.get_endpoint(endpoint_id)
    if endpoint is None:
        abort(404)
    form = DeactivateWebhookForm()
    if form.validate_on_submit() and attempt_or_flash(lambda: services.deactivate(endpoint, by=current_user)):
        flash(
            _("The webhook “%(name)s” is deactivated: nothing more is delivered to it.", name=endpoint.name),
            "success",
        )
    return redirect(url_for("webhooks.index"))
