"""Production secrets and transport: a SECRET_KEY without enough entropy is refused, the cookies carry
the __Host- prefix, HSTS over TLS only; the files that hold data are readable by their owner only."""

from __future__ import annotations

import os
import secrets
import stat
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

import config
from config import DEFAULT_SECRET_KEY, Config, ConfigError, DevelopmentConfig
from legalaid import create_app
from legalaid.extensions import db
from legalaid.reminders import services as outbox
from legalaid.security import protect_sqlite_files
from tests.conftest import DEFAULT_PASSWORD, csrf_token, post_form

# Production needs the personal data's keys too (legalaid/crypto.py); fixed ones, for these tests.
DATA_KEYS = {
    "DATA_KEYS": "3L6Zp0i3k7gqv6m0Ewq5wS8b2dJgJ5o2nEYy7mYtV2I=",
    "DATA_HASH_KEY": "f0c1e2d3a4b5968778695a4b3c2d1e0f",
    "API_KEY_PEPPER": "9c1d2e3f4a5b69788796a5b4c3d2e1f00f1e2d3c4b5a6978",
}

STRONG = secrets.token_hex(32)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize(
    "key",
    [
        "a" * 32,
        "a" * 64,
        "ab" * 32,
        "0123456789" * 3 + "01",  # 32 characters, ten different ones
        DEFAULT_SECRET_KEY,
        "short-but-random-Xq9",
    ],
)
def test_production_refuses_a_secret_key_without_enough_entropy(key):
    with pytest.raises(ConfigError, match="SECRET_KEY") as error:
        create_app(Config, SECRET_KEY=key, SQLALCHEMY_DATABASE_URI="sqlite://", **DATA_KEYS)
    assert "\n" not in str(error.value)  # one line, shown without a traceback


@pytest.mark.parametrize(
    "key",
    [secrets.token_hex(32), secrets.token_urlsafe(32), secrets.token_hex(16)],
    ids=["hex-64", "urlsafe-43", "hex-32"],  # the same names in every worker of a parallel run
)
def test_production_accepts_a_random_secret_key(key):
    create_app(Config, SECRET_KEY=key, SQLALCHEMY_DATABASE_URI="sqlite://", **DATA_KEYS)


def test_the_entropy_measure():
    assert config.secret_key_bits("") == 0 and config.secret_key_bits("a" * 32) == 0
    assert config.secret_key_bits("ab" * 16) == pytest.approx(32)
    assert config.secret_key_bits(secrets.token_hex(32)) > 200


def test_development_makes_its_own_secret_for_its_owner_only(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path / "instance")
    old = os.umask(0o022)
    try:
        settings: dict = {"SECRET_KEY": DEFAULT_SECRET_KEY}
        DevelopmentConfig.check(settings)
    finally:
        os.umask(old)
    secret_file = tmp_path / "instance" / "secret_key"
    assert settings["SECRET_KEY"] == secret_file.read_text().strip()
    assert config.secret_key_is_strong(settings["SECRET_KEY"])
    assert _mode(secret_file) == 0o600
    # A copy made before the rule is narrowed; the secret stays the same.
    secret_file.chmod(0o644)
    again: dict = {"SECRET_KEY": ""}
    DevelopmentConfig.check(again)
    assert again["SECRET_KEY"] == settings["SECRET_KEY"] and _mode(secret_file) == 0o600


def test_production_cookies_carry_the_host_prefix(database_url, make_user):
    make_user("staff", username="zhang")
    app = create_app(Config, SECRET_KEY=STRONG, SQLALCHEMY_DATABASE_URI=database_url, **DATA_KEYS)
    assert app.config["SESSION_COOKIE_NAME"] == "__Host-legalaid_session"
    assert app.config["REMEMBER_COOKIE_NAME"].startswith("__Host-")
    client = app.test_client()
    https = {"base_url": "https://localhost"}
    page = client.get("/login", **https).get_data(as_text=True)
    response = client.post(
        "/login",
        data={"username": "zhang", "password": DEFAULT_PASSWORD, "csrf_token": csrf_token(page)},
        headers={"Referer": "https://localhost/login"},  # Flask-WTF checks it over HTTPS
        **https,
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("__Host-"))
    assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie and "HttpOnly" in cookie
    with app.app_context():
        db.engine.dispose()


