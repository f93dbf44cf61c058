"""Command-line tools: `flask --app wsgi users|stations|demo|jobs|scheduler|reminders|bookings …`."""

from __future__ import annotations

import logging
import sys
from datetime import date

import click
from flask import Flask, current_app

from legalaid import demo, scheduler
from legalaid.auth import services as accounts
from legalaid.auth.models import ROLES
from legalaid.dates import EARLIEST_DAY, LATEST_DAY, is_supported_day
from legalaid.errors import DomainError
from legalaid.stations import services as stations
from legalaid.transaction import CommandGroup

users_cli = CommandGroup("users", help="Manage accounts.")
stations_cli = CommandGroup("stations", help="Manage stations.")
demo_cli = CommandGroup("demo", help="Demo data.")
jobs_cli = CommandGroup("jobs", help="Run a scheduled job once, by hand.")
scheduler_cli = CommandGroup("scheduler", help="The scheduler process.")
reminders_cli = CommandGroup("reminders", help="Reminders and the outbox.")
bookings_cli = CommandGroup("bookings", help="Bookings.")
roster_cli = CommandGroup("roster", help="The duty roster.")
lawyers_cli = CommandGroup("lawyers", help="Lawyers.")
report_cli = CommandGroup("report", help="Reports: the same figures as the administrator's pages.")
privacy_cli = CommandGroup("privacy", help="Personal data: retention.")
keys_cli = CommandGroup("keys", help="The keys that encrypt personal data (DATA_KEYS, DATA_HASH_KEY).")


class Day(click.DateTime):
    """A YYYY-MM-DD date in the years the application works with (2000–2100), as a `date`."""

    name = "date"

    def __init__(self) -> None:
        super().__init__(formats=["%Y-%m-%d"])

    def convert(self, value, param, ctx):  # noqa: ANN001, ANN201
        """Read the date; refuse one outside 2000–2100 with a plain message."""
        day = value if isinstance(value, date) else super().convert(value, param, ctx).date()
        if not is_supported_day(day):
            self.fail(f"{day.isoformat()} is not between {EARLIEST_DAY} and {LATEST_DAY}.", param, ctx)
        return day


DAY = Day()


def _station_or_fail(station_id: int):
    station = stations.get_station(station_id)
    if station is None:
        raise click.ClickException(f"No station with id {station_id}.")
    return station


@roster_cli.command("generate")
@click.option("--station", "station_id", type=int, required=True)
@click.option("--start", type=DAY, required=True)
@click.option("--weeks", type=click.IntRange(1, 104), required=True)
@click.option("--dry-run", is_flag=True, help="Show what would change without saving.")
def roster_generate(station_id: int, start, weeks: int, dry_run: bool) -> None:
    """Generate the rotation for some weeks (past and hand-set shifts are kept)."""
    from datetime import timedelta

    from legalaid.roster import services as roster

    station = _station_or_fail(station_id)
    first = start
    last = first + timedelta(weeks=weeks) - timedelta(days=1)
    try:
        preview = (roster.preview_rotation if dry_run else roster.apply_rotation)(station, first, last)
    except DomainError as error:
        _fail(error)
    for change in preview.changes:
        old = change.old_lawyer.name if change.old_lawyer else "-"
        new = change.new_lawyer.name if change.new_lawyer else "-"
        click.echo(f"{change.day.isoformat()}  {change.kind:<8} {old} -> {new}")
    counts = ", ".join(f"{preview.lawyers[i].name} {n}" for i, n in sorted(preview.counts.items()))
    click.echo(f"shifts per lawyer {first}..{last}: {counts}")
    if dry_run:
        click.echo("dry run: nothing saved")
    else:
        changed = sum(c.kind in ("add", "change", "remove") for c in preview.changes)
        click.echo(f"saved: {changed} days added or changed")


@roster_cli.command("show")
@click.option("--station", "station_id", type=int, required=True)
@click.option("--start", type=DAY, required=True)
@click.option("--end", type=DAY, required=True)
@click.option("--format", "fmt", type=click.Choice(["csv"]), default="csv")
def roster_show(station_id: int, start, end, fmt: str) -> None:
    """Print the shifts of a date range as CSV: date,lawyer_id,lawyer_name,source."""
    import csv

    from legalaid.roster import services as roster

    station = _station_or_fail(station_id)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["date", "lawyer_id", "lawyer_name", "source"])
    writer.writerows(roster.roster_rows(station, start, end))


