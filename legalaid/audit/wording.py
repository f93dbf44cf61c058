"""The audit log read in words: who did what to which record, with the details as sentences, in the
reader's language. Importing this module loads every feature's labels (they register themselves)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import url_for
from flask_babel import gettext as _

# Each feature names its own actions, record types and details beside its code; the audit pages import
# them all here (and only here, so no feature has to import another's labels).
from legalaid.api import labels as _api_labels  # noqa: F401
from legalaid.audit import labels
from legalaid.audit.models import VISITOR_PREFIX, AuditEntry
from legalaid.auth import labels as _auth_labels  # noqa: F401
from legalaid.bookings import labels as _bookings_labels  # noqa: F401
from legalaid.consultations import labels as _consultations_labels  # noqa: F401
from legalaid.kiosk import labels as _kiosk_labels  # noqa: F401
from legalaid.lawyers import labels as _lawyers_labels  # noqa: F401
from legalaid.privacy import labels as _privacy_labels  # noqa: F401
from legalaid.ratings import labels as _ratings_labels  # noqa: F401
from legalaid.reminders import labels as _reminders_labels  # noqa: F401
from legalaid.reports import labels as _reports_labels  # noqa: F401
from legalaid.roster import labels as _roster_labels  # noqa: F401
from legalaid.stations import labels as _stations_labels  # noqa: F401
from legalaid.swaps import labels as _swaps_labels  # noqa: F401
from legalaid.webhooks import labels as _webhooks_labels  # noqa: F401

# How a veteran came, as the channel detail or the visitor actor records it.
VISITORS = {"kiosk", "online"}
API_ACTOR_PREFIX = "api:"  # the actor of an API call: its key's prefix (legalaid.api.services)


@dataclass(frozen=True)
class Said:
    """One entry as the page says it."""

    entry: AuditEntry
    actor: str
    by_visitor: bool
    action: str
    target: str
    link: str | None
    details: list[labels.Line]


def actor(entry: AuditEntry) -> tuple[str, bool]:
    """Who acted, in words, and whether it was a visitor (a veteran with no account) rather than a user.

    A user is named by their username (the user filter's word); a veteran at the kiosk or on the public
    site is "visitor (kiosk)" / "visitor (online)" — from the actor the entry records, or, for entries
    written before it did, from the booking's channel; what nobody did by hand is "system"."""
    if entry.actor_id is not None:
        return entry.actor_name, False
    name = entry.actor_name or ""
    if name.startswith(API_ACTOR_PREFIX):  # a call with an API key (legalaid.api.services.record_call)
        return _("API key la_%(prefix)s", prefix=name.removeprefix(API_ACTOR_PREFIX)), False
    channel = name.removeprefix(VISITOR_PREFIX) if name.startswith(VISITOR_PREFIX) else None
    if channel is None and isinstance(entry.details, dict):
        channel = entry.details.get("channel")
    if channel == "kiosk":
        return _("Visitor (kiosk)"), True
    if channel == "online":
        return _("Visitor (online)"), True
    return _("System"), False


def target(entry: AuditEntry) -> tuple[str, str | None]:
    """The record an entry is about (its type in words and its number), and the link to its page."""
    if not entry.target_type:
        return "", None
    said = f"{labels.target_label(entry.target_type)} #{entry.target_id}"
    page = labels.target_page(entry.target_type)
    if page is None or entry.target_id is None:
        return said, None
    endpoint, argument = page
    values: dict[str, Any] = {argument: entry.target_id}
    return said, url_for(endpoint, **values)


def say(entry: AuditEntry) -> Said:
    """An entry in words."""
    who, by_visitor = actor(entry)
    what, link = target(entry)
    return Said(
        entry=entry,
        actor=who,
        by_visitor=by_visitor,
        action=labels.action_label(entry.action),
        target=what,
        link=link,
        details=labels.detail_lines(entry.action, entry.details if isinstance(entry.details, dict) else {}),
    )


def action_choices(actions: list[str]) -> list[tuple[str, str]]:
    """The filter's actions as (code, name) pairs (in code order, so a feature's actions stay together)."""
    return [(a, labels.action_label(a)) for a in actions]


def target_choices(tables: list[str]) -> list[tuple[str, str]]:
    """The filter's record types as (table, name) pairs."""
    return [(t, labels.target_label(t)) for t in tables]
