"""The messages the features plan, and queueing them in the outbox: who a message is for (a contact),
what it is (a planned message), and `queue()`, which adds each message once its time has come.

The lowest layer of the reminders: the features that tell people of their own steps (swaps, hand-overs,
conflicts) use it directly, and the timed rules (`reminders.rules`) build on it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa

from legalaid import audit
from legalaid.access import ADMIN
from legalaid.auth.models import User
from legalaid.bookings.models import Booking
from legalaid.dates import DEFAULT_TIMEZONE
from legalaid.extensions import db
from legalaid.kiosk import limits
from legalaid.lawyers.models import Lawyer
from legalaid.reminders.models import OutboxMessage
from legalaid.reminders.services import enqueue, expire_pending
from legalaid.reminders.timing import out_of_quiet

DEFAULT_LOCALE = "zh_Hans_CN"
# The note on a message kept back by the cap (English in the database; the outbox page translates it).
OVER_CAP = "too many messages to this recipient today"
# Staff and lawyers are told of their own work (every conflict, every swap) and nobody outside can make
# the system write to them; the cap is for veterans, whose number anyone can type on the public pages.
CAPPED_RECIPIENTS = frozenset({"veteran"})
log = logging.getLogger(__name__)


class Contact(NamedTuple):
    """Who a message is for and where it goes."""

    recipient_type: str  # user · lawyer · veteran
    recipient_id: int | None
    channel: str
    address: str


@dataclass
class Planned:
    """A message a rule wants sent: to whom, what, and between when and when."""

    kind: str
    recipient: Contact
    template: str
    params: dict
    due_at: datetime
    expires_at: datetime | None
    dedupe_key: str
    tz: str | None = DEFAULT_TIMEZONE
    locale: str = DEFAULT_LOCALE


# -- who gets it, and how ---------------------------------------------------------------------------


def veteran_contact(booking: Booking) -> Contact:
    """A veteran is reached by SMS on the mobile number they booked with."""
    return Contact("veteran", booking.veteran_id, "sms", booking.veteran.mobile)


def lawyer_contact(lawyer: Lawyer, as_user: int | None = None) -> Contact:
    """A lawyer by SMS, else e-mail, else only the log (and the admin outbox page)."""
    who = ("user", as_user) if as_user is not None else ("lawyer", lawyer.id)
    if lawyer.mobile:
        return Contact(*who, "sms", lawyer.mobile)
    if lawyer.email:
        return Contact(*who, "email", lawyer.email)
    return Contact(*who, "log", lawyer.name)


def user_contact(user: User) -> Contact:
    """A signed-in user: as their lawyer record if they are one, else by e-mail, else the log."""
    lawyer = db.session.scalar(sa.select(Lawyer).where(Lawyer.user_id == user.id))
    if lawyer is not None and (lawyer.mobile or lawyer.email):
        return lawyer_contact(lawyer, as_user=user.id)
    if user.email:
        return Contact("user", user.id, "email", user.email)
    return Contact("user", user.id, "log", user.username)


# -- queueing ---------------------------------------------------------------------------------------


def queue(planned: list[Planned], now: datetime) -> int:
    """Queue each planned message whose time has come and which is not queued yet; returns how many.

    A message is queued as due now (or at the end of the quiet hours). Existing keys are read first, a
    thousand at a time, so a job that runs every minute costs a read, not a failed insert per message.
    A veteran gets at most `MESSAGES_PER_RECIPIENT_DAY` messages a day, whatever causes them: one over
    the cap is kept as expired with its reason (so it is never tried again) and not counted as queued.
    """
    ready = [p for p in planned if p.due_at <= now]
    keys = [p.dedupe_key for p in ready]
    existing: set[str] = set()
    for start in range(0, len(keys), 1000):
        chunk = keys[start : start + 1000]
        existing |= set(
            db.session.scalars(sa.select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(chunk)))
        )
    added = 0
    for p in ready:
        if p.dedupe_key in existing:
            continue
        queued = enqueue(
            kind=p.kind,
            **p.recipient._asdict(),
            template=p.template,
            params=p.params,
            due_at=out_of_quiet(now, p.tz),
            expires_at=p.expires_at,
            dedupe_key=p.dedupe_key,
            locale=p.locale,
        )
        existing.add(p.dedupe_key)
        if queued and _over_cap(p, now):
            _hold_back(p, now)
            continue
        added += queued
    return added


def _over_cap(p: Planned, now: datetime) -> bool:
    """Whether this message would pass the day's cap for its recipient (counting it when it does not)."""
    recipient = p.recipient
    if recipient.recipient_type not in CAPPED_RECIPIENTS or recipient.channel == "log":
        return False
    return not limits.allow_message(f"{recipient.channel}:{recipient.address.strip()}", p.tz, now)


def _hold_back(p: Planned, now: datetime) -> None:
    """Keep a message over the cap as expired, with the reason, audited and logged without the number."""
    expire_pending(OutboxMessage.dedupe_key == p.dedupe_key, OVER_CAP, now)
    message = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.dedupe_key == p.dedupe_key))
    audit.record("outbox.capped", message, details={"kind": p.kind})
    message_id = getattr(message, "id", None)
    log.warning("message %s (%s) not sent: over the day's cap for its recipient", message_id, p.kind)


def admin_contacts() -> list[Contact]:
    """Where each active administrator's notices go."""
    admins = db.session.scalars(sa.select(User).where(User.role == ADMIN, User.active.is_(True)))
    return [user_contact(admin) for admin in admins]
