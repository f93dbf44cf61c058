"""Show a masked number in full, with a reason; the page the number was asked from keeps its place."""

from __future__ import annotations

import json
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    get_template_attribute,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup, escape

from legalaid.access import ADMIN, LAWYER, STAFF, roles
from legalaid.bookings.models import Veteran
from legalaid.forms import attempt
from legalaid.privacy import mask_text, people, services
from legalaid.privacy.forms import (
    ExportForm,
    PersonCorrectForm,
    PersonEraseForm,
    PersonSearchForm,
    RevealForm,
)
from legalaid.security import local_target

bp = Blueprint("privacy", __name__)


@bp.app_template_global()
def reveal_controls(field: str, form: RevealForm | None = None) -> Markup:
    """The inside of a "show full number" form (reason, note, button, token, the page to come back to).

    A list page shows one per row, all alike: made once per request and field, not 50 times (it was about
    a third of the consultation log's rendering). A form with the user's answers and errors is its own.
    """
    if form is not None:
        return _controls(field, form)
    made: dict[tuple[str, str], Markup] = g.setdefault("reveal_controls", {})
    key = (field, str(get_locale()))
    if key not in made:
        made[key] = _controls(field, None)
    return made[key]


# What stands in for a row's id, its number and the form's controls while `masked_box`'s pattern is made.
_SOME_ID, _SOME_NUMBER = 987_654_321_098_765, "masked-number-goes-here"
_SOME_CONTROLS = "reveal-controls-go-here"


@bp.app_template_global()
def masked_box(kind: str, record_id: int, masked: str, field: str = "mobile") -> Markup:
    """A masked number and its "show full number" control, exactly as the `reveal` macro writes it.

    The macro is run once per request, kind and field, with stand-ins that each row's id and number then
    replace: a list of fifty rows (the consultation log, the desk) spent a third of its rendering in it.
    The controls (which hold the page's address, query and all) go in last, so nothing a visitor typed
    in the address is ever taken for a stand-in.
    """
    if not masked:  # no number (a person erased): the macro's own empty box
        return Markup(_reveal_macro()(kind, record_id, masked, field=field))  # noqa: S704  (its output)
    made: dict[tuple[str, str, str], tuple[str, str]] = g.setdefault("masked_boxes", {})
    key = (kind, field, str(get_locale()))
    if key not in made:
        real = reveal_controls(field)
        kept: dict[tuple[str, str], Markup] = g.reveal_controls
        kept[(field, key[2])] = Markup(_SOME_CONTROLS)  # noqa: S704  (a constant of plain letters)
        try:
            made[key] = (str(_reveal_macro()(kind, _SOME_ID, _SOME_NUMBER, field=field)), str(real))
        finally:
            kept[(field, key[2])] = real
    pattern, controls = made[key]
    box = pattern.replace(str(_SOME_ID), str(int(record_id))).replace(_SOME_NUMBER, str(escape(masked)))
    # The macro escaped everything but the number, escaped here; the controls are its own output too.
    return Markup(box.replace(_SOME_CONTROLS, controls))  # noqa: S704


def _reveal_macro() -> Any:
    return get_template_attribute("macros/reveal.html", "reveal")


def _controls(field: str, form: RevealForm | None) -> Markup:
    # A template with autoescape on wrote it: every value in it is already escaped.
    return Markup(render_template("privacy/_reveal_controls.html", field=field, form=form))  # noqa: S704


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


# -- a person's rights (PIPL Art. 44–47): administrators only ------------------------------------------


def _person_or_404(person_id: int) -> Veteran:
    veteran = people.get_person(person_id)
    if veteran is None:
        abort(404)
    return veteran


@bp.route("/admin/privacy/people", methods=["GET", "POST"])
@roles(ADMIN)
def people_search() -> str:
    """Find a person by their exact mobile or ID number; the results are shown masked."""
    form = PersonSearchForm()
    found = None
    if form.validate_on_submit():
        done = attempt(form, lambda: people.find(form.by.data, form.value.data))
        found = done.value if done.ok else None
    return render_template("privacy/people.html", form=form, found=found, masked=people.masked_fields)


@bp.get("/admin/privacy/people/<int:person_id>")
@roles(ADMIN)
def person(person_id: int) -> str:
    """Everything the system holds about one person (numbers masked); the look is audited."""
    held = people.view(_person_or_404(person_id))
    return render_template(
        "privacy/person.html",
        held=held,
        shown=people.masked_fields(held.veteran),
        refusal=people.may_erase(held),
        export_form=ExportForm(),
        mask_text=mask_text,
    )


@bp.post("/admin/privacy/people/<int:person_id>/export")
@roles(ADMIN)
def person_export(person_id: int) -> Response:
    """The person's copy of everything held about them, as a JSON file; audited."""
    veteran = _person_or_404(person_id)  # the CSRF token was checked before (CSRFProtect)
    data = people.export(veteran)
    body = json.dumps(data, ensure_ascii=False, indent=2)
    response = Response(body, mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="person-{veteran.id}.json"'
    return response


@bp.route("/admin/privacy/people/<int:person_id>/correct", methods=["GET", "POST"])
@roles(ADMIN)
def person_correct(person_id: int) -> ResponseReturnValue:
    """Correct a person's name and numbers; every wrong field is shown at once, with what was typed."""
    veteran = _person_or_404(person_id)
    if veteran.erased_at is not None:
        flash(_("This person's data was erased."), "warning")
        return redirect(url_for("privacy.person", person_id=veteran.id))
    form = PersonCorrectForm(data=None if request.method == "POST" else people.open_correction(veteran))
    if form.validate_on_submit():
        done = attempt(
            form,
            lambda: people.correct(
                veteran, form.name.data, form.mobile.data, form.id_number.data, form.veteran_card_no.data
            ),
        )
        if done.ok:
            flash(_("Saved.") if done.value else _("Nothing was changed."), "success")
            return redirect(url_for("privacy.person", person_id=veteran.id))
    status = 400 if form.errors else 200
    return render_template("privacy/correct.html", form=form, veteran=veteran), status


@bp.route("/admin/privacy/people/<int:person_id>/erase", methods=["GET", "POST"])
@roles(ADMIN)
def person_erase(person_id: int) -> ResponseReturnValue:
    """Erase a person's data after a confirmation with a typed reason (the retention's erasure)."""
    veteran = _person_or_404(person_id)
    held = people.holdings(veteran)
    form = PersonEraseForm()
    if form.validate_on_submit():
        done = attempt(form, lambda: people.erase_person(veteran, form.reason.data))
        if done.ok:
            flash(_("The person's data was erased."), "success")
            return redirect(url_for("privacy.person", person_id=veteran.id))
    status = 400 if form.errors or form.form_errors else 200
    return (
        render_template(
            "privacy/erase.html",
            form=form,
            held=held,
            shown=people.masked_fields(veteran),
            plan=people.what_erasure_does(held),
            refusal=people.may_erase(held),
        ),
        status,
    )
