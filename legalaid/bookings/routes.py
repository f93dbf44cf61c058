"""Looking a booking up (public), the desk (staff), and the hall display's "now calling" panel."""

from __future__ import annotations

import secrets

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers.response import Response

from legalaid import cache
from legalaid.access import ADMIN, STAFF, public, roles
from legalaid.bookings import calling as day_queue
from legalaid.bookings import lookup as finding
from legalaid.bookings import planning, services, speech
from legalaid.bookings.forms import DeskBookingForm, ReasonForm, WalkInForm
from legalaid.bookings.models import BOOKED, PUBLIC_CHANNELS, Booking, WalkIn
from legalaid.bookings.models import STAFF as STAFF_CHANNEL
from legalaid.consultations.services import public_status
from legalaid.dates import now_utc
from legalaid.errors import DomainError, NotAllowed, Problems
from legalaid.extensions import db
from legalaid.forms import attempt, attempt_or_flash, validate_all
from legalaid.i18n import format_instant
from legalaid.kiosk import devices, limits
from legalaid.kiosk.forms import CancelForm, LookupForm, MoveForm
from legalaid.security import client_address
from legalaid.stations import services as stations
from legalaid.stations.models import Station

bp = Blueprint("bookings", __name__)
LOOKUP = "lookup"


# -- the veteran's look-up -----------------------------------------------------------------------------


@bp.route("/booking/lookup", methods=["GET", "POST"])
@public
def lookup() -> Response | str | tuple[str, int]:
    """Find a booking by its code and the last four digits of the mobile; guessing is throttled."""
    form = LookupForm()
    if request.method == "GET" and request.args.get("code"):
        # From the ticket's QR code: the code is filled in; the person adds the last four digits.
        form.code.data = services.normalize_code(request.args["code"][:20])
    if form.validate_on_submit():
        try:
            booking = finding.find_booking(form.code.data, form.last4.data, client_address())
        except finding.LookupPaused as error:
            form.form_errors.append(error.message)
            return render_template("bookings/lookup.html", form=form), 429
        except DomainError as error:
            form.form_errors.append(error.message)
        else:
            session[LOOKUP] = booking.id
            return redirect(url_for("bookings.mine"))
    return render_template("bookings/lookup.html", form=form)


def _looked_up():
    booking = services.get_booking(session.get(LOOKUP) or 0)
    if booking is None or booking.erased_at is not None:  # erased since it was looked up: gone
        session.pop(LOOKUP, None)
        abort(redirect(url_for("bookings.lookup")))
    return booking


@bp.get("/booking/mine")
@public
def mine() -> str:
    """The booking found: date, time, lawyer, status; cancel it or move it."""
    return _mine_page(_looked_up(), CancelForm())


def _mine_page(booking: Booking, cancel_form: CancelForm) -> str:
    free = services.move_choices(booking) if booking.status == BOOKED else []
    return render_template(
        "bookings/mine.html",
        booking=booking,
        free=free,
        cancel_form=cancel_form,
        move_form=MoveForm(),
        matter=public_status(booking),
    )


@bp.post("/booking/mine/cancel")
@public
def cancel_mine() -> Response | str | tuple[str, int]:
    """The veteran cancels (with a reason) until the cutoff; a refusal is told beside the reason."""
    booking = _looked_up()
    form = CancelForm()
    if form.validate_on_submit():
        over = _over_change_limit(booking)
        if over is not None:
            form.form_errors.append(over)
            return _mine_page(booking, form), 429
        if attempt(form, lambda: services.cancel(booking, form.reason.data)).ok:
            flash(_("Your booking is cancelled."), "success")
            return redirect(url_for("bookings.mine"))
        return _mine_page(booking, form)
    return redirect(url_for("bookings.mine"))


@bp.post("/booking/mine/move")
@public
def move_mine() -> Response | tuple[str, int]:
    """The veteran moves the booking to another free time until the cutoff."""
    booking = _looked_up()
    form = MoveForm()
    slot = planning.get_slot(form.slot_id.data or 0) if form.validate_on_submit() else None
    if slot is None:
        flash(_("Choose a time."), "danger")
    elif (over := _over_change_limit(booking)) is not None:
        flash(over, "danger")
        return _mine_page(booking, CancelForm()), 429
    elif attempt_or_flash(lambda: services.move(booking, slot)):
        flash(_("Your booking has been moved."), "success")
    return redirect(url_for("bookings.mine"))


def _over_change_limit(booking: Booking) -> str | None:
    """Count a cancellation or move from the public look-up; the refusal's message when the client's or
    the number's allowance is used up (the enrolled kiosk is not counted per address)."""
    try:
        finding.count_change(booking, enrolled=devices.current_device() is not None)
    except limits.OverLimit as error:
        db.session.rollback()
        return error.message
    return None


@bp.get("/booking/done")
@public
def forget() -> Response:
    """Leave the look-up: the booking is no longer shown in this browser."""
    session.pop(LOOKUP, None)
    return redirect(url_for("bookings.lookup"))


