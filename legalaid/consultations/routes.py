"""The duty lawyer's console, the consultation record, and the follow-up pages."""

from __future__ import annotations

from datetime import date, time
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers.response import Response

from legalaid.access import ADMIN, LAWYER, roles
from legalaid.auth import services as accounts
from legalaid.auth.forms import ConfirmForm
from legalaid.bookings import calling
from legalaid.bookings import services as bookings
from legalaid.consultations import labels, services
from legalaid.consultations.forms import CloseForm, LeadForm, NoteForm, ReassignForm, RecordForm, UnleadForm
from legalaid.dates import local_to_utc, local_today
from legalaid.errors import NotAllowed
from legalaid.forms import attempt, attempt_or_flash, validate_all
from legalaid.lawyers.services import lawyer_for_user
from legalaid.privacy import mask_text
from legalaid.privacy import services as privacy
from legalaid.stations import services as stations
from legalaid.stations.models import Station

bp = Blueprint("consultations", __name__)


def _station() -> Station:
    if current_user.role == LAWYER:
        lawyer = lawyer_for_user(current_user)
        station = lawyer.station if lawyer else None
    else:
        station = stations.station_for(current_user, request.args.get("station", type=int))
    if station is None:
        abort(404)
    return station


def _on_duty(station: Station) -> bool:
    if current_user.role == ADMIN:
        return True
    return services.duty_lawyer_for(current_user, station, local_today(station.timezone)) is not None


@bp.get("/console")
@roles(LAWYER, ADMIN)
def console() -> str:
    """Today's queue for the duty lawyer: call the next person, record, mark a no-show. An administrator
    may open any day (`?date=`) to read its queue and records; a lawyer not on duty sees nobody."""
    station = _station()
    today = local_today(station.timezone)
    day = today
    if current_user.role == ADMIN and request.args.get("date"):
        try:
            day = min(max(date.fromisoformat(request.args["date"]), date(2000, 1, 1)), date(2100, 12, 31))
        except ValueError:
            flash(_("Enter the date as YYYY-MM-DD."), "warning")
    return render_template(
        "consultations/console.html",
        records=services.held_on(station, day) if current_user.role == ADMIN else [],
        **_console_lists(station, day, today),
    )


@bp.get("/console/live")
@roles(LAWYER, ADMIN)
def console_live() -> str:
    """Today's lists of the console alone, fetched every few seconds by the open console
    (static/js/live.js), under the console's own rules: names only to the duty lawyer and administrators."""
    station = _station()
    today = local_today(station.timezone)
    return render_template("consultations/_console_live.html", **_console_lists(station, today, today))


def _console_lists(station: Station, day: date, today: date) -> dict[str, Any]:
    """The console's queue of a day, for whoever may see it (a lawyer not on duty sees nobody)."""
    on_duty = _on_duty(station) and day == today
    may_see = on_duty or current_user.role == ADMIN
    queue = (
        calling.todays_queue(station, now=local_to_utc(day, time(12, 0), station.timezone))
        if may_see
        else None
    )
    return {
        "station": station,
        "day": day,
        "today": today,
        "on_duty": on_duty,
        "may_see": may_see,
        "shift": queue.shift if queue else None,
        "bookings": queue.bookings if queue else [],
        "walkins": queue.walkins if queue else [],
        "calling": queue.calling if queue and day == today else None,
        "confirm": ConfirmForm(),
    }


@bp.post("/console/call-next")
@roles(LAWYER, ADMIN)
def call_next() -> Response:
    """Call the next person from the queue (shown on the hall display)."""
    station = _station()
    if ConfirmForm().validate_on_submit():
        try:
            called = calling.call_next(station, by=current_user)
        except NotAllowed:
            abort(403)
        if called is None:
            flash(_("Nobody is waiting."), "info")
        elif called.booking is not None:
            return redirect(url_for("consultations.new", booking=called.booking.id))
        elif called.walkin is not None:
            return redirect(url_for("consultations.new", walkin=called.walkin.id))
    return redirect(url_for("consultations.console", station=station.id))


