"""Sign-in, throttling, server-side sessions, and the administrator's account pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from legalaid.auth import services
from legalaid.auth.models import ThrottleCount, User, UserSession
from legalaid.errors import InvalidInput, NotAllowed
from legalaid.extensions import db
from legalaid.security import hashed
from tests.conftest import DEFAULT_PASSWORD, csrf_token, login, post_form


def test_sign_in_and_out(client, make_user):
    user = make_user("staff", username="zhang")
    response = login(client, "zhang")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "测试用户" in client.get("/").get_data(as_text=True)
    token = csrf_token(client.get("/").get_data(as_text=True))
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert client.get("/").status_code == 302
    from legalaid.audit.models import AuditEntry

    actions = db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.target_id == user.id)).all()
    assert "auth.login" in actions and "auth.logout" in actions


def test_wrong_password_keeps_the_username_and_says_why(client, make_user):
    make_user("staff", username="li")
    response = login(client, "li", "wrong-password-here")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'value="li"' in html
    assert "用户名或密码错误" in html


def test_usernames_are_case_insensitive(client, make_user):
    make_user("staff", username="wang")
    assert login(client, "  WANG ").status_code == 302


def test_deactivated_account_cannot_sign_in(client, make_user, app):
    user = make_user("staff", username="zhao")
    services.set_active(user, False)
    db.session.commit()
    response = login(client, "zhao")
    assert response.status_code == 200
    assert "用户名或密码错误" in response.get_data(as_text=True)


def test_five_failures_pause_the_account_with_429(client, make_user):
    make_user("staff", username="qian")
    for _ in range(5):
        assert login(client, "qian", "bad-password-1").status_code == 200
    response = login(client, "qian")  # even the right password waits
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "请" in response.get_data(as_text=True) and 'value="qian"' in response.get_data(as_text=True)


def test_throttle_holds_across_two_app_instances(app_factory, make_user):
    make_user("staff", username="sun")
    worker_a, worker_b = app_factory(), app_factory()
    client_a, client_b = worker_a.test_client(), worker_b.test_client()
    for i in range(5):
        client = client_a if i % 2 == 0 else client_b
        assert login(client, "sun", "bad-password-1").status_code == 200
    assert login(client_b, "sun").status_code == 429
    assert login(client_a, "sun").status_code == 429


def test_throttle_by_address_covers_many_accounts(client, make_user):
    # An address alone has a far higher ceiling than an account (a whole office signs in from one).
    for i in range(100):
        login(client, f"nobody{i}", "bad-password-1")
    make_user("staff", username="zhou")
    assert login(client, "zhou").status_code == 429


def test_throttle_is_a_soft_lock_that_lapses(client, make_user):
    make_user("staff", username="wu")
    start = datetime(2026, 3, 3, 1, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        for _ in range(5):
            login(client, "wu", "bad-password-1")
        assert login(client, "wu").status_code == 429
    with time_machine.travel(start + timedelta(minutes=15, seconds=1), tick=False):
        assert login(client, "wu").status_code == 302


def test_success_clears_the_accounts_failures(client, make_user):
    make_user("staff", username="zheng")
    for _ in range(3):
        login(client, "zheng", "bad-password-1")
    assert login(client, "zheng").status_code == 302
    counts = db.session.scalars(
        sa.select(ThrottleCount.failures).where(ThrottleCount.key.like(f"%{hashed('zheng')}%"))
    ).all()
    assert counts and set(counts) == {0}


def test_session_cookie_replayed_after_logout_is_refused(client, make_user, app):
    make_user("admin", username="feng")
    login(client, "feng")
    captured = client.get_cookie("legalaid_session").value
    assert client.get("/admin/users").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/").get_data(as_text=True))})

    attacker = app.test_client()
    attacker.set_cookie("legalaid_session", captured)
    response = attacker.get("/admin/users")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_session_ends_after_30_minutes_idle(client, make_user):
    make_user("admin", username="chen")
    start = datetime(2026, 3, 3, 1, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        login(client, "chen")
    with time_machine.travel(start + timedelta(minutes=29), tick=False):
        assert client.get("/admin/users").status_code == 200  # activity renews the idle clock
    with time_machine.travel(start + timedelta(minutes=58), tick=False):
        assert client.get("/admin/users").status_code == 200
    with time_machine.travel(start + timedelta(minutes=89), tick=False):
        assert client.get("/admin/users").status_code == 302


def test_session_ends_after_12_hours_even_when_active(client, make_user):
    make_user("admin", username="chu")
    start = datetime(2026, 3, 3, 0, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        login(client, "chu")
    for minutes in range(20, 12 * 60, 20):
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            assert client.get("/").status_code == 200
    with time_machine.travel(start + timedelta(hours=12, minutes=1), tick=False):
        assert client.get("/").status_code == 302


def test_session_cookie_flags(client, make_user):
    make_user("staff", username="wei")
    response = login(client, "wei")
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("legalaid_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_deactivation_signs_the_user_out_at_once(app_factory, make_user):
    make_user("admin", username="boss")
    make_user("staff", username="jiang")
    app = app_factory()
    staff = app.test_client()
    login(staff, "jiang")
    assert staff.get("/").status_code == 200
    admin = app.test_client()
    login(admin, "boss")
    jiang = services.find_by_username("jiang")
    page = admin.get(f"/admin/users/{jiang.id}").get_data(as_text=True)
    response = admin.post(
        f"/admin/users/{jiang.id}/active", data={"csrf_token": csrf_token(page), "active": "0"}
    )
    assert response.status_code == 302
    assert staff.get("/").status_code == 302


def test_password_must_have_ten_characters(app):
    with pytest.raises(InvalidInput):
        services.create_user("shorty", "x", "staff", "tq7-v9x!k")
    user = services.create_user("longer", "x", "staff", "tq7-v9x!k2")
    assert user.password_hash.startswith(("scrypt:", "pbkdf2:"))
    assert "tq7-v9x!k2" not in user.password_hash


def test_admin_creates_an_account_and_errors_keep_what_was_typed(signed_in):
    admin = signed_in("admin")
    response = post_form(
        admin,
        "/admin/users/new",
        {
            "username": "xiaoli",
            "display_name": "小李",
            "role": "staff",
            "station_id": "0",
            "password": "short",
            "confirm": "short",
        },
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'value="xiaoli"' in html and 'value="小李"' in html
    assert "10" in html
    assert services.find_by_username("xiaoli") is None

    response = post_form(
        admin,
        "/admin/users/new",
        {
            "username": "xiaoli",
            "display_name": "小李",
            "role": "staff",
            "station_id": "0",
            "password": "long-enough-pw",
            "confirm": "long-enough-pw",
        },
    )
    assert response.status_code == 302
    user = services.find_by_username("xiaoli")
    assert user.role == "staff" and user.display_name == "小李"


def test_admin_changes_role_and_resets_password(client, signed_in, make_user):
    admin = signed_in("admin")
    target = make_user("staff", username="he")
    page = admin.get(f"/admin/users/{target.id}").get_data(as_text=True)
    token = csrf_token(page)
    assert (
        admin.post(f"/admin/users/{target.id}/role", data={"csrf_token": token, "role": "lawyer"}).status_code
        == 302
    )
    response = admin.post(
        f"/admin/users/{target.id}/password",
        data={"csrf_token": token, "password": "brand-new-secret", "confirm": "brand-new-secret"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    user = db.session.get(User, target.id)
    assert user.role == "lawyer"
    other = client.application.test_client()
    assert login(other, "he", "brand-new-secret").status_code == 302
    assert login(client.application.test_client(), "he", DEFAULT_PASSWORD).status_code == 200


def test_the_last_admin_cannot_be_removed(app, make_user):
    admin = make_user("admin", username="only")
    with pytest.raises(NotAllowed):
        services.set_active(admin, False)
    with pytest.raises(NotAllowed):
        services.change_role(admin, "staff")
    second = make_user("admin", username="second")
    with pytest.raises(NotAllowed):  # nobody removes their own access
        services.set_active(second, False, actor=second)
    services.set_active(admin, False, actor=second)
    db.session.commit()
    assert not admin.active


def test_own_password_change(signed_in, make_user):
    client = signed_in("lawyer")
    response = post_form(
        client,
        "/account/password",
        {
            "current_password": "wrong-one-here",
            "password": "another-secret-1",
            "confirm": "another-secret-1",
        },
    )
    assert response.status_code == 200 and "当前密码不正确" in response.get_data(as_text=True)
    response = post_form(
        client,
        "/account/password",
        {
            "current_password": DEFAULT_PASSWORD,
            "password": "another-secret-1",
            "confirm": "another-secret-1",
        },
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200  # still signed in, with a fresh session


def test_cli_creates_users_from_stdin(runner, app):
    result = runner.invoke(
        args=["users", "create", "cliadmin", "--role", "admin", "--password-stdin"],
        input="from-standard-input\n",
    )
    assert result.exit_code == 0, result.output
    user = services.find_by_username("cliadmin")
    assert result.output.strip() == str(user.id)
    assert user.role == "admin"
    result = runner.invoke(
        args=["users", "create", "weak", "--role", "staff", "--password-stdin"], input="short\n"
    )
    assert result.exit_code != 0
    assert services.find_by_username("weak") is None


def test_housekeeping_purges_old_attempts_and_sessions(app, make_user):
    user = make_user("staff")
    old = datetime(2026, 1, 1, tzinfo=UTC)
    db.session.add(ThrottleCount(kind="login", key="address:1.2.3.4", failures=3, window_started_at=old))
    db.session.add(
        UserSession(token_hash="a" * 64, user_id=user.id, created_at=old, last_seen_at=old, ended_at=old)
    )
    db.session.commit()
    assert services.purge_old_records() == 2
    db.session.commit()
    assert services.purge_old_records() == 0  # safe to run twice


def test_passwords_use_scrypt_except_in_the_test_suite(app, make_user):
    """Production hashes with scrypt; the suite configures one cheap iteration so it spends its time on
    behaviour. Either way a password checks, and a hash made by the other method still checks."""
    from config import Config
    from legalaid.auth import services

    assert Config.PASSWORD_HASH_METHOD == "scrypt"
    user = make_user("staff", password="correct horse battery")
    assert user.password_hash.startswith("pbkdf2:sha256:1$")
    with app.test_request_context():
        app.config["PASSWORD_HASH_METHOD"] = "scrypt"
        services.set_password(user, "another good password")
        assert user.password_hash.startswith("scrypt:")
    assert services.authenticate(user.username, "another good password", "127.0.0.1") == user
