"""The veteran's booking flow, at the hall's kiosk (/kiosk) and on a phone (/book).

One blueprint, mounted twice: the kiosk is a shared touch screen (large, idle reset, walk-in numbers),
`/book` is the same flow sized for a phone. What a visitor types travels in the steps' forms; every step
is POST → redirect → GET, so the browser's history holds no form submission (Back never meets "Confirm
Form Resubmission"): the GET shows the step from a draft kept encrypted in the session until the booking
is made or "start again" forgets it. Only the finished ticket's code stays in the session after that.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import segno
from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import validate_csrf
from werkzeug.wrappers.response import Response
from wtforms.validators import ValidationError

from legalaid import cache, crypto
from legalaid.access import public
from legalaid.bookings import calling, planning
from legalaid.bookings import services as bookings
from legalaid.bookings.models import KIOSK, ONLINE
from legalaid.categories import category_choices
from legalaid.dates import now_utc
from legalaid.errors import AlreadyBooked, DomainError, SlotFull
from legalaid.extensions import db
from legalaid.forms import show_error
from legalaid.i18n import LANG_COOKIE
from legalaid.kiosk import devices, limits
from legalaid.kiosk.forms import STEPS, VisitForm
from legalaid.roster import services as roster
from legalaid.stations import services as stations
from legalaid.stations.models import Station

bp = Blueprint("kiosk", __name__)
# Simple pictures beside the words (Bootstrap Icons, vendored): no emoji font is needed on the kiosk.
CATEGORY_ICONS = {
    "resettlement": "house-door",
    "employment": "briefcase",
    "pensions": "award",
    "social_insurance": "shield-check",
    "disability": "person-wheelchair",
    "labour": "hammer",
    "family": "people",
    "housing": "houses",
    "contracts": "file-earmark-text",
    "injury": "bandaid",
    "petitions": "envelope-paper",
    "other": "question-circle",
}


KIOSK_BLUEPRINTS = ("kiosk", "book")
# The visitor's answers between two steps, encrypted (the session cookie is only signed).
DRAFT = "visit"
DRAFT_FIELDS = (
    "slot_id",
    "category",
    "name",
    "mobile",
    "id_number",
    "veteran_card_no",
    "description",
    "consent",
    "key",
)


def kiosk_blueprint() -> str | None:
    """Which of the two mounts a request is for ("kiosk" or "book"), also for an address that matched no
    route (a 404 or 405 has no blueprint); None outside both."""
    if request.blueprint in KIOSK_BLUEPRINTS:
        return request.blueprint
    for name in KIOSK_BLUEPRINTS:
        if request.path == f"/{name}" or request.path.startswith(f"/{name}/"):
            return name
    return None


def _mode() -> str:
    return "kiosk" if kiosk_blueprint() == "kiosk" else "book"


def _channel() -> str:
    return KIOSK if _mode() == "kiosk" else ONLINE


def _url(endpoint: str, **values: Any) -> str:
    return url_for(f"{kiosk_blueprint() or 'book'}.{endpoint}", **values)


def _enrolled() -> bool:
    """Whether this browser is an enrolled kiosk of the hall (not a phone, whatever its address)."""
    return devices.current_device() is not None


def _station_id() -> int:
    """The id of the station this request is about (see `_station`), from the memo alone."""
    chosen = request.args.get("station", type=int)
    if chosen and session.get("station") != chosen:  # unchanged: no new session cookie to sign and send
        session["station"] = chosen
    device = devices.current_device()
    if device is not None:  # an enrolled kiosk stands in its station's hall: a visitor cannot move it
        found = stations.public_station_id(device.station_id)
    else:
        found = stations.public_station_id(session.get("station") or None) or stations.public_station_id(None)
    if found is None:
        abort(404)
    return found


def _station() -> Station:
    station = stations.public_station(_station_id())
    if station is None:
        abort(404)
    return station


def kiosk_context() -> dict[str, object]:
    """What every kiosk or /book page needs: its look, its own links, and the idle reset."""
    return {"mode": _mode(), "url": _url, "idle_seconds": current_app.config["KIOSK_IDLE_SECONDS"]}


def _render(template: str, **context: object) -> str:
    return render_template(f"kiosk/{template}", **kiosk_context(), **context)


@bp.before_request
def kiosk_only_when_enrolled() -> tuple[str, int] | None:
    """Where enrolment is required, /kiosk opens only on an enrolled kiosk; elsewhere (and on /book)
    a browser without a valid device cookie is an anonymous client, limited per address."""
    if _mode() == "kiosk" and devices.enrolment_required() and not _enrolled():
        return _render("not_enrolled.html"), 403
    return None


@bp.get("/")
@public
def start() -> Response | str:
    """The start screen: book a consultation, or take a walk-in number on a duty day."""
    station = _station()
    if _mode() == "book":
        return redirect(_url("days"))
    now = now_utc()
    return _render(
        "start.html",
        station=station,
        duty_today=calling.taking_walkins(station, now),
        message=calling.walkin_notice(station, now),
    )


@bp.get("/reset")
@public
def reset() -> Response:
    """Forget this visitor entirely and go back to the start screen."""
    station_id = session.get("station")
    session.clear()
    if station_id:
        session["station"] = station_id
    response = redirect(_url("start"))
    if _mode() == "kiosk":
        response.delete_cookie(LANG_COOKIE)  # the next visitor starts in Simplified Chinese
    return response


@bp.get("/days")
@public
def days() -> str:
    """Step 1: the coming duty days with places left (the same page for every anonymous visitor: kept a
    moment in the page cache)."""

    def render() -> str:
        station = _station()
        shifts = [
            (day.shift, day.left, _walk_ins_only(day.left, day.slots))
            for day in planning.bookable_days(station, _channel())
        ]
        return _render("days.html", station=station, shifts=shifts)

    return cache.page(cache.KIOSK, _station_id(), render)


def _walk_ins_only(public_left: int, slots: list) -> bool:
    """Whether the day's places for booking ahead are gone while its times still have places: those are
    kept for people who come in person, and the visitor is told so (not that the day is full)."""
    return public_left <= 0 and any(slot.free > 0 for slot in slots)


@bp.get("/day/<int:shift_id>")
@public
def times(shift_id: int) -> str:
    """Step 2: the day's times, with the places left in each (kept a moment in the page cache)."""
    return cache.page(cache.KIOSK, _station_id(), lambda: _times_page(shift_id))


