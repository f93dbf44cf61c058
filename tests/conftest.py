"""Fixtures: a real database per test run (SQLite file, or PostgreSQL with TEST_DATABASE_URL),
migrated once with Alembic and emptied after every test; app, client and factory fixtures.

The whole run can be held at a set clock, to prove that no test depends on the day it runs:

    LEGALAID_TEST_NOW=2026-10-01T10:00+08:00 .venv/bin/pytest    # National Day, a closed Thursday
    LEGALAID_TEST_NOW=2026-12-08T09:00+08:00 .venv/bin/pytest    # a Tuesday, a duty day

The value is an ISO 8601 instant with its offset. The clock starts there before the tests are collected
and keeps ticking (time-machine, process-wide: the browser tests' live server sees it too; the Python
processes the tests start keep the same time through tests/child_clock/sitecustomize.py); a test that
travels itself overrides it for its own span.
"""

from __future__ import annotations

import contextvars
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from html import unescape
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask, has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade

from config import TestConfig
from legalaid import create_app
from legalaid.extensions import db

DEFAULT_PASSWORD = "correct-horse-battery"
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')
TEST_NOW = "LEGALAID_TEST_NOW"
CHILD_CLOCK = Path(__file__).resolve().parent / "child_clock"  # its sitecustomize holds child processes
_run_clock: list[time_machine.travel] = []
_saved_env: dict[str, str | None] = {}


def pytest_configure(config: pytest.Config) -> None:
    """Hold the run at LEGALAID_TEST_NOW (see the module's docstring), from collection on."""
    text = os.environ.get(TEST_NOW, "").strip()
    if not text:
        return
    try:
        instant = datetime.fromisoformat(text)
    except ValueError as error:
        raise pytest.UsageError(f"{TEST_NOW}={text!r} is not an ISO 8601 instant: {error}") from None
    if instant.tzinfo is None:
        raise pytest.UsageError(f"{TEST_NOW}={text!r} needs its offset, e.g. 2026-10-01T10:00+08:00")
    real = time.time()
    clock = time_machine.travel(instant, tick=True)
    clock.start()
    _run_clock.append(clock)
    # Processes the tests start (the scheduler, spawned workers) are new interpreters: they keep time
    # with this one through the offset from the real clock (tests/child_clock/sitecustomize.py).
    paths = [str(CHILD_CLOCK), *filter(None, [os.environ.get("PYTHONPATH")])]
    for name, value in (
        ("LEGALAID_TEST_CLOCK_OFFSET", repr(instant.timestamp() - real)),
        ("PYTHONPATH", os.pathsep.join(paths)),
    ):
        _saved_env[name] = os.environ.get(name)
        os.environ[name] = value


def pytest_unconfigure(config: pytest.Config) -> None:
    """Give the run its real clock back."""
    while _run_clock:
        _run_clock.pop().stop()
    for name, value in _saved_env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    _saved_env.clear()


def pytest_report_header(config: pytest.Config) -> str | None:
    """Say at the top of the run when its clock is set."""
    text = os.environ.get(TEST_NOW, "").strip()
    return f"clock held at {TEST_NOW}={text} (ticking)" if text else None


class Databases:
    """Creates throwaway databases for this test run and drops them at the end."""

    def __init__(self, base_url: str | None, tmp: Path) -> None:
        self.base_url = base_url
        self.tmp = tmp
        self.created: list[str] = []

    @property
    def is_postgres(self) -> bool:
        return bool(self.base_url and self.base_url.startswith("postgresql"))

    def new(self) -> str:
        """A URL of a new, empty database."""
        name = f"legalaid_test_{uuid.uuid4().hex[:12]}"
        if not self.is_postgres:
            return f"sqlite:///{self.tmp / (name + '.db')}"
        url = sa.make_url(self.base_url)
        admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        self.created.append(name)
        return url.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        """Drop every database this run created."""
        if not self.is_postgres:
            return
        admin = sa.create_engine(sa.make_url(self.base_url), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in self.created:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    """The factory of throwaway databases for this run."""
    dbs = Databases(os.environ.get("TEST_DATABASE_URL") or None, tmp_path_factory.mktemp("db"))
    yield dbs
    dbs.drop_all()


def make_app(url: str, **overrides: object) -> Flask:
    """A test app on the given database."""
    return create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, **overrides)


