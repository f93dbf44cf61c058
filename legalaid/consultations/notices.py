"""Who hears when a follow-up matter changes hands or gets a leader (领导包案), and what they read.

The messages are queued in the outbox in the step's own transaction, as the swap notices are: the new
owner when a matter is reassigned to them, the leader when one is attached. The de-duplication key
names the matter and the step's audit entry, so each step tells its person once; a replayed request
changes nothing, records nothing and so tells nobody again. A notice still waiting when a later step
makes it pointless (the matter given to someone else, or the leader let go, before 08:00) lapses
unsent. Nobody is told of a step they took themselves.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app

from legalaid.auth.models import User
from legalaid.consultations.models import Matter
from legalaid.extensions import db
from legalaid.privacy import mask_name
from legalaid.reminders.models import STALE, OutboxMessage
from legalaid.reminders.queueing import Planned, queue, user_contact
from legalaid.reminders.services import expire_pending
from legalaid.stations.models import Station

# Message kinds (each is also its template in reminders.senders.TEMPLATES).
ASSIGNED = "matter_assigned"
LEADER = "matter_leader"


def _key(kind: str, matter: Matter) -> str:
    """The de-duplication key's prefix of a matter's notices of one kind; the step completes it."""
    return f"{kind.replace('_', '-')}:{matter.id}:"


def _params(matter: Matter) -> dict:
    owner = db.session.get(User, matter.owner_id)
    leader = db.session.get(User, matter.leader_id) if matter.leader_id else None
    base = current_app.config.get("PUBLIC_URL", "").rstrip("/")
    return {
        "matter": matter.id,
        "name": mask_name(matter.consultation.name),
        "due": f"{matter.due_on:%Y-%m-%d}",
        "owner": owner.display_name if owner else "",
        "leader": leader.display_name if leader else "",
        "link": f"{base}/matters/{matter.id}",
    }


def _lapse(kind: str, matter: Matter, now: datetime) -> int:
    """A notice of this kind about this matter still waiting is no longer worth sending."""
    return expire_pending(OutboxMessage.dedupe_key.startswith(_key(kind, matter)), STALE, now)


def _tell(kind: str, matter: Matter, user: User, step: int, now: datetime) -> int:
    station = db.session.get(Station, matter.station_id)
    planned = Planned(
        kind=kind,
        recipient=user_contact(user),
        template=kind,
        params=_params(matter),
        due_at=now,
        expires_at=None,  # a matter stays theirs until it is closed: late is still worth reading
        dedupe_key=f"{_key(kind, matter)}{step}",
        tz=station.timezone if station else None,
    )
    return queue([planned], now)


def on_reassigned(matter: Matter, owner: User, by: User, step: int, now: datetime) -> int:
    """The new owner: the matter is theirs now (an earlier hand-over still unsent lapses)."""
    _lapse(ASSIGNED, matter, now)
    return 0 if owner.id == by.id else _tell(ASSIGNED, matter, owner, step, now)


def on_leader_attached(matter: Matter, leader: User, by: User, step: int, now: datetime) -> int:
    """The leader: they lead the matter now (a notice to an earlier leader still unsent lapses)."""
    _lapse(LEADER, matter, now)
    return 0 if leader.id == by.id else _tell(LEADER, matter, leader, step, now)


def on_leader_detached(matter: Matter, now: datetime) -> int:
    """The 包案 ended: a notice to the leader still unsent lapses; returns how many."""
    return _lapse(LEADER, matter, now)
