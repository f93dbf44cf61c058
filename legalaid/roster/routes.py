"""Roster pages: the month view and print, the generator, closures, hand changes, attendance,
the lawyer's own shifts and calendar, and the public hall display."""

from __future__ import annotations

from datetime import date, timedelta

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers.response import Response as WerkzeugResponse

from legalaid.access import ADMIN, LAWYER, STAFF, public, roles
from legalaid.auth.forms import ConfirmForm
from legalaid.bookings.planning import booking_counts
from legalaid.dates import EARLIEST_DAY, LATEST_DAY, local_today, parse_day, parse_month, shift_month
from legalaid.errors import DomainError, YearNotCovered
from legalaid.extensions import db
from legalaid.forms import DateRange, attempt, attempt_or_flash, show_error
from legalaid.i18n import format_day, series
from legalaid.lawyers import services as lawyers
from legalaid.lawyers.forms import LeaveForm
from legalaid.lawyers.routes import require_own_lawyer
from legalaid.roster import closing as closing_day
from legalaid.roster import conflicts, feeds, services
from legalaid.roster.forms import ClosureForm, ConfirmYearForm, GenerateForm, ShiftForm
from legalaid.security import local_target
from legalaid.stations import services as stations
from legalaid.stations.models import Station
from legalaid.swaps import services as swaps

bp = Blueprint("roster", __name__)


def _station() -> Station:
    station = stations.station_for(current_user, request.args.get("station", type=int))
    if station is None:
        abort(404)
    return station


def _month(station: Station) -> tuple[date, str | None]:
    """The month the address asks for (its first day), or this month and why the asked one is not shown."""
    text = request.args.get("month", "")
    first = parse_month(text)
    if first is not None:
        return first, None
    today = local_today(station.timezone)
    notice = None
    if text:
        notice = _(
            "The roster shows months from %(first)s to %(last)s; this month is shown instead.",
            first=f"{EARLIEST_DAY:%Y-%m}",
            last=f"{LATEST_DAY:%Y-%m}",
        )
    return date(today.year, today.month, 1), notice


def _month_context(station: Station) -> dict:
    first, notice = _month(station)
    previous, following = shift_month(first, -1), shift_month(first, 1)
    return {
        "station": station,
        "days": services.month_days(station, first.year, first.month),
        "first": first,
        "prev_month": f"{previous:%Y-%m}" if previous else None,
        "next_month": f"{following:%Y-%m}" if following else None,
        "today": local_today(station.timezone),
        "notice": notice,
    }


@bp.get("/admin/roster")
@roles(ADMIN)
def month() -> str:
    """The month's shifts, closures and swaps in progress."""
    station = _station()
    context = _month_context(station)
    if context["notice"]:
        flash(context["notice"], "warning")
    context["missed"] = services.missed_check_ins(station, context["today"], days=60)
    last = context["days"][-1].day if context["days"] else context["first"]
    found = conflicts.station_conflicts(station, context["first"], last, context["today"])
    context["conflicts"] = found
    context["replacements"] = {shift_id: conflicts.replacement_for(c.shift) for shift_id, c in found.items()}
    return render_template("roster/month.html", stations=stations.list_stations(), **context)


@bp.get("/roster/print")
@roles(ADMIN, STAFF)
def print_month() -> str:
    """The month roster for the hall wall (A4)."""
    return render_template("roster/print.html", **_month_context(_station()))


