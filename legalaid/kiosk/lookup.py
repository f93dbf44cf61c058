"""The kiosk's look-up: a booking found by its code and the last four digits on the kiosk's own pads,
then moved or cancelled (routes on the kiosk blueprint).

The rules are the online look-up's (`legalaid.bookings.lookup`: the same throttle, the same allowance
for changes, the same cutoff through the bookings services); only the pages differ: big buttons, pads
instead of a keyboard, a cancellation reason tapped from a short list. Every step is POST → redirect →
GET like the booking steps (`kiosk.routes`), and the booking found is kept in the session under
"kiosk_booking" until the kiosk starts again ("Done", or the idle reset: `routes.reset` clears it).
Under /book these addresses lead to the online look-up, which is made for a phone.
"""

from __future__ import annotations

from itertools import groupby

from flask import abort, current_app, flash, get_flashed_messages, redirect, request, session, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from werkzeug.wrappers.response import Response

from legalaid.access import public
from legalaid.bookings import lookup as finding
from legalaid.bookings import planning
from legalaid.bookings import services as bookings
from legalaid.bookings.models import CANCELLED, Booking, Slot
from legalaid.consultations.services import public_status
from legalaid.errors import DomainError
from legalaid.extensions import db
from legalaid.kiosk import limits
from legalaid.kiosk.forms import CANCEL_REASONS, KioskCancelForm, LookupForm, MoveForm
from legalaid.kiosk.routes import _enrolled, _mode, _render, _url, bp
from legalaid.roster.models import DutyShift
from legalaid.security import client_address

# Read by the kiosk's other pages too (the rating of a consultation): keep the name.
BOOKING = "kiosk_booking"
PADS = {"code_alphabet": bookings.CODE_ALPHABET, "code_length": bookings.CODE_LENGTH}

Page = Response | str | tuple[str, int]


def reason_words(code: str) -> str:
    """A reason's words as the booking keeps them: in the station's working language (the default
    locale) whatever language the kiosk showed, so the desk, the console and the audit log read the
    same words as for a reason given any other way."""
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        return str(CANCEL_REASONS[code])


def _online_instead() -> Response | None:
    """On a phone (/book) the look-up is the online one."""
    return None if _mode() == "kiosk" else redirect(url_for("bookings.lookup"))


def _looked_up() -> Booking:
    """The booking this visitor found, or back to the look-up (none yet, forgotten, or erased since)."""
    booking = bookings.get_booking(session.get(BOOKING) or 0)
    if booking is None or booking.erased_at is not None:
        session.pop(BOOKING, None)
        abort(redirect(_url("lookup")))
    return booking


@bp.route("/lookup", methods=["GET", "POST"])
@public
def lookup() -> Page:
    """The code on the letter-and-digit pad, then the mobile's last four digits on the number pad."""
    if (online := _online_instead()) is not None:
        return online
    if request.method == "GET":
        return _render("lookup.html", form=LookupForm(formdata=None), **PADS)
    form = LookupForm()
    if not form.validate():  # only the CSRF token can fail here: the page is stale
        return redirect(_url("lookup"), code=303)
    again = {"form": form, "history_url": _url("lookup"), **PADS}
    try:
        booking = finding.find_booking(form.code.data, form.last4.data, client_address())
    except finding.LookupPaused as error:
        form.form_errors.append(error.message)
        return _render("lookup.html", **again), 429
    except DomainError as error:
        form.form_errors.append(error.message)
        return _render("lookup.html", **again)
    session[BOOKING] = booking.id
    return redirect(_url("booking"), code=303)


@bp.get("/booking")
@public
def booking() -> Page:
    """The booking found: date, time, lawyer and status as online; move it, cancel it, or done."""
    if (online := _online_instead()) is not None:
        return online
    found = _looked_up()
    return _render(
        "booking.html",
        booking=found,
        changeable=finding.can_change(found),
        matter=public_status(found),
        notices=get_flashed_messages(),
    )


def _days(found: Booking) -> list[tuple[DutyShift, list[Slot]]]:
    """The free times the booking may move to, by duty day (the online look-up's choices)."""
    return [(shift, list(slots)) for shift, slots in groupby(bookings.move_choices(found), lambda s: s.shift)]