@bp.post("/console/bookings/<int:booking_id>/no-show")
@roles(LAWYER, ADMIN)
def no_show(booking_id: int) -> Response:
    """The booked person did not come."""
    station = _station()
    booking = bookings.get_booking(booking_id)
    if booking is None or booking.shift.station_id != station.id:
        abort(404)
    if not services.may_record(current_user, station, booking=booking):
        abort(404)  # no such button for anyone but the shift's own duty lawyer
    if ConfirmForm().validate_on_submit() and attempt_or_flash(lambda: bookings.mark_no_show(booking)):
        flash(_("Marked as not come."), "success")
    return redirect(url_for("consultations.console", station=station.id))


@bp.route("/consultations/new", methods=["GET", "POST"])
@roles(LAWYER, ADMIN)
def new() -> Response | str:
    """Record a consultation for a booking, a walk-in number, or someone who just came in."""
    station = _station()
    booking = bookings.get_booking(request.args.get("booking", type=int) or 0)
    walkin = calling.get_walkin(request.args.get("walkin", type=int) or 0)
    if (booking and booking.shift.station_id != station.id) or (walkin and walkin.station_id != station.id):
        abort(404)
    if not services.may_record(current_user, station, booking=booking, walkin=walkin):
        abort(403)
    form = RecordForm()
    if not form.is_submitted() and booking:
        form.category.data = booking.category
        # What the veteran typed, numbers masked as everywhere the mobile is masked (the person is here).
        form.summary.data = mask_text(booking.description)
    person = services.queue_person(booking, walkin)
    consent = bool(form.consent.data)
    if validate_all(form, lambda: services.check_consent(booking, walkin, consent)):
        done = attempt(
            form,
            lambda: services.record_consultation(
                station,
                current_user._get_current_object(),
                form.to_record(),
                booking=booking,
                walkin=walkin,
                name=request.form.get("name", ""),
                consent=consent,
            ),
        )
        if done.ok:
            flash(_("The consultation is recorded."), "success")
            return redirect(url_for("consultations.console", station=station.id))
    if booking is not None:
        services.open_record_form(current_user._get_current_object(), booking)
    return render_template(
        "consultations/record.html",
        form=form,
        booking=booking,
        walkin=walkin,
        earlier=services.history(person.id if person else None, station),
        consultation=None,
        ask_consent=services.needs_consent(booking, walkin),
        station=station,
    )


def _consultation_or_404(consultation_id: int):
    consultation = services.get(consultation_id)
    if consultation is None:
        abort(404)
    if not services.may_read(consultation, current_user):
        abort(403)
    return consultation


@bp.get("/consultations/<int:consultation_id>")
@roles(LAWYER, ADMIN)
def view(consultation_id: int) -> str:
    """A consultation record with the veteran's own words from the booking and the record's edit
    history (every view is audited)."""
    consultation = services.read_consultation(_consultation_or_404(consultation_id), current_user)
    return render_template(
        "consultations/view.html",
        c=consultation,
        numbers=_numbers("consultation", consultation.id),
        counselling=services.may_read_counselling(consultation, current_user),
        described=services.booking_description(consultation),
        consent=services.consent_of(consultation),
        station=stations.get_station(consultation.station_id),
        history=services.edit_history(consultation, current_user),
        field_labels=labels.FIELD_LABELS,
        change_words=labels.change_words,
    )


def _numbers(kind: str, record_id: int) -> dict[str, str]:
    """The person's numbers on this record, masked, for the "show full number" control; none where
    the user may not reveal them here (a new owner reveals them on the matter)."""
    subject = privacy.subject(kind, record_id)
    if subject is None or not privacy.may_reveal(current_user, subject):
        return {}
    return {field: privacy.masked(subject, field) for field in privacy.FIELDS}


@bp.route("/consultations/<int:consultation_id>/edit", methods=["GET", "POST"])
@roles(LAWYER, ADMIN)
def edit(consultation_id: int) -> Response | str:
    """The author corrects their record; the earlier text is kept."""
    consultation = _consultation_or_404(consultation_id)
    if consultation.author_id != current_user.id:
        abort(403)
    form = RecordForm(obj=consultation) if request.method == "GET" else RecordForm()
    if form.validate_on_submit():
        done = attempt(
            form,
            lambda: services.correct_consultation(
                consultation, current_user._get_current_object(), form.to_record()
            ),
        )
        if done.ok:
            flash(_("The record is corrected; the earlier text is kept."), "success")
            return redirect(url_for("consultations.view", consultation_id=consultation.id))
    return render_template(
        "consultations/record.html",
        form=form,
        booking=None,
        walkin=None,
        earlier=[],
        consultation=consultation,
        ask_consent=False,
        station=None,
    )


