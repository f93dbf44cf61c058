"""App core: settings, health check, error pages, the UTC type and station-time helpers."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask

from config import DEFAULT_SECRET_KEY, Config
from legalaid import create_app
from legalaid.access import public
from legalaid.dates import local_day_bounds, local_to_utc, local_today, now_utc, to_local
from legalaid.db import UTCDateTime
from legalaid.extensions import db
from tests.conftest import make_app

# Production needs the personal data's keys too (legalaid/crypto.py); fixed ones, for these tests.
DATA_KEYS = {
    "DATA_KEYS": "3L6Zp0i3k7gqv6m0Ewq5wS8b2dJgJ5o2nEYy7mYtV2I=",
    "DATA_HASH_KEY": "f0c1e2d3a4b5968778695a4b3c2d1e0f",
    "API_KEY_PEPPER": "9c1d2e3f4a5b69788796a5b4c3d2e1f00f1e2d3c4b5a6978",
}


def test_production_refuses_default_secret_key():
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(Config, SECRET_KEY=DEFAULT_SECRET_KEY, SQLALCHEMY_DATABASE_URI="sqlite://", **DATA_KEYS)


def test_production_refuses_missing_or_short_secret_key():
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(Config, SECRET_KEY=None, SQLALCHEMY_DATABASE_URI="sqlite://", **DATA_KEYS)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(Config, SECRET_KEY="short", SQLALCHEMY_DATABASE_URI="sqlite://", **DATA_KEYS)


REAL_KEY = "6c51d19332204f20830398c5406243f43d1648bd3306c660293972f90a545287"  # noqa: S105  (random, as production needs)


def test_production_starts_with_a_real_secret_and_secure_cookies():
    app = create_app(Config, SECRET_KEY=REAL_KEY, SQLALCHEMY_DATABASE_URI="sqlite://", **DATA_KEYS)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_healthz_answers_200_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_healthz_answers_503_when_the_database_does_not(tmp_path):
    # A database file in a folder that does not exist cannot be opened.
    app = make_app(f"sqlite:///{tmp_path}/missing/dir/x.db")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "error"


def test_error_pages_use_the_site_look_without_traceback(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "navbar" in html and "404" in html
    assert "页面不存在" in html


def test_unexpected_error_gives_a_plain_500_page(app_factory):
    app: Flask = app_factory()

    @app.get("/boom")
    @public
    def boom():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "secret internals" not in html and "Traceback" not in html
    assert "出错了" in html


def test_foreign_keys_are_enforced(app):
    from legalaid.auth.models import User

    db.session.add(User(username="ghost", display_name="x", role="staff", password_hash="x", station_id=999))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_utc_type_refuses_naive_datetimes():
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(datetime(2026, 3, 3, 9, 0), sa.create_engine("sqlite://").dialect)  # noqa: DTZ001


def test_utc_type_round_trips_aware_instants(app, make_station):
    station = make_station()
    shanghai_morning = datetime.fromisoformat("2026-03-03T09:00:00+08:00")
    station.created_at = shanghai_morning
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(type(station), station.id).created_at
    assert stored.tzinfo is not None
    assert stored == shanghai_morning
    assert stored.utcoffset() == timedelta(0)


def test_local_today_is_the_stations_date_not_the_servers():
    # 17:30 UTC on 2 March is 01:30 on 3 March in Beijing.
    with time_machine.travel(datetime(2026, 3, 2, 17, 30, tzinfo=UTC), tick=False):
        assert local_today("Asia/Shanghai") == date(2026, 3, 3)
        assert now_utc().date() == date(2026, 3, 2)


def test_station_time_conversions():
    instant = local_to_utc(date(2026, 3, 3), time(9, 0), "Asia/Shanghai")
    assert instant == datetime(2026, 3, 3, 1, 0, tzinfo=UTC)
    assert to_local(instant, "Asia/Shanghai").hour == 9
    start, end = local_day_bounds(date(2026, 3, 3), "Asia/Shanghai")
    assert start == datetime(2026, 3, 2, 16, 0, tzinfo=UTC)
    assert end - start == timedelta(days=1)
    with pytest.raises(ValueError):
        to_local(datetime(2026, 3, 3, 9, 0), "Asia/Shanghai")  # noqa: DTZ001