@bp.route("/admin/roster/generate", methods=["GET", "POST"])
@roles(ADMIN)
def generate() -> WerkzeugResponse | str:
    """Preview the rotation for some weeks, then save it."""
    station = _station()
    form = GenerateForm()
    form.station_id.choices = [(s.id, s.name) for s in stations.list_stations()]
    if request.method == "GET":
        form.station_id.data = station.id
        form.start.data = local_today(station.timezone) + timedelta(days=1)
    preview = uncovered = None
    # The years the holiday data and the reports know: a start in year 9999 is a typing slip.
    if form.validate_on_submit(extra_validators={"start": [DateRange(min=EARLIEST_DAY, max=LATEST_DAY)]}):
        station = stations.get_station(form.station_id.data) or abort(404)
        start = form.start.data
        end = start + timedelta(weeks=form.weeks.data) - timedelta(days=1)
        try:
            if form.save.data:
                preview = services.apply_rotation(station, start, end)
                flash(
                    _(
                        "Roster saved: %(n)d days added or changed.",
                        n=sum(c.kind in ("add", "change", "remove") for c in preview.changes),
                    ),
                    "success",
                )
                return redirect(
                    url_for("roster.month", station=station.id, month=f"{start.year}-{start.month:02d}")
                )
            preview = services.preview_rotation(station, start, end)
        except YearNotCovered as error:
            db.session.rollback()
            uncovered = error
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
    return render_template(
        "roster/generate.html",
        form=form,
        preview=preview,
        uncovered=uncovered,
        station=station,
        confirm_form=ConfirmYearForm(),
    )


@bp.route("/admin/roster/closures", methods=["GET", "POST"])
@roles(ADMIN)
def closures() -> WerkzeugResponse | str:
    """The year's closed days: statutory holidays and the administrator's own entries."""
    station = _station()
    year = request.args.get("year", type=int) or local_today(station.timezone).year
    year = min(max(year, 2000), 2100)
    form = ClosureForm()
    if form.validate_on_submit(extra_validators={"closed_on": [DateRange(min=EARLIEST_DAY, max=LATEST_DAY)]}):
        day, closing = form.closed_on.data, form.kind.data == "close"
        impact = closing_day.closure_impact(station, day) if closing else None
        if impact is not None and impact.affects_anyone and form.confirmed.data != day.isoformat():
            # First show who the closure affects; it is saved only once the administrator confirms.
            return render_template("roster/close_preview.html", station=station, form=form, impact=impact)
        if closing:
            done = attempt(form, lambda: closing_day.close_day(station, day, form.reason.data or ""))
        else:
            done = attempt(form, lambda: services.set_closure(station, day, False, form.reason.data))
        if done.ok:
            if closing and done.value.affects_anyone:
                flash(
                    _(
                        "The day is closed. %(n)d bookings were cancelled; the people booked and the lawyer "
                        "will receive a message.",
                        n=len(done.value.bookings),
                    ),
                    "success",
                )
            else:
                flash(_("Saved."), "success")
            return redirect(url_for("roster.closures", station=station.id, year=day.year))
        if impact is not None and impact.affects_anyone:
            return render_template("roster/close_preview.html", station=station, form=form, impact=impact)
    start, end = date(year, 1, 1), date(year, 12, 31)
    covered = year in services.holiday_years()
    return render_template(
        "roster/closures.html",
        station=station,
        stations=stations.list_stations(),
        year=year,
        covered=covered,
        confirmed=year in services.confirmed_years(station),
        closed=services.closed_days(station, start, end),
        entries=sorted(services.closures(station, start, end).values(), key=lambda c: c.closed_on),
        duty_weekdays=set(station.duty_weekday_list),
        form=form,
        confirm_form=ConfirmYearForm(year=year),
        remove_form=ConfirmForm(),
    )


@bp.post("/admin/roster/closures/remove")
@roles(ADMIN)
def remove_closure() -> WerkzeugResponse:
    """Forget an entry of the administrator's (the holiday data applies again)."""
    station = _station()
    if ConfirmForm().validate_on_submit():
        try:
            day = date.fromisoformat(request.form.get("day", ""))
        except ValueError:
            abort(400)
        services.remove_closure(station, day)
        flash(_("Entry removed."), "success")
    return redirect(url_for("roster.closures", station=station.id, year=request.form.get("year", type=int)))