@roster_cli.command("close")
@click.option("--station", "station_id", type=int, required=True)
@click.option("--date", "day", type=DAY, required=True)
@click.option("--reason", default="")
@click.option("--open", "reopen", is_flag=True, help="Re-open a statutory holiday instead.")
@click.option("--dry-run", is_flag=True, help="Show who the closure affects without saving.")
def roster_close(station_id: int, day, reason: str, reopen: bool, dry_run: bool) -> None:
    """Close a date for a station (or re-open a holiday): who it affects is printed; the booked people
    and the lawyer are told, as from the closures page."""
    from legalaid.roster import closing
    from legalaid.roster import services as roster

    station = _station_or_fail(station_id)
    if reopen:
        roster.set_closure(station, day, False, reason)
        click.echo(f"{day.isoformat()}: open")
        return
    impact = closing.closure_impact(station, day)
    if impact.shift is not None:
        click.echo(f"duty lawyer: {impact.shift.lawyer.name} (duty off, told)")
    for booking in impact.bookings:
        click.echo(f"booking {booking.code} {booking.slot.starts_at.isoformat()} (cancelled, told)")
    for walkin in impact.walkins:
        click.echo(f"walk-in {walkin.label} (withdrawn)")
    if dry_run:
        click.echo("dry run: nothing saved")
        return
    try:
        closing.close_day(station, day, reason)
    except DomainError as error:
        _fail(error)
    click.echo(f"{day.isoformat()}: closed; {len(impact.bookings)} bookings cancelled")


@roster_cli.command("confirm-year")
@click.option("--station", "station_id", type=int, required=True)
@click.option("--year", type=click.IntRange(2000, 2100), required=True)
@click.option(
    "--no-closures",
    "without_closures",
    is_flag=True,
    help="Confirm although no closed day is entered for the year (the station closes on no holiday).",
)
def roster_confirm_year(station_id: int, year: int, without_closures: bool) -> None:
    """Confirm a year the holiday data lacks, after entering its closures (roster close --date …)."""
    from legalaid.roster import services as roster

    try:
        roster.confirm_year(_station_or_fail(station_id), year, without_closures=without_closures)
    except DomainError as error:
        if error.field == roster.NO_CLOSURES:
            raise click.ClickException(
                f"No closures are entered for {year}. Enter its statutory holidays first "
                f"(roster close --station {station_id} --date YYYY-MM-DD --reason …), or, if the station "
                "really closes on no day that year, run this again with --no-closures."
            ) from None
        _fail(error)
    click.echo(f"{year} confirmed")


@lawyers_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--station", "station_id", type=int, required=True)
def lawyers_import(file: str, station_id: int) -> None:
    """Import lawyers from a CSV or XLSX file; nothing is imported unless every row is valid."""
    from pathlib import Path

    from legalaid.lawyers import services as lawyers

    station = _station_or_fail(station_id)
    path = Path(file)
    try:
        count, problems = lawyers.import_lawyers(station, lawyers.read_rows(path.name, path.read_bytes()))
    except DomainError as error:
        _fail(error)
    if problems:
        for problem in problems:
            click.echo(f"line {problem.line}: {problem.message}", err=True)
        raise click.ClickException("nothing imported")
    click.echo(f"{count} lawyers imported")


def _fail(error: DomainError) -> None:
    """Stop the command with the service's reason (the command's unit of work rolls back)."""
    raise click.ClickException(error.message)


