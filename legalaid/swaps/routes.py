"""Swap pages: the lawyer asks, the colleague answers, the administrator decides."""

from __future__ import annotations

import logging
from collections.abc import Callable

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers.response import Response

from legalaid.access import ADMIN, LAWYER, roles
from legalaid.forms import attempt, attempt_or_flash
from legalaid.lawyers import services as lawyers
from legalaid.lawyers.models import Lawyer
from legalaid.lawyers.routes import require_own_lawyer
from legalaid.roster import services as roster
from legalaid.swaps import services
from legalaid.swaps.forms import DecisionForm, SwapRequestForm
from legalaid.swaps.models import APPROVED, REJECTED, SwapRequest

bp = Blueprint("swaps", __name__)
log = logging.getLogger(__name__)


@bp.app_context_processor
def swap_badge() -> dict:
    """`swaps_waiting()` in every page: how many requests wait for the signed-in lawyer's answer."""

    def swaps_waiting() -> int:
        if not (current_user.is_authenticated and current_user.role == LAWYER):
            return 0
        try:
            lawyer = lawyers.lawyer_for_user(current_user)
            return services.waiting_count(lawyer) if lawyer else 0
        except sa.exc.SQLAlchemyError:
            # The error pages share the menu: a badge must not turn a database failure into a blank page.
            log.warning("swap badge: database unavailable")
            return 0

    return {"swaps_waiting": swaps_waiting}


def _refused_flash() -> None:
    flash(
        _("The shift has changed hands since the request: the swap is refused, and both lawyers are told."),
        "warning",
    )


def _swap_or_404(swap_id: int) -> SwapRequest:
    return services.get_swap(swap_id) or abort(404)


@bp.get("/me/swaps")
@roles(LAWYER)
def mine() -> str:
    """Requests waiting for this lawyer's answer, and their own requests."""
    lawyer = require_own_lawyer()
    incoming, outgoing = services.swaps_of_lawyer(lawyer)
    return render_template(
        "swaps/mine.html",
        lawyer=lawyer,
        incoming=incoming,
        outgoing=outgoing,
        changed_hands=services.refused_because_changed_hands([s.id for s in outgoing]),
        form=DecisionForm(),
    )


@bp.route("/me/shifts/<int:shift_id>/swap", methods=["GET", "POST"])
@roles(LAWYER)
def ask(shift_id: int) -> Response | str:
    """Ask to hand one of one's own future shifts to a colleague."""
    lawyer = require_own_lawyer()
    shift = roster.get_shift(shift_id)
    if shift is None or shift.lawyer_id != lawyer.id:
        abort(404)
    form = SwapRequestForm()
    colleagues = [c for c in roster.station_lawyers(lawyer.station) if c.id != lawyer.id]
    form.to_lawyer_id.choices = [(0, _("Any colleague"))] + [(c.id, c.name) for c in colleagues]
    if form.validate_on_submit():
        to_lawyer = lawyers.get_lawyer(form.to_lawyer_id.data) if form.to_lawyer_id.data else None
        done = attempt(form, lambda: services.request_swap(shift, lawyer, to_lawyer, form.note.data))
        if done.ok:
            flash(_("Your swap request has been sent."), "success")
            return redirect(url_for("swaps.mine"))
    return render_template("swaps/ask.html", form=form, shift=shift)


def _lawyer_step(swap_id: int, step: str) -> Response:
    lawyer = require_own_lawyer()
    swap = _swap_or_404(swap_id)
    if DecisionForm().validate_on_submit():
        action: dict[str, Callable[[SwapRequest, Lawyer], object]] = {
            "accept": services.accept_swap,
            "decline": services.decline_swap,
            "cancel": services.cancel_swap,
        }
        if attempt_or_flash(lambda: action[step](swap, lawyer)):
            if swap.status == REJECTED:
                _refused_flash()
                return redirect(url_for("swaps.mine"))
            messages = {
                "accept": _("You have taken the shift.")
                if swap.status == APPROVED
                else _("Accepted; an administrator will approve it."),
                "decline": _("You have declined."),
                "cancel": _("Your request is withdrawn."),
            }
            flash(messages[step], "success")
    return redirect(url_for("swaps.mine"))


@bp.post("/me/swaps/<int:swap_id>/accept")
@roles(LAWYER)
def accept(swap_id: int) -> Response:
    """The colleague takes the shift."""
    return _lawyer_step(swap_id, "accept")


@bp.post("/me/swaps/<int:swap_id>/decline")
@roles(LAWYER)
def decline(swap_id: int) -> Response:
    """The colleague asked says no."""
    return _lawyer_step(swap_id, "decline")


@bp.post("/me/swaps/<int:swap_id>/cancel")
@roles(LAWYER)
def cancel(swap_id: int) -> Response:
    """The requester withdraws."""
    return _lawyer_step(swap_id, "cancel")


@bp.get("/admin/swaps")
@roles(ADMIN)
def pending() -> str:
    """Swaps in progress; the accepted ones wait for a decision."""
    station_id = current_user.station_id
    return render_template(
        "swaps/pending.html", swaps=services.swaps_awaiting_approval(station_id), form=DecisionForm()
    )


@bp.post("/admin/swaps/<int:swap_id>/<any(approve, reject):decision>")
@roles(ADMIN)
def decide(swap_id: int, decision: str) -> Response:
    """Approve or reject a swap."""
    swap = _swap_or_404(swap_id)
    form = DecisionForm()
    if form.validate_on_submit():
        me = current_user._get_current_object()
        if decision == "approve":
            done = attempt_or_flash(lambda: services.approve_swap(swap, me))
        else:
            done = attempt_or_flash(lambda: services.reject_swap(swap, me, form.note.data))
        if done and decision == "approve" and swap.status == REJECTED:
            _refused_flash()
        elif done:
            flash(
                _("Swap approved; the roster is updated.") if decision == "approve" else _("Swap rejected."),
                "success",
            )
    return redirect(url_for("swaps.pending"))
