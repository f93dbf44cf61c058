"""Rating at the hall's kiosk (routes on the kiosk blueprint): the visitor has looked up their booking by
its code (legalaid.kiosk.lookup keeps its id in the session); once its consultation is recorded, five big
level buttons, the reasons as big toggles, POST → 303 → a thank-you page that resets itself."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, session
from flask_babel import gettext as _
from werkzeug.wrappers.response import Response

from legalaid.access import public
from legalaid.bookings.models import Booking
from legalaid.db import get_by_id
from legalaid.errors import DomainError
from legalaid.extensions import db
from legalaid.forms import show_error
from legalaid.kiosk.routes import _station, _url, bp, kiosk_blueprint, kiosk_context
from legalaid.ratings import services
from legalaid.ratings.forms import RatingForm
from legalaid.ratings.models import KIOSK


def _page(template: str, **context: object) -> str:
    """A rating page in the kiosk's look, with its idle reset."""
    return render_template(f"ratings/{template}", **kiosk_context(), **context)


# Set by the kiosk's look-up: the booking the visitor has just found with its code.
LOOKED_UP = "kiosk_booking"
RATED = "kiosk_rated"


def _kiosk_only() -> None:
    """The phone site (/book) has no rating page: a phone rates through the completion message's link."""
    if kiosk_blueprint() != "kiosk":
        abort(404)


def _looked_up_consultation():  # noqa: ANN202
    """The consultation of the booking looked up at this kiosk, if it is at this kiosk's station."""
    booking_id = session.get(LOOKED_UP)
    booking = get_by_id(Booking, booking_id) if isinstance(booking_id, int) else None
    consultation = services.consultation_of_booking(booking)
    if consultation is None or consultation.station_id != _station().id:
        return None
    return consultation


@bp.route("/rate", methods=["GET", "POST"])
@public
def rate() -> Response | str:
    """Rate the looked-up booking's consultation: how satisfied, why (optional), then send."""
    _kiosk_only()
    consultation = _looked_up_consultation()
    if consultation is None:
        return redirect(_url("start"))
    refusal = services.why_not(consultation)
    if refusal:
        return _page("kiosk_thanks.html", message=refusal, history_url=_url("start"))
    form = RatingForm()
    if request.method == "GET":
        return _page("kiosk.html", form=form, consultation=consultation, station=_station())
    if not form.validate():  # only the CSRF token can fail here: the page is stale
        return redirect(_url("start"))
    try:
        services.rate(consultation, form.level.data, form.reasons.data or [], form.comment.data or "", KIOSK)
    except DomainError as error:
        db.session.rollback()
        show_error(form, error)
        if isinstance(error, services.AlreadyRated):
            return _page("kiosk_thanks.html", message=error.message, history_url=_url("start"))
        return _page(
            "kiosk.html", form=form, consultation=consultation, station=_station(), history_url=_url("rate")
        )
    session[RATED] = consultation.id
    return redirect(_url("rated"), code=303)


@bp.get("/rated")
@public
def rated() -> Response | str:
    """Thank you: the screen starts again for the next person by itself."""
    _kiosk_only()
    if session.pop(RATED, None) is None:
        return redirect(_url("start"))
    return _page("kiosk_thanks.html", message=_("Thank you for your rating."))