@bp.get("/matters")
@roles(LAWYER, ADMIN)
def matters() -> str:
    """Matters being followed: one's own; for an administrator all of them, or (`?mine=1`) those they
    hold or lead (领导包案)."""
    mine = current_user.role == ADMIN and request.args.get("mine") == "1"
    page = min(max(request.args.get("page", 1, type=int), 1), 100_000)
    found = services.matters_page(current_user, mine=mine, page=page)
    return render_template(
        "consultations/matters.html",
        matters=found.items,
        found=found,
        overdue=services.is_overdue,
        mine=mine,
        args={"mine": "1"} if mine else {},
    )


def _matter_or_404(matter_id: int):
    matter = services.get_matter(matter_id)
    if matter is None:
        abort(404)
    if not services.may_see_matter(matter, current_user):
        abort(403)
    return matter


def _leader_choices() -> list[tuple[int, str]]:
    return [(u.id, f"{u.display_name} ({u.username})") for u in services.possible_leaders()]


@bp.get("/matters/<int:matter_id>")
@roles(LAWYER, ADMIN)
def matter(matter_id: int) -> str:
    """A matter's timeline, with forms to add a note, record a milestone, close it or reassign it."""
    item = _matter_or_404(matter_id)
    reassign = ReassignForm(owner_id=item.owner_id)
    reassign.owner_id.choices = [
        (u.id, f"{u.display_name} ({u.username})") for u in services.possible_owners()
    ]
    lead = LeadForm(leader_id=item.leader_id)
    lead.leader_id.choices = _leader_choices()
    return render_template(
        "consultations/matter.html",
        m=item,
        note_form=NoteForm(),
        close_form=CloseForm(),
        reassign_form=reassign,
        lead_form=lead,
        unlead_form=UnleadForm(),
        overdue=services.is_overdue(item),
        numbers=_numbers("matter", item.id),
    )


@bp.post("/matters/<int:matter_id>/<any(note, close, reassign, lead, unlead):action>")
@roles(LAWYER, ADMIN)
def matter_action(matter_id: int, action: str) -> Response:
    """Add to the timeline, close with a result, or (administrators) reassign, attach or detach the
    leader (领导包案)."""
    item = _matter_or_404(matter_id)
    me = current_user._get_current_object()
    if action in ("reassign", "lead", "unlead") and me.role != ADMIN:
        abort(403)
    forms = {
        "note": NoteForm,
        "close": CloseForm,
        "reassign": ReassignForm,
        "lead": LeadForm,
        "unlead": UnleadForm,
    }
    form: Any = forms[action]()  # one of five forms, told apart by `action`
    if action == "reassign":
        form.owner_id.choices = [(u.id, u.username) for u in services.possible_owners()]
    elif action == "lead":
        form.leader_id.choices = _leader_choices()

    def work() -> None:
        if action == "note":
            services.add_note(item, me, form.text.data, form.milestone.data or None, form.milestone_on.data)
        elif action == "close":
            services.close_matter(item, me, form.result.data or None, form.money_saved.data)
        elif action == "lead":
            leader = accounts.get_user(form.leader_id.data or 0)
            if leader is None:
                raise NotAllowed(_("Choose an administrator as the leader."))
            services.lead(item, me, leader)
        elif action == "unlead":
            services.unlead(item, me)
        else:
            owner = accounts.get_user(form.owner_id.data or 0)
            if owner is None:
                raise NotAllowed(_("Choose a lawyer or an administrator."))
            services.reassign(item, me, owner)

    if form.validate_on_submit():
        if attempt_or_flash(work):
            flash(_("Saved."), "success")
    else:
        for errors in form.errors.values():
            for error in errors:
                flash(error, "danger")
    if action in ("reassign", "lead", "unlead") or item.owner_id == me.id or me.role == ADMIN:
        return redirect(url_for("consultations.matter", matter_id=item.id))
    return redirect(url_for("consultations.matters"))