@users_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--name", "display_name", default="", help="Full name shown in the pages.")
@click.option("--station", "station_id", type=int, default=None, help="Station id for staff and lawyers.")
@click.option("--email", default="", help="Where notices for this person go.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_create(
    username: str, role: str, display_name: str, station_id: int | None, email: str, password_stdin: bool
) -> None:
    """Create an account; the password is read from standard input or asked for."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = accounts.create_user(
            username, display_name or username, role, password, station_id=station_id, email=email
        )
    except DomainError as error:
        _fail(error)
    click.echo(user.id)


@stations_cli.command("create")
@click.argument("name")
@click.option("--address", default="", help="Street address of the service hall.")
def stations_create(name: str, address: str) -> None:
    """Add a station with the default settings and print its id."""
    try:
        station = stations.create_station(stations.StationSettings(name=name, address=address))
    except DomainError as error:
        _fail(error)
    click.echo(station.id)


@stations_cli.command("list")
def stations_list() -> None:
    """Print every station as `id<TAB>name`."""
    for station in stations.list_stations():
        click.echo(f"{station.id}\t{station.name}")


@demo_cli.command("load")
@click.option("--if-empty", is_flag=True, help="Only load into a database with no stations or accounts.")
def demo_load(if_empty: bool) -> None:
    """Load the demo station and accounts (running it again adds nothing twice)."""
    if current_app.config.get("ENV_NAME") == "production":
        raise click.ClickException("Demo data has published passwords: it is never loaded in production.")
    if if_empty and demo.has_data():
        click.echo("Database already has data; demo data not loaded.")
        return
    added = demo.load()
    click.echo("Demo data loaded: " + ", ".join(added) if added else "Demo data already present.")


@demo_cli.command("generate")
@click.option("--stations", type=click.IntRange(1, 1000), default=2, show_default=True)
@click.option("--years", type=click.IntRange(1, 20), default=1, show_default=True)
@click.option("--per-station-year", type=click.IntRange(1, 20_000), default=200, show_default=True,
              help="Consultations per station and year.")  # fmt: skip
@click.option("--seed", type=int, default=2026, show_default=True, help="The same seed makes the same data.")
def demo_generate(stations: int, years: int, per_station_year: int, seed: int) -> None:
    """Fill the database with province-scale data by bulk inserts (refused when already generated); one
    unit of work: all of it is saved, or nothing."""
    import time

    from legalaid import generate

    if current_app.config.get("ENV_NAME") == "production":
        raise click.ClickException("Generated data is not real: it is never written in production.")
    sizes = generate.Sizes(stations=stations, years=years, per_station_year=per_station_year, seed=seed)
    click.echo(f"Generating {stations} stations × {years} years × {per_station_year} consultations a year …")
    started = time.perf_counter()
    try:
        result = generate.generate(sizes, say=click.echo)
    except generate.GenerateError as error:
        raise click.ClickException(str(error)) from None
    seconds = time.perf_counter() - started
    rows = sum(result.out.counts.values())
    for line in generate.summary(dict(result.out.counts), dict(result.out.seconds)):
        click.echo(line)
    click.echo(
        f"{rows:,} rows in {seconds:.1f} s ({rows / max(seconds, 1e-9):,.0f} rows/s; "
        f"encryption {result.encrypt_seconds:.1f} s, writing {sum(result.out.seconds.values()):.1f} s)."
    )


@report_cli.command("annual")
@click.argument("year", type=click.IntRange(2000, 2100))
@click.option("--station", "station_id", type=int, help="One station (default: all stations).")
@click.option("--format", "fmt", type=click.Choice(["json", "xlsx"]), default="json")
@click.option(
    "--output", type=click.Path(dir_okay=False), help="File for the XLSX (default annual-report-YEAR.xlsx)."
)
@click.option(
    "--locale", default="zh_Hans_CN", help="Language of the XLSX labels (zh_Hans_CN, zh_Hant_TW, en)."
)
def report_annual(year: int, station_id: int | None, fmt: str, output: str | None, locale: str) -> None:
    """Print the annual report's figures as JSON, or write them as XLSX (as on the report page)."""
    import json
    import shutil

    from flask_babel import force_locale

    from legalaid import audit
    from legalaid.reports import exports
    from legalaid.reports import services as reports

    if station_id is not None:
        _station_or_fail(station_id)
    report = reports.annual_report(year, station_id)
    details = {"report": "annual", "year": year, "station_id": station_id, "format": fmt, "via": "cli"}
    audit.record("report.export", details=details)
    if fmt == "json":
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    path = output or f"annual-report-{year}.xlsx"
    with (
        force_locale(locale),
        exports.xlsx_file(exports.annual_sheets(report)) as src,
        open(path, "wb") as dst,
    ):
        shutil.copyfileobj(src, dst)
    click.echo(f"written: {path}")


@demo_cli.command("accounts")
def demo_accounts() -> None:
    """Print the demo accounts that exist in this database."""
    for username, name, role, password in demo.DEMO_ACCOUNTS:
        if accounts.find_by_username(username) is not None:
            click.echo(f"  {role:<7} {username:<8} password: {password}   ({name})")


