"""Fixtures: a real database per test run (SQLite file, or PostgreSQL with TEST_DATABASE_URL),
migrated once with Alembic and emptied after every test; app, client and factory fixtures."""

from __future__ import annotations

import contextvars
import os
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask, has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade

from config import TestConfig
from legalaid import create_app
from legalaid.extensions import db

DEFAULT_PASSWORD = "correct-horse-battery"
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


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
            if conn.dialect.name == "postgresql":
                names = ", ".join(f'"{t.name}"' for t in tables)
                conn.execute(sa.text(f"TRUNCATE TABLE {names} RESTART IDENTITY CASCADE"))
            else:
                for table in reversed(tables):
                    conn.execute(table.delete())
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


def post_form(client: FlaskClient, url: str, data: dict, form_page: str | None = None, **kwargs):
    """GET the form page, then POST the data with the page's CSRF token, like a browser."""
    page = client.get(form_page or url)
    return client.post(url, data={**data, "csrf_token": csrf_token(page.get_data(as_text=True))}, **kwargs)


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
