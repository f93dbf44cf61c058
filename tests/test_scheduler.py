"""One scheduler runs the jobs: a PostgreSQL advisory lock or a lock file beside the SQLite database
keeps a second copy waiting, and the holder's death lets the second one take over."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from legalaid import scheduler
from legalaid.dates import now_utc
from legalaid.extensions import db
from legalaid.reminders import services as outbox
from legalaid.reminders.models import SENT, OutboxMessage

ROOT = Path(__file__).resolve().parent.parent


def test_only_one_guard_at_a_time_and_release_lets_the_next_in(app):
    first, second = scheduler.guard_for(app), scheduler.guard_for(app)
    assert first.acquire()
    try:
        assert not second.acquire()
        assert first.still_held()
    finally:
        first.release()
    assert second.acquire()
    second.release()


def test_serve_runs_jobs_while_holding_the_guard_and_records_the_run(app_factory, monkeypatch):
    app = app_factory(SCHEDULER_POLL_SECONDS=0.2)
    ran = threading.Event()
    monkeypatch.setattr(scheduler, "JOBS", {"probe": scheduler.Job("probe", ran.set, every_seconds=3600)})
    stop = threading.Event()
    worker = threading.Thread(target=scheduler.serve, args=(app, stop))
    worker.start()
    try:
        assert ran.wait(10), "the job did not run"
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with app.app_context():
                run = scheduler.last_runs().get("probe")
                db.session.remove()
            if run is not None:
                break
            time.sleep(0.1)
        assert run is not None and run.ok and run.holder == scheduler.holder_name()
    finally:
        stop.set()
        worker.join(10)
    with app.app_context():  # a clean stop gives the guard back
        guard = scheduler.guard_for(app)
        assert guard.acquire()
        guard.release()


def test_a_failing_job_is_recorded(app, monkeypatch):
    def boom():
        raise RuntimeError("no")

    monkeypatch.setitem(scheduler.JOBS, "boom", scheduler.Job("boom", boom, every_seconds=60))
    with contextlib.suppress(RuntimeError):
        scheduler.run_job(app, "boom")
    run = scheduler.last_runs()["boom"]
    assert not run.ok and run.result == "RuntimeError"


def _queue(n: int, prefix: str) -> None:
    for i in range(n):
        outbox.enqueue(
            kind="test",
            channel="log",
            recipient_type="veteran",
            recipient_id=None,
            address="13812345678",
            template="test",
            params={"station": "解放区站"},
            due_at=now_utc() - timedelta(seconds=1),
            dedupe_key=f"{prefix}{i}",
        )
    db.session.commit()


def _scheduler_process(database_url: str, instance: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "LEGALAID_ENV": "test",
        "DATABASE_URL": database_url,
        "LEGALAID_INSTANCE_PATH": str(instance),
        "SCHEDULER_POLL_SECONDS": "1",
        "SCHEDULER_INTERVALS": json.dumps({"send_due": 1, "enqueue_reminders": 3600, "no_shows": 3600}),
        # No quiet hours here: the test must pass at any hour of the day.
        "REMINDER_TIMES": json.dumps({"quiet_start": "00:00", "quiet_end": "00:00"}),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "scheduler", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for(condition, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        db.session.expire_all()
        if condition():
            return True
        time.sleep(0.25)
    return False


def _senders() -> dict[str, int]:
    rows = db.session.execute(
        sa.select(OutboxMessage.claimed_by, sa.func.count())
        .where(OutboxMessage.status == SENT)
        .group_by(OutboxMessage.claimed_by)
    )
    return {holder.rsplit(":", 1)[1]: n for holder, n in rows.all()}


def test_two_scheduler_processes_only_one_sweeps_and_the_other_takes_over(app, database_url, tmp_path):
    _queue(3, "before")
    first = _scheduler_process(database_url, tmp_path)
    second = None
    try:
        assert _wait_for(lambda: _senders() == {str(first.pid): 3}), _senders()
        second = _scheduler_process(database_url, tmp_path)
        time.sleep(4)  # the second one tries the lock every second meanwhile
        _queue(2, "while-both")
        assert _wait_for(lambda: _senders() == {str(first.pid): 5}), _senders()
        assert second.poll() is None  # still there, waiting
        first.kill()  # dies without letting go: the OS or the database server frees the lock
        first.wait(10)
        _queue(4, "after")
        assert _wait_for(lambda: _senders().get(str(second.pid)) == 4), _senders()
        assert _senders() == {str(first.pid): 5, str(second.pid): 4}
        second.send_signal(signal.SIGTERM)
        assert second.wait(20) == 0
        output = second.stdout.read()
        assert (
            "waits: another scheduler holds the lock" in output and "holds the lock; running jobs" in output
        )
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(10)
    lines = (tmp_path / "outbox.log").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 9  # nine messages, each written once


def test_jobs_run_by_hand_from_the_cli(runner):
    result = runner.invoke(args=["jobs", "run", "housekeeping"])
    assert result.exit_code == 0, result.output
    assert "housekeeping: 0" in result.output