@jobs_cli.command("list")
def jobs_list() -> None:
    """Print the scheduled jobs."""
    for job in scheduler.JOBS.values():
        click.echo(f"{job.name}\tevery {job.every_seconds}s")


@jobs_cli.command("run")
@click.argument("name", type=click.Choice(sorted(scheduler.JOBS)))
def jobs_run(name: str) -> None:
    """Run one job now (safe even while the scheduler runs it too)."""
    _run_job(name)


def _run_job(name: str) -> None:
    result = scheduler.run_job(current_app._get_current_object(), name)  # type: ignore[attr-defined]
    click.echo(f"{name}: {result}")


@reminders_cli.command("send-due")
def reminders_send_due() -> None:
    """Send the messages that are due (the scheduler does this every minute; safe to run twice)."""
    _run_job("send_due")


@reminders_cli.command("enqueue")
def reminders_enqueue() -> None:
    """Queue every reminder whose time has come (the scheduler does this every minute; safe twice)."""
    _run_job("enqueue_reminders")


@bookings_cli.command("mark-no-shows")
def bookings_mark_no_shows() -> None:
    """Mark as no-show the bookings of shifts that have ended (safe to run twice)."""
    _run_job("no_shows")


@bookings_cli.command("plan-slots")
def bookings_plan_slots() -> None:
    """Make the slots of every duty day from today on that has none yet (days made before slots were
    made with the shift); safe to run twice."""

    from legalaid.bookings import planning

    planned = planning.plan_unplanned()
    click.echo(f"planned {planned} duty days")


@privacy_cli.command("retention")
@click.option("--dry-run", is_flag=True, help="List what would be erased (counts and ids); change nothing.")
@click.option("--station", "station_id", type=int, default=None, help="Only this station's records.")
def privacy_retention(dry_run: bool, station_id: int | None) -> None:
    """Erase the personal data past each station's retention (the daily job does it too; safe twice)."""
    from legalaid.privacy import retention

    if station_id is not None:
        _station_or_fail(station_id)
    result = retention.run(station_id=station_id, dry_run=dry_run)
    verb = "would erase" if dry_run else "erased"
    for part in result.as_dict()["stations"]:
        click.echo(
            f"station {part['station_id']}: records dated before {part['before']} "
            f"({part['years']} years) — {verb}:"
        )
        for kind, count in part["counts"].items():
            ids = part["ids"].get(kind)
            listed = f"  ids {', '.join(map(str, ids))}" if dry_run and ids else ""
            click.echo(f"  {kind:<14}{count:>6}{listed}")
    if station_id is None:
        ids = result.messages
        listed = f"  ids {', '.join(map(str, ids))}" if dry_run and ids else ""
        click.echo(f"messages emptied of their address and parameters — {verb}: {len(ids)}{listed}")


@scheduler_cli.command("run")
def scheduler_run() -> None:
    """Run the scheduler process (one holds the lock and runs the jobs; another copy waits)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s scheduler %(levelname)s %(message)s")
    scheduler.serve_until_signalled(current_app._get_current_object())  # type: ignore[attr-defined]


@keys_cli.command("new")
def keys_new() -> None:
    """Print a new key, for DATA_KEYS (put it first) or DATA_HASH_KEY."""
    from legalaid import crypto

    click.echo(crypto.new_key())


@keys_cli.command("rotate")
@click.option("--dry-run", is_flag=True, help="Count what would be re-encrypted without changing it.")
def keys_rotate(dry_run: bool) -> None:
    """Re-encrypt every stored value under the first of DATA_KEYS and re-index every mobile."""
    from legalaid.privacy import keys

    done = keys.rotate_all(dry_run=dry_run)
    for name, count in done.values.items():
        click.echo(f"{name}: {count}")
    verb = "would be" if dry_run else "were"
    click.echo(f"{done.total} values {verb} re-encrypted; {done.reindexed} people {verb} re-indexed.")


def register_cli(app: Flask) -> None:
    """Add the command groups to `flask`."""
    groups = (users_cli, stations_cli, demo_cli, jobs_cli, scheduler_cli, roster_cli, lawyers_cli)
    for group in (*groups, reminders_cli, bookings_cli, report_cli, privacy_cli, keys_cli):
        app.cli.add_command(group)
