"""Webhooks: the endpoints an administrator registers (each change audited), and the deliveries queued in
the outbox, in the caller's transaction, when a booking is made, moved, cancelled or completed or a matter
is closed. The hooks are connected in `legalaid.register_events`; the outbox signs and sends
(`legalaid.reminders.senders.WebhookSender`). Flushes only: the request or job commits once."""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from legalaid import audit
from legalaid.bookings.models import Booking
from legalaid.consultations.models import Matter
from legalaid.dates import now_utc, to_local
from legalaid.db import get_by_id
from legalaid.errors import NotAllowed, Problems
from legalaid.extensions import db
from legalaid.reminders import services as outbox
from legalaid.reminders.models import STALE, OutboxMessage
from legalaid.stations import services as stations
from legalaid.stations.models import Station
from legalaid.webhooks.models import (
    BOOKING_CANCELLED,
    BOOKING_COMPLETED,
    BOOKING_MADE,
    BOOKING_MOVED,
    EVENTS,
    MATTER_CLOSED,
    WebhookEndpoint,
)

CHANNEL = "webhook"  # the outbox channel, and the recipient type of its messages
NAME_MAX = 60
URL_MAX = 500
# What `bookings.services.announce` calls each change, and the event a receiver is told.
BOOKING_EVENTS = {
    "made": BOOKING_MADE,
    "moved": BOOKING_MOVED,
    "cancelled": BOOKING_CANCELLED,
    "completed": BOOKING_COMPLETED,
}
_CACHE = "webhooks.active"  # the session's note of the active endpoints, for the transaction it read them in
_LOOPBACK_NAMES = {"localhost"}


# -- endpoints (the administrator's page) -----------------------------------------------------------------


def _clean_name(name: str | None) -> str:
    return " ".join((name or "").split())


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _in_production() -> bool:
    return current_app.config.get("ENV_NAME") == "production"


def check_url(url: str) -> None:
    """Refuse an address deliveries cannot or must not go to: https only in production; plain http to
    this machine only outside it (a receiver tried out locally)."""
    problems = Problems()
    _check_url(url, problems)
    problems.raise_any()


def _check_url(url: str, problems: Problems) -> None:
    if not url:
        problems.add(_("Enter the address to deliver to, e.g. https://hotline.example.cn/hooks."), "url")
        return
    if len(url) > URL_MAX:
        problems.add(_("At most %(n)d characters.", n=URL_MAX), "url")
        return
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018  (a port that is not a number raises here)
    except ValueError:
        problems.add(_("This is not a web address: it must start with https:// and name a host."), "url")
        return
    if parts.scheme not in ("http", "https") or not host or any(c.isspace() for c in url):
        problems.add(_("This is not a web address: it must start with https:// and name a host."), "url")
    elif parts.username is not None or parts.password is not None:
        problems.add(_("Put no user name or password in the address: deliveries are signed instead."), "url")
    elif parts.scheme == "http" and (_in_production() or not _is_loopback(host)):
        problems.add(_("Use an https:// address: deliveries must be encrypted on the way."), "url")


def _check_new_endpoint(
    name: str, url: str, events: list[str], station_id: int | None, problems: Problems
) -> Station | None:
    if not name:
        problems.add(_("Give the webhook a name, e.g. the system it tells."), "name")
    elif len(name) > NAME_MAX:
        problems.add(_("At most %(n)d characters.", n=NAME_MAX), "name")
    elif db.session.scalar(sa.select(WebhookEndpoint.id).where(WebhookEndpoint.name == name)) is not None:
        problems.add(_("Another webhook already has this name."), "name")
    _check_url(url, problems)
    if not events:
        problems.add(_("Choose at least one event."), "events")
    elif not set(events) <= set(EVENTS):
        problems.add(_("Choose events from the list."), "events")
    return stations.chosen_station(station_id, problems)


