"""API keys: made by an administrator and shown once, kept only as a keyed hash, revoked at once;
production refuses to start without the pepper of that hash."""

from __future__ import annotations

import hashlib
import hmac
import re

import pytest
import sqlalchemy as sa

from config import Config, ConfigError
from legalaid import create_app
from legalaid.api import services as api
from legalaid.api.models import ApiKey
from legalaid.audit.models import AuditEntry
from legalaid.errors import FieldErrors, NotAllowed
from legalaid.extensions import db
from tests.api.conftest import bearer
from tests.conftest import csrf_token, field_errors, post_form

KEY_SHAPE = re.compile(r"la_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")


def test_a_key_is_stored_only_as_its_keyed_hash(app, make_station):
    station = make_station()
    key, plain = api.create_key("12345 热线", ["slots:read", "roster:read"], station.id)
    db.session.commit()
    assert KEY_SHAPE.fullmatch(plain)
    row = db.session.get(ApiKey, key.id)
    pepper = app.config["API_KEY_PEPPER"].encode()
    assert row.secret_hash == hmac.new(pepper, plain.encode(), hashlib.sha256).hexdigest()
    assert row.prefix == plain.split("_")[1]
    assert row.scope_list == ["roster:read", "slots:read"]
    assert row.station_id == station.id
    secret = plain.split("_", 2)[2]
    stored = db.session.execute(sa.text("SELECT * FROM api_keys")).one()
    assert not any(secret in str(value) for value in stored)
    assert hashlib.sha256(plain.encode()).hexdigest() not in [str(v) for v in stored]  # keyed, not plain
    assert api.key_for(plain).id == key.id
    assert api.key_for(plain[:-1] + ("A" if plain[-1] != "A" else "B")) is None


def test_every_wrong_value_of_a_new_key_is_told_at_once(app):
    api.create_key("热线", ["roster:read"])
    with pytest.raises(FieldErrors) as error:
        api.create_key("  热线 ", [], 99999)
    assert {field for field, _message in error.value.errors} == {"name", "scopes", "station_id"}
    with pytest.raises(FieldErrors):
        api.create_key("另一个", ["roster:write"])


def test_making_and_revoking_are_audited_without_the_key(app, make_key):
    plain = make_key(["roster:read"], name="省平台")
    key = api.key_for(plain)
    api.revoke_key(key)
    db.session.commit()
    with pytest.raises(NotAllowed):
        api.revoke_key(key)
    query = sa.select(AuditEntry).where(AuditEntry.target_type == "api_keys", AuditEntry.action != "api.call")
    entries = db.session.scalars(query.order_by(AuditEntry.id)).all()
    assert [e.action for e in entries] == ["api_key.create", "api_key.revoke"]
    assert all(plain not in str(e.details) and plain.split("_", 2)[2] not in str(e.details) for e in entries)


def test_a_revoked_key_is_refused_at_its_next_call(app, client, make_key, station):
    plain = make_key()
    assert client.get("/api/v1/stations", headers=bearer(plain)).status_code == 200
    api.revoke_key(api.key_for(plain))
    db.session.commit()
    response = client.get("/api/v1/stations", headers=bearer(plain))
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "invalid_token"
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="legalaid-api", error="invalid_token"'


def test_calls_are_audited_by_key_without_data_and_mark_the_key_used(app, client, make_key, station):
    plain = make_key(["slots:read"])
    client.get(f"/api/v1/stations/{station.id}/slots?date=2026-03-17", headers=bearer(plain))
    client.get(f"/api/v1/stations/{station.id}/roster?from=2026-03-01&to=2026-03-31", headers=bearer(plain))
    calls = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "api.call").order_by(AuditEntry.id)
    ).all()
    assert [(c.details["operation"], c.details["status"]) for c in calls] == [
        ("station_slots", 200),
        ("station_roster", 403),
    ]
    prefix = plain.split("_")[1]
    assert {c.actor_name for c in calls} == {f"api:{prefix}"} and {c.actor_id for c in calls} == {None}
    assert api.key_for(plain).last_used_at is not None


def test_the_administrator_makes_a_key_sees_it_once_and_revokes_it(app, signed_in, make_station):
    station = make_station("丙站")
    client = signed_in("admin")
    response = post_form(
        client,
        "/admin/api-keys/",
        {
            "name": "12345 热线",
            "scopes": ["roster:read", "slots:read"],
            "station_id": str(station.id),
            "channel": "hotline",
            "rate_per_minute": "120",
        },
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    plain = KEY_SHAPE.search(html).group(0)
    assert response.headers["Cache-Control"] == "no-store"
    key = api.key_for(plain)
    assert key.name == "12345 热线" and key.station_id == station.id
    assert key.channel == "hotline" and key.rate_per_minute == 120
    page = client.get("/admin/api-keys/").get_data(as_text=True)
    assert plain not in page and plain.split("_", 2)[2] not in page  # shown once
    assert f"la_{key.prefix}_" in page and "丙站" in page and "12345 热线" in page
    response = client.post(f"/admin/api-keys/{key.id}/revoke", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(ApiKey, key.id).revoked_at is not None
    assert api.key_for(plain) is None


def test_the_page_says_what_is_wrong_with_a_new_key(app, signed_in):
    client = signed_in("admin")
    typed = {"name": "", "station_id": "99999", "channel": "fax", "rate_per_minute": "0"}
    response = post_form(client, "/admin/api-keys/", typed)
    assert response.status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiKey)) == 0
    html = response.get_data(as_text=True)
    for field in ("name", "station_id", "channel", "rate_per_minute"):
        assert field_errors(html, field), field  # every wrong field at once
    assert "scopes-error" in html
    assert 'value="0"' in html  # what was typed is kept
    response = post_form(client, "/admin/api-keys/", {**typed, "name": "热线", "rate_per_minute": "很多"})
    assert field_errors(response.get_data(as_text=True), "rate_per_minute")  # not a number: said, no 500


def test_only_administrators_reach_the_keys_page(app, signed_in):
    assert signed_in("lawyer").get("/admin/api-keys/").status_code == 403


def test_production_refuses_to_start_without_the_pepper():
    keys = {
        "SECRET_KEY": "6c51d19332204f20830398c5406243f43d1648bd3306c660293972f90a545287",
        "DATA_KEYS": "3L6Zp0i3k7gqv6m0Ewq5wS8b2dJgJ5o2nEYy7mYtV2I=",
        "DATA_HASH_KEY": "f0c1e2d3a4b5968778695a4b3c2d1e0f",
        "SQLALCHEMY_DATABASE_URI": "sqlite://",
    }
    for pepper in ("", "short"):
        with pytest.raises(ConfigError, match="API_KEY_PEPPER"):
            create_app(Config, API_KEY_PEPPER=pepper, **keys)
    create_app(Config, API_KEY_PEPPER="9c1d2e3f4a5b69788796a5b4c3d2e1f00f1e2d3c4b5a6978", **keys)


def test_development_keeps_one_derived_pepper_and_production_is_given_none(tmp_path):
    from legalaid import crypto

    first: dict = {"ENV_NAME": "development"}
    crypto.configure(first, tmp_path)
    again: dict = {"ENV_NAME": "development"}
    crypto.configure(again, tmp_path)
    assert len(first["API_KEY_PEPPER"]) >= 32 and again["API_KEY_PEPPER"] == first["API_KEY_PEPPER"]
    production: dict = {"ENV_NAME": "production", "DATA_KEYS": ""}
    crypto.configure(production, tmp_path)
    assert not production.get("API_KEY_PEPPER")