@bp.post("/admin/roster/confirm-year")
@roles(ADMIN)
def confirm_year() -> WerkzeugResponse | str:
    """Confirm an uncovered year after entering its closures; with none entered, ask once more first."""
    station = _station()
    form = ConfirmYearForm()
    back = local_target(request.form.get("back"), url_for("roster.closures", station=station.id))
    if form.validate_on_submit():
        year = form.year.data
        try:
            # The second confirmation's button sends no_closures=1 (see roster/confirm_year.html).
            services.confirm_year(station, year, without_closures=request.form.get("no_closures") == "1")
        except DomainError as error:
            db.session.rollback()
            if error.field != services.NO_CLOSURES:
                flash(error.message, "danger")
                return redirect(back)
            return render_template(
                "roster/confirm_year.html", station=station, year=year, back=back, confirm_form=form
            )
        flash(_("%(year)d confirmed: the roster may now be generated for it.", year=year), "success")
    return redirect(back)


@bp.route("/admin/roster/day", methods=["GET", "POST"])
@roles(ADMIN)
def set_day() -> WerkzeugResponse | str:
    """Set or replace a day's lawyer by hand, with a reason."""
    station = _station()
    day = parse_day(request.args.get("date"))
    if day is None:
        flash(
            _(
                "Enter the date as YYYY-MM-DD, between %(min)s and %(max)s.",
                min=EARLIEST_DAY.isoformat(),
                max=LATEST_DAY.isoformat(),
            ),
            "warning",
        )
        return redirect(url_for("roster.month", station=station.id))
    shift = services.shift_on(station, day)
    form = ShiftForm()
    form.lawyer_id.choices = [(0, "—")] + [
        (lw.id, f"{lw.name} · {lw.firm.name}") for lw in services.station_lawyers(station)
    ]
    if request.method == "GET" and shift:
        form.lawyer_id.data = shift.lawyer_id
    picked: int | None = request.args.get("lawyer", None, int)
    if request.method == "GET" and picked:
        # "Choose a replacement" from the month view: the rotation's pick comes pre-selected.
        form.lawyer_id.data = picked
        form.reason.data = request.args.get("reason", "")[:200]
    if form.validate_on_submit():
        lawyer = lawyers.get_lawyer(form.lawyer_id.data) or abort(404)
        done = attempt(form, lambda: services.set_shift_lawyer(station, day, lawyer, form.reason.data))
        if done.ok:
            flash(_("The duty lawyer of %(day)s is set.", day=day.isoformat()), "success")
            return redirect(url_for("roster.month", station=station.id, month=f"{day.year}-{day.month:02d}"))
    return render_template("roster/day.html", station=station, day=day, shift=shift, form=form)


@bp.post("/roster/shifts/<int:shift_id>/check-in")
@roles(ADMIN, STAFF, LAWYER)
def check_in(shift_id: int) -> WerkzeugResponse:
    """Record that the duty lawyer arrived (by the desk or an administrator of the station, or the lawyer
    themself: the service says who may)."""
    shift = services.get_shift(shift_id) or abort(404)
    me = current_user._get_current_object()
    if ConfirmForm().validate_on_submit() and attempt_or_flash(lambda: services.check_in(shift, by=me)):
        flash(_("Checked in."), "success")
    return redirect(local_target(request.form.get("back"), url_for("core.home")))


# -- the lawyer's own pages ------------------------------------------------------------------------


@bp.get("/me/shifts")
@roles(LAWYER)
def my_shifts() -> str:
    """A lawyer's upcoming and past shifts, calendar address and dates off."""
    lawyer = require_own_lawyer()
    today = local_today(lawyer.station.timezone)
    shifts = services.lawyer_shifts(lawyer)
    return render_template(
        "roster/my_shifts.html",
        lawyer=lawyer,
        today=today,
        booked=booking_counts([s.id for s in shifts if s.duty_on >= today]),
        upcoming=[s for s in shifts if s.duty_on >= today],
        past=[s for s in reversed(shifts) if s.duty_on < today][:20],
        feed_url=url_for("roster.calendar_feed", token=lawyer.calendar_token, _external=True),
        leave_form=LeaveForm(),
        confirm=ConfirmForm(),
        waiting_swaps=swaps.waiting_count(lawyer, today),
    )


