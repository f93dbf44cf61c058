"""Rating pages: the veteran's phone page behind the completion message's link (no sign-in), and the
administrators' list of ratings with the reply to a poor one. The kiosk's rating page is in `kiosk.py`."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers.response import Response

from legalaid.access import ADMIN, LAWYER, public, roles
from legalaid.audit.services import VISITOR_PAGES
from legalaid.errors import DomainError
from legalaid.forms import attempt
from legalaid.lawyers import services as lawyers
from legalaid.ratings import labels as _labels  # noqa: F401  (registers the audit log's words)
from legalaid.ratings import links, services
from legalaid.ratings.forms import RatingForm, ReplyForm
from legalaid.ratings.models import PHONE, Rating
from legalaid.stations import services as stations

bp = Blueprint("ratings", __name__)
log = logging.getLogger(__name__)
# The phone rating page is used without an account: the audit log names its visitor "访客（网上）".
VISITOR_PAGES["ratings"] = "online"


@bp.app_context_processor
def rating_badge() -> dict:
    """`ratings_flagged()` in every page: how many poor ratings wait for an administrator's reply."""

    def ratings_flagged() -> int:
        if not (current_user.is_authenticated and current_user.role == ADMIN):
            return 0
        try:
            return services.flagged_count()
        except sa.exc.SQLAlchemyError:
            # The error pages share the menu: a badge must not turn a database failure into a blank page.
            log.warning("rating badge: database unavailable")
            return 0

    return {"ratings_flagged": ratings_flagged}


# -- the veteran's phone page -------------------------------------------------------------------------


@bp.route("/rate/<token>", methods=["GET", "POST"])
@public
def rate(token: str) -> Response | str | tuple[str, int]:
    """Rate a consultation from the completion message's link: date, station and lawyer, nothing personal."""
    try:
        consultation = links.consultation_of_token(token)
    except DomainError as error:
        return render_template("ratings/phone_closed.html", message=error.message), 404
    rating = services.rating_of(consultation)
    form = RatingForm()
    details = {"consultation": consultation, "station": stations.get_station(consultation.station_id)}
    if rating is not None or request.method == "GET":
        refusal = services.why_not(consultation)
        if rating is not None or refusal:
            return render_template(
                "ratings/phone_closed.html", message=refusal, rated=rating is not None, **details
            )
        return render_template("ratings/phone.html", form=form, token=token, **details)
    if not form.validate():  # only the CSRF token can fail: the page was open too long
        form.form_errors.append(_("The page was open too long. Please choose again and send."))
        return render_template(
            "ratings/phone.html", form=form, token=token, history_url=request.path, **details
        )
    done = attempt(
        form,
        lambda: services.rate(
            consultation, form.level.data, form.reasons.data or [], form.comment.data or "", PHONE
        ),
    )
    if not done.ok:
        return render_template(
            "ratings/phone.html", form=form, token=token, history_url=request.path, **details
        )
    return redirect(url_for("ratings.rate", token=token), code=303)


# -- the administrators' pages ------------------------------------------------------------------------


# The newest ratings the list shows; older ones are found by station (a province has hundreds of
# thousands of ratings, and the poor ones waiting for a reply are few).
LIST_LIMIT = 50


@bp.get("/admin/ratings")
@roles(ADMIN)
def index() -> str:
    """Ratings newest first; the poor ones without a reply first of all (the default filter)."""
    which = request.args.get("show", services.UNANSWERED)
    if which not in services.FILTERS:
        which = services.UNANSWERED
    station_id = request.args.get("station", type=int)
    if station_id is not None and stations.get_station(station_id) is None:
        station_id = None
    return render_template(
        "ratings/index.html",
        ratings=services.search(which, station_id, limit=LIST_LIMIT),
        which=which,
        filters=services.FILTERS,
        station_id=station_id,
        stations=stations.list_stations(),
        flagged=services.flagged_count(),
    )


def _rating_or_404(rating_id: int) -> Rating:
    return services.get(rating_id) or abort(404)


@bp.route("/admin/ratings/<int:rating_id>", methods=["GET", "POST"])
@roles(ADMIN)
def show(rating_id: int) -> Response | str:
    """One rating with its consultation's date, station and lawyer; the reply to a poor one."""
    rating = _rating_or_404(rating_id)
    form = ReplyForm()
    answered = form.validate_on_submit() and attempt(
        form, lambda: services.reply(rating, current_user, form.reply.data or "")
    )
    if answered and answered.ok:
        flash(_("The reply is recorded."), "success")
        return redirect(url_for("ratings.show", rating_id=rating.id))
    return render_template(
        "ratings/show.html",
        rating=rating,
        form=form,
        station=stations.get_station(rating.consultation.station_id),
    )


# -- the lawyer's own counts -----------------------------------------------------------------------------


@bp.get("/me/ratings")
@roles(LAWYER)
def mine() -> str:
    """The lawyer's own ratings this year, counted per month: levels only, never who rated or what they
    wrote (the comments are read by the administrators)."""
    lawyer = lawyers.lawyer_for_user(current_user)
    if lawyer is None:
        abort(404)
    year = request.args.get("year", type=int) or services.station_today(lawyer.station_id).year
    if not 2000 <= year <= 2100:
        abort(404)
    return render_template(
        "ratings/mine.html", lawyer=lawyer, year=year, ratings=services.own_counts(lawyer, year)
    )
