"""A pooled connection is tested before use only after sitting idle: a dropped one is then replaced."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

from legalaid.db import ping_when_idle

PG_URL = os.environ.get("TEST_DATABASE_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def admin():
    engine = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()


def _pool(idle_seconds: float) -> sa.Engine:
    engine = sa.create_engine(PG_URL, pool_size=1, max_overflow=0)
    ping_when_idle(engine, idle_seconds)
    return engine


def _backend(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.text("SELECT pg_backend_pid()"))


def _drop(admin: sa.Engine, pid: int) -> None:
    with admin.connect() as conn:  # as a database restart or a firewall would
        assert conn.scalar(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


def test_an_idle_connection_that_was_dropped_is_replaced_before_use(admin):
    engine = _pool(idle_seconds=0)  # every connection counts as idle
    try:
        first = _backend(engine)
        _drop(admin, first)
        second = _backend(engine)  # no error: the ping found it dead and the pool connected anew
        assert second != first
        assert _backend(engine) == second  # and the new one is kept
    finally:
        engine.dispose()


def test_a_connection_used_a_moment_ago_is_not_tested(admin):
    engine = _pool(idle_seconds=3600)
    try:
        first = _backend(engine)
        _drop(admin, first)
        # Not tested, so its statement is the one that finds it dropped; the pool then starts afresh.
        with pytest.raises(sa.exc.OperationalError), engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        assert _backend(engine) != first
    finally:
        engine.dispose()
