"""Counting failed tries per key, and pausing a key that reached its ceiling.

A try first *claims* a place in every bucket it belongs to (an account, the account at this address,
the address …), with one conditional UPDATE per bucket: `failures + 1 WHERE failures < ceiling`. The
check and the count are therefore one step: however many workers race, no more tries than the ceiling
are ever evaluated (a counted SELECT followed by an INSERT let 8 of 60 concurrent tries through against
a ceiling of 5). A try that turns out right gives its place back (`forgive`, `give_back`).

On PostgreSQL the UPDATE holds the row until the request commits, so tries on the same key queue
behind each other for the length of one password check; the buckets are always claimed in the same
(sorted) order so that two requests never wait for each other in a circle.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from legalaid.auth.models import ThrottleCount
from legalaid.dates import now_utc
from legalaid.db import insert_if_absent, rows_changed
from legalaid.extensions import db


@dataclass(frozen=True)
class Bucket:
    """One key tries are counted against, and how many failures it takes within the window."""

    scope: str  # what the key is: "account", "pair" (account or code at an address), "address" …
    value: str
    ceiling: int

    @property
    def key(self) -> str:
        """The row's key: the scope keeps an account named like an address apart from it."""
        return f"{self.scope}:{self.value}"[:160]


def _window() -> timedelta:
    return current_app.config["LOGIN_FAILURE_WINDOW"]


def _at(value: datetime) -> sa.ColumnElement[datetime]:
    """A time as a bound value of the column's own (UTC) type, also inside CASE."""
    return sa.literal(value, ThrottleCount.__table__.c.window_started_at.type)


def _row(kind: str, key: str) -> sa.ColumnElement[bool]:
    return sa.and_(ThrottleCount.kind == kind, ThrottleCount.key == key)


def claim(kind: str, buckets: Sequence[Bucket]) -> int:
    """Count one try in every bucket at once, or in none: 0 if it may go ahead, else seconds to wait."""
    now = now_utc()
    expired = ThrottleCount.window_started_at <= _at(now - _window())
    taken: list[Bucket] = []
    for bucket in sorted(buckets, key=lambda b: b.key):  # one lock order for every request
        insert_if_absent(
            ThrottleCount, {"kind": kind, "key": bucket.key, "failures": 0, "window_started_at": now}
        )
        result = db.session.execute(
            sa.update(ThrottleCount)
            .where(_row(kind, bucket.key), sa.or_(expired, ThrottleCount.failures < bucket.ceiling))
            .values(
                # A window that has passed starts again with this try.
                failures=sa.case((expired, 1), else_=ThrottleCount.failures + 1),
                window_started_at=sa.case((expired, _at(now)), else_=ThrottleCount.window_started_at),
            )
            .execution_options(synchronize_session=False)
        )
        if not rows_changed(result):
            give_back(kind, [b.key for b in taken])  # all or none: the buckets already counted
            return _seconds_left(kind, bucket.key, now)
        taken.append(bucket)
    return 0


def _seconds_left(kind: str, key: str, now: datetime) -> int:
    started = db.session.scalar(sa.select(ThrottleCount.window_started_at).where(_row(kind, key)))
    if started is None:  # pragma: no cover - the row was made just before
        return 1
    return max(1, math.ceil((started + _window() - now).total_seconds()))


def full(kind: str, buckets: Iterable[Bucket]) -> list[Bucket]:
    """The buckets whose failures have reached their ceiling (they pause further tries)."""
    wanted = {b.key: b for b in buckets}
    rows = db.session.execute(
        sa.select(ThrottleCount.key, ThrottleCount.failures).where(
            ThrottleCount.kind == kind, ThrottleCount.key.in_(wanted)
        )
    )
    return [wanted[key] for key, failures in rows if failures >= wanted[key].ceiling]


def forgive(kind: str, keys: Iterable[str]) -> None:
    """Clear these keys' counts (a right password clears its account's typos)."""
    keys = list(keys)
    if keys:
        db.session.execute(
            sa.update(ThrottleCount)
            .where(ThrottleCount.kind == kind, ThrottleCount.key.in_(keys))
            .values(failures=0)
            .execution_options(synchronize_session=False)
        )


def give_back(kind: str, keys: Iterable[str]) -> None:
    """Return the place a try claimed in these keys (a try that was right, or not made after all)."""
    keys = list(keys)
    if keys:
        db.session.execute(
            sa.update(ThrottleCount)
            .where(ThrottleCount.kind == kind, ThrottleCount.key.in_(keys), ThrottleCount.failures > 0)
            .values(failures=ThrottleCount.failures - 1)
            .execution_options(synchronize_session=False)
        )


def purge(cutoff: datetime) -> int:
    """Delete the counts whose window opened before `cutoff`; how many were deleted."""
    return (
        rows_changed(
            db.session.execute(sa.delete(ThrottleCount).where(ThrottleCount.window_started_at < cutoff))
        )
        or 0
    )
