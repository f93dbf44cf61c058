"""`make bench`: requests/s and latency of the pages that matter, under gunicorn, against a bare Flask
"hello" on the same setup; the heavy jobs timed; a booking rush; one Markdown table at the end.

Settings (environment):

- `BENCH_DATABASE_URL`: a database to use (and keep); by default a PostgreSQL database is created on
  `BENCH_POSTGRES_URL` (default `postgresql+psycopg://postgres@127.0.0.1:5432/postgres`) and dropped at the
  end unless `BENCH_KEEP=1`. The data is generated when the generator's accounts are missing.
- `BENCH_STATIONS`, `BENCH_YEARS`, `BENCH_PER_STATION_YEAR` (default 100 × 10 × 1000, the issue's size).
- `BENCH_SECONDS` per endpoint (10), `BENCH_CLIENTS` (8), `BENCH_RUSH_CLIENTS` (500) for
  `BENCH_RUSH_PLACES` (40),
  `BENCH_INSTANCES` (1; 2 runs two app instances on two ports behind the load), `BENCH_PORT` (8100),
  `BENCH_EXPORT_ROWS` (100000), `BENCH_SWEEP_MESSAGES` (10000), `BENCH_ROSTER_STATIONS` (100),
  `BENCH_ROSTER_WEEKS` (52).
- `BENCH_DIR` (default instance/bench): the instance folder of the generator and the timed jobs (the
  development secret and data keys, made once: a kept database stays readable by the next run), wrk's
  script and the servers' logs.

The servers run with production settings (`LEGALAID_ENV=production`, those keys passed in the
environment) and an instance folder that does not exist: after the loads the run checks that it still
does not, i.e. that a web host kept nothing on its local disk (issue 15 point 4).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import traceback
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
# The public pages' per-address and per-mobile limits would refuse a load from one address.
RAISED_LIMITS = {
    "PUBLIC_BOOKINGS_PER_ADDRESS_DAY": "100000000",
    "PUBLIC_BOOKINGS_PER_MOBILE_WEEK": "1000",
    "PUBLIC_CHANGES_PER_ADDRESS_DAY": "100000000",
    "PUBLIC_WALKINS_PER_ADDRESS_DAY": "100000000",
}
WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "p50": %.1f, "p95": %.1f, "p99": %.1f, '
    .. '"errors": %d, "bad_status": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), e.connect + e.read + e.write + e.timeout, e.status))
end
"""
PAGE_P95_MS = 100.0
REPORT_P95_MS = 200.0
KIOSK_SHARE = 25.0


@dataclass
class Settings:
    """What to measure and at what size, from the environment."""

    database_url: str | None
    postgres_url: str
    stations: int = 100
    years: int = 10
    per_station_year: int = 1000
    seconds: int = 10
    clients: int = 8
    rush_clients: int = 500
    rush_places: int = 40
    instances: int = 1
    port: int = 8100
    export_rows: int = 100_000
    sweep_messages: int = 10_000
    roster_stations: int = 100
    roster_weeks: int = 52
    keep: bool = False
    workdir: Path = ROOT / "instance" / "bench"

    @classmethod
    def from_env(cls, env: dict[str, str]) -> Settings:
        """Read the BENCH_… variables."""

        def number(name: str, default: int) -> int:
            value = env.get(name, "").strip()
            if not value:
                return default
            if not value.isdigit() or int(value) < 1:
                raise SystemExit(f"bench: {name} must be a whole number of at least 1, not {value!r}")
            return int(value)

        return cls(
            database_url=env.get("BENCH_DATABASE_URL") or None,
            postgres_url=env.get("BENCH_POSTGRES_URL") or DEFAULT_POSTGRES,
            stations=number("BENCH_STATIONS", 100),
            years=number("BENCH_YEARS", 10),
            per_station_year=number("BENCH_PER_STATION_YEAR", 1000),
            seconds=number("BENCH_SECONDS", 10),
            clients=number("BENCH_CLIENTS", 8),
            rush_clients=number("BENCH_RUSH_CLIENTS", 500),
            rush_places=number("BENCH_RUSH_PLACES", 40),
            instances=number("BENCH_INSTANCES", 1),
            port=number("BENCH_PORT", 8100),
            export_rows=number("BENCH_EXPORT_ROWS", 100_000),
            sweep_messages=number("BENCH_SWEEP_MESSAGES", 10_000),
            roster_stations=number("BENCH_ROSTER_STATIONS", 100),
            roster_weeks=number("BENCH_ROSTER_WEEKS", 52),
            keep=env.get("BENCH_KEEP", "") in ("1", "yes", "true"),
            workdir=Path(env.get("BENCH_DIR") or ROOT / "instance" / "bench"),
        )


