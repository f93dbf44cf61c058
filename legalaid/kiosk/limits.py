"""Limits on what one client of the public pages can do, so one anonymous visitor cannot take every
place of a duty day or make the system text a number it does not own.

What is counted, and the settings that set each limit (read with `current_app.config.get`):

| setting | default | counts |
| --- | --- | --- |
| `PUBLIC_BOOKINGS_PER_ADDRESS_DAY` | 3 | bookings made from one client address in a (station) day |
| `PUBLIC_BOOKINGS_PER_MOBILE_WEEK` | 3 | bookings made with one mobile number in a week (Monday to Sunday) |
| `PUBLIC_CHANGES_PER_ADDRESS_DAY` | 5 | cancellations and moves from one client address in a day |
| `PUBLIC_CHANGES_PER_MOBILE_DAY` | 5 | cancellations and moves of one mobile number's bookings in a day |
| `PUBLIC_WALKINS_PER_ADDRESS_DAY` | 3 | walk-in numbers taken from one client address in a day |
| `MESSAGES_PER_RECIPIENT_DAY` | 5 | messages queued for one veteran's mobile or e-mail address in a day |

The one-booking-per-mobile-per-duty-day rule of the bookings stays as it is. The hall's enrolled
kiosk (`legalaid.kiosk.devices`) is not counted per address: the whole hall shares it.

Each allowance is taken with a conditional UPDATE of one counter row in the request's transaction, so a
burst over several workers never gets more than the limit, and a request that fails afterwards rolls its
count back with everything else.
"""

from __future__ import annotations

import functools
from datetime import date, datetime, timedelta
from typing import NamedTuple

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from legalaid.dates import now_utc, to_local
from legalaid.db import rows_changed
from legalaid.errors import TooManyAttempts
from legalaid.extensions import db
from legalaid.kiosk.models import PublicCounter
from legalaid.security import client_address, hashed

DEFAULTS = {
    "PUBLIC_BOOKINGS_PER_ADDRESS_DAY": 3,
    "PUBLIC_BOOKINGS_PER_MOBILE_WEEK": 3,
    "PUBLIC_CHANGES_PER_ADDRESS_DAY": 5,
    "PUBLIC_CHANGES_PER_MOBILE_DAY": 5,
    "PUBLIC_WALKINS_PER_ADDRESS_DAY": 3,
    "MESSAGES_PER_RECIPIENT_DAY": 5,
}
DAY, WEEK = "day", "week"


class OverLimit(TooManyAttempts):
    """A public client has used its allowance for the day or the week; the message says what to do."""


def limit(name: str) -> int:
    """A limit's setting (see the module's table)."""
    return int(current_app.config.get(name, DEFAULTS[name]))


def period_start(period: str, now: datetime, tz: str | None) -> date:
    """The local day, or the Monday of the local week, that `now` falls in."""
    day = to_local(now, tz).date()
    return day - timedelta(days=day.weekday()) if period == WEEK else day


def _seconds_left(period: str, now: datetime, tz: str | None) -> int:
    local = to_local(now, tz)
    start = period_start(period, now, tz)
    end = start + timedelta(days=7 if period == WEEK else 1)
    following = datetime.combine(end, datetime.min.time(), tzinfo=local.tzinfo)
    return max(1, int((following - local).total_seconds()))


def take(scope: str, value: str, allowed: int, *, period: str, now: datetime, tz: str | None) -> bool:
    """Use one of a client's `allowed` uses of `scope` in this period; False when none is left."""
    return not _take_all([_Use(scope, value, allowed, period, "")], now, tz)


class _Use(NamedTuple):
    scope: str
    value: str
    allowed: int
    period: str
    refusal: str  # the REFUSALS entry said when none is left


def _use(scope: str, value: str, setting: str, period: str, refusal: str) -> _Use:
    return _Use(scope, value, limit(setting), period, refusal)


def _take_all(uses: list[_Use], now: datetime, tz: str | None) -> set[str]:
    """Use one of each allowance, all in one statement; returns the scopes with none left (the caller
    then refuses, and rolls back the others' counts with the rest).

    Each row is made with a count of one, or, if it is there (another request may have made it a
    moment ago), raised only while below its limit (INSERT … ON CONFLICT DO UPDATE … WHERE, on either
    engine): the database decides, not a count read earlier."""
    refused = {use.scope for use in uses if use.allowed <= 0}
    counted = [use for use in uses if use.scope not in refused]
    if counted:
        params: dict[str, object] = {"now": now}
        for i, use in enumerate(counted):
            params[f"scope{i}"], params[f"key{i}"] = use.scope, hashed(use.value)
            params[f"period{i}"] = period_start(use.period, now, tz)
            params[f"allowed{i}"] = use.allowed
        statement = _take_statement(db.session.get_bind().dialect.name, len(counted))
        refused |= {use.scope for use in counted} - set(db.session.scalars(statement, params))
    return refused