# -- the desk ------------------------------------------------------------------------------------------


def _desk_station() -> Station:
    station = stations.station_for(current_user, request.args.get("station", type=int))
    if station is None:
        if current_user.role == STAFF and current_user.station_id is None:
            # Hall staff work at their own station's desk only: without one, at none (issue 13).
            abort(make_response(render_template(
                "core/error.html",
                code=403,
                title=_("No station"),
                text=_("Your account is not attached to a station. Ask an administrator to attach it."),
            ), 403))
        abort(404)
    return station


@bp.get("/desk")
@roles(STAFF, ADMIN)
def desk() -> str:
    """Today's queue: bookings in time order, walk-ins by number; call the next person."""
    return _desk_page(_desk_station(), WalkInForm())


def _desk_lists(station: Station) -> dict[str, object]:
    """What the desk's changing lists show: today's shift, bookings, walk-ins and who is called."""
    now = now_utc()
    queue = day_queue.todays_queue(station, now)
    return {
        "station": station,
        "shift": queue.shift,
        "bookings": queue.bookings,
        "walkins": queue.walkins,
        "calling": queue.calling,
        "ahead": queue.ahead(now),  # 前面还有 N 人, in the order "call next" follows
        "speech_ok": speech.available(),
        "reason_form": ReasonForm(),
    }


def _desk_page(
    station: Station, walkin_form: WalkInForm, cancelling: tuple[int, ReasonForm] | None = None
) -> str:
    """The desk; `cancelling` is a booking whose cancellation was refused, with the form as sent."""
    return render_template(
        "bookings/desk.html", walkin_form=walkin_form, cancelling=cancelling, **_desk_lists(station)
    )


@bp.get("/desk/live")
@roles(STAFF, ADMIN)
def desk_live() -> str:
    """The desk's lists alone, fetched every few seconds by the open desk page (static/js/live.js), with
    the same access as the desk: its station's staff and administrators. The walk-in form is not in it,
    and the page keeps the rows' own forms as they are (what is being typed stays)."""
    return render_template("bookings/_desk_live.html", cancelling=None, **_desk_lists(_desk_station()))


@bp.post("/desk/walkin")
@roles(STAFF, ADMIN)
def desk_walkin() -> Response | str:
    """Register a walk-in and give them a number; a wrong value is told beside its field, all at once,
    with what was typed kept."""
    station = _desk_station()
    form = WalkInForm()

    def details() -> tuple[str, str | None, str]:
        return services.check_desk_walkin(
            form.name.data, form.mobile.data, form.category.data, bool(form.consent.data)
        )

    def issue() -> WalkIn:
        name, mobile, category = details()
        # A name alone is enough for the queue; with a mobile number the person is remembered.
        veteran = services.veteran_for(name, mobile) if mobile else None
        reader = current_user._get_current_object() if mobile else None  # who read the notice out
        return day_queue.issue_walkin(station, category, veteran, name=name, consent_by=reader)

    if validate_all(form, details):
        done = attempt(form, issue)
        if done.ok:
            walkin = done.value
            if walkin.person:
                flash(
                    _("Number %(number)s given to %(name)s.", number=walkin.label, name=walkin.person),
                    "success",
                )
            else:
                flash(_("Number %(number)s given.", number=walkin.label), "success")
            return redirect(url_for("bookings.desk", station=station.id))
    elif form.csrf_token.errors:  # a page left open too long: start from a fresh one
        flash(
            _("The form has expired or was not sent from this site. Reload the page and try again."),
            "warning",
        )
        return redirect(url_for("bookings.desk", station=station.id))
    return _desk_page(station, form)


@bp.post("/desk/bookings/<int:booking_id>/<any(check_in, cancel):action>")
@roles(STAFF, ADMIN)
def desk_booking_action(booking_id: int, action: str) -> Response | str:
    """Check an arrival in, or cancel a booking with a reason."""
    booking = services.get_booking(booking_id) or abort(404)
    station = _desk_station()
    if booking.shift.station_id != station.id:
        abort(404)
    form = ReasonForm()
    if form.validate_on_submit():
        if action == "check_in":
            if attempt_or_flash(lambda: services.check_in(booking)):
                flash(_("Checked in."), "success")
        elif attempt(form, lambda: services.cancel(booking, form.reason.data, by_staff=True)).ok:
            flash(_("Booking cancelled."), "success")
        elif form.reason.errors:  # told in the booking's row, beside the reason, with what was typed
            return _desk_page(station, WalkInForm(), cancelling=(booking.id, form))
        else:  # the booking changed meanwhile: its row may have no form any more
            for message in form.form_errors:
                flash(message, "danger")
    return redirect(url_for("bookings.desk", station=station.id))


