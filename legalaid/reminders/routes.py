"""The administrator's outbox: what was sent, what waits, what failed — and sending one again."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response

from legalaid import audit
from legalaid.access import ADMIN, roles
from legalaid.audit.services import ACTION_LABELS, TARGETS
from legalaid.dates import now_utc
from legalaid.forms import attempt_or_flash
from legalaid.i18n import format_instant
from legalaid.paging import COUNT_CAP
from legalaid.reminders import services
from legalaid.reminders.forms import OutboxFilterForm, ResendForm
from legalaid.reminders.senders import render
from legalaid.scheduler import last_runs

bp = Blueprint("outbox", __name__, url_prefix="/admin/outbox")
ACTION_LABELS["outbox.resend"] = _l("Message sent again")
TARGETS["outbox_messages"] = (_l("Message"), "outbox.show", "message_id")


@bp.get("/")
@roles(ADMIN)
def index() -> str:
    """The outbox, filtered; the senders in use and when the scheduler last swept."""
    form = OutboxFilterForm(request.args)
    criteria = services.OutboxFilter()
    if request.args and form.validate():
        criteria = services.OutboxFilter(
            status=form.status.data or None,
            kind=form.kind.data or None,
            channel=form.channel.data or None,
            start_on=form.start_on.data,
            end_on=form.end_on.data,
        )
    page = min(max(request.args.get("page", 1, type=int), 1), 100_000)
    args = {name: request.args[name] for name in form.data if name in request.args and name != "submit"}
    return render_template(
        "reminders/outbox.html",
        form=form,
        messages=services.search(criteria, page=page),
        counts=services.status_counts(),
        count_cap=COUNT_CAP,
        senders=services.sender_configuration(),
        runs=last_runs(),
        args=args,
    )


@bp.get("/<int:message_id>")
@roles(ADMIN)
def show(message_id: int) -> str:
    """One message: its text, where it goes, and its history."""
    message = services.get_message(message_id) or abort(404)
    subject, body = render(message)
    return render_template(
        "reminders/message.html",
        message=message,
        subject=subject,
        body=body,
        events=services.history(message),
        form=ResendForm(),
        now=now_utc(),
    )


@bp.post("/<int:message_id>/resend")
@roles(ADMIN)
def resend(message_id: int) -> Response:
    """Put a failed or unknown message back in the queue (audited)."""
    message = services.get_message(message_id) or abort(404)
    if ResendForm().validate_on_submit():

        def again() -> None:
            services.resend(message, by=current_user.username)
            audit.record("outbox.resend", message, details={"kind": message.kind})

        if attempt_or_flash(again):
            if message.due_at > now_utc() + timedelta(minutes=1):  # quiet hours: it waits until morning
                flash(
                    _(
                        "No messages go out at night: this one will be sent at %(time)s.",
                        time=format_instant(message.due_at),
                    ),
                    "success",
                )
            else:
                flash(_("The message will be sent again within a minute."), "success")
    return redirect(url_for("outbox.show", message_id=message_id))
