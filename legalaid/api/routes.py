"""`/api/v1/`: thin views over the services; each declared with `@operation`, which checks the key,
validates the query and puts the operation into the OpenAPI document (/api/v1/openapi.json).

Times leave in the station's zone with its offset (…T09:00:00+08:00), dates as YYYY-MM-DD.
"""

from __future__ import annotations

import logging
import re
from datetime import date

from flask import Blueprint, jsonify, render_template, request
from werkzeug.wrappers.response import Response

from legalaid.access import public
from legalaid.api import auth, cursors, services
from legalaid.api import schemas as s
from legalaid.api.models import BOOKINGS_WRITE, REPORTS_READ, ROSTER_READ, SLOTS_READ
from legalaid.api.openapi import PATH_SCHEMAS, build_document, json_response, operation
from legalaid.api.problems import ApiProblem, from_domain_error, from_problem
from legalaid.bookings import planning
from legalaid.bookings import services as bookings
from legalaid.bookings.models import Booking
from legalaid.dates import local_to_utc, to_local
from legalaid.db import get_by_id
from legalaid.errors import DomainError
from legalaid.extensions import db
from legalaid.privacy import mask_mobile, mask_name
from legalaid.reports import services as reports
from legalaid.roster.models import DutyShift
from legalaid.stations.models import Station
from legalaid.transaction import unit_of_work

bp = Blueprint("api_v1", __name__, url_prefix="/api/v1")
log = logging.getLogger(__name__)

PATH_SCHEMAS["code"] = {"type": "string", "pattern": s.CODE_PATTERN, "description": "The booking code."}
IDEMPOTENCY_KEY = "Idempotency-Key"
_IDEMPOTENCY_PATTERN = r"^[!-~]{1,255}$"  # printable ASCII, no spaces
IDEMPOTENCY_HEADER = {
    "name": IDEMPOTENCY_KEY,
    "in": "header",
    "required": False,
    "description": "A value of your own, new for every booking (a UUID): sent again with a retried "
    "request, it answers the booking the first one made instead of making another.",
    "schema": {"type": "string", "pattern": _IDEMPOTENCY_PATTERN},
}


@bp.errorhandler(ApiProblem)
def refused(error: ApiProblem) -> Response:
    """A refusal raised by a view (key, scope, station, input): nothing it did is kept."""
    db.session.rollback()
    return from_problem(error)


@bp.errorhandler(DomainError)
def broken_rule(error: DomainError) -> Response:
    """A rule a service enforced, as a problem (409 or 422); nothing the call did is kept."""
    db.session.rollback()
    return from_domain_error(error)


@bp.after_request
def audit_call(response: Response) -> Response:
    """Audit a call made with a valid key, in its own short transaction: the request's work is already
    committed (or, refused, rolled back) and the entry is kept either way."""
    caller = auth.current_caller()
    if caller is None:
        return response
    operation_id = (request.endpoint or "").rsplit(".", 1)[-1]
    db.session.rollback()  # whatever a refused call left unsaved stays unsaved
    try:
        with unit_of_work():
            services.record_call(caller.key_id, caller.station_id, operation_id, response.status_code)
    except Exception:  # the answer stands (unit_of_work rolled back); the failure to audit it is logged
        log.exception("api: call not audited (%s, %s)", caller.prefix, operation_id)
    return response


def _station(station_id: int) -> Station:
    """The station a path names: 403 for a key limited to another one, 404 when there is none."""
    auth.require_station(station_id)
    station = services.active_station(station_id)
    if station is None:
        raise ApiProblem(404)
    return station


def _station_out(station: Station) -> s.Station:
    return s.Station(
        id=station.id,
        name=station.name,
        address=station.address,
        timezone=station.timezone,
        duty_weekdays=station.duty_weekday_list,
        sessions=[
            s.ReceptionSession(start=f"{r.start_time:%H:%M}", end=f"{r.end_time:%H:%M}")
            for r in station.sessions
        ],
        slot_minutes=station.slot_minutes,
        places_per_slot=station.places_per_slot,
        booking_window_days=station.booking_window_days,
        booking_cutoff_hours=station.booking_cutoff_hours,
    )


def _day_out(shift: DutyShift, station: Station, closed: bool) -> s.RosterDay:
    tz = station.timezone
    hours = [
        s.Period(
            starts_at=to_local(local_to_utc(shift.duty_on, r.start_time, tz), tz),
            ends_at=to_local(local_to_utc(shift.duty_on, r.end_time, tz), tz),
        )
        for r in station.sessions
    ]
    return s.RosterDay(
        id=shift.id,
        station_id=station.id,
        date=shift.duty_on,
        lawyer=s.Lawyer(id=shift.lawyer.id, name=shift.lawyer.name),
        closed=closed,
        hours=hours,
    )