@functools.lru_cache(maxsize=8)
def _take_statement(dialect_name: str, rows: int) -> sa.Executable:
    """`_take_all`'s statement for this many allowances, built once per dialect (building it cost as
    much as running it, on the way to every public booking's commit)."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if dialect_name == "postgresql" else sqlite
    now = sa.bindparam("now", type_=PublicCounter.updated_at.type)
    # The table, not the mapped class: an ORM insert would read the parameters as one row's attributes.
    insert = dialect.insert(PublicCounter.__table__).values([
        {
            "scope": sa.bindparam(f"scope{i}"), "key": sa.bindparam(f"key{i}"),
            "period_on": sa.bindparam(f"period{i}", type_=sa.Date), "count": 1, "updated_at": now,
        }
        for i in range(rows)
    ])  # fmt: skip
    # Each row's own limit, told apart by its scope (the scopes of one statement differ).
    allowed = sa.case(
        *((PublicCounter.scope == sa.bindparam(f"scope{i}"), sa.bindparam(f"allowed{i}", type_=sa.Integer))
          for i in range(rows))
    )  # fmt: skip
    return insert.on_conflict_do_update(
        index_elements=[PublicCounter.scope, PublicCounter.key, PublicCounter.period_on],
        set_={"count": PublicCounter.count + 1, "updated_at": now},
        where=PublicCounter.count < allowed,
    ).returning(PublicCounter.__table__.c.scope)


def _require(uses: list[_Use], now: datetime, tz: str | None) -> None:
    """Take each allowance, or raise OverLimit with the first refused one's words."""
    refused = _take_all(uses, now, tz)
    for use in uses:
        if use.scope in refused:
            raise OverLimit(str(REFUSALS[use.refusal]), retry_after=_seconds_left(use.period, now, tz))


# What a refused visitor reads, in their language (lazy: said when refused).
REFUSALS = {
    "address": _l(
        "Too many requests have come from this connection today. "  # noqa: ISC001
        "Please try again tomorrow, or ask at the front desk in the hall."
    ),
    "mobile": _l(
        "This mobile number has made as many bookings as allowed this week. "  # noqa: ISC001
        "Please call the station, or ask at the front desk in the hall."
    ),
    "change": _l(
        "This booking has been changed as often as allowed today. "  # noqa: ISC001
        "Please call the station, or ask at the front desk in the hall."
    ),
}


def allow_booking(mobile: str, tz: str | None, *, enrolled: bool, now: datetime | None = None) -> None:
    """Count a booking from the public pages for this mobile number this week and from this address
    today (not from the hall's enrolled kiosk), or raise OverLimit (the caller rolls back). Counted
    last, just before the commit: the address's row is shared by everybody behind it, and held only
    from here on, as the day's places are."""
    uses = [_use("booking:mobile", mobile, "PUBLIC_BOOKINGS_PER_MOBILE_WEEK", WEEK, "mobile")]
    if not enrolled:
        address = client_address()
        uses.append(_use("booking:address", address, "PUBLIC_BOOKINGS_PER_ADDRESS_DAY", DAY, "address"))
    _require(uses, now or now_utc(), tz)


def allow_change(mobile: str, tz: str | None, *, enrolled: bool, now: datetime | None = None) -> None:
    """Count a cancellation or move of a booking from the public pages, or raise OverLimit."""
    uses = [_use("change:mobile", mobile, "PUBLIC_CHANGES_PER_MOBILE_DAY", DAY, "change")]
    if not enrolled:
        address = client_address()
        uses.insert(0, _use("change:address", address, "PUBLIC_CHANGES_PER_ADDRESS_DAY", DAY, "address"))
    _require(uses, now or now_utc(), tz)


def allow_walkin(tz: str | None, *, enrolled: bool, now: datetime | None = None) -> None:
    """Count a walk-in number taken from the public pages, or raise OverLimit; the enrolled kiosk is
    the hall's own screen and is not counted."""
    if not enrolled:
        uses = [_use("walkin:address", client_address(), "PUBLIC_WALKINS_PER_ADDRESS_DAY", DAY, "address")]
        _require(uses, now or now_utc(), tz)


def allow_message(address: str, tz: str | None, now: datetime) -> bool:
    """Count one message to a veteran's mobile or e-mail address; False when the day's cap is reached."""
    return take("message:recipient", address, limit("MESSAGES_PER_RECIPIENT_DAY"), period=DAY, now=now, tz=tz)


def forget_old(now: datetime | None = None) -> int:
    """Delete the counters of periods over (a week's counter lives 7 days; kept 8 for any time zone), for
    the hourly housekeeping job; returns how many."""
    cutoff = (now or now_utc()).date() - timedelta(days=8)
    return rows_changed(db.session.execute(sa.delete(PublicCounter).where(PublicCounter.period_on < cutoff)))
