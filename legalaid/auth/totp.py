"""The TOTP second factor: enrolment with a QR code, codes that work once, and recovery codes.

The secret is stored encrypted with the personal data's keys (an `Encrypted` column, legalaid/crypto.py),
so a copy of the database alone does not give the codes away.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import pyotp
import segno
import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from legalaid import audit
from legalaid.auth.models import RecoveryCode, User
from legalaid.dates import now_utc
from legalaid.db import rows_changed
from legalaid.errors import InvalidInput, NotAllowed
from legalaid.extensions import db

ISSUER = "legalaid"
RECOVERY_CODES = 10
# Unambiguous letters and digits (no 0/o, 1/l/i): a recovery code is read off paper.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
# A code from the step before or after is accepted too (phones whose clock is off by up to 30 s).
_DRIFT_STEPS = 1


def secret_of(user: User) -> str | None:
    """The user's TOTP secret in clear, or None when there is none."""
    return user.totp_secret or None


def new_secret() -> str:
    """A new random secret (base32, 160 bits), not yet anybody's until `enrol` confirms it."""
    return pyotp.random_base32(length=32)


def provisioning_uri(user: User, secret: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    """The QR code of an address as an SVG data URI (an <img>, so the strict CSP stays)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def _clean(code: str) -> str:
    return "".join((code or "").split()).replace("-", "").lower()


def _matching_step(secret: str, code: str) -> int | None:
    """The time step whose code this is (now, or one step either side), or None."""
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now = now_utc().timestamp()
    for offset in (0, -_DRIFT_STEPS, _DRIFT_STEPS):
        at = now + offset * totp.interval
        if hmac.compare_digest(totp.at(at), code):
            return int(at // totp.interval)
    return None


def _use_step(user: User, step: int) -> bool:
    """Mark a time step used, once: a conditional UPDATE, so a code replayed (even at the same moment by
    another worker) is refused."""
    result = db.session.execute(
        sa.update(User)
        .where(User.id == user.id, sa.or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if rows_changed(result):
        user.totp_last_step = step
        db.session.flush()
        return True
    return False


def enrol(user: User, secret: str, code: str) -> list[str]:
    """Give the user this secret once a first code proves their app holds it (a new phone replaces the
    old one); returns the new recovery codes, to be shown once."""
    step = _matching_step(secret, _clean(code))
    if step is None:
        raise InvalidInput(_("This code is not right. Type the 6 digits the app shows now."), field="code")
    user.totp_secret = secret
    user.totp_enabled_at = now_utc()
    user.totp_last_step = step  # the confirming code is spent too
    codes = _new_recovery_codes(user)
    audit.record("auth.totp_on", user, actor=user)
    db.session.flush()
    return codes


def required_for(user: User) -> bool:
    """Whether this account must sign in with a second factor (administrators, unless switched off
    for the test suite)."""
    return bool(user.is_admin and current_app.config.get("TOTP_REQUIRED_FOR_ADMINS", True))


def disable(user: User, actor: User | None = None) -> None:
    """Switch the second factor off and drop the recovery codes (not for administrators)."""
    if required_for(user):
        raise NotAllowed(_("Administrators must keep two-step sign-in."))
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    audit.record("auth.totp_off", user, actor=actor or user)
    db.session.flush()


def _hash_code(user_id: int, code: str) -> str:
    return hashlib.sha256(f"{user_id}:{_clean(code)}".encode()).hexdigest()


def _new_recovery_codes(user: User) -> list[str]:
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _n in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_ALPHABET) for _i in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_hash_code(user.id, raw)))
    db.session.flush()
    return codes


def renew_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes with ten new ones (the old stop working); shown once."""
    codes = _new_recovery_codes(user)
    audit.record("auth.recovery_new", user, actor=user)
    return codes


def recovery_codes_left(user: User) -> int:
    """How many unused recovery codes the user has."""
    query = sa.select(sa.func.count()).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    return db.session.scalar(query) or 0


def check_code(user: User, code: str) -> bool:
    """Whether this is a valid, unused code of the user's: a TOTP code (its step then spent) or a
    recovery code (then spent and audited)."""
    cleaned = _clean(code)
    secret = secret_of(user)
    if secret and cleaned.isdigit():
        step = _matching_step(secret, cleaned)
        return step is not None and _use_step(user, step)
    result = db.session.execute(
        sa.update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _hash_code(user.id, cleaned),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now_utc())
        .execution_options(synchronize_session=False)
    )
    if rows_changed(result):
        audit.record("auth.recovery_used", user, actor=user)
        return True
    return False