@bp.post("/me/calendar/reset")
@roles(LAWYER)
def reset_calendar() -> WerkzeugResponse:
    """Give the lawyer a new calendar address; the old one stops working."""
    lawyer = require_own_lawyer()
    if ConfirmForm().validate_on_submit():
        lawyers.regenerate_calendar_token(lawyer)
        flash(_("You have a new calendar address. The old one no longer works."), "success")
    return redirect(url_for("roster.my_shifts"))


@bp.post("/me/leave")
@roles(LAWYER)
def my_leave() -> WerkzeugResponse | str:
    """A lawyer enters their own dates off."""
    lawyer = require_own_lawyer()
    form = LeaveForm()
    if form.validate_on_submit():
        done = attempt(
            form,
            lambda: lawyers.add_unavailability(
                lawyer, form.start_on.data, form.end_on.data, form.reason.data
            ),
        )
        if done.ok:
            clashes = lawyers.leave_conflicts(lawyer, form.start_on.data, form.end_on.data)
            if clashes:
                days = series(format_day(c.shift.duty_on) for c in clashes)
                flash(
                    _(
                        "Dates off saved. You are on duty on %(days)s: the administrator has been told and "
                        "will choose a replacement. Until you hear, the shift is still yours.",
                        days=days,
                    ),
                    "warning",
                )
            else:
                flash(_("Dates off saved."), "success")
            return redirect(url_for("roster.my_shifts"))
    for error in [*form.form_errors, *(e for f in form for e in f.errors)]:
        flash(error, "danger")
    return redirect(url_for("roster.my_shifts"))


@bp.post("/me/leave/<int:entry_id>/delete")
@roles(LAWYER)
def my_leave_delete(entry_id: int) -> WerkzeugResponse:
    """A lawyer removes one of their own entries of dates off."""
    lawyer = require_own_lawyer()
    entry = lawyers.get_unavailability(entry_id)
    if entry is None or entry.lawyer_id != lawyer.id:
        abort(404)
    if ConfirmForm().validate_on_submit():
        lawyers.remove_unavailability(entry)
        flash(_("Dates off removed."), "success")
    return redirect(url_for("roster.my_shifts"))


# -- public ------------------------------------------------------------------------------------------


@bp.get("/calendar/<token>.ics")
@public
def calendar_feed(token: str) -> Response:
    """The lawyer's personal calendar feed; the secret in the address is the only key."""
    lawyer = lawyers.lawyer_by_calendar_token(token)
    if lawyer is None:
        abort(404)
    today = local_today(lawyer.station.timezone)
    shifts = services.lawyer_shifts(lawyer, start=today - timedelta(days=90))
    body = feeds.lawyer_calendar(lawyer, shifts, uid_domain=current_app.config["CALENDAR_UID_DOMAIN"])
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'inline; filename="duty.ics"'
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@bp.get("/duty/today")
@public
def hall_display() -> str:
    """For the hall's TV: today's duty lawyer and hours, or the next duty day. No personal data."""
    station_id = request.args.get("station", type=int)
    station = stations.get_station(station_id) if station_id else None
    station = station or stations.station_for(None)
    if station is None:
        abort(404)
    today = local_today(station.timezone)
    shift = services.shift_on(station, today)
    closed = services.closed_days(station, today, today).get(today)
    upcoming = None if shift else services.next_duty(station, today + timedelta(days=1))
    return render_template(
        "roster/hall.html", station=station, today=today, shift=shift, upcoming=upcoming, closed=closed
    )
