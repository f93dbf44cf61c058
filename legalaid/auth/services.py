"""Accounts, passwords, sign-in throttling and server-side sessions."""

from __future__ import annotations

import hashlib
import math
import secrets
from datetime import timedelta
from functools import cache
from importlib import resources

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn

from legalaid import audit
from legalaid.access import ADMIN
from legalaid.auth import throttle, totp
from legalaid.auth.models import ROLES, User, UserSession
from legalaid.auth.throttle import Bucket
from legalaid.dates import now_utc
from legalaid.db import rows_changed
from legalaid.errors import InvalidInput, NotAllowed, TooManyAttempts
from legalaid.extensions import db
from legalaid.lawyers.models import Lawyer
from legalaid.paging import CappedPage, capped_page
from legalaid.privacy import is_email
from legalaid.security import hashed

LOGIN = "login"
# zxcvbn scores 0–4; 3 is "safely unguessable: moderate protection from offline slow-hash attacks".
MIN_PASSWORD_SCORE = 3
# zxcvbn slows down on very long input; what lies beyond this only makes a password stronger.
_SCORED_LENGTH = 100

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


@cache
def common_passwords() -> frozenset[str]:
    """The bundled list of the most common passwords, lower case."""
    text = resources.files("legalaid.auth").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def check_password_rules(password: str, user_inputs: tuple[str, ...] = ()) -> None:
    """Refuse a password that is too short, common, or easy to guess (zxcvbn score below 3)."""
    password = password or ""
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        raise InvalidInput(
            _("The password must have at least %(n)d characters.", n=minimum), field="password"
        )
    if password.strip().lower() in common_passwords():
        raise InvalidInput(
            _("This password is one of the most common ones. Choose another."), field="password"
        )
    # zxcvbn's own advice is in English only: the reasons are said here in the user's language.
    score = zxcvbn(password[:_SCORED_LENGTH], user_inputs=[u for u in user_inputs if u])["score"]
    if score < MIN_PASSWORD_SCORE:
        raise InvalidInput(
            _(
                "This password is too easy to guess (a sequence, a repeated pattern, a date, a name or "
                "a common word). Use three or four unrelated words, or a longer mix."
            ),
            field="password",
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


def users_page(page: int = 1, per_page: int = 50) -> CappedPage:
    """The accounts a page at a time, active first, then by username (a province has a thousand)."""
    return capped_page(sa.select(User).order_by(User.active.desc(), User.username), page, per_page)


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
    check_password_rules(password, (username, display_name, email))
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
    check_password_rules(password, (user.username, user.display_name, user.email))
    user.password_hash = _hash(password)
    user.password_changed_at = now_utc()
    end_all_sessions(user)
    audit.record("user.password", user, actor=actor)
    db.session.flush()


def login_buckets(username: str, ip: str) -> list[Bucket]:
    """What a sign-in try counts against: the account at this address (typos), the account (an attack
    spread over addresses), and the address alone with a far higher ceiling, so that one person's
    typos never lock out colleagues behind the same office address."""
    config = current_app.config
    # Keyed hash: a password typed into the username box must not be kept readable, even for 15 minutes.
    name = hashed(normalize_username(username)[:64] or "-")
    return [
        Bucket("pair", f"{name}|{ip}", config["LOGIN_MAX_FAILURES"]),
        Bucket("account", name, config["LOGIN_MAX_FAILURES_ACCOUNT"]),
        Bucket("address", ip, config["LOGIN_MAX_FAILURES_ADDRESS"]),
    ]


def _claim_try(username: str, ip: str) -> list[Bucket]:
    """Count a sign-in try before it is evaluated; refuse it when a bucket is full."""
    buckets = login_buckets(username, ip)
    wait = throttle.claim(LOGIN, buckets)
    if wait:
        minutes = max(1, math.ceil(wait / 60))
        raise TooManyAttempts(
            _("Too many failed sign-ins. Please try again in %(n)d minutes.", n=minutes),
            retry_after=wait,
        )
    return buckets


def _failed(username: str, user: User | None, buckets: list[Bucket], step: str) -> None:
    """Audit a failed try (never the password), and the pause it starts when it fills a bucket. What was
    typed as the username is named only when it is an account: people type their password there."""
    name = {"username": user.username} if user is not None else {}
    audit.record("auth.failed", user, details={**name, "step": step})
    for bucket in throttle.full(LOGIN, buckets):
        audit.record("auth.locked", user, details={**name, "scope": bucket.scope})


def _succeeded(buckets: list[Bucket]) -> None:
    """A right try clears the account's typos, and gives its place back to the address; one good
    password must not reset the guessing budget of a machine trying many accounts."""
    throttle.forgive(LOGIN, [b.key for b in buckets if b.scope != "address"])
    throttle.give_back(LOGIN, [b.key for b in buckets if b.scope == "address"])


def may_sign_in(user: User) -> bool:
    """Whether the account may be used: active, and not the account of a deactivated lawyer."""
    if not user.active:
        return False
    return _usable(user, db.session.scalar(sa.select(Lawyer.active).where(Lawyer.user_id == user.id)))


def _usable(user: User, lawyer_active: bool | None) -> bool:
    """`may_sign_in`'s rule, with whether the user's lawyer (if any) is active already read."""
    return user.active and lawyer_active is not False


def authenticate(username: str, password: str, ip: str) -> User:
    """Check a sign-in's password; the try is counted first, so too many pause further tries.

    For an account with a second factor the try stays counted until `check_second_factor` succeeds.
    """
    buckets = _claim_try(username, ip)
    user = find_by_username(username)
    valid = check_password_hash(user.password_hash if user else _dummy_hash(_method()), password or "")
    if user is None or not valid or not may_sign_in(user):
        _failed(username, user, buckets, "password")
        raise InvalidInput(_("Wrong username or password."), field="password")
    if not user.has_totp:
        _succeeded(buckets)
    return user


def check_second_factor(user: User, code: str, ip: str) -> None:
    """Check the code asked after the password (TOTP or a recovery code); counted like a password."""
    buckets = _claim_try(user.username, ip)
    if not may_sign_in(user) or not totp.check_code(user, code):
        _failed(user.username, user, buckets, "code")
        raise InvalidInput(_("This code is not right, or was already used."), field="code")
    _succeeded(buckets)


def live_sessions(user: User) -> list[UserSession]:
    """The user's sessions still open, the most recently used first."""
    return list(
        db.session.scalars(
            sa.select(UserSession)
            .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
            .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
        )
    )


def is_current(row: UserSession, token: str | None) -> bool:
    """Whether this session is the one of the browser holding `token`."""
    return bool(token) and secrets.compare_digest(row.token_hash, _hash_token(token or ""))


def end_other_sessions(user: User, token: str | None) -> int:
    """Sign the user out everywhere except in this browser; returns how many sessions were ended."""
    result = db.session.execute(
        sa.update(UserSession)
        .where(
            UserSession.user_id == user.id,
            UserSession.ended_at.is_(None),
            UserSession.token_hash != _hash_token(token or ""),
        )
        .values(ended_at=now_utc())
        .execution_options(synchronize_session=False)
    )
    ended = rows_changed(result)
    audit.record("auth.sessions_ended", user, actor=user, details={"count": ended})
    return ended


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


def user_for_session(token: str | None, activity: bool = True) -> User | None:
    """The user of a live session; ends sessions that were idle or open too long. A request that is no
    one's doing (a page refreshing its lists by itself) passes `activity=False`: it does not keep the
    session from going idle."""
    if not token:
        return None
    # One statement on every signed-in request: the session, its user, and whether a lawyer's account
    # is still that of an active lawyer (what `may_sign_in` asks).
    found = db.session.execute(
        sa.select(UserSession, Lawyer.active)
        .outerjoin(Lawyer, Lawyer.user_id == UserSession.user_id)
        .where(UserSession.token_hash == _hash_token(token))
    ).first()
    if found is None or found[0].ended_at is not None:
        return None
    row, lawyer_active = found
    now = now_utc()
    idle = now - row.last_seen_at > current_app.config["SESSION_IDLE_TIMEOUT"]
    too_old = now - row.created_at > current_app.config["SESSION_MAX_AGE"]
    if idle or too_old or not _usable(row.user, lawyer_active):
        row.ended_at = now
        return None
    if activity and now - row.last_seen_at > _TOUCH_EVERY:
        row.last_seen_at = now
    return row.user


def purge_old_records(keep: timedelta = timedelta(days=1)) -> int:
    """Delete old throttle counts and ended sessions older than `keep`; safe to run twice."""
    cutoff = now_utc() - keep
    removed = throttle.purge(cutoff)
    removed += (
        rows_changed(
            db.session.execute(
                sa.delete(UserSession).where(
                    sa.or_(
                        UserSession.ended_at < cutoff,
                        UserSession.created_at < cutoff - current_app.config["SESSION_MAX_AGE"],
                    )
                )
            )
        )
        or 0
    )
    return removed
