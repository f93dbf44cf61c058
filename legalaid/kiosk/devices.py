"""The hall's kiosks: browsers an administrator enrolled, known by a long-lived cookie.

Enrolling is done on the kiosk itself: the administrator signs in there, enrols "this device" (the
browser receives a random token in an HttpOnly, SameSite=Strict cookie; the database keeps only its
hash), then signs out. A phone cannot pretend to be the kiosk: without a token that matches an enrolled,
unrevoked device, /kiosk is an anonymous client, limited per address — or, where
`KIOSK_ENROLMENT_REQUIRED` is on (the default in production), refused with a "not enrolled" page.
"""

from __future__ import annotations

import hashlib
import secrets

import sqlalchemy as sa
from flask import current_app, g, has_request_context, request
from flask_babel import gettext as _
from werkzeug.wrappers.response import Response

from legalaid import audit
from legalaid.dates import now_utc
from legalaid.db import get_by_id
from legalaid.errors import InvalidInput, NotAllowed
from legalaid.extensions import db
from legalaid.kiosk.models import KioskDevice
from legalaid.stations.models import Station

COOKIE_YEARS = 5  # a kiosk stays enrolled until an administrator revokes it


def cookie_name() -> str:
    """The device cookie's name: with the `__Host-` prefix whenever it is sent only over HTTPS."""
    name = current_app.config.get("KIOSK_DEVICE_COOKIE", "legalaid_kiosk")
    return f"__Host-{name}" if _secure() else name


def _secure() -> bool:
    return bool(current_app.config.get("SESSION_COOKIE_SECURE", True))


def enrolment_required() -> bool:
    """Whether /kiosk refuses browsers that are not enrolled (on in production unless told otherwise)."""
    default = current_app.config.get("ENV_NAME", "production") == "production"
    return bool(current_app.config.get("KIOSK_ENROLMENT_REQUIRED", default))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def current_device() -> KioskDevice | None:
    """The enrolled, unrevoked kiosk this request comes from, else None (read once per request)."""
    if not has_request_context():
        return None
    if "kiosk_device" not in g:
        token = request.cookies.get(cookie_name(), "")
        device = None
        if token and len(token) <= 100:
            device = db.session.scalar(
                sa.select(KioskDevice).where(
                    KioskDevice.token_hash == _hash(token), KioskDevice.revoked_at.is_(None)
                )
            )
        g.kiosk_device = device
    return g.kiosk_device


def list_devices() -> list[KioskDevice]:
    """Every device ever enrolled, the active ones first."""
    return list(
        db.session.scalars(
            sa.select(KioskDevice).order_by(
                KioskDevice.revoked_at.is_not(None), KioskDevice.enrolled_at.desc()
            )
        )
    )


def get_device(device_id: int) -> KioskDevice | None:
    """The device with this id, if any."""
    return get_by_id(KioskDevice, device_id)


def enrol(name: str, station: Station | None, by: object) -> tuple[KioskDevice, str]:
    """Enrol a device for a station and return it with the token its cookie must carry (flushes, audits)."""
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput(_("Give the kiosk a name, e.g. where it stands."), field="name")
    if len(name) > 60:
        raise InvalidInput(_("At most %(n)d characters.", n=60), field="name")
    if station is None:
        raise InvalidInput(_("Choose the station."), field="station_id")
    token = secrets.token_urlsafe(32)
    device = KioskDevice(
        name=name,
        station_id=station.id,
        token_hash=_hash(token),
        enrolled_at=now_utc(),
        enrolled_by_id=getattr(by, "id", None),
    )
    db.session.add(device)
    db.session.flush()
    audit.record("kiosk.enrol", device, details={"name": name}, station_id=station.id)
    return device, token


def revoke(device: KioskDevice, by: object) -> None:
    """Stop a device being the kiosk, from its next request on (flushes, audits)."""
    if device.revoked_at is not None:
        raise NotAllowed(_("This kiosk was already revoked."))
    device.revoked_at = now_utc()
    device.revoked_by_id = getattr(by, "id", None)
    db.session.flush()
    audit.record("kiosk.revoke", device, details={"name": device.name}, station_id=device.station_id)


def set_cookie(response: Response, token: str) -> None:
    """Give this browser the device's token: long-lived, never readable by scripts, never sent by another
    site, and only over HTTPS in production."""
    response.set_cookie(
        cookie_name(),
        token,
        max_age=COOKIE_YEARS * 365 * 24 * 3600,
        path="/",
        secure=_secure(),
        httponly=True,
        samesite="Strict",
    )
