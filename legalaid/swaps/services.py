"""The swap flow (调班): ask → the colleague accepts or declines → an administrator approves or rejects.

Every step is one function that checks who may take it, changes the state, writes the audit entry and
queues the messages of the people concerned (`swaps.notices`), in the caller's transaction.
Past shifts cannot be swapped, and nobody approves their own request. A swap whose shift has changed
hands meanwhile is refused (`rejected`, with the reason in its audit entry) when someone acts on it.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from legalaid import audit
from legalaid.audit.models import AuditEntry
from legalaid.auth.models import User
from legalaid.bookings.validation import clean_prose
from legalaid.dates import local_today, now_utc
from legalaid.db import rows_changed
from legalaid.errors import InvalidInput, NotAllowed
from legalaid.extensions import db
from legalaid.lawyers.models import Lawyer, Unavailability
from legalaid.roster import services as roster
from legalaid.roster.models import MANUAL, DutyShift
from legalaid.swaps import notices
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

REFUSE_ACTION = "swap.refuse"
CHANGED_HANDS = "the shift changed hands"  # the stored reason, in English like every audit detail


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


def can_take(shift: DutyShift, lawyer: Lawyer) -> bool:
    """Whether a lawyer could take the shift: serves the station, under contract, not on leave."""
    try:
        _ensure_can_take(shift, lawyer)
    except NotAllowed:
        return False
    return True


def colleagues_who_can_take(shift: DutyShift, requester: Lawyer) -> list[Lawyer]:
    """The requester's active colleagues at the shift's station who could take it, by name."""
    return [c for c in roster.station_lawyers(shift.station) if c.id != requester.id and can_take(shift, c)]


def _move(swap: SwapRequest, allowed: tuple[str, ...], to: str, refusal: str) -> None:
    """Take the swap to its next state only if it is still in a state it may leave; a replayed or
    concurrent request finds it moved on and is refused, so each step happens, and is told, once."""
    moved = rows_changed(db.session.execute(
        sa.update(SwapRequest)
        .where(SwapRequest.id == swap.id, SwapRequest.status.in_(allowed))
        .values(status=to)
        .execution_options(synchronize_session=False)
    ))
    if not moved:
        raise NotAllowed(refusal)
    swap.status = to


def request_swap(
    shift: DutyShift,
    requester: Lawyer,
    to_lawyer: Lawyer | None,
    note: str = "",
    today: date | None = None,
    now: datetime | None = None,
) -> SwapRequest:
    """Ask to hand one's own future shift to a named colleague, or offer it to any colleague; they hear."""
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
        shift=shift,
        from_lawyer=requester,
        to_lawyer=to_lawyer,
        note=clean_prose(note)[:200],
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
    colleagues = [to_lawyer] if to_lawyer is not None else colleagues_who_can_take(shift, requester)
    notices.on_requested(swap, colleagues, now or now_utc())
    return swap


def accept_swap(
    swap: SwapRequest, lawyer: Lawyer, today: date | None = None, now: datetime | None = None
) -> SwapRequest:
    """The colleague takes the shift and the administrators hear; with automatic approval on, it is
    theirs at once. If the shift has changed hands meanwhile, the swap is refused instead."""
    if swap.status != REQUESTED:
        raise NotAllowed(_("This request is no longer waiting for a colleague."))
    if lawyer.id == swap.from_lawyer_id:
        raise NotAllowed(_("You cannot accept your own request."))
    if swap.to_lawyer_id is not None and swap.to_lawyer_id != lawyer.id:
        raise NotAllowed(_("This request was made to another colleague."))
    _ensure_future(swap.shift, today)
    if _changed_hands(swap):
        _refuse_changed_hands(swap, None, now)
        return swap
    _ensure_can_take(swap.shift, lawyer)
    _move(swap, (REQUESTED,), ACCEPTED, _("This request is no longer waiting for a colleague."))
    swap.accepted_by = lawyer
    db.session.flush()
    audit.record("swap.accept", swap, station_id=swap.shift.station_id)
    if swap.shift.station.swap_auto_approve:
        _carry_out(swap, None, now)
    else:
        notices.on_accepted(swap, now or now_utc())
    return swap


