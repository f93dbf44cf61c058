"""The TOTP second factor: enrolment with a QR code and a first code, sign-in with a code, a wrong code
refused and counted, a code never accepted twice, recovery codes usable once, administrators made to
enrol before anything else, the secret kept encrypted."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

import pyotp
import pytest
import sqlalchemy as sa
import time_machine
from flask_babel import force_locale
from flask_babel import gettext as _

from legalaid.audit.models import AuditEntry
from legalaid.auth import totp
from legalaid.auth.models import RecoveryCode, User
from legalaid.errors import InvalidInput, NotAllowed
from legalaid.extensions import db
from tests.conftest import DEFAULT_PASSWORD, csrf_token, field_errors, login, post_form

START = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
WRONG_CODE = "This code is not right, or was already used."


def said(app, message: str) -> str:
    """A message as the pages say it (Simplified Chinese, the default)."""
    with app.test_request_context(), force_locale("zh_Hans_CN"):
        return _(message)


def _secret(html: str) -> str:
    match = re.search(r'id="totp-secret">([^<]+)<', html)
    assert match, "no secret on the page"
    return match.group(1).replace(" ", "")


def _not(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def enrol(client, clock) -> tuple[str, list[str]]:
    """Enrol the signed-in user through the pages; the secret and the recovery codes."""
    page = client.get("/account/two-step").get_data(as_text=True)
    secret = _secret(page)
    response = post_form(client, "/account/two-step", {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 200, response.status_code
    codes = re.findall(r"<li>([a-z0-9]{5}-[a-z0-9]{5})</li>", response.get_data(as_text=True))
    clock.shift(60)  # the confirming code is spent: sign-in uses a later one
    return secret, codes


def sign_in_with_code(client, username: str, code: str, address: str = "127.0.0.1"):
    where = {"REMOTE_ADDR": address}
    first = login(client, username, environ_base=where)
    assert first.status_code == 302 and first.headers["Location"].endswith("/login/code")
    return post_form(client, "/login/code", {"code": code}, environ_base=where)


def test_enrolment_shows_a_qr_code_and_the_secret_and_needs_a_first_code(app, make_user):
    make_user("staff", username="zhang")
    client = app.test_client()
    with time_machine.travel(START, tick=False) as clock:
        login(client, "zhang")
        page = client.get("/account/two-step").get_data(as_text=True)
        assert re.search(r'<img src="data:image/svg\+xml[^"]+" alt="[^"]+" width="220"', page)
        secret = _secret(page)
        assert len(secret) == 32
        # Showing the page again keeps the same key (it waits in the signed cookie, not the database).
        assert _secret(client.get("/account/two-step").get_data(as_text=True)) == secret
        user = db.session.scalar(sa.select(User).where(User.role == "staff"))
        assert user.totp_secret is None

        wrong = post_form(client, "/account/two-step", {"code": _not(pyotp.TOTP(secret).now())})
        assert wrong.status_code == 200 and field_errors(unescape(wrong.get_data(as_text=True)), "code")
        db.session.expire_all()
        assert not db.session.get(User, user.id).has_totp

        right = post_form(client, "/account/two-step", {"code": pyotp.TOTP(secret).now()})
        codes = re.findall(r"<li>([a-z0-9]{5}-[a-z0-9]{5})</li>", right.get_data(as_text=True))
        assert len(codes) == 10 and len(set(codes)) == 10
        db.session.expire_all()
        user = db.session.get(User, user.id)
        assert user.has_totp
        # Kept encrypted, and the recovery codes only as hashes.
        stored = db.session.execute(sa.text("SELECT totp_secret FROM users WHERE id = :id"), {"id": user.id})
        assert secret not in stored.scalar_one() and totp.secret_of(user) == secret
        hashes = db.session.scalars(sa.select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id))
        assert not {c.replace("-", "") for c in codes} & set(hashes)
        assert "auth.totp_on" in db.session.scalars(sa.select(AuditEntry.action)).all()
        clock.shift(1)
        account = client.get("/account").get_data(as_text=True)
        assert 'id="two-step-state"' in account


def test_sign_in_asks_for_the_code_and_refuses_a_wrong_one(app, app_factory, make_user):
    user = make_user("staff", username="zhang")
    client = app.test_client()
    with time_machine.travel(START, tick=False) as clock:
        login(client, "zhang")
        secret, _codes = enrol(client, clock)
        client = app.test_client()
        # Password alone is not enough: no session yet.
        first = login(client, "zhang")
        assert first.headers["Location"].endswith("/login/code")
        assert client.get("/").status_code == 302
        wrong = post_form(client, "/login/code", {"code": _not(pyotp.TOTP(secret).now())})
        assert wrong.status_code == 200
        assert said(app, WRONG_CODE) in unescape(wrong.get_data(as_text=True))
        failed = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "auth.failed")).all()
        assert [(e.target_id, e.details["step"]) for e in failed] == [(user.id, "code")]
        right = post_form(client, "/login/code", {"code": pyotp.TOTP(secret).now()})
        assert right.status_code == 302 and right.headers["Location"] == "/"
        assert client.get("/").status_code == 200


def test_a_code_is_not_accepted_twice(app, make_user):
    make_user("staff", username="li")
    client = app.test_client()
    with time_machine.travel(START, tick=False) as clock:
        login(client, "li")
        secret, _codes = enrol(client, clock)
        code = pyotp.TOTP(secret).now()
        assert sign_in_with_code(app.test_client(), "li", code).status_code == 302
        replay = sign_in_with_code(app.test_client(), "li", code)
        assert replay.status_code == 200 and said(app, WRONG_CODE) in unescape(replay.get_data(as_text=True))
        # An older code (the step before, still within the drift allowed) is refused as well.
        clock.shift(30)
        previous = sign_in_with_code(app.test_client(), "li", code)
        assert previous.status_code == 200
        now = pyotp.TOTP(secret).now()
        assert sign_in_with_code(app.test_client(), "li", now, address="192.0.2.9").status_code == 302


def test_a_recovery_code_works_once(app, make_user):
    make_user("staff", username="wang")
    client = app.test_client()
    with time_machine.travel(START, tick=False) as clock:
        login(client, "wang")
        _secret_, codes = enrol(client, clock)
        assert sign_in_with_code(app.test_client(), "wang", codes[3].upper()).status_code == 302
        again = sign_in_with_code(app.test_client(), "wang", codes[3])
        assert again.status_code == 200
        assert "auth.recovery_used" in db.session.scalars(sa.select(AuditEntry.action)).all()
        user = db.session.scalar(sa.select(User).where(User.username == "wang"))
        assert totp.recovery_codes_left(user) == 9


def test_wrong_codes_are_counted_in_the_sign_in_throttle(app, make_user):
    make_user("staff", username="zhao")
    client = app.test_client()
    with time_machine.travel(START, tick=False) as clock:
        login(client, "zhao")
        secret, _codes = enrol(client, clock)
        other = app.test_client()
        login(other, "zhao")  # the password counts as one try until the code confirms it
        for _n in range(4):
            assert post_form(other, "/login/code", {"code": "000000x"}).status_code == 200
        paused = post_form(other, "/login/code", {"code": pyotp.TOTP(secret).now()})
        assert paused.status_code == 429 and int(paused.headers["Retry-After"]) > 0


def test_the_second_step_lapses_and_needs_a_pending_sign_in(app, make_user):
    make_user("staff", username="sun")
    client = app.test_client()
    assert client.get("/login/code").headers["Location"].endswith("/login")
    with time_machine.travel(START, tick=False) as clock:
        login(client, "sun")
        secret, _codes = enrol(client, clock)
        other = app.test_client()
        login(other, "sun")
        clock.shift(6 * 60)
        late = other.get("/login/code")
        assert late.status_code == 302 and late.headers["Location"].endswith("/login")


def test_administrators_are_sent_to_enrol_before_anything_else(app_factory, make_user):
    app = app_factory(TOTP_REQUIRED_FOR_ADMINS=True)
    make_user("admin", username="boss")
    client = app.test_client()
    with time_machine.travel(START, tick=False) as clock:
        assert login(client, "boss").status_code == 302
        for path in ("/", "/admin/users", "/account"):
            response = client.get(path)
            assert response.status_code == 302 and response.headers["Location"].endswith("/account/two-step")
        page = client.get("/account/two-step")
        assert page.status_code == 200
        secret, _codes = enrol(client, clock)
        assert client.get("/admin/users").status_code == 200
        # Switching it off is refused to an administrator.
        response = post_form(
            client, "/account/two-step/off", {"current_password": DEFAULT_PASSWORD}, form_page="/account"
        )
        assert response.status_code == 200
        db.session.expire_all()
        assert db.session.scalar(sa.select(User).where(User.username == "boss")).has_totp
        # The next sign-in asks for the code.
        assert sign_in_with_code(app.test_client(), "boss", pyotp.TOTP(secret).now()).status_code == 302


def test_others_may_switch_it_off_with_their_password_and_renew_recovery_codes(app, make_user):
    make_user("lawyer", username="zhou")
    client = app.test_client()
    with time_machine.travel(START, tick=False) as clock:
        login(client, "zhou")
        _secret_, codes = enrol(client, clock)
        account = client.get("/account").get_data(as_text=True)
        # A session left open cannot make new codes: the password is asked again.
        refused = client.post("/account/two-step/recovery-codes", data={"csrf_token": csrf_token(account)})
        assert field_errors(unescape(refused.get_data(as_text=True)), "renew-current_password")
        zhou = db.session.scalar(sa.select(User).where(User.username == "zhou"))
        assert totp.recovery_codes_left(zhou) == 10
        renewed = client.post(
            "/account/two-step/recovery-codes",
            data={"csrf_token": csrf_token(account), "renew-current_password": DEFAULT_PASSWORD},
        )
        fresh = re.findall(r"<li>([a-z0-9]{5}-[a-z0-9]{5})</li>", renewed.get_data(as_text=True))
        assert len(fresh) == 10 and not set(fresh) & set(codes)
        wrong = post_form(
            client, "/account/two-step/off", {"current_password": "not-my-password"}, form_page="/account"
        )
        assert wrong.status_code == 200
        off = post_form(
            client, "/account/two-step/off", {"current_password": DEFAULT_PASSWORD}, form_page="/account"
        )
        assert off.status_code == 302
        user = db.session.scalar(sa.select(User).where(User.username == "zhou"))
        assert not user.has_totp and user.totp_secret is None and totp.recovery_codes_left(user) == 0
        assert login(app.test_client(), "zhou").headers["Location"] == "/"


def test_services_refuse_what_the_pages_would(app, make_user):
    admin = make_user("admin", username="chief")
    app.config["TOTP_REQUIRED_FOR_ADMINS"] = True
    with pytest.raises(InvalidInput):
        totp.enrol(admin, totp.new_secret(), "12345")  # not six digits
    secret = totp.new_secret()
    totp.enrol(admin, secret, pyotp.TOTP(secret).now())
    with pytest.raises(NotAllowed):
        totp.disable(admin)
    # Without a secret there is no code to check.
    admin.totp_secret = None
    assert totp.secret_of(admin) is None and not totp.check_code(admin, "123456")


def test_moving_to_a_new_phone_asks_for_the_password(app, make_user):
    """Someone at a browser left signed in cannot put their own phone in place of the owner's."""
    make_user("lawyer", username="qian")
    client = app.test_client()
    with time_machine.travel(START, tick=False) as clock:
        login(client, "qian")
        old, _codes = enrol(client, clock)
        page = client.get("/account/two-step?new=1").get_data(as_text=True)
        new = _secret(page)
        assert new != old and 'name="current_password"' in page
        refused = post_form(client, "/account/two-step", {"code": pyotp.TOTP(new).now()})
        assert field_errors(unescape(refused.get_data(as_text=True)), "current_password")
        user = db.session.scalar(sa.select(User).where(User.username == "qian"))
        assert totp.secret_of(user) == old
        moved = post_form(
            client,
            "/account/two-step",
            {"code": pyotp.TOTP(new).now(), "current_password": DEFAULT_PASSWORD},
        )
        assert moved.status_code == 200
        db.session.expire_all()
        assert totp.secret_of(db.session.get(User, user.id)) == new
