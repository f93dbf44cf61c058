"""Recording and reading the audit log. Every feature records its changes through `record()`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import has_request_context, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_sqlalchemy.pagination import Pagination

from legalaid.audit.models import AuditEntry
from legalaid.dates import local_day_bounds
from legalaid.extensions import db
from legalaid.privacy import mask_text

SYSTEM_ACTOR = "system"


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
    """Add one entry: the signed-in user (or `actor`) did `action` to `target`; flushes only."""
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
        actor_name=getattr(actor, "username", None) or SYSTEM_ACTOR,
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
) -> Pagination:
    """Entries matching the filter, newest first, one page at a time."""
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
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def known_actions() -> list[str]:
    """The distinct actions in the log, for the filter's drop-down."""
    return list(db.session.scalars(sa.select(AuditEntry.action).distinct().order_by(AuditEntry.action)))


def known_target_types() -> list[str]:
    """The distinct record types in the log, for the filter's drop-down."""
    query = sa.select(AuditEntry.target_type).where(AuditEntry.target_type.is_not(None)).distinct()
    return list(db.session.scalars(query.order_by(AuditEntry.target_type)))


# Readable names of the actions; features add theirs next to the code that records them.
ACTION_LABELS: dict[str, object] = {
    "auth.login": _l("Signed in"),
    "auth.logout": _l("Signed out"),
    "user.create": _l("Account created"),
    "user.activate": _l("Account reactivated"),
    "user.deactivate": _l("Account deactivated"),
    "user.role": _l("Role changed"),
    "user.password": _l("Password set"),
    "station.create": _l("Station added"),
    "station.update": _l("Station settings changed"),
    "station.replan": _l("Coming days re-planned (new settings)"),
    "station.replan_booked": _l("Booked days re-planned (bookings kept at their times)"),
    "firm.create": _l("Firm added"),
    "firm.update": _l("Firm changed"),
    "lawyer.create": _l("Lawyer added"),
    "lawyer.update": _l("Lawyer changed"),
    "lawyer.activate": _l("Lawyer reactivated"),
    "lawyer.deactivate": _l("Lawyer deactivated"),
    "lawyer.import": _l("Lawyers imported"),
    "lawyer.leave": _l("Dates off entered"),
    "lawyer.leave_removed": _l("Dates off removed"),
    "lawyer.calendar_reset": _l("Calendar address renewed"),
    "roster.generate": _l("Roster generated"),
    "roster.set_lawyer": _l("Duty lawyer set by hand"),
    "roster.close": _l("Day closed"),
    "roster.reopen": _l("Holiday re-opened"),
    "roster.closure_removed": _l("Closure entry removed"),
    "roster.confirm_year": _l("Year's closures confirmed"),
    "roster.check_in": _l("Lawyer checked in"),
    "roster.release": _l("Duty day released (day closed)"),
    "roster.restore": _l("Duty day restored (day open again)"),
    "swap.request": _l("Swap requested"),
    "swap.accept": _l("Swap accepted by colleague"),
    "swap.decline": _l("Swap declined by colleague"),
    "swap.cancel": _l("Swap withdrawn"),
    "swap.cancelled": _l("Swap cancelled (shift changed)"),
    "swap.approve": _l("Swap approved"),
    "swap.reject": _l("Swap rejected"),
    "swap.refuse": _l("Swap refused: the shift changed hands"),
    "matter.reassign": _l("Follow-up matter reassigned"),
    "matter.lead": _l("Leader attached to a matter"),
    "matter.unlead": _l("Leader detached from a matter"),
    "privacy.reveal": _l("Full number shown"),
    "report.export": _l("Report exported"),
    "review.save": _l("Monthly review recorded"),
}


# Record types (table names) the log refers to: readable name, and the page that shows one.
TARGETS: dict[str, tuple[object, str, str]] = {
    "users": (_l("Account"), "auth.user_edit", "user_id"),
    "stations": (_l("Station"), "stations.edit", "station_id"),
    "lawyers": (_l("Lawyer"), "lawyers.edit", "lawyer_id"),
    "law_firms": (_l("Law firm"), "lawyers.firm_edit", "firm_id"),
    "duty_shifts": (_l("Duty shift"), "", ""),
    "swap_requests": (_l("Swap"), "", ""),
    "bookings": (_l("Booking"), "", ""),
    "consultations": (_l("Consultation record"), "consultations.view", "consultation_id"),
    "matters": (_l("Follow-up matter"), "consultations.matter", "matter_id"),
    "monthly_reviews": (_l("Monthly review"), "", ""),
}


def describe_target(target_type: str | None) -> str:
    """The translated name of a record type, or the type itself."""
    if not target_type:
        return ""
    known = TARGETS.get(target_type)
    return str(known[0]) if known else target_type


def target_url(target_type: str | None, target_id: int | None) -> str | None:
    """The page of the record an entry is about, when there is one."""
    known = TARGETS.get(target_type or "")
    if not known or not known[1] or target_id is None:
        return None
    return url_for(known[1], **{known[2]: target_id})


def describe_action(action: str) -> str:
    """The translated name of an action, or the action code itself."""
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action