def test_development_and_tests_keep_plain_names_over_http(app):
    assert app.config["SESSION_COOKIE_NAME"] == "legalaid_session"
    assert DevelopmentConfig.SESSION_COOKIE_NAME == "legalaid_session"
    assert not DevelopmentConfig.SESSION_COOKIE_SECURE


def test_hsts_only_over_tls(app_factory):
    app = app_factory()
    client = app.test_client()
    assert "Strict-Transport-Security" not in client.get("/healthz").headers
    secure = client.get("/healthz", base_url="https://localhost").headers["Strict-Transport-Security"]
    assert secure == "max-age=31536000; includeSubDomains"
    # Behind a trusted proxy, its X-Forwarded-Proto says whether the visitor used TLS.
    proxied = app_factory(PROXY_COUNT=1).test_client()
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.1"}
    assert "Strict-Transport-Security" in proxied.get("/healthz", headers=forwarded).headers
    assert "Strict-Transport-Security" not in proxied.get("/healthz").headers
    # A forged header is not believed without a configured proxy.
    assert "Strict-Transport-Security" not in client.get("/healthz", headers=forwarded).headers


def test_the_sqlite_database_and_its_wal_are_for_the_owner_only(tmp_path):
    old = os.umask(0o022)  # a usual umask: files would be world-readable
    try:
        path = tmp_path / "legalaid.db"
        app = create_app(config.TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}")
        assert _mode(path) == 0o600
        with app.app_context():
            with db.engine.begin() as conn:
                conn.execute(sa.text("CREATE TABLE t (x INTEGER)"))
                conn.execute(sa.text("INSERT INTO t VALUES (1)"))
            wal, shm = path.with_name("legalaid.db-wal"), path.with_name("legalaid.db-shm")
            assert wal.exists() and shm.exists()
            assert _mode(wal) == 0o600 and _mode(shm) == 0o600
            db.engine.dispose()
        # An existing database whose files were left open to others is narrowed at start.
        path.chmod(0o644)
        leftover = path.with_name("legalaid.db-wal")
        leftover.touch()
        leftover.chmod(0o644)
        protect_sqlite_files(str(path))
        assert _mode(path) == 0o600 and _mode(leftover) == 0o600
    finally:
        os.umask(old)
    protect_sqlite_files(":memory:")  # nothing to protect
    protect_sqlite_files(str(tmp_path / "no" / "such" / "dir.db"))
    assert not (tmp_path / "no").exists()


def test_the_outbox_log_is_for_the_owner_only(app, tmp_path):
    app.instance_path = str(tmp_path)
    now = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
    outbox.enqueue(
        kind="test",
        channel="log",
        recipient_type="veteran",
        recipient_id=None,
        address="13812345678",
        template="test",
        params={"station": "解放区站"},
        due_at=now,
        dedupe_key="perm",
    )
    db.session.commit()
    old = os.umask(0o022)
    try:
        assert outbox.sweep(now).sent == 1
    finally:
        os.umask(old)
    assert _mode(tmp_path / "outbox.log") == 0o600


def test_plain_http_keeps_working_in_tests_and_development(app_factory, make_user):
    """The test and development cookies are not Secure, so signing in over plain HTTP works."""
    app = app_factory()
    make_user("staff", username="li")
    client = app.test_client()
    response = post_form(client, "/login", {"username": "li", "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_production_refuses_to_start_without_the_data_keys():
    strong = secrets.token_hex(32)
    with pytest.raises(ConfigError, match="DATA_KEYS and DATA_HASH_KEY must be set"):
        create_app(Config, SECRET_KEY=strong, SQLALCHEMY_DATABASE_URI="sqlite://")
    with pytest.raises(ConfigError, match="must be Fernet keys"):
        create_app(
            Config, SECRET_KEY=strong, SQLALCHEMY_DATABASE_URI="sqlite://", DATA_KEYS="x", DATA_HASH_KEY="y"
        )
