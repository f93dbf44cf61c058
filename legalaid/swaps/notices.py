"""Who hears of each step of a swap, and what they read.

Each step's messages are queued in the outbox in the step's own transaction: the colleague asked (or
every colleague, for an open offer) when it is asked; the administrators when a colleague accepts; both
lawyers when it is approved, rejected or refused; the requester when the colleague declines; the
colleague when the requester withdraws.
The de-duplication key names the swap, the step and the person, so a replayed step queues nothing
new. Messages that a later step makes pointless (asked, then answered before 08:00) lapse unsent.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app

from legalaid.access import ADMIN
from legalaid.auth.models import User
from legalaid.dates import local_to_utc
from legalaid.extensions import db
from legalaid.lawyers.models import Lawyer
from legalaid.reminders.models import PENDING, STALE, OutboxMessage
from legalaid.reminders.queueing import Contact, Planned, lawyer_contact, queue, user_contact
from legalaid.reminders.services import expire_pending
from legalaid.swaps.models import SwapRequest

# Message kinds (each is also its template in reminders.senders.TEMPLATES).
ASKED = "swap_asked"
OFFERED = "swap_offered"
ACCEPTED = "swap_accepted"
APPROVED = "swap_approved"
REJECTED = "swap_rejected"
REFUSED = "swap_refused"
DECLINED = "swap_declined"
WITHDRAWN = "swap_withdrawn"
SWAP_KINDS = (ASKED, OFFERED, ACCEPTED, APPROVED, REJECTED, REFUSED, DECLINED, WITHDRAWN)


def _key(step: str, swap: SwapRequest) -> str:
    """The de-duplication key's prefix of a step's messages; each recipient's id completes it."""
    return f"swap-{step}:{swap.id}:"


def _link(path: str) -> str:
    return current_app.config.get("PUBLIC_URL", "").rstrip("/") + path


def _params(swap: SwapRequest) -> dict:
    shift = swap.shift
    taker = swap.accepted_by or swap.to_lawyer
    return {
        "day": f"{shift.duty_on:%Y-%m-%d}",
        "station": shift.station.name,
        "from": swap.from_lawyer.name,
        "to": taker.name if taker else "",
    }


def _day_start(swap: SwapRequest, days_after: int = 0) -> datetime:
    shift = swap.shift
    return local_to_utc(shift.duty_on + timedelta(days=days_after), time.min, shift.station.timezone)


def _tell(
    kind: str,
    swap: SwapRequest,
    contacts: list[Contact],
    key: str,
    expires_at: datetime,
    now: datetime,
    **extra: str,
) -> int:
    """Queue one message of a kind to each contact; the template is the kind."""
    params = {**_params(swap), **extra}
    planned = [
        Planned(
            kind=kind,
            recipient=contact,
            template=kind,
            params=params,
            due_at=now,
            expires_at=expires_at,
            dedupe_key=f"{key}{contact.recipient_id}",
            tz=swap.shift.station.timezone,
        )
        for contact in contacts
    ]
    return queue(planned, now)


def _lapse(step: str, swap: SwapRequest, now: datetime) -> set[int | None]:
    """Messages of an earlier step still waiting are no longer worth sending; whom they were for."""
    prefix = _key(step, swap)
    waiting = sa.and_(OutboxMessage.dedupe_key.startswith(prefix), OutboxMessage.status == PENDING)
    whom = set(db.session.scalars(sa.select(OutboxMessage.recipient_id).where(waiting)))
    expire_pending(OutboxMessage.dedupe_key.startswith(prefix), STALE, now)
    return whom


def on_requested(swap: SwapRequest, colleagues: list[Lawyer], now: datetime) -> int:
    """The colleague asked, or each colleague who could take the shift when it is offered to anyone."""
    kind = ASKED if swap.to_lawyer_id is not None else OFFERED
    contacts = [lawyer_contact(c) for c in colleagues]
    # Once the day has come the answer can no longer be given: the question lapses at midnight.
    return _tell(kind, swap, contacts, _key("asked", swap), _day_start(swap), now, link=_link("/me/swaps"))


def _admins_of(swap: SwapRequest) -> list[Contact]:
    """Every active administrator (they are bureau-wide), except the swap's own parties, who may not
    decide it."""
    parties = {swap.from_lawyer.user_id, swap.accepted_by.user_id if swap.accepted_by else None}
    admins = db.session.scalars(
        sa.select(User).where(User.role == ADMIN, User.active.is_(True)).order_by(User.id)
    )
    return [user_contact(admin) for admin in admins if admin.id not in parties]


def on_accepted(swap: SwapRequest, now: datetime) -> int:
    """The administrators: a swap waits for their decision."""
    _lapse("asked", swap, now)
    return _tell(
        ACCEPTED,
        swap,
        _admins_of(swap),
        _key("accepted", swap),
        _day_start(swap),
        now,
        link=_link("/admin/swaps"),
    )


def _both(swap: SwapRequest) -> list[Contact]:
    """The requester and the colleague who accepted (or, before anyone did, the one asked)."""
    other = swap.accepted_by or swap.to_lawyer
    return [lawyer_contact(lawyer) for lawyer in (swap.from_lawyer, other) if lawyer is not None]


def on_decided(swap: SwapRequest, kind: str, now: datetime, **extra: str) -> int:
    """Both lawyers: the swap is approved, rejected, or refused because the shift changed hands."""
    _lapse("asked", swap, now)
    _lapse("accepted", swap, now)
    step = kind.removeprefix("swap_")
    # Still worth reading on the morning of the day: the one who comes must know.
    return _tell(kind, swap, _both(swap), _key(step, swap), _day_start(swap, 1), now, **extra)


def on_declined(swap: SwapRequest, now: datetime) -> int:
    """The requester: the colleague asked said no, so they may ask another."""
    _lapse("asked", swap, now)
    contact = lawyer_contact(swap.from_lawyer)
    return _tell(DECLINED, swap, [contact], _key("declined", swap), _day_start(swap), now)


def on_withdrawn(swap: SwapRequest, now: datetime) -> int:
    """The colleague who accepted, or the one asked if the request already reached them."""
    never_told = _lapse("asked", swap, now)
    _lapse("accepted", swap, now)
    other = swap.accepted_by or swap.to_lawyer
    if other is None or (swap.accepted_by is None and other.id in never_told):
        return 0
    return _tell(WITHDRAWN, swap, [lawyer_contact(other)], _key("withdrawn", swap), _day_start(swap, 1), now)