@operation(
    bp,
    "GET",
    "/stations",
    scope=None,
    summary="The stations",
    response=s.StationPage,
    query=s.PageQuery,
    tag="stations",
)
def list_stations(query: s.PageQuery) -> s.StationPage:
    """The active stations, by name; a key limited to one station sees only it."""
    after = cursors.decode(query.cursor, cursors.read_text)
    rows, more = services.stations_page(auth.caller().station_id, after, query.limit)
    return s.StationPage(
        items=[_station_out(row) for row in rows],
        next_cursor=cursors.encode(rows[-1].name, rows[-1].id) if more else None,
    )


@operation(
    bp,
    "GET",
    "/stations/<int:station_id>/roster",
    scope=ROSTER_READ,
    summary="The duty roster",
    response=s.RosterPage,
    query=s.RosterQuery,
    tag="roster",
)
def station_roster(station_id: int, query: s.RosterQuery) -> s.RosterPage:
    """The duty days from `from` to `to` (both included), each with its lawyer and reception hours."""
    station = _station(station_id)
    after = cursors.decode(query.cursor, cursors.read_day)
    shifts, closed, more = services.roster_page(station, query.start, query.end, after, query.limit)
    return s.RosterPage(
        items=[_day_out(shift, station, shift.duty_on in closed) for shift in shifts],
        next_cursor=cursors.encode(shifts[-1].duty_on.isoformat(), shifts[-1].id) if more else None,
    )


@operation(
    bp,
    "GET",
    "/stations/<int:station_id>/slots",
    scope=SLOTS_READ,
    summary="Free slots of a day",
    response=s.SlotPage,
    query=s.SlotsQuery,
    tag="slots",
)
def station_slots(station_id: int, query: s.SlotsQuery) -> s.SlotPage:
    """The times of a day the hotline can still book, each with its places left (full ones left out)."""
    station = _station(station_id)
    after = cursors.decode(query.cursor, cursors.read_instant)
    slots, more = services.free_slots(station, query.day, after, query.limit)
    tz = station.timezone
    return s.SlotPage(
        items=[
            s.Slot(
                id=slot.id,
                starts_at=to_local(slot.starts_at, tz),
                ends_at=to_local(slot.ends_at, tz),
                places_left=slot.free,
            )
            for slot in slots
        ],
        next_cursor=cursors.encode(slots[-1].starts_at.isoformat(), slots[-1].id) if more else None,
    )


# -- bookings ----------------------------------------------------------------------------------------------


def _booking_out(booking: Booking) -> s.Booking:
    station = booking.shift.station
    tz = station.timezone
    return s.Booking(
        id=booking.id,
        code=booking.code,
        station_id=station.id,
        slot_id=booking.slot_id,
        starts_at=to_local(booking.slot.starts_at, tz),
        ends_at=to_local(booking.slot.ends_at, tz),
        status=booking.status,
        channel=booking.channel,
        category=booking.category,
        name=mask_name(booking.name),
        mobile=mask_mobile(booking.veteran.mobile),
        external_ref=booking.external_ref,
        created_at=to_local(booking.created_at, tz),
    )


def _idempotency_key() -> str | None:
    value = request.headers.get(IDEMPOTENCY_KEY)
    if value is None:
        return None
    if not re.fullmatch(_IDEMPOTENCY_PATTERN, value):
        reason = "1 to 255 printable ASCII characters, no spaces"
        raise ApiProblem(422, errors=[{"field": IDEMPOTENCY_KEY, "code": "pattern", "reason": reason}])
    return value


def _found(code: str, last4: str) -> Booking:
    booking = services.find_booking(code, last4, auth.caller().station_id)
    if booking is None:  # no such code, another mobile, or another station's: the same answer
        raise ApiProblem(404, "booking_not_found")
    return booking


@operation(
    bp,
    "POST",
    "/bookings",
    scope=BOOKINGS_WRITE,
    summary="Book a place for a caller",
    body=s.NewBooking,
    response=s.Booking,
    status=201,
    tag="bookings",
    headers=(IDEMPOTENCY_HEADER,),
    response_headers=(("Idempotency-Replayed", "“true” when an earlier call with the same key made it."),),
)
def create_booking(body: s.NewBooking) -> Response:
    """Book the slot for the caller, with the station's rules as at the kiosk: a full slot, a day
    closed, past the cutoff or a second booking of the same mobile that day is refused (409). The
    booking is recorded under the key's channel (the 12345 hotline unless the administrator chose
    online), with the caller's consent as given by telephone, and shows in the desk's queue."""
    caller = auth.caller()
    asked = services.NewBooking(
        slot_id=body.slot_id,
        name=body.name,
        mobile=body.mobile,
        category=body.category,
        description=body.description,
        external_ref=body.external_ref,
    )
    booking, replayed = services.book(
        asked, caller.key_id, caller.channel, caller.station_id, _idempotency_key()
    )
    response = json_response(_booking_out(booking), 201)
    if replayed:
        response.headers["Idempotency-Replayed"] = "true"
    return response


