"""The scheduler process: runs timed jobs, and only one such process runs them at a time.

Web workers never start it. `flask --app wsgi scheduler run` starts it; the process takes a
single-instance guard — a PostgreSQL advisory lock held on its own connection, or a lock file next to
the SQLite database — that the operating system or the database server releases when the process dies.
A second copy waits, trying the guard every few seconds, and takes over. Each job is a thin wrapper over
a service, also runnable from the command line, and safe to run twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Protocol

import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Mapped, mapped_column

from legalaid.dates import DEFAULT_TIMEZONE, now_utc
from legalaid.db import insert_if_absent
from legalaid.extensions import Model, db
from legalaid.reminders.services import worker_name as holder_name
from legalaid.transaction import unit_of_work

log = logging.getLogger(__name__)
# The advisory lock's key: any fixed 64-bit number the application owns ("legalaid" in ASCII).
ADVISORY_LOCK_KEY = 0x6C6567616C616964 & 0x7FFFFFFFFFFFFFFF


class JobRun(Model):
    """The last run of each job: when, by which process, and how it ended (for the admin pages)."""

    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(sa.String(120))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    ok: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    result: Mapped[str] = mapped_column(sa.String(300), default="")


class Guard(Protocol):
    """Only one process at a time holds it; the holder's death releases it."""

    def acquire(self) -> bool:
        """Try to take the guard without waiting."""

    def still_held(self) -> bool:
        """Whether the guard is still ours (a lost database connection loses it)."""

    def release(self) -> None:
        """Give the guard up."""