@pytest.fixture(scope="session")
def database_url(databases: Databases) -> str:
    """The run's main database, migrated to the Alembic head once."""
    url = databases.new()
    app = make_app(url)
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return url


def _empty_tables(app: Flask) -> None:
    with app.app_context():
        db.session.remove()
        tables = db.metadata.sorted_tables
        with db.engine.begin() as conn:
            # DELETE, children first: on PostgreSQL a TRUNCATE of every table cost about 0.3 s per test
            # (it replaces each table's files), DELETE of a test's few rows about 20 ms.
            for table in reversed(tables):
                conn.execute(table.delete())
            if conn.dialect.name == "postgresql":
                # Ids start at 1 again, as after a TRUNCATE … RESTART IDENTITY.
                conn.execute(sa.text("SELECT setval(oid, 1, false) FROM pg_class WHERE relkind = 'S'"))
        db.engine.dispose()


@pytest.fixture
def app_factory(database_url: str, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Build more app instances on the same database (like two gunicorn workers)."""
    apps: list[Flask] = []

    def build(**overrides: object) -> Flask:
        app = make_app(database_url, **overrides)
        app.instance_path = str(tmp_path / "instance")  # the outbox log and lock files stay out of the repo
        app.test_client_class = IsolatedClient
        apps.append(app)
        return app

    yield build
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    if apps:
        _empty_tables(apps[0])


@pytest.fixture
def app(app_factory: Callable[..., Flask]) -> Iterator[Flask]:
    """The app, with an app context pushed for service calls in the test body."""
    application = app_factory()
    with application.app_context():
        yield application
        db.session.remove()


class IsolatedClient(FlaskClient):
    """A test client whose requests get their own app context, as in a real server.

    Flask reuses an app context that is already pushed (the test body's); then `g`, the signed-in
    user and the database session would leak from one request to the next and hide bugs.
    """

    def open(self, *args, **kwargs):
        outer = has_app_context()
        response = contextvars.Context().run(super().open, *args, **kwargs)
        if outer:
            db.session.expire_all()  # the request committed in its own session: read afresh
        return response


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client (CSRF protection stays on, as in production)."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    """A runner for the `flask` commands."""
    return app.test_cli_runner()


def csrf_token(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = _CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


class QueryCounter:
    """Counts the statements the app sends to the database while a call runs."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *args: object) -> None:
        self.count += 1

    def during(self, call: Callable[[], object]) -> int:
        """How many statements `call()` sent."""
        sa.event.listen(db.engine, "before_cursor_execute", self)
        try:
            self.count = 0
            call()
            return self.count
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", self)


def post_form(client: FlaskClient, url: str, data: dict, form_page: str | None = None, **kwargs):
    """GET the form page, then POST the data with the page's CSRF token, like a browser."""
    page = client.get(form_page or url)
    return client.post(url, data={**data, "csrf_token": csrf_token(page.get_data(as_text=True))}, **kwargs)


def field_errors(html: str, field: str) -> list[str]:
    """The messages shown beside a form field (its `invalid-feedback`s up to the next field)."""
    tag = re.search(rf'<(?:input|select|textarea)\b[^>]*\bid="{re.escape(field)}"[^>]*>', html)
    if tag is None:
        return []
    rest = html[tag.end() :]
    following = re.search(r"<label\b|<fieldset\b|</form>", rest)
    segment = rest[: following.start()] if following else rest
    return [unescape(m).strip() for m in re.findall(r'class="invalid-feedback[^"]*"[^>]*>([^<]*)<', segment)]


def field_tag(html: str, field: str) -> str:
    """The input (or select) tag of a form field, as rendered."""
    tag = re.search(rf'<(?:input|select|textarea)\b[^>]*\bid="{re.escape(field)}"[^>]*>', html)
    assert tag, f"no field {field} on the page"
    return tag.group(0)


def login(client: FlaskClient, username: str, password: str = DEFAULT_PASSWORD, **kwargs):
    """Sign in through the real sign-in form."""
    return post_form(client, "/login", {"username": username, "password": password}, **kwargs)


@pytest.fixture
def make_user(app: Flask) -> Callable[..., object]:
    """Create an account (committed) and return it."""
    from legalaid.auth import services

    counter = iter(range(1, 10_000))

    def make(role: str = "admin", username: str | None = None, password: str = DEFAULT_PASSWORD, **kwargs):
        user = services.create_user(
            username or f"{role}{next(counter)}",
            kwargs.pop("display_name", "测试用户"),
            role,
            password,
            **kwargs,
        )
        db.session.commit()
        return user

    return make


@pytest.fixture
def make_station(app: Flask) -> Callable[..., object]:
    """Create a station (committed) and return it."""
    from legalaid.stations import services

    counter = iter(range(1, 10_000))

    def make(name: str | None = None, **settings):
        station = services.create_station(
            services.StationSettings(name=name or f"站点{next(counter)}", **settings)
        )
        db.session.commit()
        return station

    return make


@pytest.fixture
def signed_in(client: FlaskClient, make_user) -> Callable[[str], FlaskClient]:
    """Sign the client in as a new user of the given role."""

    def sign_in(role: str = "admin") -> FlaskClient:
        user = make_user(role)
        response = login(client, user.username)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return sign_in


@pytest.fixture
def make_firm(app: Flask) -> Callable[..., object]:
    """Create a law firm (committed) and return it."""
    from legalaid.lawyers import services

    counter = iter(range(1, 10_000))

    def make(name: str | None = None):
        firm = services.save_firm(None, name or f"律师事务所{next(counter)}", "联系人", "0391-1234567")
        db.session.commit()
        return firm

    return make


@pytest.fixture
def make_lawyer(app: Flask, make_firm, make_user) -> Callable[..., object]:
    """Create a lawyer of a station (committed), with a sign-in account unless account=False."""
    from datetime import date

    from legalaid.lawyers import services

    counter = iter(range(1, 10_000))
    firms: list = []

    def make(
        station,
        name: str | None = None,
        account: bool = True,
        contract_start=date(2020, 1, 1),
        contract_end=None,
        **kwargs,
    ):
        n = next(counter)
        if not firms:
            firms.append(make_firm())
        user = make_user("lawyer", username=f"lawyer{n}", station_id=station.id) if account else None
        lawyer = services.create_lawyer(
            station,
            services.LawyerData(
                name=name or f"律师{n}",
                firm_id=kwargs.pop("firm_id", firms[0].id),
                licence_no=f"{14108200000000000 + n}",
                contract_start=contract_start,
                contract_end=contract_end,
                mobile=f"1390391{n:04d}",
                user_id=user.id if user else None,
                **kwargs,
            ),
        )
        db.session.commit()
        return lawyer

    return make


@pytest.fixture
def make_booking(app: Flask) -> Callable[..., object]:
    """Book a place on a shift through the booking service (committed) and return the booking.

    `slot` is the index of the day's time (0 = the first); `now` is when the veteran books (by default
    the clock's now, which must be before the cutoff).
    """
    import secrets

    from legalaid.bookings import services
    from legalaid.bookings.models import Slot

    counter = iter(range(1, 10_000))

    def make(
        shift,
        name: str | None = None,
        mobile: str | None = None,
        slot: int = 0,
        category: str = "labour",
        channel: str = "kiosk",
        now=None,
    ):
        n = next(counter)
        slots = db.session.scalars(
            sa.select(Slot).where(Slot.shift_id == shift.id).order_by(Slot.starts_at, Slot.id)
        ).all()
        assert slots, "the shift has no times to book"
        booking = services.place_booking(
            services.BookingRequest(
                slot_id=slots[slot].id,
                name=name or f"预约人{n}",
                mobile=mobile or f"1381234{n:04d}",
                category=category,
                channel=channel,
                idempotency_key=secrets.token_hex(16),
                consent=True,
            ),
            now=now,
        )
        db.session.commit()
        return booking

    return make
