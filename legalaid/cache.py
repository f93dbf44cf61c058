"""Short in-process caches: a memo of what rarely changes, and a microcache of anonymous pages.

The kiosk's day list and time page and the hall display's poll are asked for far more often than what
they show changes, by visitors who are all the same anonymous visitor. Two caches, both per app (so
each app built in a process, each test's included, starts empty) and per process:

- `memo`: data that rarely changes (a station with its sessions, the closed days of a range), kept for
  `MEMO_CACHE_SECONDS` (default 30 s). A change made in this process drops it at once
  (`forget_station`); other processes and other app hosts see the change within that time. What
  decides a booking is always read from the database (the places, by conditional UPDATEs; the closed
  days, by `roster.closed_days`), so a stale memo never overbooks nor books a day just closed; a
  public request may apply a station's booking window or cutoff up to that time after it changed
  in another process.
- `pages`: the rendered body of an anonymous GET, kept `PAGE_CACHE_SECONDS` (default 2 s; the hall
  display `HALL_CACHE_SECONDS`, default 1 s), keyed by its path and query, station and language. Only
  the body is kept: every request still builds its own response, so the after-request hooks add every
  security header and the visitor's own session cookie. A page is neither read from nor written to it
  for a signed-in user, a visitor with a message waiting (flash), or a page that holds a CSRF token.
  A booking, cancellation or move made in this process drops its station's pages (also after the
  commit), and a call drops the hall display, so the person who just booked sees the new count.

Setting any of the three to 0 turns that cache off. The clock is monotonic and replaceable
(`caches().clock`), so tests move time instead of waiting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import current_app, g, has_app_context, has_request_context, request, session
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy.orm.attributes import set_committed_value

T = TypeVar("T")
MISSING: Any = object()
EXTENSION = "legalaid.cache"
KIOSK, HALL = "kiosk", "hall"  # the kinds of cached pages a station has
_AFTER_COMMIT = "legalaid.cache.drop"  # session.info: stations whose pages go when the commit is done


class TTLCache:
    """A small dict whose entries expire after some seconds, behind a lock (gunicorn threads, tests)."""

    def __init__(self, clock: Callable[[], float], maxsize: int = 512) -> None:
        self._clock = clock
        self._maxsize = maxsize
        self._lock = threading.Lock()
        self._items: dict[Hashable, tuple[float, Any]] = {}

    def get(self, key: Hashable) -> Any:
        """The value kept under `key` if it has not expired, else MISSING."""
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return MISSING
            if item[0] <= self._clock():
                del self._items[key]
                return MISSING
            return item[1]

    def put(self, key: Hashable, value: Any, seconds: float) -> None:
        """Keep a value for some seconds; when full, the expired entries go first, then the oldest."""
        with self._lock:
            now = self._clock()
            if len(self._items) >= self._maxsize and key not in self._items:
                for old in [k for k, (until, _v) in self._items.items() if until <= now]:
                    del self._items[old]
                while len(self._items) >= self._maxsize:
                    del self._items[next(iter(self._items))]
            self._items.pop(key, None)  # re-inserted last: the dict's order is the age order
            self._items[key] = (now + seconds, value)

    def drop(self, match: Callable[[Hashable], bool]) -> int:
        """Forget every entry whose key matches; how many went."""
        with self._lock:
            gone = [k for k in self._items if match(k)]
            for key in gone:
                del self._items[key]
            return len(gone)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


@dataclass
class Caches:
    """The app's two caches, the clock they share, and how often each station's entries were dropped.

    The counts close a race: a page rendered while a change commits may hold the rows from before it,
    and the drop after the commit can come before that page is stored. A value is therefore kept only
    when no drop of its station happened while it was being made (`stamp` the same before and after).
    """

    clock: Callable[[], float] = time.monotonic
    memo: TTLCache = field(init=False)
    pages: TTLCache = field(init=False)
    drops: dict[int | None, int] = field(default_factory=dict)  # station id (None: the default) → drops
    epoch: int = 0  # every station dropped at once

    def __post_init__(self) -> None:
        self.memo = TTLCache(lambda: self.clock(), maxsize=1024)
        self.pages = TTLCache(lambda: self.clock(), maxsize=512)

    def stamp(self, station_id: int | None) -> tuple[int, int]:
        """Changes every time entries of this station are dropped."""
        return self.epoch, self.drops.get(station_id, 0)

    def dropped(self, station_id: int | None) -> None:
        """Count a drop of a station's entries (None with `everything`: all of them)."""
        self.drops[station_id] = self.drops.get(station_id, 0) + 1


_creating = threading.Lock()


def caches() -> Caches:
    """This app's caches (made on first use)."""
    found = current_app.extensions.get(EXTENSION)
    if found is None:
        with _creating:
            found = current_app.extensions.setdefault(EXTENSION, Caches())
    return found


def _seconds(name: str) -> float:
    return float(current_app.config[name])  # config.py: MEMO_, PAGE_ and HALL_CACHE_SECONDS


# -- the memo -----------------------------------------------------------------------------------------


