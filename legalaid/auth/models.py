"""Accounts, their server-side sessions, second factors and the counts used for throttling."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from legalaid.access import ADMIN, LAWYER, STAFF
from legalaid.crypto import Encrypted
from legalaid.dates import now_utc
from legalaid.extensions import Model

ROLES = (ADMIN, STAFF, LAWYER)


class User(UserMixin, Model):
    """A person who signs in: an administrator, a member of hall staff or a lawyer."""

    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint(f"role IN {ROLES!r}", name="role_known"),
        sa.CheckConstraint("length(username) >= 2", name="username_not_short"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(100))
    # Where notices for this person go (administrators: contract ends, the monthly review).
    email: Mapped[str] = mapped_column(sa.String(120), default="", server_default="")
    role: Mapped[str] = mapped_column(sa.String(16), index=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # Staff and lawyers belong to a station; an administrator without one sees every station.
    station_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("stations.id", ondelete="RESTRICT"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    password_changed_at: Mapped[datetime] = mapped_column(default=now_utc)
    last_login_at: Mapped[datetime | None]
    # The TOTP second factor: the secret is kept encrypted (legalaid.auth.totp); enabled once the first
    # code confirmed it; the last time step used, so a code is never accepted twice.
    totp_secret: Mapped[str | None] = mapped_column(Encrypted)  # stored encrypted
    totp_enabled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)

    station = relationship("Station", lazy="joined")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        """Tell Flask-Login whether the account may sign in."""
        return self.active

    @property
    def has_totp(self) -> bool:
        """Whether sign-in asks this user for a code after the password."""
        return self.totp_enabled_at is not None

    @property
    def is_admin(self) -> bool:
        """Whether the user is an administrator."""
        return self.role == ADMIN


class UserSession(Model):
    """One signed-in browser; the cookie carries only a random token whose hash is kept here.

    Logging out ends the row, so a cookie captured earlier no longer signs anybody in.
    """

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    last_seen_at: Mapped[datetime] = mapped_column(default=now_utc)
    ended_at: Mapped[datetime | None]
    ip: Mapped[str | None] = mapped_column(sa.String(45))

    user: Mapped[User] = relationship(lazy="joined")


class ThrottleCount(Model):
    """The failed tries counted against one key (an account, an account at an address, an address,
    a booking code …) since its window opened; `kind` keeps the doors (sign-in, look-up) apart.

    One row per key, raised by a conditional UPDATE (`legalaid.auth.throttle.claim`): the check and the
    count are one statement, so concurrent workers can never evaluate more tries than the ceiling.
    """

    __tablename__ = "throttle_counts"
    __table_args__ = (
        sa.UniqueConstraint("kind", "key"),
        sa.CheckConstraint("failures >= 0", name="failures_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    key: Mapped[str] = mapped_column(sa.String(160))
    failures: Mapped[int] = mapped_column(default=0, server_default="0")
    window_started_at: Mapped[datetime] = mapped_column(default=now_utc, index=True)


class RecoveryCode(Model):
    """A one-time code that stands in for the second factor when the phone is lost; kept hashed."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    used_at: Mapped[datetime | None]