def _times_page(shift_id: int) -> str:
    station = _station()
    shift = roster.get_shift(shift_id)
    if shift is None or shift.station_id != station.id:
        abort(404)
    slots, public_left = planning.open_day(shift, _channel())
    walk_ins_only = _walk_ins_only(public_left, slots)
    if walk_ins_only:  # also after "full" from the booking: the quota, not the time, ran out
        message = _(
            "Sorry, the places for booking ahead are taken that day. "  # noqa: ISC001
            "Come in person: places are kept for walk-ins."
        )
    elif request.args.get("full"):
        message = _("Sorry, this time is now full. Please choose another time.")
    else:
        message = None
    return _render(
        "times.html",
        station=station,
        shift=shift,
        slots=slots,
        public_left=public_left,
        walk_ins_only=walk_ins_only,
        message=message,
    )


def _slot_or_404(slot_id: int):
    slot = planning.get_slot(slot_id)
    if slot is None or slot.shift.station_id != _station().id:
        abort(404)
    return slot


@bp.get("/slot/<int:slot_id>")
@public
def category(slot_id: int) -> str:
    """Step 3: what the matter is about (kept a moment in the page cache)."""

    def render() -> str:
        slot = _slot_or_404(slot_id)
        return _render("category.html", slot=slot, choices=category_choices(), icons=CATEGORY_ICONS)

    return cache.page(cache.KIOSK, _station_id(), render)


