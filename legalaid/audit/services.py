"""Recording and reading the audit log. Every feature records its changes through `record()`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import g, has_request_context, request
from flask_login import current_user

from legalaid.audit import labels
from legalaid.audit.models import SYSTEM_ACTOR, VISITOR_PREFIX, AuditEntry
from legalaid.dates import local_day_bounds
from legalaid.extensions import db
from legalaid.paging import CappedPage, capped_page
from legalaid.privacy import mask_text

# Older code adds its labels to these names; they are the registry's own dicts (see audit/labels.py).
ACTION_LABELS, TARGETS = labels.ACTIONS, labels.TARGETS

# The public pages where a veteran acts without an account (blueprint names given in create_app): the
# hall's kiosk and the phone-sized booking site. What nobody signed in does there, the visitor did.
VISITOR_PAGES = {"kiosk": "kiosk", "book": "online"}


def _scrub(value: Any) -> Any:
    """Mask phone and ID numbers anywhere in the details, however deeply nested."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {mask_text(str(k)): _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_scrub(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return mask_text(str(value))


def record(
    action: str,
    target: Any = None,
    *,
    details: dict[str, Any] | None = None,
    station_id: int | None = None,
    actor: Any = None,
) -> AuditEntry:
    """Add one entry: the signed-in user (or `actor`; with nobody signed in, the visitor on the kiosk or
    the public site, else the system) did `action` to `target`; flushes only."""
    if actor is None and has_request_context() and current_user.is_authenticated:
        actor = current_user
    target_type = target_id = None
    if hasattr(target, "_get_current_object"):  # current_user and other proxies
        target = target._get_current_object()
    if target is not None:
        if getattr(target, "id", None) is None:
            db.session.flush()
        target_type = type(target).__tablename__
        target_id = target.id
        if station_id is None:
            station_id = getattr(target, "station_id", None)
            if station_id is None and target_type == "stations":
                station_id = target.id
    entry = AuditEntry(
        actor_id=getattr(actor, "id", None),
        actor_name=getattr(actor, "username", None) or _nobody_signed_in(),
        action=action,
        target_type=target_type,
        target_id=target_id,
        station_id=station_id,
        ip=request.remote_addr if has_request_context() else None,
        details=_scrub(details or {}),
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def _nobody_signed_in() -> str:
    """Who acted when no account did: the system calling through the API (its key, which the API puts
    in `g.audit_actor_name`), the visitor on the kiosk or the public site, else the system."""
    if has_request_context() and g.get("audit_actor_name"):
        return str(g.audit_actor_name)
    if has_request_context() and request.blueprint in VISITOR_PAGES:
        return VISITOR_PREFIX + VISITOR_PAGES[request.blueprint]
    return SYSTEM_ACTOR


@dataclass(frozen=True)
class AuditFilter:
    """What the administrator filters the log by; every field is optional."""

    actor: str | None = None
    action: str | None = None
    target_type: str | None = None
    target_id: int | None = None
    station_id: int | None = None
    start_on: date | None = None
    end_on: date | None = None


def search(
    criteria: AuditFilter, page: int = 1, per_page: int = 50, tz_name: str | None = None
) -> CappedPage:
    """Entries matching the filter, newest first, one page at a time (counted up to the cap)."""
    query = sa.select(AuditEntry)
    if criteria.actor:
        query = query.where(AuditEntry.actor_name == criteria.actor)
    if criteria.action:
        query = query.where(AuditEntry.action == criteria.action)
    if criteria.target_type:
        query = query.where(AuditEntry.target_type == criteria.target_type)
    if criteria.target_id is not None:
        query = query.where(AuditEntry.target_id == criteria.target_id)
    if criteria.station_id is not None:
        query = query.where(AuditEntry.station_id == criteria.station_id)
    if criteria.start_on:
        query = query.where(AuditEntry.at >= local_day_bounds(criteria.start_on, tz_name)[0])
    if criteria.end_on:
        query = query.where(AuditEntry.at < local_day_bounds(criteria.end_on, tz_name)[1])
    query = query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    return capped_page(query, page, per_page)


def _distinct(column: Any) -> list[str]:
    """The column's distinct values in order, by hopping along its index from one value to the next
    (a recursive query): a few index look-ups per value, not a scan of millions of entries."""
    seen = sa.select(sa.func.min(column).label("v")).cte("seen", recursive=True)
    following = sa.select(sa.select(sa.func.min(column)).where(column > seen.c.v).scalar_subquery()).where(
        seen.c.v.is_not(None)
    )
    seen = seen.union_all(following)
    return list(db.session.scalars(sa.select(seen.c.v).where(seen.c.v.is_not(None))))


def known_actions() -> list[str]:
    """The distinct actions in the log, for the filter's drop-down."""
    return _distinct(AuditEntry.action)


def known_target_types() -> list[str]:
    """The distinct record types in the log, for the filter's drop-down."""
    return _distinct(AuditEntry.target_type)
