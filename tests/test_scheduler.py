"""One scheduler runs the jobs; a second one idles until the first one's lease lapses."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import time_machine

from legalaid import scheduler
from legalaid.extensions import db


def test_only_one_holder_at_a_time(app):
    assert scheduler.acquire_lease("host-a:1", 60)
    assert not scheduler.acquire_lease("host-b:2", 60)
    assert scheduler.acquire_lease("host-a:1", 60)  # renewing is fine


def test_a_standby_takes_over_when_the_lease_lapses(app):
    start = datetime(2026, 3, 3, 1, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        assert scheduler.acquire_lease("host-a:1", 60)
    with time_machine.travel(start + timedelta(seconds=59), tick=False):
        assert not scheduler.acquire_lease("host-b:2", 60)
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        assert scheduler.acquire_lease("host-b:2", 60)
        assert not scheduler.acquire_lease("host-a:1", 60)


def test_release_lets_the_standby_in_at_once(app):
    assert scheduler.acquire_lease("host-a:1", 60)
    scheduler.release_lease("host-a:1")
    assert scheduler.acquire_lease("host-b:2", 60)


def test_two_scheduler_processes_race_and_one_wins(app_factory):
    apps = [app_factory(), app_factory()]
    results: list[bool] = []

    def contend(application, holder):
        with application.app_context():
            results.append(scheduler.acquire_lease(holder, 60))
            db.session.remove()

    threads = [threading.Thread(target=contend, args=(a, f"h{i}")) for i, a in enumerate(apps)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, True]


def test_serve_runs_jobs_while_holding_the_lease(app_factory, monkeypatch):
    app = app_factory(SCHEDULER_LEASE_SECONDS=3)
    ran = threading.Event()
    monkeypatch.setitem(scheduler.JOBS, "probe", scheduler.Job("probe", ran.set, every_seconds=3600))
    stop = threading.Event()
    worker = threading.Thread(target=scheduler.serve, args=(app, stop))
    worker.start()
    try:
        assert ran.wait(10), "the job did not run"
    finally:
        stop.set()
        worker.join(10)
    with app.app_context():  # a clean stop gives the lease back
        assert scheduler.acquire_lease("someone-else", 60)


def test_jobs_run_by_hand_from_the_cli(runner):
    result = runner.invoke(args=["jobs", "run", "housekeeping"])
    assert result.exit_code == 0, result.output
    assert "housekeeping: 0" in result.output


def test_a_second_scheduler_process_idles_while_the_first_runs(app_factory, monkeypatch):
    first_app, second_app = app_factory(SCHEDULER_LEASE_SECONDS=3), app_factory(SCHEDULER_LEASE_SECONDS=3)
    runs: list[str] = []
    ran = threading.Event()

    def probe():
        runs.append(threading.current_thread().name)
        ran.set()

    monkeypatch.setitem(scheduler.JOBS, "probe", scheduler.Job("probe", probe, every_seconds=3600))
    first_stop, second_stop = threading.Event(), threading.Event()
    first = threading.Thread(target=scheduler.serve, args=(first_app, first_stop), name="first")
    first.start()
    try:
        assert ran.wait(10)
        second = threading.Thread(target=scheduler.serve, args=(second_app, second_stop), name="second")
        second.start()
        second_stop.wait(2.5)  # the standby polls the lease a few times meanwhile
        assert len(runs) == 1  # the job ran once, in the first process only
        with second_app.app_context():
            lease = db.session.get(scheduler.SchedulerLease, scheduler.LEASE_NAME)
            assert lease is not None and lease.holder.count(":") == 2
            db.session.remove()
    finally:
        first_stop.set()
        first.join(10)
        second_stop.set()
        second.join(10)