# -- measuring and judging (pure: tested in tests/test_bench.py) ------------------------------------------


@dataclass
class Measure:
    """Throughput and latency of one endpoint under load."""

    rps: float
    p50: float
    p95: float
    p99: float
    requests: int = 0
    errors: int = 0


def parse_wrk(output: str) -> Measure:
    """The measure from wrk's output (the JSON line our Lua `done()` prints; latency in µs → ms)."""
    for line in output.splitlines():
        if line.startswith("BENCH "):
            data = json.loads(line[6:])
            seconds = data["duration_us"] / 1e6
            return Measure(
                rps=data["requests"] / seconds if seconds else 0.0,
                p50=data["p50"] / 1000,
                p95=data["p95"] / 1000,
                p99=data["p99"] / 1000,
                requests=data["requests"],
                errors=data["errors"] + data["bad_status"],
            )
    raise ValueError("wrk printed no BENCH line:\n" + output[-2000:])


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (nearest rank) of the values; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return float(ordered[int(min(rank, len(ordered))) - 1])


def measure_of(latencies_ms: Sequence[float], seconds: float) -> Measure:
    """The measure of a Python load: every request's latency over the run's seconds."""
    return Measure(
        rps=len(latencies_ms) / seconds if seconds else 0.0,
        p50=percentile(latencies_ms, 50),
        p95=percentile(latencies_ms, 95),
        p99=percentile(latencies_ms, 99),
        requests=len(latencies_ms),
    )


def combine(measures: Sequence[Measure]) -> Measure:
    """Several instances measured at once: throughputs add up, the latencies are the worst of them."""
    return Measure(
        rps=sum(m.rps for m in measures),
        p50=max(m.p50 for m in measures),
        p95=max(m.p95 for m in measures),
        p99=max(m.p99 for m in measures),
        requests=sum(m.requests for m in measures),
        errors=sum(m.errors for m in measures),
    )


@dataclass
class Row:
    """One line of the table."""

    name: str
    measure: Measure | None = None
    result: str = ""  # for a timed job: what it measured, in words
    target: str = ""
    met: bool | None = None
    note: str = ""


def page_row(name: str, measure: Measure, hello_rps: float, kind: str = "page") -> Row:
    """A page under load judged against its target: p95, and for the kiosk a share of hello."""
    limit = REPORT_P95_MS if kind == "report" else PAGE_P95_MS
    target = f"p95 ≤ {limit:.0f} ms"
    met = measure.p95 <= limit and measure.errors == 0
    if kind == "kiosk":
        target = f"≥ {KIOSK_SHARE:.0f} % of hello; " + target
        met = met and hello_rps > 0 and measure.rps / hello_rps * 100 >= KIOSK_SHARE
    note = f"{measure.errors} errors" if measure.errors else ""
    return Row(name, measure, target=target, met=met, note=note)


def fmt_number(value: float, digits: int = 1) -> str:
    """A number with thousands separators."""
    return f"{value:,.{digits}f}"


