"""The swap flow (调班): ask → the colleague accepts or declines → an administrator approves or rejects.

Every step is one function that checks who may take it, changes the state and writes the audit entry.
Past shifts cannot be swapped, and nobody approves their own request.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _

from legalaid import audit
from legalaid.auth.models import User
from legalaid.dates import local_today
from legalaid.errors import InvalidInput, NotAllowed
from legalaid.extensions import db
from legalaid.lawyers.models import Lawyer, Unavailability
from legalaid.roster import services as roster
from legalaid.roster.models import MANUAL, DutyShift
from legalaid.swaps.models import (
    ACCEPTED,
    APPROVED,
    CANCELLED,
    DECLINED,
    OPEN_SWAP_STATES,
    REJECTED,
    REQUESTED,
    SwapRequest,
)


def _today(shift: DutyShift, today: date | None) -> date:
    return today or local_today(shift.station.timezone)


def _ensure_future(shift: DutyShift, today: date | None) -> None:
    if shift.duty_on <= _today(shift, today):
        raise NotAllowed(_("Only future shifts can be swapped."))


def _ensure_can_take(shift: DutyShift, lawyer: Lawyer) -> None:
    if lawyer.station_id != shift.station_id or not lawyer.active:
        raise NotAllowed(_("%(name)s does not serve this station.", name=lawyer.name))
    if not lawyer.under_contract_on(shift.duty_on):
        raise NotAllowed(_("%(name)s has no contract on that date.", name=lawyer.name))
    on_leave = db.session.scalar(
        sa.select(Unavailability.id).where(
            Unavailability.lawyer_id == lawyer.id,
            Unavailability.start_on <= shift.duty_on,
            Unavailability.end_on >= shift.duty_on,
        )
    )
    if on_leave is not None:
        raise NotAllowed(_("%(name)s is on leave that day.", name=lawyer.name))


def get_swap(swap_id: int) -> SwapRequest | None:
    """The swap request with this id, if any."""
    return db.session.get(SwapRequest, swap_id)


def open_swap_for(shift: DutyShift) -> SwapRequest | None:
    """The shift's swap request still in progress, if any."""
    return db.session.scalar(
        sa.select(SwapRequest).where(
            SwapRequest.shift_id == shift.id, SwapRequest.status.in_(OPEN_SWAP_STATES)
        )
    )


def request_swap(
    shift: DutyShift, requester: Lawyer, to_lawyer: Lawyer | None, note: str = "", today: date | None = None
) -> SwapRequest:
    """Ask to hand one's own future shift to a named colleague, or offer it to any colleague."""
    if shift.lawyer_id != requester.id:
        raise NotAllowed(_("You can only hand over your own shifts."))
    _ensure_future(shift, today)
    if to_lawyer is not None:
        if to_lawyer.id == requester.id:
            raise InvalidInput(_("Choose a colleague, not yourself."), field="to_lawyer_id")
        _ensure_can_take(shift, to_lawyer)
    if open_swap_for(shift) is not None:
        raise NotAllowed(_("This shift already has a swap request in progress."))
    swap = SwapRequest(
        shift_id=shift.id,
        from_lawyer_id=requester.id,
        to_lawyer_id=to_lawyer.id if to_lawyer else None,
        note=(note or "").strip()[:200],
        status=REQUESTED,
    )
    db.session.add(swap)
    db.session.flush()
    audit.record(
        "swap.request",
        swap,
        details={"date": shift.duty_on.isoformat(), "to": to_lawyer.name if to_lawyer else "*"},
        station_id=shift.station_id,
    )
    return swap


def accept_swap(swap: SwapRequest, lawyer: Lawyer, today: date | None = None) -> SwapRequest:
    """The colleague takes the shift; with automatic approval on, it is theirs at once."""
    if swap.status != REQUESTED:
        raise NotAllowed(_("This request is no longer waiting for a colleague."))
    if lawyer.id == swap.from_lawyer_id:
        raise NotAllowed(_("You cannot accept your own request."))
    if swap.to_lawyer_id is not None and swap.to_lawyer_id != lawyer.id:
        raise NotAllowed(_("This request was made to another colleague."))
    _ensure_future(swap.shift, today)
    _ensure_can_take(swap.shift, lawyer)
    swap.accepted_by_id = lawyer.id
    swap.status = ACCEPTED
    db.session.flush()
    audit.record("swap.accept", swap, station_id=swap.shift.station_id)
    if swap.shift.station.swap_auto_approve:
        _carry_out(swap, approver=None)
    return swap