class AdvisoryLockGuard:
    """A session-level PostgreSQL advisory lock on a connection kept for the life of the process."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.connection: Connection | None = None

    def acquire(self) -> bool:
        """Try `pg_try_advisory_lock` on a fresh autocommit connection; keep it if we got the lock."""
        try:
            connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            got = connection.scalar(sa.select(sa.func.pg_try_advisory_lock(ADVISORY_LOCK_KEY)))
        except sa.exc.DBAPIError:
            log.exception("scheduler lock: database unreachable")
            return False
        if got:
            self.connection = connection
            return True
        connection.close()
        return False

    def still_held(self) -> bool:
        """A session-level lock lasts as long as its session: ours while the connection answers."""
        if self.connection is None:
            return False
        try:
            self.connection.scalar(sa.select(1))
        except sa.exc.DBAPIError:
            log.warning("scheduler lock: the connection holding it is gone")
            self._drop()
            return False
        return True

    def release(self) -> None:
        """Unlock and close the connection (closing alone would also unlock)."""
        if self.connection is not None:
            with contextlib.suppress(sa.exc.DBAPIError):
                self.connection.scalar(sa.select(sa.func.pg_advisory_unlock(ADVISORY_LOCK_KEY)))
            self._drop()

    def _drop(self) -> None:
        try:
            if self.connection is not None:
                self.connection.invalidate()
                self.connection.close()
        finally:
            self.connection = None


class LockFileGuard:
    """An exclusive `flock` on a file beside the SQLite database (SQLite is one machine's anyway)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle: IO[str] | None = None

    def acquire(self) -> bool:
        """Try to lock the file without waiting; write our pid into it for people to read."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.truncate(0)
        handle.write(f"{socket.gethostname()}:{os.getpid()}\n")
        handle.flush()
        self.handle = handle
        return True

    def still_held(self) -> bool:
        """A file lock stays ours until we close the file or die."""
        return self.handle is not None

    def release(self) -> None:
        """Unlock by closing the file."""
        if self.handle is not None:
            self.handle.close()
            self.handle = None


def guard_for(app: Flask) -> Guard:
    """The single-instance guard suited to the app's database."""
    engine = db.engine
    if engine.dialect.name == "postgresql":
        return AdvisoryLockGuard(engine)
    database = engine.url.database
    if database and database != ":memory:":
        path = Path(database)
        if not path.is_absolute():
            path = Path(app.instance_path) / path
        return LockFileGuard(path.with_name(path.name + ".scheduler.lock"))
    return LockFileGuard(Path(app.instance_path) / "scheduler.lock")


@dataclass(frozen=True)
class Job:
    """A timed job: its name, what it runs, and every how many seconds."""

    name: str
    run: Callable[[], object]
    every_seconds: int
    # Seconds after start for the first run: the sweep comes just after the reminders are queued.
    offset_seconds: int = 0


def _housekeeping() -> int:
    from legalaid.auth.services import purge_old_records
    from legalaid.kiosk.limits import forget_old

    return purge_old_records() + forget_old()


def _no_shows() -> int:
    from legalaid.bookings.services import mark_no_shows

    return mark_no_shows()


def _send_due() -> object:
    from legalaid.reminders.rules import booking_notices
    from legalaid.reminders.services import sweep

    # What happened to bookings since the last run is read first: a reminder for a booking cancelled a
    # moment ago lapses before the sweep could send it, and a confirmation goes out in this sweep.
    booking_notices(now_utc())
    return sweep()


def _retention() -> object:
    from legalaid.privacy.retention import job

    return job()


def _enqueue_reminders() -> object:
    from legalaid.reminders.rules import enqueue_due

    return enqueue_due()


JOBS: dict[str, Job] = {
    "enqueue_reminders": Job("enqueue_reminders", _enqueue_reminders, every_seconds=60),
    "send_due": Job("send_due", _send_due, every_seconds=60, offset_seconds=10),
    "no_shows": Job("no_shows", _no_shows, every_seconds=900),
    "housekeeping": Job("housekeeping", _housekeeping, every_seconds=3600),
    # Daily; a run finds nothing left of what an earlier run erased, so a second run changes nothing.
    "retention": Job("retention", _retention, every_seconds=86400, offset_seconds=300),
}


def _record_run(name: str, started: datetime, ok: bool, result: str) -> None:
    values = {"holder": holder_name(), "started_at": started, "finished_at": now_utc(), "ok": ok}
    values["result"] = result[:300]
    with unit_of_work():  # the run's record is its own unit: it is kept when the job failed
        if not insert_if_absent(JobRun, {"name": name, **values}):
            db.session.execute(sa.update(JobRun).where(JobRun.name == name).values(**values))


def last_runs() -> dict[str, JobRun]:
    """The last run of every job that has run, by name."""
    return {run.name: run for run in db.session.scalars(sa.select(JobRun))}


def run_job(app: Flask, name: str) -> object:
    """Run one job in an app context as one unit of work; a failure rolls back and is recorded."""
    job = JOBS[name]
    with app.app_context():
        started = now_utc()
        try:
            with unit_of_work():
                result = job.run()
        except Exception as error:
            log.exception("job %s failed", name)
            _record_run(name, started, False, f"{type(error).__name__}")
            raise
        else:
            _record_run(name, started, True, str(result))
        finally:
            db.session.remove()
    log.info("job %s done: %s", name, result)
    return result


def _start_jobs(app: Flask) -> BackgroundScheduler:
    # Station time, coalesced catch-up, one instance per job, and minutes (not APScheduler's one
    # second) of grace: a job delayed by a busy machine still runs instead of being skipped.
    scheduler = BackgroundScheduler(
        timezone=DEFAULT_TIMEZONE,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
    )
    intervals = app.config.get("SCHEDULER_INTERVALS", {})
    for job in JOBS.values():
        scheduler.add_job(
            run_job,
            "interval",
            args=(app, job.name),
            seconds=intervals.get(job.name, job.every_seconds),
            id=job.name,
            next_run_time=now_utc() + timedelta(seconds=job.offset_seconds),
        )
    scheduler.start()
    return scheduler


def serve(app: Flask, stop: threading.Event | None = None) -> None:
    """Hold the guard and run the jobs while holding it; wait while another process holds it."""
    stop = stop or threading.Event()
    poll = app.config["SCHEDULER_POLL_SECONDS"]
    with app.app_context():
        guard = guard_for(app)
    scheduler: BackgroundScheduler | None = None
    waiting_said = False
    log.info("scheduler %s starting", holder_name())
    try:
        while not stop.is_set():
            if scheduler is None:
                if guard.acquire():
                    log.info("scheduler %s holds the lock; running jobs", holder_name())
                    scheduler = _start_jobs(app)
                elif not waiting_said:
                    log.info("scheduler %s waits: another scheduler holds the lock", holder_name())
                    waiting_said = True
            elif not guard.still_held():
                log.warning("scheduler %s lost the lock; stopping jobs", holder_name())
                scheduler.shutdown(wait=True)
                scheduler, waiting_said = None, False
            stop.wait(poll)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=True)
        guard.release()
        log.info("scheduler %s stopped", holder_name())


def serve_until_signalled(app: Flask) -> None:
    """Run `serve` until SIGINT or SIGTERM."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    serve(app, stop)