@operation(
    bp,
    "GET",
    "/bookings",
    scope=BOOKINGS_WRITE,
    summary="Bookings with your reference",
    query=s.BookingsQuery,
    response=s.BookingPage,
    tag="bookings",
)
def find_bookings(query: s.BookingsQuery) -> s.BookingPage:
    """The bookings made with this reference (the hotline's work-order number), oldest first."""
    after = cursors.decode(query.cursor, cursors.read_text)
    rows, more = services.bookings_with_ref(
        query.external_ref, auth.caller().station_id, after[1] if after else None, query.limit
    )
    return s.BookingPage(
        items=[_booking_out(row) for row in rows],
        next_cursor=cursors.encode("", rows[-1].id) if more else None,
    )


@operation(
    bp,
    "POST",
    "/bookings/<code>/lookup",
    scope=BOOKINGS_WRITE,
    summary="Look a booking up",
    body=s.BookingKey,
    response=s.Booking,
    tag="bookings",
)
def lookup_booking(code: str, body: s.BookingKey) -> s.Booking:
    """The booking with this code whose mobile number ends in these four digits (404 otherwise: a
    wrong code and a wrong number are not told apart). A POST, so the digits stay out of addresses
    and logs."""
    return _booking_out(_found(code, body.last4))


@operation(
    bp,
    "POST",
    "/bookings/<code>/cancel",
    scope=BOOKINGS_WRITE,
    summary="Cancel a booking",
    body=s.CancelBooking,
    response=s.Booking,
    tag="bookings",
)
def cancel_booking(code: str, body: s.CancelBooking) -> s.Booking:
    """Cancel for the caller, with their reason, until the station's cutoff (409 after it, or when the
    booking is no longer open); its place is given back at once."""
    booking = _found(code, body.last4)
    bookings.cancel(booking, body.reason)
    return _booking_out(booking)


@operation(
    bp,
    "POST",
    "/bookings/<code>/move",
    scope=BOOKINGS_WRITE,
    summary="Move a booking",
    body=s.MoveBooking,
    response=s.Booking,
    tag="bookings",
)
def move_booking(code: str, body: s.MoveBooking) -> s.Booking:
    """Move the booking to another free slot of its station, with the rules of a new booking."""
    booking = _found(code, body.last4)
    slot = planning.get_slot(body.slot_id)
    if slot is None:
        raise ApiProblem(404, "slot_not_found")
    bookings.move(booking, slot)
    return _booking_out(booking)


# -- figures -----------------------------------------------------------------------------------------------


def _figures_station(asked: int | None) -> int | None:
    """The station a figure is of: the one asked, the key's own when it is limited to one."""
    own = auth.caller().station_id
    if asked is None:
        return own
    auth.require_station(asked)
    if get_by_id(Station, asked) is None:
        raise ApiProblem(404)
    return asked


@operation(
    bp,
    "GET",
    "/reports/annual",
    scope=REPORTS_READ,
    summary="The annual figures",
    query=s.AnnualQuery,
    response=s.AnnualFigures,
    tag="reports",
)
def annual_figures(query: s.AnnualQuery) -> s.AnnualFigures:
    """The figures of the annual report (年度报告) of a year, of one station or of every station."""
    figures = reports.annual_report(query.year, _figures_station(query.station_id))
    ratings = {k: v for k, v in figures["ratings"].items() if k not in ("by_month", "by_lawyer")}
    return s.AnnualFigures(**{**{k: v for k, v in figures.items() if k != "station"}, "ratings": ratings})


@operation(
    bp,
    "GET",
    "/reports/monthly",
    scope=REPORTS_READ,
    summary="A month's figures",
    query=s.MonthlyQuery,
    response=s.MonthlyFigures,
    tag="reports",
)
def monthly_figures(query: s.MonthlyQuery) -> s.MonthlyFigures:
    """A month's consultations by category, outcome and channel, its bookings and walk-ins, and the
    follow-ups opened from it as they stand today."""
    station_id = _figures_station(query.station_id)
    first = date(query.year, query.month, 1)
    stats = reports.statistics(reports.Period(*reports.month_bounds(first), station_id))
    return s.MonthlyFigures(
        year=query.year,
        month=query.month,
        station_id=station_id,
        consultations=stats.consultations,
        by_category=stats.by_category,
        by_outcome=stats.by_outcome,
        by_channel=stats.visits.by_channel,
        bookings=stats.visits.bookings,
        no_shows=stats.visits.no_shows,
        walkins=stats.visits.walkins,
        follow_ups_opened=stats.follow_ups.opened,
        follow_ups_open=stats.follow_ups.open,
        follow_ups_overdue=stats.follow_ups.overdue,
        follow_ups_solved=stats.follow_ups.solved,
    )


# -- the document and its reference page (no key: they hold no data) ---------------------------------------


@bp.get("/openapi.json")
@public
def openapi_document() -> Response:
    """The OpenAPI 3.1 document of this API, made from the declared operations."""
    return jsonify(build_document())


@bp.get("/docs")
@public
def docs() -> str:
    """The API's reference page (Swagger UI, served from this site; no calls are made from it)."""
    return render_template("api/docs.html")