def _move_page(found: Booking, message: str | None = None, status: int = 200, answer: bool = False) -> Page:
    """The days to move to, or the times of the day chosen (straight away when there is one day only),
    with a message; `answer`: shown in answer to a POST (its history entry becomes the page's own
    address)."""
    days = _days(found)
    wanted = request.args.get("day", type=int)
    chosen = next((day for day in days if day[0].id == wanted), days[0] if len(days) == 1 else None)
    history = {"history_url": _url("booking_move")} if answer else {}
    page = _render("booking_move.html", booking=found, days=days, chosen=chosen, message=message, **history)
    return page, status


@bp.route("/booking/move", methods=["GET", "POST"])
@public
def booking_move() -> Page:
    """Choose another free time (big buttons); the POST from the confirmation moves the booking."""
    if (online := _online_instead()) is not None:
        return online
    found = _looked_up()
    if not finding.can_change(found):
        return redirect(_url("booking"), code=303)
    if request.method == "GET":
        return _move_page(found)
    form = MoveForm()
    if not form.validate():
        return redirect(_url("booking_move"), code=303)
    slot = planning.get_slot(form.slot_id.data or 0)
    if slot is None:
        return _move_page(found, _("Choose a time."), answer=True)
    try:
        finding.count_change(found, enrolled=_enrolled())
        bookings.move(found, slot)
    except limits.OverLimit as error:
        db.session.rollback()  # nothing of this try is kept, its count included
        return _move_page(found, error.message, 429, answer=True)
    except DomainError as error:
        db.session.rollback()
        return _move_page(found, error.message, answer=True)
    flash(_("Your booking has been moved."))
    return redirect(_url("booking"), code=303)


@bp.get("/booking/move/<int:slot_id>")
@public
def booking_move_confirm(slot_id: int) -> Page:
    """Ask once more before moving: from which time to which."""
    if (online := _online_instead()) is not None:
        return online
    found = _looked_up()
    if not finding.can_change(found):
        return redirect(_url("booking"), code=303)
    slot = next((s for s in bookings.move_choices(found) if s.id == slot_id), None)
    if slot is None:  # taken meanwhile, or never offered
        return _move_page(found, _("Sorry, this time is now full. Please choose another time."))
    form = MoveForm(formdata=None, slot_id=slot.id)
    return _render("booking_move_confirm.html", booking=found, slot=slot, form=form)


def _reasons_page(
    found: Booking, message: str | None = None, status: int = 200, answer: bool = False
) -> Page:
    """The reasons to choose from, with a message (see `_move_page` for `answer`)."""
    history = {"history_url": _url("booking_cancel")} if answer else {}
    page = _render("booking_cancel.html", booking=found, reasons=CANCEL_REASONS, message=message, **history)
    return page, status


@bp.route("/booking/cancel", methods=["GET", "POST"])
@public
def booking_cancel() -> Page:
    """Why the booking is cancelled (big buttons); the POST from the confirmation cancels it."""
    if (online := _online_instead()) is not None:
        return online
    found = _looked_up()
    if not finding.can_change(found):
        return redirect(_url("booking"), code=303)
    if request.method == "GET":
        return _reasons_page(found)
    form = KioskCancelForm()
    if not form.validate():
        if form.csrf_token.errors:  # a stale page
            return redirect(_url("booking_cancel"), code=303)
        return _reasons_page(found, form.reason.errors[0], answer=True)
    try:
        finding.count_change(found, enrolled=_enrolled())
        bookings.cancel(found, reason_words(form.reason.data))
    except limits.OverLimit as error:
        db.session.rollback()
        return _reasons_page(found, error.message, 429, answer=True)
    except DomainError as error:
        db.session.rollback()
        return _reasons_page(found, error.message, answer=True)
    return redirect(_url("booking_cancelled"), code=303)


@bp.get("/booking/cancel/<reason>")
@public
def booking_cancel_confirm(reason: str) -> Page:
    """Ask once more before cancelling, with the reason chosen."""
    if (online := _online_instead()) is not None:
        return online
    found = _looked_up()
    if not finding.can_change(found):
        return redirect(_url("booking"), code=303)
    if reason not in CANCEL_REASONS:
        return _reasons_page(found, _("Choose a reason from the list."))
    form = KioskCancelForm(formdata=None, reason=reason)
    return _render("booking_cancel_confirm.html", booking=found, form=form, reason=CANCEL_REASONS[reason])


@bp.get("/booking/cancelled")
@public
def booking_cancelled() -> Page:
    """The booking is cancelled: its day and time once more, and "Done"."""
    if (online := _online_instead()) is not None:
        return online
    found = _looked_up()
    if found.status != CANCELLED:
        return redirect(_url("booking"), code=303)
    return _render("booking_cancelled.html", booking=found)