@bp.post("/desk/call-next")
@roles(STAFF, ADMIN)
def call_next() -> Response:
    """Call the next person; the hall display shows them."""
    station = _desk_station()
    if ReasonForm().validate_on_submit():
        try:
            called = day_queue.call_next(station, by=current_user)
        except NotAllowed:
            abort(403)
        if called is None:
            flash(_("Nobody is waiting."), "info")
        else:
            flash(_("Calling %(who)s.", who=f"{called.label} {called.name}".strip()), "success")
    return redirect(url_for("bookings.desk", station=station.id))


@bp.post("/desk/queue/<kind>/<int:record_id>/<action>")
@roles(STAFF, ADMIN)
def desk_queue_action(kind: str, record_id: int, action: str) -> Response:
    """Call a number again (重呼), pass it over (过号), or put a passed number back in the queue."""
    station = _desk_station()
    if action not in day_queue.QUEUE_ACTIONS or day_queue.get_entry(station, kind, record_id) is None:
        abort(404)
    if ReasonForm().validate_on_submit():
        try:
            entry = day_queue.queue_action(station, kind, record_id, action, by=current_user)
        except NotAllowed as error:
            flash(error.message, "warning")
        else:
            number = entry.label
            done = {
                day_queue.RECALL: _("Calling %(number)s again.", number=number),
                day_queue.PASS: _("%(number)s passed over.", number=number),
                day_queue.REQUEUE: _(
                    "%(number)s is back in the queue, after the next person.", number=number
                ),
            }
            flash(done[action], "success")
    return redirect(url_for("bookings.desk", station=station.id))


@bp.get("/desk/queue/booking/<int:booking_id>/ticket")
@roles(STAFF, ADMIN)
def desk_queue_ticket(booking_id: int) -> str:
    """A checked-in booking's queue number as a small slip for the receipt printer, with 前面还有 N 人."""
    station = _desk_station()
    entry = day_queue.get_entry(station, "booking", booking_id)
    if entry is None or entry.booking is None or entry.booking.queue_number is None:
        abort(404)
    ahead = day_queue.ahead_of(entry.booking, station)
    return render_template("bookings/queue_ticket.html", station=station, booking=entry.booking, ahead=ahead)


@bp.route("/desk/book", methods=["GET", "POST"])
@roles(STAFF, ADMIN)
def desk_book() -> Response | str:
    """Take a booking for a caller (telephone or the 12345 hotline) or someone at the desk."""
    station = _desk_station()
    form = DeskBookingForm()
    if not form.is_submitted():
        form.key.data = secrets.token_urlsafe(24)
    chosen = planning.get_slot(form.slot_id.data or 0) if form.is_submitted() else None
    if chosen is not None and chosen.shift.station_id != station.id:
        abort(404)  # the desk books only at its own station

    def check() -> None:
        problems = Problems()
        if chosen is None:
            problems.add(_("Choose a time."), field="slot_id")
        problems.check(lambda: services.check_request(form.to_request(form.channel.data)))
        problems.raise_any()

    if validate_all(form, check):
        done = attempt(
            form, lambda: services.place_booking(form.to_request(form.channel.data), actor_id=current_user.id)
        )
        if done.ok:
            booking = done.value
            when = format_instant(booking.slot.starts_at, station.timezone)
            flash(
                _(
                    "Booked: code %(code)s, %(when)s. Read the code to the caller.",
                    code=booking.code,
                    when=when,
                ),
                "success",
            )
            return redirect(url_for("bookings.desk", station=station.id))
    days = [(day.shift, day.slots) for day in planning.bookable_days(station, STAFF_CHANNEL)]
    return render_template(
        "bookings/desk_book.html", station=station, form=form, days=days, public_channels=PUBLIC_CHANNELS
    )


# -- the hall display --------------------------------------------------------------------------------------


@bp.get("/duty/calling")
@public
def calling() -> str:
    """The "now calling" panel of the hall display, fetched every few seconds by every TV (no personal
    data beyond a masked name): the same for all, so kept a second in the page cache; a call made in
    this process shows at once."""
    asked = request.args.get("station", type=int)
    station_id = (stations.public_station_id(asked) if asked else None) or stations.public_station_id(None)
    if station_id is None:
        abort(404)

    def render() -> str:
        station = stations.public_station(station_id) or abort(404)
        calls = day_queue.hall_calls(station, now_utc())
        return render_template(
            "bookings/calling.html",
            calling=calls[0] if calls else None,
            recent=calls[1:],
            voice_version=speech.VOICE_VERSION,
        )

    return cache.page(cache.HALL, station_id, render)


@bp.get("/duty/calling/voice/<label>.wav")
@public
def calling_voice(label: str) -> Response:
    """The spoken call of a queue number ("请 A 零零三 号 到 法律服务窗口"), made on this server; the
    same number always sounds the same, so the hall's browser may keep it."""
    if not speech.LABEL.match(label):
        abort(404)
    audio = speech.call_audio(label)
    if audio is None:  # no espeak-ng here: the hall plays the chime alone
        abort(503)
    response = make_response(audio)
    response.mimetype = "audio/wav"
    # "private": the app's header rule keeps only what a route marks private (no proxy needs it).
    response.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    return response
