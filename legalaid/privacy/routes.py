"""Show a masked number in full, with a reason; the page the number was asked from keeps its place."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user

from legalaid.access import ADMIN, LAWYER, STAFF, roles
from legalaid.forms import attempt
from legalaid.privacy import services
from legalaid.privacy.forms import RevealForm
from legalaid.security import local_target

bp = Blueprint("privacy", __name__)


@bp.post("/reveal/<any(booking, consultation, matter):kind>/<int:record_id>")
@roles(ADMIN, STAFF, LAWYER)
def reveal(kind: str, record_id: int) -> tuple[str, int] | str:
    """Show one number in full to a user who may see it and said why; audited."""
    subject = services.subject(kind, record_id)
    if subject is None:
        abort(404)
    me = current_user._get_current_object()
    if not services.may_reveal(me, subject):
        abort(403)
    form = RevealForm()
    value = None
    if form.validate_on_submit():
        done = attempt(
            form, lambda: services.reveal(me, subject, form.field.data, form.reason.data, form.note.data)
        )
        value = done.value if done.ok else None
    template = "privacy/_reveal.html" if request.headers.get("HX-Request") else "privacy/revealed.html"
    context = dict(
        kind=kind,
        record_id=record_id,
        field=form.field.data if form.field.data in services.FIELDS else "mobile",
        masked=services.masked(subject, form.field.data or "mobile"),
        value=value,
        form=form,
        back=local_target(form.next.data, "/"),
    )
    if value is None and not request.headers.get("HX-Request"):
        return render_template(template, **context), 400
    return render_template(template, **context)