def decline_swap(swap: SwapRequest, lawyer: Lawyer) -> None:
    """The named colleague says no."""
    if swap.status != REQUESTED or swap.to_lawyer_id != lawyer.id:
        raise NotAllowed(_("Only the colleague asked can decline, while the request waits."))
    swap.status = DECLINED
    audit.record("swap.decline", swap, station_id=swap.shift.station_id)
    db.session.flush()


def cancel_swap(swap: SwapRequest, lawyer: Lawyer) -> None:
    """The requester withdraws the request before it is approved."""
    if swap.status not in OPEN_SWAP_STATES or swap.from_lawyer_id != lawyer.id:
        raise NotAllowed(_("Only the requester can withdraw a request in progress."))
    swap.status = CANCELLED
    audit.record("swap.cancel", swap, station_id=swap.shift.station_id)
    db.session.flush()


def _ensure_not_party(swap: SwapRequest, approver: User) -> None:
    parties = {swap.from_lawyer.user_id, swap.accepted_by.user_id if swap.accepted_by else None}
    if approver.id in parties:
        raise NotAllowed(_("Nobody approves their own swap."))


def approve_swap(swap: SwapRequest, approver: User, today: date | None = None) -> None:
    """An administrator approves an accepted swap: the shift passes to the colleague."""
    if swap.status != ACCEPTED:
        raise NotAllowed(_("Only a request the colleague accepted can be approved."))
    _ensure_not_party(swap, approver)
    _ensure_future(swap.shift, today)
    _ensure_can_take(swap.shift, swap.accepted_by)
    _carry_out(swap, approver)


def reject_swap(swap: SwapRequest, approver: User, note: str = "") -> None:
    """An administrator turns a request down; the shift stays with the requester."""
    if swap.status not in OPEN_SWAP_STATES:
        raise NotAllowed(_("This request is already closed."))
    _ensure_not_party(swap, approver)
    swap.status = REJECTED
    swap.decided_by_id = approver.id
    audit.record(
        "swap.reject", swap, details={"note": (note or "").strip()[:200]}, station_id=swap.shift.station_id
    )
    db.session.flush()


def _carry_out(swap: SwapRequest, approver: User | None) -> None:
    shift = swap.shift
    if shift.lawyer_id != swap.from_lawyer_id:
        swap.status = CANCELLED
        db.session.flush()
        raise NotAllowed(_("The shift has changed hands since the request; it was withdrawn."))
    roster.hand_over(shift, swap.accepted_by_id, "swap")
    shift.source = MANUAL  # kept by later generation, like any shift set by hand
    shift.reason = _("Swap #%(id)d", id=swap.id)
    swap.status = APPROVED
    swap.decided_by_id = approver.id if approver else None
    db.session.flush()
    audit.record(
        "swap.approve",
        swap,
        details={"date": shift.duty_on.isoformat(), "auto": approver is None},
        actor=approver,
        station_id=shift.station_id,
    )


def swaps_of_lawyer(lawyer: Lawyer) -> tuple[list[SwapRequest], list[SwapRequest]]:
    """(incoming, outgoing): requests a lawyer may answer, and the lawyer's own requests."""
    incoming_query = (
        sa.select(SwapRequest)
        .join(DutyShift, SwapRequest.shift_id == DutyShift.id)
        .where(
            SwapRequest.status == REQUESTED,
            SwapRequest.from_lawyer_id != lawyer.id,
            sa.or_(
                SwapRequest.to_lawyer_id == lawyer.id,
                sa.and_(SwapRequest.to_lawyer_id.is_(None), DutyShift.station_id == lawyer.station_id),
            ),
        )
        .order_by(DutyShift.duty_on)
    )
    outgoing_query = (
        sa.select(SwapRequest)
        .where(SwapRequest.from_lawyer_id == lawyer.id)
        .order_by(SwapRequest.created_at.desc())
        .limit(50)
    )
    return list(db.session.scalars(incoming_query)), list(db.session.scalars(outgoing_query))


def swaps_awaiting_approval(station_id: int | None = None) -> list[SwapRequest]:
    """Accepted requests an administrator must decide, earliest shift first."""
    query = (
        sa.select(SwapRequest)
        .join(DutyShift, SwapRequest.shift_id == DutyShift.id)
        .where(SwapRequest.status.in_(OPEN_SWAP_STATES))
        .order_by(DutyShift.duty_on)
    )
    if station_id is not None:
        query = query.where(DutyShift.station_id == station_id)
    return list(db.session.scalars(query))