def markdown_table(rows: Iterable[Row], hello_rps: float) -> str:
    """The results as one Markdown table."""
    lines = [
        "| endpoint | req/s | % of hello | p50 ms | p95 ms | p99 ms | target | met? |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for row in rows:
        name = f"{row.name} ({row.note})" if row.note else row.name
        met = "—" if row.met is None else ("yes" if row.met else "**no**")
        if row.measure is None:
            lines.append(f"| {name} | {row.result} | | | | | {row.target} | {met} |")
            continue
        m = row.measure
        share = f"{m.rps / hello_rps * 100:.1f} %" if hello_rps else "—"
        lines.append(
            f"| {name} | {fmt_number(m.rps)} | {share} | {m.p50:.1f} | {m.p95:.1f} | {m.p99:.1f} "
            f"| {row.target} | {met} |"
        )
    return "\n".join(lines)


def bench_line(output: str) -> dict[str, Any]:
    """The JSON answer a bench.jobs or bench.load process printed."""
    for line in reversed(output.splitlines()):
        if line.startswith("BENCH "):
            return json.loads(line[6:])
    raise ValueError("no BENCH line in:\n" + output[-3000:])


# -- processes ---------------------------------------------------------------------------------------------


def say(text: str) -> None:
    """Progress, on stderr (the table alone goes to stdout)."""
    print(f"bench: {text}", file=sys.stderr, flush=True)


class Bench:
    """One run: the database, the servers, the loads and the table."""

    def __init__(self, settings: Settings) -> None:
        self.s = settings
        self.created_db: str | None = None
        self.servers: list[subprocess.Popen] = []
        self.app_servers: list[subprocess.Popen] = []
        self.rows: list[Row] = []
        self.memory: list[str] = []
        self.notes: list[str] = []
        self.hello_rps = 0.0
        self.cookie = ""
        self.env = dict(os.environ)

    # setting up

    def database(self) -> str:
        """The database under test: the one given, or a new PostgreSQL database."""
        if self.s.database_url:
            return self.s.database_url
        import sqlalchemy as sa

        name = f"legalaid_bench_{secrets.token_hex(4)}"
        url = sa.make_url(self.s.postgres_url)
        admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        self.created_db = name
        say(f"created database {name}")
        return url.set(database=name).render_as_string(hide_password=False)

    def drop_database(self) -> None:
        """Drop the database this run created, unless asked to keep it."""
        if not self.created_db:
            return
        if self.s.keep:
            say(f"kept database {self.created_db} (BENCH_DATABASE_URL=… reuses it)")
            return
        import sqlalchemy as sa

        admin = sa.create_engine(sa.make_url(self.s.postgres_url), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.created_db}" WITH (FORCE)'))
        admin.dispose()
        say(f"dropped database {self.created_db}")

    def prepare_env(self, url: str) -> None:
        """The environment of every process of the app: development settings, this database, the bench's
        own instance folder (its secret and data keys), the public limits raised."""
        self.s.workdir.mkdir(parents=True, exist_ok=True)
        self.s.workdir.chmod(0o700)
        self.env.update(
            LEGALAID_ENV="development",
            DATABASE_URL=url,
            LEGALAID_INSTANCE_PATH=str(self.s.workdir),
            SESSION_COOKIE_SECURE="0",
            KIOSK_ENROLMENT_REQUIRED="0",
            PYTHONPATH=str(ROOT),
            # One pepper for the jobs and the servers: the API key the setup job makes is the servers' too.
            API_KEY_PEPPER=secrets.token_hex(32),
            **RAISED_LIMITS,
        )

    @property
    def served_instance(self) -> Path:
        """The instance folder the app servers are given: it must never be created."""
        return self.s.workdir / "served-instance"

    def serve_env(self) -> dict[str, str]:
        """The servers' environment: production settings with the keys the data was written with."""
        workdir = self.s.workdir
        keys = json.loads((workdir / "data-keys.json").read_text())
        return {
            **self.env,
            "LEGALAID_ENV": "production",
            "SECRET_KEY": (workdir / "secret_key").read_text().strip(),
            "DATA_KEYS": keys["data_keys"],
            "DATA_HASH_KEY": keys["hash_key"],
            "LEGALAID_INSTANCE_PATH": str(self.served_instance),
        }

    def check_local_disk(self) -> None:
        """Say whether the app servers wrote anything under their instance folder."""
        folder = self.served_instance
        if folder.exists():
            written = sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))
            self.notes.append(f"**the app servers wrote to their local disk**: {folder}: {written}")
        else:
            self.notes.append(
                f"The app servers (production settings) wrote nothing to a local disk: their instance "
                f"folder ({folder}) was never created."
            )

    def flask(self, *args: str) -> str:
        """Run `flask --app wsgi …` for the app under test; its output."""
        done = subprocess.run(
            [PYTHON, "-m", "flask", "--app", "wsgi", *args],
            cwd=ROOT, env=self.env, capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(f"bench: flask {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done.stdout

    def job(self, name: str, **args: Any) -> dict[str, Any]:
        """Run one bench.jobs job in its own process; its answer, with the process's wall time."""
        started = time.perf_counter()
        done = subprocess.run(
            [PYTHON, "-m", "bench.jobs", name, json.dumps(args)],
            cwd=ROOT, env=self.env, capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"job {name} failed:\n{done.stdout[-2000:]}{done.stderr[-4000:]}")
        answer = bench_line(done.stdout)
        answer["wall_seconds"] = time.perf_counter() - started
        return answer

    def generate(self) -> None:
        """Generate the data unless the database already holds it."""
        if self.job("generated")["generated"]:
            say("the database already holds generated data: reused")
            return
        s = self.s
        say(f"generating {s.stations} stations × {s.years} years × {s.per_station_year} (this takes a while)")
        started = time.perf_counter()
        out = self.flask(
            "demo", "generate", "--stations", str(s.stations), "--years", str(s.years),
            "--per-station-year", str(s.per_station_year),
        )  # fmt: skip
        say(out.strip().splitlines()[-1] if out.strip() else "generated")
        self.notes.append(f"data generated in {time.perf_counter() - started:.0f} s")

    def serve(self, app: str, port: int, log: str) -> subprocess.Popen:
        """Start gunicorn with 2 workers on a port, and wait until it answers."""
        logfile = (self.s.workdir / log).open("w")
        proc = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}", app],
            cwd=ROOT, env=self.serve_env(), stdout=logfile, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.servers.append(proc)
        path = "/healthz" if app == "wsgi:app" else "/"
        for _ in range(150):
            if proc.poll() is not None:
                raise SystemExit(f"bench: gunicorn {app} stopped; see {self.s.workdir / log}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1)  # noqa: S310
                return proc
            except OSError:
                time.sleep(0.2)
        raise SystemExit(f"bench: gunicorn {app} does not answer on port {port}")

    def stop_servers(self) -> None:
        """Stop every gunicorn this run started (each in its own process group)."""
        for proc in self.servers:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.servers:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        self.servers.clear()
        self.app_servers.clear()

    def worker_memory(self) -> None:
        """The resident memory of each gunicorn worker of the app."""
        for index, proc in enumerate(self.app_servers):
            children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
            for pid in children:
                status = Path(f"/proc/{pid}/status").read_text()
                rss = re.search(r"VmRSS:\s+(\d+) kB", status)
                hwm = re.search(r"VmHWM:\s+(\d+) kB", status)
                if rss and hwm:
                    self.memory.append(
                        f"instance {index + 1} worker {pid}: {int(rss.group(1)) / 1024:.0f} MB resident "
                        f"(peak {int(hwm.group(1)) / 1024:.0f} MB)"
                    )

    # signing in

    def sign_in(self, base: str, username: str, password: str) -> str:
        """Sign the bench's administrator in once (enrolling its second factor); the Cookie header."""
        import pyotp

        from bench.load import Client, form_fields

        client = Client(base, record=False)
        _, _, page = client.request("GET", "/login")
        fields = {**form_fields(page), "username": username, "password": password, "submit": "1"}
        status, location, _ = client.request("POST", "/login", fields)
        if status not in (302, 303):
            raise SystemExit(f"bench: signing in as {username} failed ({status})")
        status, location, _ = client.request("GET", "/admin/statistics")
        if location.startswith("/account/two-step"):
            _, _, page = client.request("GET", "/account/two-step")
            found = re.search(r'id="totp-secret">([^<]+)<', page)
            if not found:
                raise SystemExit("bench: the two-step page shows no key")
            secret = found.group(1).replace(" ", "")
            fields = {**form_fields(page), "code": pyotp.TOTP(secret).now(), "submit": "1"}
            status, _, _ = client.request("POST", "/account/two-step", fields)
            status, location, _ = client.request("GET", "/admin/statistics")
        if status != 200:
            raise SystemExit(f"bench: the administrator's pages answer {status} {location}")
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items())

    # loads

    def bases(self) -> list[str]:
        """The app instances' addresses."""
        return [f"http://127.0.0.1:{self.s.port + i}" for i in range(self.s.instances)]

    def wrk(self, path: str, bases: list[str], cookie: str = "", header: str = "") -> Measure:
        """wrk on a path at the set concurrency, split over the instances, all at once."""
        script = self.s.workdir / "report.lua"
        script.write_text(WRK_SCRIPT)
        per = max(1, self.s.clients // len(bases))
        procs = []
        for base in bases:
            command = ["wrk", "-t2", f"-c{per}", f"-d{self.s.seconds}s", "--latency", "-s", str(script)]
            if cookie:
                command += ["-H", f"Cookie: {cookie}"]
            if header:
                command += ["-H", header]
            procs.append(subprocess.Popen([*command, base + path], stdout=subprocess.PIPE, text=True))
        return combine([parse_wrk(proc.communicate()[0]) for proc in procs])

    def probe(self, path: str, cookie: str) -> int:
        """The status a page answers with (no redirect followed): under load it must be 200."""
        from bench.load import Client

        client = Client(self.bases()[0], record=False)
        if cookie:
            client.cookies.update(dict(part.split("=", 1) for part in cookie.split("; ")))
        status, _, _ = client.request("GET", path)
        return status

    def page(self, name: str, path: str, kind: str = "page", cookie: str = "") -> None:
        """Measure one page and add its row."""
        status = self.probe(path, cookie)
        if status != 200:
            self.rows.append(Row(name, result=f"answered {status}", target="200", met=False, note=path))
            return
        say(f"{name}: {path}")
        self.rows.append(page_row(name, self.wrk(path, self.bases(), cookie), self.hello_rps, kind))

    def python_load(self, kind: str, **args: Any) -> dict[str, Any]:
        """A bench.load process (booking, lookup, rush); its JSON answer."""
        done = subprocess.run(
            [PYTHON, "-m", "bench.load", kind, json.dumps(args)],
            cwd=ROOT, env=self.env, capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"load {kind} failed:\n{done.stderr[-4000:]}")
        return bench_line(done.stdout)

    # the run

    def run(self) -> None:
        """Everything, in order; the servers are stopped and the database dropped whatever happens."""
        if not shutil.which("wrk"):
            raise SystemExit("bench: wrk is missing (apt-get install wrk; `make bench` installs it)")
        try:
            url = self.database()
            self.prepare_env(url)
            say("migrating")
            self.flask("db", "upgrade")
            self.generate()
            info = self.job("setup")
            if self.served_instance.exists():
                shutil.rmtree(self.served_instance)
            for stage in (lambda: self.measure_pages(info), self.timed_jobs):
                try:
                    stage()
                except Exception:  # what was measured is still printed, and the cause
                    traceback.print_exc()
                    self.notes.append("a stage of the run failed (traceback above): its rows are missing")
                    self.stop_servers()
        finally:
            self.stop_servers()
            self.drop_database()
        self.report()

    def measure_pages(self, info: dict[str, Any]) -> None:
        """The pages under load, the flows, the rush, and the workers' memory."""
        s = self.s
        hellos = [f"http://127.0.0.1:{s.port + 50 + i}" for i in range(s.instances)]
        for i in range(s.instances):
            self.serve("bench.hello:app", s.port + 50 + i, f"hello-{i + 1}.log")
        say("hello")
        hello = self.wrk("/", hellos)
        self.hello_rps = hello.rps
        self.rows.append(Row("bare Flask hello (same gunicorn setup)", hello, target="reference"))
        for i in range(s.instances):
            self.app_servers.append(self.serve("wsgi:app", s.port + i, f"app-{i + 1}.log"))
        cookie = self.sign_in(self.bases()[0], info["username"], info["password"])
        station = info["station_id"]
        from bench.load import Client

        _, _, days = Client(self.bases()[0], record=False).request("GET", f"/kiosk/days?station={station}")
        shift = re.search(r'href="/kiosk/day/(\d+)"', days)
        self.page("kiosk: day list", f"/kiosk/days?station={station}", "kiosk")
        if shift:
            self.page("kiosk: time page", f"/kiosk/day/{shift.group(1)}?station={station}", "kiosk")
        else:
            self.rows.append(Row("kiosk: time page", result="no bookable day", met=False))
        self.booking_and_lookup(info["station_ids"])
        self.page("hall display: poll", f"/duty/calling?station={station}", "kiosk")
        self.page("desk", f"/desk?station={station}", cookie=cookie)
        self.page("duty console (a busy past day)", f"/console?station={station}&date={info['busy_day']}",
                  cookie=cookie)  # fmt: skip
        self.page("consultation log: first page", "/admin/consultations", cookie=cookie)
        filtered = (
            f"/admin/consultations?station={station}&lawyer={info['lawyer_id']}&category={info['category']}"
        )
        self.page("consultation log: filtered", filtered, cookie=cookie)
        deep = info["deep_page"]
        self.page(f"consultation log: page {deep:,}", f"/admin/consultations?page={deep}", cookie=cookie)
        self.page("statistics", "/admin/statistics", "report", cookie=cookie)
        self.page(
            f"annual report {info['year']}", f"/admin/reports/annual/{info['year']}", "report", cookie=cookie
        )
        self.page("lawyer performance", "/admin/statistics/lawyers", "report", cookie=cookie)
        self.api_read(info)
        self.rush(info)
        self.worker_memory()
        self.stop_servers()
        self.check_local_disk()

    def api_read(self, info: dict[str, Any]) -> None:
        """The hotline's read of a station's next four weeks of duty days through the API (with its key)."""
        start = date.fromisoformat(info["today"])
        path = f"/api/v1/stations/{info['station_id']}/roster?from={start}&to={start + timedelta(days=28)}"
        say(f"API read: {path}")
        header = f"Authorization: Bearer {info['api_key']}"
        measure = self.wrk(path, self.bases(), header=header)
        self.rows.append(page_row("API read: duty roster, 4 weeks", measure, self.hello_rps))

    def booking_and_lookup(self, stations: list[int]) -> None:
        """A complete booking on the phone pages, then the look-up of the bookings it made."""
        say("complete booking (Python clients)")
        args = {"bases": self.bases(), "base": self.bases()[0], "clients": self.s.clients,
                "seconds": self.s.seconds, "stations": stations}  # fmt: skip
        result = self.python_load("booking", **args)
        measure = measure_of(result["latencies"], result["seconds"])
        booked = result["booked"]
        row = page_row("complete booking (every request of it)", measure, self.hello_rps)
        row.note = f"{len(booked) / result['seconds']:.1f} bookings/s; {result['outcomes']}"
        self.rows.append(row)
        if not booked:
            self.rows.append(Row("look-up", result="no booking to look up", met=False))
            return
        say("look-up (Python clients)")
        result = self.python_load("lookup", **{**args, "bookings": booked[:2000]})  # argv stays small
        row = page_row("look-up (GET the form + POST)", measure_of(result["latencies"], result["seconds"]),
                       self.hello_rps)  # fmt: skip
        row.note = str(result["outcomes"])
        self.rows.append(row)

    def rush(self, info: dict[str, Any]) -> None:
        """500 clients confirm a booking on the same newly opened day at once."""
        station = info["station_id"] + max(0, min(1, info["stations"] - 1))
        opened = self.job("rush-open", station_id=station, places=self.s.rush_places)
        station = opened["station_id"]  # the next one when a kept database's station has no free day left
        say(
            f"booking rush: {self.s.rush_clients} clients for {opened['public_places']} places "
            f"on {opened['day']}"
        )
        result = self.python_load(
            "rush", base=self.bases()[0], bases=self.bases(), clients=self.s.rush_clients,
            slot_ids=opened["slot_ids"],
            station=station,
        )  # fmt: skip
        check = self.job("rush-check", shift_id=opened["shift_id"])
        broken = check["over_capacity"] + check["count_differs"] + check["quota_broken"]
        rate = result["booked"] / result["seconds"] if result["seconds"] else 0.0
        m = measure_of(result["latencies"], result["all_seconds"])
        m.rps = rate
        held = "none over capacity" if broken == 0 else f"**{broken} rules broken**"
        row = Row(
            f"booking rush: {self.s.rush_clients} clients, {opened['public_places']} places "
            "(req/s = bookings/s)",
            m,
            target="≥ 100 bookings/s; none over capacity",
            met=rate >= 100 and broken == 0 and check["bookings"] <= check["places"],
            note=f"{result['booked']} booked, {check['bookings']} held, {held}; {result['outcomes']}, "
            f"all {len(result['latencies'])} answered in {result['all_seconds']:.1f} s "
            f"({len(result['latencies']) / max(result['all_seconds'], 1e-9):.0f} confirms/s); "
            f"{result['prepare_failed']} could not reach the confirm page",
        )
        self.rows.append(row)

    def timed_jobs(self) -> None:
        """The heavy jobs, each in its own process (its peak memory its own)."""
        s = self.s
        for fmt in ("csv", "xlsx"):
            say(f"export {fmt}")
            done = self.job("export", rows=s.export_rows, format=fmt)
            fast = done["seconds"] <= 5 and done["peak_mb"] <= 200
            self.rows.append(Row(
                f"export of {done['rows']:,} rows ({fmt.upper()})",
                result=f"{done['seconds']:.1f} s, peak {done['peak_mb']:.0f} MB",
                target="≤ 5 s, ≤ 200 MB",
                # Fewer rows than asked (small data) cannot show the target met or missed.
                met=fast if done["rows"] >= s.export_rows else None,
                note="" if done["rows"] >= s.export_rows else "fewer rows in the data",
            ))  # fmt: skip
        say("roster generation")
        done = self.job("roster", stations=s.roster_stations, weeks=s.roster_weeks)
        self.rows.append(Row(
            f"roster generation: {done['stations']} stations × {done['weeks']} weeks",
            result=f"{done['seconds']:.1f} s", target="≤ 10 s", met=done["seconds"] <= 10,
            note=f"{done['changed']} days; rolled back",
        ))  # fmt: skip
        say("outbox sweep")
        done = self.job("sweep", messages=s.sweep_messages)
        self.rows.append(Row(
            f"sweep of {done['queued']:,} due messages (log sender)",
            result=f"{done['seconds']:.1f} s", target="≤ 30 s", met=done["seconds"] <= 30,
            note=f"{done['sent']:,} sent, {done['failed']} failed",
        ))  # fmt: skip
        say("retention")
        done = self.job("retention", keep_years=1)
        erased = sum(done["erased"].values())
        self.rows.append(Row(
            "retention job over the whole history (keeping 1 year)",
            result=f"{done['seconds']:.1f} s, peak {done['peak_mb']:.0f} MB", target="—",
            note=f"{erased:,} records erased; rolled back",
        ))  # fmt: skip

    def report(self) -> None:
        """The table, the workers' memory and the conditions of the run."""
        s = self.s
        print()
        print(
            f"legalaid bench: {s.clients} clients, {s.seconds} s per endpoint, gunicorn 2 sync workers × "
            f"{s.instances} instance(s), data {s.stations} stations × {s.years} years × {s.per_station_year}"
        )
        print()
        print(markdown_table(self.rows, self.hello_rps))
        print()
        print("Workers' memory after the loads:")
        for line in self.memory:
            print(f"- {line}")
        print()
        limits = ", ".join(f"{k}={v}" for k, v in RAISED_LIMITS.items())
        print(
            "The app servers ran with LEGALAID_ENV=production (the generator and the timed jobs with "
            f"development settings) and the public limits raised ({limits})."
        )
        for note in self.notes:
            print(note)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark with the settings in the environment."""
    bench = Bench(Settings.from_env(dict(os.environ)))
    bench.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
