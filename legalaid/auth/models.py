"""Accounts, their server-side sessions and the sign-in attempts used for throttling."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from legalaid.access import ADMIN, LAWYER, STAFF
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

    station = relationship("Station", lazy="joined")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        """Tell Flask-Login whether the account may sign in."""
        return self.active

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


class LoginAttempt(Model):
    """A failed try (a sign-in, or a booking look-up), counted per key and per address to slow
    down guessing; `kind` keeps the counts of different doors apart."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        sa.Index("ix_login_attempts_username_at", "username", "at"),
        sa.Index("ix_login_attempts_ip_at", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16), default="login", server_default="login")
    username: Mapped[str] = mapped_column(sa.String(64))
    ip: Mapped[str] = mapped_column(sa.String(45))
    at: Mapped[datetime] = mapped_column(default=now_utc, index=True)
