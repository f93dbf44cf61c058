"""The scheduler process: runs timed jobs, and only one such process runs them at a time.

Web workers never start it. `flask --app wsgi scheduler run` starts it; the process takes a lease
row in the database and renews it; a second process finds the lease held and idles until it lapses
(for example when the first one dies), then takes over. Each job is a thin wrapper over a service,
also runnable as `flask --app wsgi jobs run NAME`, and safe to run twice.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from legalaid.dates import now_utc
from legalaid.extensions import db

log = logging.getLogger(__name__)
LEASE_NAME = "scheduler"


class SchedulerLease(db.Model):
    """Who runs the scheduled jobs now, and until when that claim holds."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(sa.String(120))
    expires_at: Mapped[datetime]


def acquire_lease(holder: str, seconds: int, name: str = LEASE_NAME) -> bool:
    """Take or renew the lease; False when another live holder has it. Commits."""
    now = now_utc()
    expires = now + timedelta(seconds=seconds)
    taken = db.session.execute(
        sa.update(SchedulerLease)
        .where(
            SchedulerLease.name == name,
            sa.or_(SchedulerLease.holder == holder, SchedulerLease.expires_at < now),
        )
        .values(holder=holder, expires_at=expires)
    ).rowcount
    if taken:
        db.session.commit()
        return True
    exists = db.session.scalar(sa.select(SchedulerLease.name).where(SchedulerLease.name == name))
    if exists is not None:
        db.session.rollback()
        return False
    try:
        db.session.add(SchedulerLease(name=name, holder=holder, expires_at=expires))
        db.session.commit()
    except IntegrityError:  # another process inserted it first
        db.session.rollback()
        return False
    return True


def release_lease(holder: str, name: str = LEASE_NAME) -> None:
    """Give the lease up at a clean shutdown so a standby takes over at once. Commits."""
    db.session.execute(
        sa.delete(SchedulerLease).where(SchedulerLease.name == name, SchedulerLease.holder == holder)
    )
    db.session.commit()


@dataclass(frozen=True)
class Job:
    """A timed job: its name, what it runs, and every how many seconds."""

    name: str
    run: Callable[[], object]
    every_seconds: int


def _housekeeping() -> int:
    from legalaid.auth.services import purge_old_records

    return purge_old_records()


def _no_shows() -> int:
    from legalaid.bookings.services import mark_no_shows

    return mark_no_shows()


def _send_due() -> object:
    from legalaid.reminders.services import sweep

    return sweep()


# Later features add their jobs here (reminder enqueueing, retention …).
JOBS: dict[str, Job] = {
    "send_due": Job("send_due", _send_due, every_seconds=60),
    "housekeeping": Job("housekeeping", _housekeeping, every_seconds=3600),
    "no_shows": Job("no_shows", _no_shows, every_seconds=1800),
}


def run_job(app: Flask, name: str) -> object:
    """Run one job in an app context and commit once; rolls back when it fails."""
    job = JOBS[name]
    with app.app_context():
        try:
            result = job.run()
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("job %s failed", name)
            raise
        finally:
            db.session.remove()
    log.info("job %s done: %s", name, result)
    return result


def serve(app: Flask, stop: threading.Event | None = None) -> None:
    """Hold the lease and run the jobs while holding it; idle while another process holds it."""
    stop = stop or threading.Event()
    holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
    seconds = app.config["SCHEDULER_LEASE_SECONDS"]
    scheduler: BackgroundScheduler | None = None
    log.info("scheduler %s starting", holder)
    try:
        while not stop.is_set():
            with app.app_context():
                try:
                    holding = acquire_lease(holder, seconds)
                except Exception:  # the database may be down for a moment; try again later
                    log.exception("scheduler lease check failed")
                    holding = False
                finally:
                    db.session.remove()
            if holding and scheduler is None:
                log.info("scheduler %s holds the lease; running jobs", holder)
                scheduler = BackgroundScheduler(timezone="UTC")
                for job in JOBS.values():
                    scheduler.add_job(
                        run_job,
                        "interval",
                        args=(app, job.name),
                        seconds=job.every_seconds,
                        id=job.name,
                        next_run_time=now_utc(),
                        max_instances=1,
                        coalesce=True,
                    )
                scheduler.start()
            elif not holding and scheduler is not None:
                log.warning("scheduler %s lost the lease; stopping jobs", holder)
                scheduler.shutdown(wait=True)
                scheduler = None
            elif not holding:
                log.debug("scheduler %s on standby", holder)
            stop.wait(seconds / 3)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=True)
            with app.app_context():
                release_lease(holder)
                db.session.remove()
        log.info("scheduler %s stopped", holder)


def serve_until_signalled(app: Flask) -> None:
    """Run `serve` until SIGINT or SIGTERM."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    serve(app, stop)
