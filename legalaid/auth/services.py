"""Accounts, passwords, sign-in throttling and server-side sessions."""

from __future__ import annotations

import hashlib
import math
import secrets
from datetime import timedelta
from functools import cache

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash

from legalaid import audit
from legalaid.access import ADMIN
from legalaid.auth.models import ROLES, LoginAttempt, User, UserSession
from legalaid.dates import now_utc
from legalaid.db import rows_changed
from legalaid.errors import InvalidInput, NotAllowed, TooManyAttempts
from legalaid.extensions import db
from legalaid.privacy import is_email

# Writing last_seen_at on every request would make every page a write; once a minute is enough.
_TOUCH_EVERY = timedelta(seconds=60)


def _method() -> str:
    """How passwords are hashed: scrypt (the tests configure a cheap method)."""
    return current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")


def _hash(password: str) -> str:
    """A password hash with the configured method."""
    return generate_password_hash(password, method=_method())


@cache
def _dummy_hash(method: str) -> str:
    """Checked when the account does not exist, so both paths take the same time (made on first use:
    scrypt costs ~90 ms, not to be paid by every worker and CLI call at import)."""
    return generate_password_hash("not-a-real-password", method=method)


def normalize_username(username: str) -> str:
    """Usernames are compared trimmed and lower-case."""
    return (username or "").strip().lower()


def check_password_rules(password: str) -> None:
    """Refuse a password that is too short."""
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password or "") < minimum:
        raise InvalidInput(
            _("The password must have at least %(n)d characters.", n=minimum), field="password"
        )


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def get_user(user_id: int) -> User | None:
    """The account with this id, if any."""
    return db.session.get(User, user_id)


def find_by_username(username: str) -> User | None:
    """The account with this username, if any."""
    return db.session.scalar(sa.select(User).where(User.username == normalize_username(username)))


def list_users() -> list[User]:
    """Every account, active first, then by username."""
    return list(db.session.scalars(sa.select(User).order_by(User.active.desc(), User.username)))


def create_user(
    username: str,
    display_name: str,
    role: str,
    password: str,
    station_id: int | None = None,
    email: str = "",
) -> User:
    """Add an account; the username must be new and the password long enough."""
    username = normalize_username(username)
    if role not in ROLES:
        raise InvalidInput(_("Unknown role."), field="role")
    if len(username) < 2:
        raise InvalidInput(_("The username must have at least 2 characters."), field="username")
    if find_by_username(username) is not None:
        raise InvalidInput(_("The username %(name)s is already taken.", name=username), field="username")
    email = (email or "").strip()
    if email and not is_email(email):
        raise InvalidInput(_("Enter a valid e-mail address."), field="email")
    check_password_rules(password)
    user = User(
        username=username,
        display_name=(display_name or username).strip(),
        role=role,
        email=email,
        password_hash=_hash(password),
        # Administrators are bureau-wide: they have no station of their own.
        station_id=None if role == ADMIN else station_id,
    )
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", user, details={"username": username, "role": role})
    return user


def _active_admin_count() -> int:
    query = sa.select(sa.func.count()).select_from(User).where(User.role == ADMIN, User.active)
    return db.session.scalar(query) or 0


def _guard_last_admin(user: User, actor: User | None) -> None:
    if actor is not None and actor.id == user.id:
        raise NotAllowed(_("You cannot take away your own access."))
    if user.role == ADMIN and user.active and _active_admin_count() <= 1:
        raise NotAllowed(_("At least one active administrator must remain."))


def end_all_sessions(user: User) -> int:
    """Sign the user out everywhere; returns how many sessions were ended."""
    result = db.session.execute(
        sa.update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .values(ended_at=now_utc())
    )
    return rows_changed(result)


def set_active(user: User, active: bool, actor: User | None = None) -> None:
    """Deactivate (signing them out everywhere) or reactivate an account."""
    if user.active == active:
        return
    if not active:
        _guard_last_admin(user, actor)
        end_all_sessions(user)
    user.active = active
    audit.record("user.activate" if active else "user.deactivate", user, actor=actor)
    db.session.flush()


def change_role(user: User, role: str, actor: User | None = None) -> None:
    """Give an account another role."""
    if role not in ROLES:
        raise InvalidInput(_("Unknown role."), field="role")
    if role == user.role:
        return
    if user.role == ADMIN:
        _guard_last_admin(user, actor)
    old = user.role
    user.role = role
    if role == ADMIN:
        user.station_id = None
    end_all_sessions(user)  # the new role takes effect at the next sign-in
    audit.record("user.role", user, details={"from": old, "to": role}, actor=actor)
    db.session.flush()