def decline_swap(swap: SwapRequest, lawyer: Lawyer, now: datetime | None = None) -> None:
    """The named colleague says no; the requester hears, to ask someone else."""
    if swap.status != REQUESTED or swap.to_lawyer_id != lawyer.id:
        raise NotAllowed(_("Only the colleague asked can decline, while the request waits."))
    _move(swap, (REQUESTED,), DECLINED, _("Only the colleague asked can decline, while the request waits."))
    audit.record("swap.decline", swap, station_id=swap.shift.station_id)
    notices.on_declined(swap, now or now_utc())
    db.session.flush()


def cancel_swap(swap: SwapRequest, lawyer: Lawyer, now: datetime | None = None) -> None:
    """The requester withdraws the request before it is approved; the colleague who took or was asked
    it hears."""
    if swap.status not in OPEN_SWAP_STATES or swap.from_lawyer_id != lawyer.id:
        raise NotAllowed(_("Only the requester can withdraw a request in progress."))
    _move(swap, OPEN_SWAP_STATES, CANCELLED, _("Only the requester can withdraw a request in progress."))
    audit.record("swap.cancel", swap, station_id=swap.shift.station_id)
    notices.on_withdrawn(swap, now or now_utc())
    db.session.flush()


def _ensure_not_party(swap: SwapRequest, approver: User) -> None:
    parties = {swap.from_lawyer.user_id, swap.accepted_by.user_id if swap.accepted_by else None}
    if approver.id in parties:
        raise NotAllowed(_("Nobody approves their own swap."))


def approve_swap(
    swap: SwapRequest, approver: User, today: date | None = None, now: datetime | None = None
) -> SwapRequest:
    """An administrator approves an accepted swap: the shift passes to the colleague and both hear.

    If the shift has changed hands since the request, the swap is refused, and stays so, instead.
    """
    if swap.status != ACCEPTED:
        raise NotAllowed(_("Only a request the colleague accepted can be approved."))
    _ensure_not_party(swap, approver)
    _ensure_future(swap.shift, today)
    if _changed_hands(swap):
        _refuse_changed_hands(swap, approver, now)
        return swap
    _ensure_can_take(swap.shift, swap.accepted_by)
    _carry_out(swap, approver, now)
    return swap


def reject_swap(swap: SwapRequest, approver: User, note: str = "", now: datetime | None = None) -> None:
    """An administrator turns a request down; the shift stays with the requester; both lawyers hear."""
    if swap.status not in OPEN_SWAP_STATES:
        raise NotAllowed(_("This request is already closed."))
    _ensure_not_party(swap, approver)
    _move(swap, OPEN_SWAP_STATES, REJECTED, _("This request is already closed."))
    swap.decided_by_id = approver.id
    audit.record(
        "swap.reject", swap, details={"note": clean_prose(note)[:200]}, station_id=swap.shift.station_id
    )
    notices.on_decided(swap, notices.REJECTED, now or now_utc())
    db.session.flush()


def _changed_hands(swap: SwapRequest) -> bool:
    return swap.shift.lawyer_id != swap.from_lawyer_id