def register(
    name: str | None,
    url: str | None,
    events: list[str],
    station_id: int | None = None,
    by: object | None = None,
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint (for every station, or only `station_id`) with a new secret, and return it
    with the secret, to be shown once (flushes, audits; the secret is stored encrypted)."""
    name, url = _clean_name(name), (url or "").strip()
    events = [event for event in EVENTS if event in set(events)] + sorted(set(events) - set(EVENTS))
    problems = Problems()
    station = _check_new_endpoint(name, url, events, station_id, problems)
    problems.raise_any()
    secret = secrets.token_urlsafe(32)  # 256 bits
    endpoint = WebhookEndpoint(
        name=name,
        url=url,
        secret=secret,
        events=" ".join(events),
        station_id=station.id if station is not None else None,
        active=True,
        created_at=now_utc(),
        created_by_id=getattr(by, "id", None),
    )
    db.session.add(endpoint)
    db.session.flush()
    db.session.info.pop(_CACHE, None)
    audit.record(
        "webhook.create",
        endpoint,
        details={"name": name, "url": url, "events": events},
        station_id=endpoint.station_id,
    )
    return endpoint, secret


def deactivate(endpoint: WebhookEndpoint, by: object | None = None) -> int:
    """Tell the endpoint nothing more, and let its waiting deliveries lapse (flushes, audits); returns
    how many lapsed."""
    if not endpoint.active:
        raise NotAllowed(_("This webhook was already deactivated."))
    now = now_utc()
    endpoint.active, endpoint.revoked_at, endpoint.revoked_by_id = False, now, getattr(by, "id", None)
    db.session.flush()
    db.session.info.pop(_CACHE, None)
    lapsed = outbox.expire_pending(
        sa.and_(
            OutboxMessage.channel == CHANNEL,
            OutboxMessage.recipient_type == CHANNEL,
            OutboxMessage.recipient_id == endpoint.id,
        ),
        STALE,
        now,
    )
    audit.record(
        "webhook.deactivate",
        endpoint,
        details={"name": endpoint.name, "url": endpoint.url, "lapsed": lapsed},
        station_id=endpoint.station_id,
    )
    return lapsed


def list_endpoints() -> list[WebhookEndpoint]:
    """Every endpoint ever registered, the active ones first, newest first."""
    query = sa.select(WebhookEndpoint).options(selectinload(WebhookEndpoint.station))
    return list(
        db.session.scalars(
            query.order_by(
                WebhookEndpoint.active.desc(), WebhookEndpoint.created_at.desc(), WebhookEndpoint.id.desc()
            )
        )
    )


def get_endpoint(endpoint_id: int) -> WebhookEndpoint | None:
    """The endpoint with this id, if any."""
    return get_by_id(WebhookEndpoint, endpoint_id)


# -- deliveries (hooks called in the caller's transaction) --------------------------------------------------


@dataclass(frozen=True)
class _Target:
    """An active endpoint as the hooks need it (plain values: nothing to load later)."""

    id: int
    url: str
    events: frozenset[str]
    station_id: int | None

    def wants(self, event: str, station_id: int | None) -> bool:
        return event in self.events and self.station_id in (None, station_id)


def _active_targets() -> list[_Target]:
    """The active endpoints, read once per transaction: a kiosk booking with none registered costs one
    small query, and a day's closure cancelling fifty bookings costs one too."""
    session = db.session()
    transaction = session.get_transaction()
    cached = session.info.get(_CACHE)
    if transaction is not None and cached is not None and cached[0] is transaction:
        return cached[1]
    rows = session.execute(
        sa.select(
            WebhookEndpoint.id, WebhookEndpoint.url, WebhookEndpoint.events, WebhookEndpoint.station_id
        ).where(WebhookEndpoint.active.is_(True))
    ).all()
    targets = [_Target(row.id, row.url, frozenset(row.events.split()), row.station_id) for row in rows]
    session.info[_CACHE] = (session.get_transaction(), targets)
    return targets


def _moment(instant: datetime, tz: str | None) -> str:
    return to_local(instant, tz).isoformat(timespec="seconds")


def booking_payload(booking: Booking, event: str, now: datetime) -> dict:
    """What a receiver is told of a booking: no name, mobile or description — only what the API shows
    (code, station, time in the station's zone, status, channel, the caller's own reference)."""
    station = booking.shift.station
    return {
        "type": event,
        "occurred_at": _moment(now, station.timezone),
        "station_id": station.id,
        "booking_code": booking.code,
        "starts_at": _moment(booking.slot.starts_at, station.timezone),
        "status": booking.status,
        "channel": booking.channel,
        "external_ref": booking.external_ref,
    }


def matter_payload(matter: Matter, now: datetime) -> dict:
    """What a receiver is told of a closed matter: its number, station and result, and the booking it
    came from (code and reference) if any — never the consultation's content."""
    station = db.session.get(Station, matter.station_id)
    booking_id = matter.consultation.booking_id
    booking = db.session.get(Booking, booking_id) if booking_id is not None else None
    return {
        "type": MATTER_CLOSED,
        "occurred_at": _moment(now, station.timezone if station else None),
        "station_id": matter.station_id,
        "matter_id": matter.id,
        "result": matter.result,
        "booking_code": booking.code if booking else None,
        "external_ref": booking.external_ref if booking else None,
    }


def _enqueue(target: _Target, event: str, payload: dict, key: str, now: datetime) -> bool:
    return outbox.enqueue(
        kind=event,
        channel=CHANNEL,
        recipient_type=CHANNEL,
        recipient_id=target.id,
        address=target.url,
        template=event,
        params=payload,
        due_at=now,
        dedupe_key=f"webhook:{target.id}:{event}:{key}",
    )


def booking_announced(booking: Booking, kind: str, now: datetime) -> int:
    """Queue a delivery of a booking's change to each active endpoint that wants it (hook of
    `bookings.services.on_announced`); returns how many were queued. Safe to call twice."""
    event = BOOKING_EVENTS.get(kind)
    targets = _active_targets() if event is not None else []
    if event is None or not targets:
        return 0
    station_id = booking.shift.station_id
    wanting = [target for target in targets if target.wants(event, station_id)]
    if not wanting:
        return 0
    payload = booking_payload(booking, event, now)
    # Made, cancelled and completed happen once to a booking; a move may happen again.
    key = f"{booking.id}"
    if event == BOOKING_MOVED:
        key += f":{booking.slot_id}:{now:%Y%m%dT%H%M%S%f}"
    return sum(_enqueue(target, event, payload, key, now) for target in wanting)


def matter_closed(matter: Matter, now: datetime) -> int:
    """Queue a delivery of a matter's closing to each active endpoint that wants it (hook of
    `consultations.services.on_matter_closed`); returns how many were queued. Safe to call twice."""
    wanting = [target for target in _active_targets() if target.wants(MATTER_CLOSED, matter.station_id)]
    if not wanting:
        return 0
    payload = matter_payload(matter, now)
    return sum(_enqueue(target, MATTER_CLOSED, payload, f"{matter.id}", now) for target in wanting)
