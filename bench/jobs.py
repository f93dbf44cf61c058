"""The benchmark's work inside the application: `python -m bench.jobs NAME [JSON]` runs one job in an app
context of the database in DATABASE_URL and prints one JSON line (with its seconds and the process's peak
memory). Started by `bench.run` as a separate process each, so each job's peak memory is its own.

Jobs that would change the data for good (roster generation, retention) roll back at the end: they are
measured with every row written and flushed, and a kept database gives the same figures next time.
"""

from __future__ import annotations

import itertools
import json
import resource
import secrets
import sys
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from datetime import time as wall
from typing import Any

import sqlalchemy as sa

from legalaid import create_app
from legalaid.extensions import db

BENCH_PREFIX = "bench-"


def peak_mb() -> float:
    """This process's peak resident memory in MB (Linux gives ru_maxrss in KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _today() -> date:
    from legalaid.dates import local_today

    return local_today()


def generated(_: dict) -> dict:
    """Whether the generator's accounts are there (the data need not be generated again)."""
    from legalaid.generate import PREFIX

    taken = db.session.scalar(
        sa.text("SELECT count(*) FROM users WHERE username LIKE :p"), {"p": PREFIX + "%"}
    )
    return {"generated": bool(taken)}


def setup(_: dict) -> dict:
    """A fresh administrator for this run, and what the pages under load are asked for."""
    from legalaid.access import ADMIN
    from legalaid.auth import services as accounts

    username = f"{BENCH_PREFIX}admin-{secrets.token_hex(3)}"
    password = secrets.token_urlsafe(18)
    accounts.create_user(username, "Benchmark", ADMIN, password)
    station_id = db.session.scalar(sa.text("SELECT min(id) FROM stations WHERE name NOT LIKE 'bench%'"))
    today = _today()
    busy_day = db.session.scalar(
        sa.text("SELECT max(held_on) FROM consultations WHERE station_id = :s AND held_on < :t"),
        {"s": station_id, "t": today},
    )
    lawyer_id, category = db.session.execute(
        sa.text(
            "SELECT lawyer_id, category FROM consultations WHERE station_id = :s "
            "GROUP BY lawyer_id, category ORDER BY count(*) DESC LIMIT 1"
        ),
        {"s": station_id},
    ).one()
    from legalaid.api import services as api
    from legalaid.api.models import SCOPES, ApiKey

    key, api_key = api.create_key(f"{BENCH_PREFIX}api-{secrets.token_hex(3)}", list(SCOPES))
    # The load is far above any real key's calls a minute: the limit stays out of the measure.
    db.session.execute(sa.update(ApiKey).where(ApiKey.id == key.id).values(rate_per_minute=2_000_000_000))
    total = int(db.session.scalar(sa.text("SELECT count(*) FROM consultations")) or 0)
    first_year = db.session.scalar(sa.text("SELECT min(held_on) FROM consultations"))
    year = today.year - 1 if first_year and first_year.year < today.year else today.year
    db.session.commit()
    return {
        "username": username,
        "password": password,
        "api_key": api_key,
        "today": today.isoformat(),
        "station_id": station_id,
        "busy_day": busy_day.isoformat() if busy_day else today.isoformat(),
        "lawyer_id": lawyer_id,
        "category": category,
        "consultations": total,
        "deep_page": max(1, min(100_000, total // 50)),
        "year": year,
        "stations": int(db.session.scalar(sa.text("SELECT count(*) FROM stations")) or 0),
        "station_ids": list(
            db.session.scalars(
                sa.text("SELECT id FROM stations WHERE name NOT LIKE 'bench%' ORDER BY id LIMIT 100")
            )
        ),
    }


def rush_open(args: dict) -> dict:
    """Open a new duty day (by hand, as an extra day) at a station, with its slots; returns its places.

    The day is one the public may book now (inside the station's booking window); a kept database whose
    station has no such day left (each run opens one) is given the next station's."""
    from legalaid.lawyers.models import Lawyer
    from legalaid.roster import services as roster
    from legalaid.stations.models import Station

    today = _today()
    candidates = db.session.scalars(
        sa.select(Station).where(Station.id >= int(args["station_id"])).order_by(Station.id)
    ).all()
    for station in candidates:
        lawyers = db.session.scalars(
            sa.select(Lawyer).where(Lawyer.station_id == station.id, Lawyer.active)
        ).all()
        for ahead in range(2, station.booking_window_days + 1):
            day = today + timedelta(days=ahead)
            if (
                roster.shift_on(station, day)
                or roster.closed_days(station, day, day)
                or roster.uncovered_years(station, day, day)
            ):
                continue
            lawyer = next((lw for lw in lawyers if lw.under_contract_on(day)), None)
            if lawyer is None:
                continue
            return _open_for_rush(station, day, lawyer, args)
    raise SystemExit("no free day found for the booking rush")


def _open_for_rush(station: Any, day: date, lawyer: Any, args: dict) -> dict:
    from legalaid.bookings import planning
    from legalaid.roster import services as roster

    shift = roster.set_shift_lawyer(station, day, lawyer, "benchmark: booking rush")
    slots = planning.slots_of(shift)
    if not slots:
        slots = planning.plan_slots(shift)
    if args.get("places"):
        # The station's own plan may hold only a few places a day: the rush races for a set number.
        places = int(args["places"])
        per_slot = -(-places // len(slots))
        for slot in slots:
            slot.capacity = per_slot
        db.session.execute(
            sa.text("UPDATE shift_quotas SET public_capacity = :n WHERE shift_id = :s"),
            {"n": places, "s": shift.id},
        )
    db.session.commit()
    public = db.session.scalar(
        sa.text("SELECT public_capacity FROM shift_quotas WHERE shift_id = :s"), {"s": shift.id}
    )
    return {
        "station_id": station.id,
        "shift_id": shift.id,
        "day": day.isoformat(),
        "slot_ids": [slot.id for slot in slots],
        "places": sum(slot.capacity for slot in slots),
        "public_places": public,
    }


def rush_check(args: dict) -> dict:
    """The rush's day: bookings held, and every rule of no overbooking (all zero when it held)."""
    shift = int(args["shift_id"])
    one = {"s": shift}

    def count(query: str) -> int:
        return int(db.session.scalar(sa.text(query), one) or 0)

    return {
        "bookings": count("SELECT count(*) FROM bookings WHERE shift_id = :s AND status <> 'cancelled'"),
        "over_capacity": count("SELECT count(*) FROM slots WHERE shift_id = :s AND booked > capacity"),
        "count_differs": count(
            "SELECT count(*) FROM slots s WHERE s.shift_id = :s AND s.booked <> (SELECT count(*) "
            "FROM bookings b WHERE b.slot_id = s.id AND b.status <> 'cancelled')"
        ),
        "quota_broken": count(
            "SELECT count(*) FROM shift_quotas q WHERE q.shift_id = :s "
            "AND (q.public_booked > q.public_capacity OR q.public_booked <> (SELECT count(*) "
            "FROM bookings b WHERE b.shift_id = q.shift_id "
            "AND b.status <> 'cancelled' AND b.uses_public_quota = true))"
        ),
        "places": count("SELECT coalesce(sum(capacity), 0) FROM slots WHERE shift_id = :s"),
    }


def export(args: dict) -> dict:
    """The consultation log's export (no filter, numbers masked) of up to `rows` rows, as the page does."""
    from legalaid.reports import exports
    from legalaid.reports import services as reports

    rows = int(args.get("rows", 100_000))
    fmt = args.get("format", "csv")
    started = time.perf_counter()
    body_rows = itertools.islice(reports.iter_log(reports.LogFilter()), rows)
    header, body = exports.log_table(body_rows)
    counted = exports.Counted(body)
    if fmt == "csv":
        file = exports.csv_file(header, counted)
    else:
        file = exports.xlsx_file([("Consultations", header, counted)])
    size = len(file.read())
    return {"seconds": time.perf_counter() - started, "rows": counted.n, "bytes": size}


def roster_generate(args: dict) -> dict:
    """The rotation for `stations` stations × `weeks` weeks from tomorrow (rolled back afterwards)."""
    from legalaid.roster import services as roster
    from legalaid.stations import services as stations

    weeks = int(args.get("weeks", 52))
    chosen = stations.list_stations()[: int(args.get("stations", 100))]
    start = _today() + timedelta(days=1)
    end = start + timedelta(weeks=weeks) - timedelta(days=1)
    for station in chosen:  # a year the holiday data lacks must be confirmed first (not timed)
        for year in roster.uncovered_years(station, start, end):
            roster.confirm_year(station, year, without_closures=True)
    db.session.flush()
    started = time.perf_counter()
    changed = 0
    for station in chosen:
        preview = roster.apply_rotation(station, start, end)
        changed += sum(c.kind in ("add", "change", "remove") for c in preview.changes)
    db.session.flush()
    seconds = time.perf_counter() - started
    db.session.rollback()
    return {"seconds": seconds, "stations": len(chosen), "weeks": weeks, "changed": changed}


def _sweep_moment(now: datetime) -> datetime:
    """The last 10:00 in the default station zone: outside the quiet hours, whatever the real hour."""
    from legalaid.dates import local_to_utc, to_local

    local = to_local(now)
    moment = local_to_utc(local.date(), wall(10, 0))
    return moment if moment <= now else moment - timedelta(days=1)


def sweep(args: dict) -> dict:
    """Queue `messages` due messages and time one sweep that sends them through the log sender."""
    from legalaid.dates import now_utc
    from legalaid.reminders import services as outbox

    count = int(args.get("messages", 10_000))
    moment = _sweep_moment(now_utc())
    run = secrets.token_hex(4)
    for i in range(count):
        outbox.enqueue(
            kind="booking_confirmed",
            channel="sms",
            recipient_type="veteran",
            recipient_id=None,
            address=f"139{i:08d}",
            template="booking_confirmed",
            params={"name": "测试", "code": "BENCH1"},
            due_at=moment - timedelta(minutes=1),
            dedupe_key=f"{BENCH_PREFIX}{run}-{i}",
        )
    db.session.commit()
    started = time.perf_counter()
    report = outbox.sweep(now=moment)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "queued": count, "sent": report.sent, "failed": report.failed}


def retention(args: dict) -> dict:
    """The retention job over the whole history, with every station keeping `keep_years` (rolled back)."""
    from legalaid.privacy import retention as job

    keep = int(args.get("keep_years", 1))
    db.session.execute(sa.text("UPDATE stations SET retention_years = :y"), {"y": keep})
    db.session.flush()
    started = time.perf_counter()
    result = job.run()
    db.session.flush()
    seconds = time.perf_counter() - started
    erased: dict[str, int] = {}
    for part in result.as_dict()["stations"]:
        for kind, n in part["counts"].items():
            erased[kind] = erased.get(kind, 0) + int(n)
    db.session.rollback()
    return {"seconds": seconds, "erased": erased}


JOBS: dict[str, Callable[[dict], dict]] = {
    "generated": generated,
    "setup": setup,
    "rush-open": rush_open,
    "rush-check": rush_check,
    "export": export,
    "roster": roster_generate,
    "sweep": sweep,
    "retention": retention,
}


def main(argv: list[str]) -> None:
    """Run the job named in argv[1] with the JSON arguments in argv[2]; print its JSON answer."""
    name = argv[1]
    args: dict[str, Any] = json.loads(argv[2]) if len(argv) > 2 else {}
    app = create_app()
    with app.test_request_context("/"):
        answer = JOBS[name](args)
        db.session.remove()
    answer["peak_mb"] = round(peak_mb(), 1)
    print("BENCH " + json.dumps(answer, ensure_ascii=False, default=str), flush=True)


if __name__ == "__main__":
    main(sys.argv)