def set_password(user: User, password: str, actor: User | None = None) -> None:
    """Set a new password and end the user's other sessions."""
    check_password_rules(password)
    user.password_hash = _hash(password)
    user.password_changed_at = now_utc()
    end_all_sessions(user)
    audit.record("user.password", user, actor=actor)
    db.session.flush()


def record_failure(username: str, ip: str, kind: str = "login") -> None:
    """Count a failed try against this key and this address."""
    db.session.add(LoginAttempt(kind=kind, username=normalize_username(username)[:64], ip=ip))
    db.session.flush()


def seconds_until_allowed(
    username: str, ip: str, kind: str = "login", address_limit: int | None = None
) -> int:
    """How long this key (account, booking code) or address must wait before another try (0 = now)."""
    limit = current_app.config["LOGIN_MAX_FAILURES"]
    window: timedelta = current_app.config["LOGIN_FAILURE_WINDOW"]
    now = now_utc()
    wait = 0.0
    for column, value in ((LoginAttempt.username, normalize_username(username)), (LoginAttempt.ip, ip)):
        limit = (
            address_limit
            if column is LoginAttempt.ip and address_limit
            else current_app.config["LOGIN_MAX_FAILURES"]
        )
        recent = list(
            db.session.scalars(
                sa.select(LoginAttempt.at)
                .where(column == value, LoginAttempt.kind == kind, LoginAttempt.at > now - window)
                .order_by(LoginAttempt.at.desc())
                .limit(limit)
            )
        )
        if len(recent) >= limit:
            # Allowed again when the oldest of the last `limit` failures leaves the window.
            wait = max(wait, (recent[-1] + window - now).total_seconds())
    return max(0, math.ceil(wait))


def authenticate(username: str, password: str, ip: str) -> User:
    """Check a sign-in; failures are counted, and too many of them pause further tries."""
    wait = seconds_until_allowed(username, ip)
    if wait:
        minutes = max(1, math.ceil(wait / 60))
        raise TooManyAttempts(
            _("Too many failed sign-ins. Please try again in %(n)d minutes.", n=minutes),
            retry_after=wait,
        )
    user = find_by_username(username)
    valid = check_password_hash(user.password_hash if user else _dummy_hash(_method()), password or "")
    if user is None or not valid or not user.active:
        record_failure(username, ip)
        raise InvalidInput(_("Wrong username or password."), field="password")
    # A success clears the account's count, not the address's: one good password must not
    # reset the guessing budget of a machine trying many accounts.
    db.session.execute(
        sa.delete(LoginAttempt).where(LoginAttempt.kind == "login", LoginAttempt.username == user.username)
    )
    return user


def start_session(user: User, ip: str | None) -> str:
    """Open a server-side session for the user and return the token to put in the cookie."""
    token = secrets.token_urlsafe(32)
    now = now_utc()
    db.session.add(
        UserSession(token_hash=_hash_token(token), user=user, ip=ip, created_at=now, last_seen_at=now)
    )
    user.last_login_at = now
    audit.record("auth.login", user, actor=user)
    db.session.flush()
    return token


def end_session(token: str | None) -> None:
    """End the session with this token (sign-out); the cookie stops working at once."""
    if not token:
        return
    row = db.session.scalar(sa.select(UserSession).where(UserSession.token_hash == _hash_token(token)))
    if row is not None and row.ended_at is None:
        row.ended_at = now_utc()
        audit.record("auth.logout", row.user, actor=row.user)
        db.session.flush()


def user_for_session(token: str | None) -> User | None:
    """The user of a live session; ends sessions that were idle or open too long."""
    if not token:
        return None
    row = db.session.scalar(sa.select(UserSession).where(UserSession.token_hash == _hash_token(token)))
    if row is None or row.ended_at is not None:
        return None
    now = now_utc()
    idle = now - row.last_seen_at > current_app.config["SESSION_IDLE_TIMEOUT"]
    too_old = now - row.created_at > current_app.config["SESSION_MAX_AGE"]
    if idle or too_old or not row.user.active:
        row.ended_at = now
        return None
    if now - row.last_seen_at > _TOUCH_EVERY:
        row.last_seen_at = now
    return row.user


def purge_old_records(keep: timedelta = timedelta(days=1)) -> int:
    """Delete failed sign-ins and ended sessions older than `keep`; safe to run twice."""
    cutoff = now_utc() - keep
    removed = rows_changed(db.session.execute(sa.delete(LoginAttempt).where(LoginAttempt.at < cutoff))) or 0
    removed += (
        rows_changed(db.session.execute(
            sa.delete(UserSession).where(
                sa.or_(
                    UserSession.ended_at < cutoff,
                    UserSession.created_at < cutoff - current_app.config["SESSION_MAX_AGE"],
                )
            )
        ))
        or 0
    )
    return removed