def _refuse_changed_hands(swap: SwapRequest, decided_by: User | None, now: datetime | None) -> None:
    """The shift is no longer the requester's: the swap is refused, with that reason in its audit entry,
    and both lawyers hear who has the shift now. It returns rather than raises, so the request commits
    the refusal like any decision, instead of rolling back to a swap waiting for an approval that can
    never come."""
    shift = swap.shift
    _move(swap, OPEN_SWAP_STATES, REJECTED, _("This request is already closed."))
    swap.decided_by_id = decided_by.id if decided_by else None
    now_on_duty = db.session.get_one(Lawyer, shift.lawyer_id)
    audit.record(
        REFUSE_ACTION,
        swap,
        details={"date": shift.duty_on.isoformat(), "why": CHANGED_HANDS, "lawyer": now_on_duty.name},
        actor=decided_by,
        station_id=shift.station_id,
    )
    notices.on_decided(swap, notices.REFUSED, now or now_utc(), lawyer=now_on_duty.name)
    db.session.flush()


def _carry_out(swap: SwapRequest, approver: User | None, now: datetime | None) -> None:
    shift = swap.shift
    _move(swap, (ACCEPTED,), APPROVED, _("Only a request the colleague accepted can be approved."))
    if swap.accepted_by_id is None:  # `_move` only lets an accepted request through
        raise NotAllowed(_("Only a request the colleague accepted can be approved."))
    roster.hand_over(shift, swap.accepted_by_id, "swap")
    shift.source = MANUAL  # kept by later generation, like any shift set by hand
    shift.reason = _("Swap #%(id)d", id=swap.id)
    swap.decided_by_id = approver.id if approver else None
    db.session.flush()
    audit.record(
        "swap.approve",
        swap,
        details={"date": shift.duty_on.isoformat(), "auto": approver is None},
        actor=approver,
        station_id=shift.station_id,
    )
    notices.on_decided(swap, notices.APPROVED, now or now_utc())


def refused_because_changed_hands(swap_ids: list[int]) -> set[int]:
    """Which of these swaps were refused because their shift changed hands (the reason is stored in
    their audit entry). One statement, also for none (a page's count does not depend on its rows)."""
    return set(
        db.session.scalars(
            sa.select(AuditEntry.target_id).where(
                AuditEntry.action == REFUSE_ACTION,
                AuditEntry.target_type == SwapRequest.__tablename__,
                AuditEntry.target_id.in_(swap_ids),
            )
        )
    )


def _waiting_for(lawyer: Lawyer, today: date | None) -> sa.ColumnElement[bool]:
    """Requests that wait for this lawyer's answer: asked of them, or offered at their station, for a
    day still to come (once it has come, nobody can answer any more)."""
    today = today or local_today(lawyer.station.timezone)
    return sa.and_(
        SwapRequest.status == REQUESTED,
        DutyShift.duty_on > today,
        SwapRequest.from_lawyer_id != lawyer.id,
        sa.or_(
            SwapRequest.to_lawyer_id == lawyer.id,
            sa.and_(SwapRequest.to_lawyer_id.is_(None), DutyShift.station_id == lawyer.station_id),
        ),
    )


def swaps_of_lawyer(lawyer: Lawyer, today: date | None = None) -> tuple[list[SwapRequest], list[SwapRequest]]:
    """(incoming, outgoing): requests a lawyer may answer, and the lawyer's own requests."""
    incoming_query = (
        sa.select(SwapRequest)
        .join(DutyShift, SwapRequest.shift_id == DutyShift.id)
        .where(_waiting_for(lawyer, today))
        .order_by(DutyShift.duty_on)
    )
    outgoing_query = (
        sa.select(SwapRequest)
        .where(SwapRequest.from_lawyer_id == lawyer.id)
        .order_by(SwapRequest.created_at.desc())
        .limit(50)
    )
    return list(db.session.scalars(incoming_query)), list(db.session.scalars(outgoing_query))


def waiting_count(lawyer: Lawyer, today: date | None = None) -> int:
    """How many swap requests wait for this lawyer's answer (the badge on their pages)."""
    query = (
        sa.select(sa.func.count())
        .select_from(SwapRequest)
        .join(DutyShift, SwapRequest.shift_id == DutyShift.id)
        .where(_waiting_for(lawyer, today))
    )
    return db.session.scalar(query) or 0


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