def memo(key: tuple, make: Callable[[], T]) -> T:
    """The value kept under `key` for `MEMO_CACHE_SECONDS`, made by `make()` when missing or old.

    The key's second item, when it is a station's id, lets `forget_station` drop it. Values are shared
    between requests: keep plain values, or detached copies of rows (`detached_copy`), never a row of
    a request's session.
    """
    seconds = _seconds("MEMO_CACHE_SECONDS")
    if seconds <= 0:
        return make()
    all_caches = caches()
    store = all_caches.memo
    value = store.get(key)
    if value is MISSING:
        station_id = key[1] if len(key) > 1 and (key[1] is None or isinstance(key[1], int)) else None
        before = all_caches.stamp(station_id)
        value = make()
        if all_caches.stamp(station_id) == before:  # not changed meanwhile (see `Caches`)
            store.put(key, value, seconds)
    return value


def detached_copy(row: Any, *relationships: str) -> Any:
    """A copy of a loaded row (and of the rows in these loaded relationships) that belongs to no
    session: the memo keeps it, and `attach` gives each request its own copy without a query."""
    mapper = sa.inspect(row).mapper
    copy = mapper.class_manager.new_instance()
    for attr in mapper.column_attrs:
        set_committed_value(copy, attr.key, getattr(row, attr.key))
    for name in relationships:
        set_committed_value(copy, name, [detached_copy(child) for child in getattr(row, name)])
    sa.orm.make_transient_to_detached(copy)
    return copy


def attach(copy: T) -> T:
    """The request's own row for a memoised copy: the one its session already holds (never overwritten
    with the memo's older values), else the copy merged in without a query."""
    from legalaid.extensions import db

    key = sa.inspect(copy).key
    held = db.session.identity_map.get(key)
    if held is None:
        held = db.session.merge(copy, load=False)
        if has_request_context():
            # The session holds its rows weakly: kept for the request, a later `slot.shift.station`
            # finds this row instead of asking the database again.
            g.setdefault("cache_attached", []).append(held)
    return held


def forget_station(station_id: int | None = None) -> None:
    """Drop what the memo and the pages hold of a station (None: of every station) in this process,
    now and again when the transaction commits (a page or memo made in between holds the old rows)."""
    if not has_app_context():
        return
    store = caches()

    def drop() -> None:
        if station_id is None:
            store.epoch += 1
            store.memo.clear()
            store.pages.clear()
        else:
            store.dropped(None)  # the default station may be this one
            store.memo.drop(lambda k: isinstance(k, tuple) and len(k) > 1 and k[1] in (station_id, None))
            _drop(store, station_id, None)

    drop()
    _again_after_commit(drop)


# -- the pages ----------------------------------------------------------------------------------------


def _shareable() -> bool:
    """Whether this request is the anonymous visitor every other one is: a GET, nobody signed in, no
    message waiting to be shown to this browser alone."""
    return request.method == "GET" and not current_user.is_authenticated and "_flashes" not in session


def _shareable_body() -> bool:
    """Whether the page just rendered holds nothing of this visitor (no CSRF token was made for it)."""
    field_name = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    return field_name not in g and "_flashes" not in session and not current_user.is_authenticated


def page(kind: str, station_id: int, render: Callable[[], str]) -> str:
    """A page's body for an anonymous visitor: from the microcache when rendered for the same address,
    station and language within the last seconds, else rendered now (and kept when it can be shared)."""
    seconds = _seconds("HALL_CACHE_SECONDS" if kind == HALL else "PAGE_CACHE_SECONDS")
    if seconds <= 0 or not has_request_context() or not _shareable():
        return render()
    all_caches = caches()
    store = all_caches.pages
    key = (kind, station_id, request.full_path, str(get_locale()))
    body = store.get(key)
    if body is not MISSING:
        return body
    before = all_caches.stamp(station_id)
    body = render()
    if _shareable_body() and all_caches.stamp(station_id) == before:  # see `Caches`
        store.put(key, body, seconds)
    return body


def drop_pages(station_id: int, kind: str | None = None) -> None:
    """Drop a station's cached pages (of one kind, or all) in this process, now and again when the
    request's transaction commits: a page rendered in between shows what the commit made."""
    if not has_app_context():
        return
    store = caches()
    _drop(store, station_id, kind)
    _again_after_commit(lambda: _drop(store, station_id, kind))


def _drop(store: Caches, station_id: int, kind: str | None) -> None:
    store.dropped(station_id)

    def match(key: Hashable) -> bool:
        return isinstance(key, tuple) and key[1] == station_id and (kind is None or key[0] == kind)

    store.pages.drop(match)


def _again_after_commit(drop: Callable[[], None]) -> None:
    from legalaid.extensions import db

    db.session.info.setdefault(_AFTER_COMMIT, []).append(drop)


@sa.event.listens_for(sa.orm.Session, "after_commit")
def _after_commit(db_session: sa.orm.Session) -> None:
    """Drop again what a committed change made stale (registered by `drop_pages`, `forget_station`)."""
    for drop in db_session.info.pop(_AFTER_COMMIT, None) or ():
        drop()


@sa.event.listens_for(sa.orm.Session, "after_rollback")
def _after_rollback(db_session: sa.orm.Session) -> None:
    """A change rolled back leaves the caches as they were: nothing more to drop."""
    db_session.info.pop(_AFTER_COMMIT, None)