@bp.get("/slot/<int:slot_id>/<category>")
@public
def details(slot_id: int, category: str) -> str:
    """Step 4: name and mobile number (and, if wished, ID or veteran-card number)."""
    slot = _slot_or_404(slot_id)
    if category not in CATEGORY_ICONS:
        abort(404)
    form = VisitForm(formdata=None, slot_id=slot.id, category=category, step="details")
    return _render("visit.html", form=form, slot=slot, step="details")


def _keep_draft(form: VisitForm, step: str) -> None:
    """Keep the visitor's answers, and the step they reached, for the GET that shows the next step."""
    answers: dict[str, Any] = {name: form[name].data for name in DRAFT_FIELDS}
    answers["reached"] = step
    session[DRAFT] = crypto.encrypt(json.dumps(answers, ensure_ascii=False))


def _draft() -> dict[str, Any] | None:
    """The answers kept by the last step, or None (none yet, forgotten, or unreadable)."""
    stored = session.get(DRAFT)
    if not isinstance(stored, str):
        return None
    try:
        answers = json.loads(crypto.decrypt(stored))
    except (crypto.DataKeyError, ValueError):  # a data key rotated away since: simply start again
        return None
    return answers if isinstance(answers, dict) else None


def _to_step(form: VisitForm, step: str) -> Response:
    """POST → redirect → GET: the history keeps the step's address, never the form that led to it."""
    _keep_draft(form, step)
    return redirect(_url("visit", step=step), code=303)


def _again(form: VisitForm, slot: Any, step: str, status: int = 200) -> tuple[str, int]:
    """A step shown again with its messages, in answer to its own POST (a refusal keeps its status); the
    page turns its history entry into the step's GET address (static/js/kiosk.js), so Back never
    resubmits it."""
    _keep_draft(form, step)
    page = _render("visit.html", form=form, slot=slot, step=step, history_url=_url("visit", step=step))
    return page, status


def _show_step() -> Response | str:
    """GET of a step: the kept answers, at the step asked for if it was reached; without any (after
    "start again", or an address from the history) the start screen."""
    answers = _draft()
    if answers is None:
        return redirect(_url("start"))
    reached = answers.pop("reached", None)
    limit = STEPS.index(reached) if reached in STEPS else 0
    form = VisitForm(formdata=None, **{name: answers.get(name) for name in DRAFT_FIELDS})
    slot = planning.get_slot(form.slot_id.data or 0)
    if slot is None or slot.shift.station_id != _station().id:
        return redirect(_url("start"))
    wanted = request.args.get("step", "")
    step = wanted if wanted in STEPS and STEPS.index(wanted) <= limit else STEPS[limit]
    return _render("visit.html", form=form, slot=slot, step=step)


