"""The administrator's view of the audit log."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from legalaid.access import ADMIN, roles
from legalaid.audit import services, wording
from legalaid.audit.forms import AuditFilterForm

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")


@bp.get("/")
@roles(ADMIN)
def index() -> str:
    """Browse and filter the audit log, newest first, each entry in words."""
    form = AuditFilterForm(request.args)
    form.action.choices = [("", "—"), *wording.action_choices(services.known_actions())]
    form.target_type.choices = [("", "—"), *wording.target_choices(services.known_target_types())]
    criteria = services.AuditFilter()
    if request.args and form.validate():
        criteria = services.AuditFilter(
            actor=(form.actor.data or "").strip().lower() or None,
            action=form.action.data or None,
            target_type=form.target_type.data or None,
            target_id=form.target_id.data,
            start_on=form.start_on.data,
            end_on=form.end_on.data,
        )
    page = min(max(request.args.get("page", 1, type=int), 1), 100_000)
    entries = services.search(criteria, page=page)
    # Only the filter's own fields go back into the paging links.
    args = {name: request.args[name] for name in form.data if name in request.args and name != "submit"}
    return render_template(
        "audit/index.html",
        form=form,
        entries=entries,
        said=[wording.say(entry) for entry in entries.items],
        args=args,
    )
