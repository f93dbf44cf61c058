"""The scheduler's single-instance guards on both engines, whatever database the suite runs on: the
PostgreSQL advisory lock (the server on this machine), the SQLite lock file, a lost lock stopping the
jobs, and SIGTERM stopping the process cleanly."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
import sqlalchemy as sa

from legalaid import scheduler

PG_URL = os.environ.get("TEST_DATABASE_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def pg_engine():
    """An engine on the local PostgreSQL server (advisory locks need no tables)."""
    engine = sa.create_engine(PG_URL, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            connection.scalar(sa.select(1))
    except sa.exc.OperationalError as error:
        pytest.skip(f"no PostgreSQL at {PG_URL}: {type(error.orig).__name__}")
    yield engine
    engine.dispose()


def test_the_advisory_lock_admits_one_holder_and_is_lost_with_its_connection(pg_engine):
    first, second = scheduler.AdvisoryLockGuard(pg_engine), scheduler.AdvisoryLockGuard(pg_engine)
    try:
        assert first.acquire() and first.still_held()
        assert not second.acquire()
        # The database ends the holder's session (a restart, a network cut): the lock goes with it.
        pid = first.connection.scalar(sa.select(sa.func.pg_backend_pid()))
        with pg_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as admin:
            admin.scalar(sa.select(sa.func.pg_terminate_backend(pid)))
        assert not first.still_held() and first.connection is None
        assert second.acquire()  # the waiting copy takes over
    finally:
        first.release()
        second.release()
    assert first.acquire()  # released: free again
    first.release()


def test_an_unreachable_database_means_no_lock():
    engine = sa.create_engine("postgresql+psycopg://postgres@127.0.0.1:1/none", poolclass=sa.pool.NullPool)
    guard = scheduler.AdvisoryLockGuard(engine)
    assert not guard.acquire() and not guard.still_held()
    guard.release()  # nothing to release: no error


def test_the_lock_file_admits_one_holder_and_names_it(tmp_path):
    path = tmp_path / "deep" / "legalaid.db.scheduler.lock"
    first, second = scheduler.LockFileGuard(path), scheduler.LockFileGuard(path)
    assert first.acquire() and first.still_held()
    assert str(os.getpid()) in path.read_text(encoding="utf-8")
    assert not second.acquire() and not second.still_held()
    first.release()
    assert not first.still_held() and second.acquire()
    second.release()


class _Flaky:
    """A guard that is won, then lost after its first check, then won again."""

    def __init__(self) -> None:
        self.checks = 0
        self.acquired = 0
        self.released = False

    def acquire(self) -> bool:
        self.acquired += 1
        return True

    def still_held(self) -> bool:
        self.checks += 1
        return self.checks != 2

    def release(self) -> None:
        self.released = True


def test_a_lost_lock_stops_the_jobs_until_it_is_won_again(app_factory, monkeypatch):
    app = app_factory(SCHEDULER_POLL_SECONDS=0.05)
    guard = _Flaky()
    starts: list[float] = []
    monkeypatch.setattr(scheduler, "guard_for", lambda _app: guard)
    monkeypatch.setattr(
        scheduler, "JOBS", {"probe": scheduler.Job("probe", lambda: "ok", every_seconds=3600)}
    )
    real_start = scheduler._start_jobs
    monkeypatch.setattr(scheduler, "_start_jobs", lambda a: starts.append(time.monotonic()) or real_start(a))
    stop = threading.Event()
    worker = threading.Thread(target=scheduler.serve, args=(app, stop))
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while len(starts) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        worker.join(10)
    assert len(starts) >= 2 and guard.acquired >= 2  # stopped when lost, started again when won
    assert guard.released and not worker.is_alive()


def test_sigterm_stops_the_scheduler_and_gives_the_lock_back(app_factory, monkeypatch):
    app = app_factory(SCHEDULER_POLL_SECONDS=0.05)
    guard = _Flaky()
    guard.checks = 2  # never lost
    monkeypatch.setattr(scheduler, "guard_for", lambda _app: guard)
    monkeypatch.setattr(scheduler, "JOBS", {})
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        scheduler.serve_until_signalled(app)  # returns once the signal has set its stop event
    finally:
        timer.cancel()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    assert guard.released