@bp.route("/visit", methods=["GET", "POST"])
@public
def visit() -> Response | str | tuple[str, int]:
    """Steps 4–7: check each screen's answers, then redirect to the next screen; the last one books."""
    if request.method == "GET":
        return _show_step()
    form = VisitForm()
    slot = _slot_or_404(form.slot_id.data or 0)
    step = form.step.data if form.step.data in STEPS else "details"
    if not form.validate():  # only the CSRF token can fail here: the page is stale
        return redirect(_url("start"))
    if form.back.data:
        return _to_step(form, STEPS[max(0, STEPS.index(step) - 1)])
    req = form.to_request(_channel())
    shift_id = slot.shift_id  # read now: a rollback below expires the slot (a statement to read it again)
    try:
        if step == "details":
            bookings.validation_for_details(req)
            return _to_step(form, "about")
        if step == "about":
            req.description = bookings.validation.check_description(req.description)
            return _to_step(form, "consent")
        if step == "consent":
            if not req.consent:
                form.consent.errors = [_("Please agree to the use of your details for this consultation.")]
                return _again(form, slot, "consent")
            form.key.data = secrets.token_urlsafe(24)  # one booking per confirm page, however often sent
            return _to_step(form, "confirm")
        mobile = bookings.validation.check_mobile(req.mobile)
        # Counted only for a new booking (a full day or the same confirm page sent again is not).
        tz = slot.shift.station.timezone
        booking = bookings.place_booking(
            req,
            count=lambda: limits.allow_booking(mobile, tz, enrolled=_enrolled()),
        )
    except limits.OverLimit as error:
        db.session.rollback()  # nothing of this try is kept, its count included
        form.form_errors.append(error.message)
        return _again(form, slot, "confirm", 429)
    except SlotFull:
        db.session.rollback()
        return redirect(_url("times", shift_id=shift_id, full=1))
    except AlreadyBooked as error:
        db.session.rollback()
        session.pop(DRAFT, None)
        # Say only that a booking exists: a mobile number alone must not reveal when and with whom.
        return _render("already.html", message=error.message, history_url=_url("start"))
    except DomainError as error:
        db.session.rollback()
        show_error(form, error)
        if error.field == "category":
            return redirect(_url("category", slot_id=slot.id))
        back_to = {
            "name": "details",
            "mobile": "details",
            "id_number": "details",
            "veteran_card_no": "details",
            "description": "about",
            "consent": "consent",
        }.get(error.field or "", step)
        return _again(form, slot, back_to)
    session.pop(DRAFT, None)
    session["ticket"] = booking.code
    return redirect(_url("ticket"))


@bp.get("/ticket")
@public
def ticket() -> Response | str:
    """The ticket: code, date, time, lawyer, QR code; printable on an 80 mm receipt printer."""
    code = session.get("ticket")
    booking = bookings.find_by_code(code) if code else None
    if booking is None:
        return redirect(_url("start"))
    return _render("ticket.html", booking=booking, qr=ticket_qr(booking.code))


def lookup_address(code: str) -> str:
    """Where the ticket's QR code leads: the look-up page with the code filled in (never the mobile)."""
    public_url = current_app.config.get("PUBLIC_URL", "").rstrip("/")
    path = url_for("bookings.lookup", code=code)
    return public_url + path if public_url else url_for("bookings.lookup", code=code, _external=True)


def ticket_qr(code: str) -> str:
    """A normal QR code (never Micro QR, which phones and WeChat do not read) of the look-up address,
    as a PNG data URI that prints sharply on a receipt printer."""
    return segno.make_qr(lookup_address(code), error="m").png_data_uri(scale=6, border=4)


@bp.post("/walkin")
@public
def walkin() -> Response | str | tuple[str, int]:
    """At the kiosk on a duty day: take a walk-in number."""
    if _mode() != "kiosk":
        abort(404)
    station = _station()
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError:
        return redirect(_url("start"))
    home = {"history_url": _url("start")}  # a refusal's history entry is the start screen's address
    try:
        limits.allow_walkin(station.timezone, enrolled=_enrolled())
        number = calling.issue_walkin(station, now=now_utc(), public=True)
    except limits.OverLimit as error:
        db.session.rollback()
        return _render("start.html", station=station, duty_today=False, message=error.message, **home), 429
    except DomainError as error:
        db.session.rollback()
        return _render("start.html", station=station, duty_today=False, message=error.message, **home)
    session["walkin"] = number.id
    return redirect(_url("walkin_ticket"))


@bp.get("/walkin")
@public
def walkin_ticket() -> Response | str:
    """The walk-in number, printable like a ticket."""
    number = calling.get_walkin(session.get("walkin") or 0)
    if number is None:
        return redirect(_url("start"))
    station = _station()
    # 前面还有 N 人: counted as "call next" will call, at the moment the ticket is shown and printed.
    ahead = calling.ahead_of(number, station) if number.station_id == station.id else None
    return _render("walkin.html", walkin=number, station=station, ahead=ahead)
