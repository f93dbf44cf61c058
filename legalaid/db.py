"""The model base: a naming convention for constraints and an aware-UTC datetime type."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, registry

# The largest id an integer primary key holds on every engine (PostgreSQL int4).
MAX_ID = 2**31 - 1

# Every constraint and index gets a predictable name, so migrations can refer to it on any database.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


_IDLE_SINCE = "legalaid_idle_since"


def ping_when_idle(engine: sa.Engine, idle_seconds: float) -> None:
    """Test a pooled connection before use only when it sat idle longer than `idle_seconds`.

    SQLAlchemy's `pool_pre_ping` tests every checkout: a round trip on every request, the price of
    noticing a connection the database or a firewall dropped. Connections drop while idle; one used a
    moment ago is almost surely alive, and if the database restarted meanwhile, the statement fails,
    the pool discards every connection of that time, and the next request connects afresh."""

    @sa.event.listens_for(engine, "connect")
    @sa.event.listens_for(engine, "checkin")
    def _idle_from_now(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get(_IDLE_SINCE, 0.0) <= idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # the pool discards it and checks out another (a fresh one)
            raise sa.exc.DisconnectionError(str(error)) from error


class UTCDateTime(sa.TypeDecorator):
    """A timestamp that is always stored as UTC and always read back time-zone aware.

    SQLite has no time zones, so values are stored there as naive UTC; PostgreSQL gets
    `timestamp with time zone`. Naive datetimes are refused: they are the bug this type prevents.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Check the value is aware and convert it to UTC."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime given for a UTC column: {value!r}")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Attach UTC to values read back."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every model."""

    # One registry carries both, so Flask-SQLAlchemy's subclass of this base inherits them.
    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


M = TypeVar("M")


def _session() -> Session:
    """The app's session, found through the app (this module sits below `legalaid.extensions`)."""
    return current_app.extensions["sqlalchemy"].session


def get_by_id(model: type, record_id: int | None):
    """The row with this primary key, or None; ids from URLs and forms may be anything, and an id
    beyond an integer column would otherwise be a database error (PostgreSQL int4)."""
    if not isinstance(record_id, int) or not 0 < record_id <= MAX_ID:
        return None
    return _session().get(model, record_id)


def _insert_or_nothing(model: type, values: dict) -> Any:
    from sqlalchemy.dialects import postgresql, sqlite

    session = _session()
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(model).values(**values).on_conflict_do_nothing()


def insert_if_absent(model: type, values: dict) -> bool:
    """INSERT … ON CONFLICT DO NOTHING on either engine, for rows two requests may create at once;
    True if this call inserted the row."""
    # RETURNING, not the row count: with a generated key PostgreSQL's driver reports -1 for both cases.
    statement = _insert_or_nothing(model, values).returning(sa.literal_column("1"))
    return _session().execute(statement).first() is not None


def add_if_absent(model: type[M], values: dict) -> M | None:
    """The same, returning the new row as the session's own object (None when another request made it
    first): a new person for a booking is one statement, not an insert and a read."""
    return _session().scalars(_insert_or_nothing(model, values).returning(model)).first()


def rows_changed(result: sa.Result[Any]) -> int:
    """How many rows an INSERT, UPDATE or DELETE changed (the conditional writes that decide races)."""
    return cast("sa.CursorResult[Any]", result).rowcount


def include_object_for(dialect: str) -> Callable[..., bool]:
    """Alembic's object filter for one database: it leaves out what the models build only on another
    (an index declared with `.ddl_if(dialect=…)`, such as PostgreSQL's trigram index)."""

    def include_object(
        obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
    ) -> bool:
        ddl_if = getattr(obj, "_ddl_if", None)
        return ddl_if is None or ddl_if.dialect in (None, dialect)

    return include_object


T = TypeVar("T")
_DONE = object()


def read_ahead(batches: Callable[[], Iterator[T]]) -> Iterator[T]:
    """The batches of `batches()`, read one ahead in a thread while the caller works on the one before.

    The database's time for the next batch (an export's: 15 ms, more from a cold disk) is then spent while
    the caller decrypts and writes, not on top. The thread has its own app context, so its own session
    and connection: it reads what is committed, in statements of its own. Two batches are held at most.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    handoff: queue.Queue[Any] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def hand(item: object) -> bool:
        while not stop.is_set():  # the caller may have stopped reading
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        with app.app_context():
            try:
                for item in batches():
                    if not hand(item):
                        return
                hand(_DONE)
            except BaseException as error:  # noqa: BLE001  (raised in the caller's thread)
                hand(error)
            finally:
                _session().remove()  # type: ignore[attr-defined]

    thread = threading.Thread(target=work, name="read-ahead", daemon=True)
    thread.start()
    try:
        while (item := handoff.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()
