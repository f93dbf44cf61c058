"""Sign-in throttling by account, account-plus-address and address; the check and the count are one
step (a burst over many connections evaluates no more passwords than the ceiling); failures and pauses
are audited; a deactivated lawyer cannot sign in; the booking look-up throttles the guesser, not the code."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from legalaid.audit.models import AuditEntry
from legalaid.auth import services, throttle
from legalaid.auth.models import ThrottleCount, User
from legalaid.bookings.models import Booking
from legalaid.errors import InvalidInput, TooManyAttempts
from legalaid.extensions import db
from legalaid.lawyers.models import Lawyer
from legalaid.roster import services as roster
from legalaid.security import hashed
from legalaid.transaction import unit_of_work
from tests.conftest import DEFAULT_PASSWORD, csrf_token, login

OFFICE = {"REMOTE_ADDR": "10.0.0.7"}
HOME = {"REMOTE_ADDR": "192.0.2.44"}


def _entries(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action)))


def test_five_typos_for_one_account_do_not_lock_a_colleague_at_the_same_address(client, make_user):
    make_user("staff", username="zhang")
    colleague = make_user("staff", username="wang")
    for _ in range(5):
        assert login(client, "zhang", "bad-password-1", environ_base=OFFICE).status_code == 200
    assert login(client, "zhang", environ_base=OFFICE).status_code == 429
    response = login(client, colleague.username, environ_base=OFFICE)
    assert response.status_code == 302


def test_the_account_alone_has_a_higher_ceiling_than_account_and_address(client, make_user):
    make_user("staff", username="li")
    for _ in range(5):
        login(client, "li", "bad-password-1", environ_base=OFFICE)
    assert login(client, "li", environ_base=OFFICE).status_code == 429
    # From another address the account is still open, until ten failures in all.
    for _ in range(5):
        assert login(client, "li", "bad-password-1", environ_base=HOME).status_code == 200
    response = login(client, "li", environ_base={"REMOTE_ADDR": "198.51.100.9"})
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0


def test_an_address_is_paused_only_after_a_hundred_failures(app, client, make_user):
    make_user("staff", username="zhou")
    for i in range(99):
        login(client, f"nobody{i}", "bad-password-1", environ_base=OFFICE)
    # The 100th try, right, in another browser of the office.
    assert login(app.test_client(), "zhou", environ_base=OFFICE).status_code == 302
    # A right password gives its place back: the address still has one try before the pause.
    login(client, "nobody-else", "bad-password-1", environ_base=OFFICE)
    assert login(client, "someone", "bad-password-1", environ_base=OFFICE).status_code == 429


def test_failures_and_pauses_are_audited_without_the_password(client, make_user):
    user = make_user("staff", username="qian")
    for _ in range(5):
        login(client, "qian", "secret-typo-77", environ_base=OFFICE)
    login(client, "ghost", "other-typo-88", environ_base=OFFICE)
    failed = _entries("auth.failed")
    assert len(failed) == 6
    assert {e.target_id for e in failed} == {user.id, None}
    assert all(e.ip == "10.0.0.7" for e in failed)
    locked = _entries("auth.locked")
    assert [(e.target_id, e.details["scope"]) for e in locked] == [(user.id, "pair")]
    raw = " ".join(str(e.details) for e in failed + locked)
    assert "secret-typo" not in raw and "other-typo" not in raw
    from legalaid.audit.labels import ACTIONS

    assert {"auth.failed", "auth.locked"} <= set(ACTIONS)  # the log page says them in words


def test_counts_lapse_with_their_window(app, make_user):
    make_user("staff", username="wu")
    start = datetime(2026, 3, 3, 1, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        for _ in range(5):
            with pytest.raises(InvalidInput):
                services.authenticate("wu", "bad-password-1", "1.2.3.4")
        with pytest.raises(TooManyAttempts) as paused:
            services.authenticate("wu", DEFAULT_PASSWORD, "1.2.3.4")
        assert 0 < paused.value.retry_after <= 15 * 60
    with time_machine.travel(start + timedelta(minutes=15, seconds=1), tick=False):
        assert services.authenticate("wu", DEFAULT_PASSWORD, "1.2.3.4").username == "wu"
        window = db.session.scalar(
            sa.select(ThrottleCount.window_started_at).where(
                ThrottleCount.key == f"pair:{hashed('wu')}|1.2.3.4"
            )
        )
        assert window == start + timedelta(minutes=15, seconds=1)  # a new window began with the try


def test_a_refused_try_counts_in_no_bucket(app):
    buckets = [throttle.Bucket("a", "x", 1), throttle.Bucket("b", "y", 5)]
    assert throttle.claim("test", buckets) == 0
    assert throttle.claim("test", buckets) > 0  # "a:x" is full
    counts = dict(db.session.execute(sa.select(ThrottleCount.key, ThrottleCount.failures)).all())
    assert counts == {"a:x": 1, "b:y": 1}


def test_a_deactivated_lawyers_account_cannot_sign_in_and_its_sessions_end(
    app_factory, make_station, make_lawyer
):
    app = app_factory()
    with app.app_context():
        station = make_station()
        lawyer = make_lawyer(station)
        username = db.session.get(User, lawyer.user_id).username
        lawyer_id = lawyer.id
    client, other = app.test_client(), app.test_client()
    assert login(other, username).status_code == 302
    assert other.get("/").status_code == 200
    with app.app_context():
        db.session.get(Lawyer, lawyer_id).active = False
        db.session.commit()
    response = login(client, username)
    assert response.status_code == 200 and "用户名或密码错误" in response.get_data(as_text=True)
    assert other.get("/").status_code == 302  # the open session stopped working


def _burst(app_factory, attempt, tries: int) -> dict[str, int]:
    """Run `tries` calls at once, each on its own connection and app context, each committing."""
    app = app_factory()
    start = threading.Barrier(tries)
    outcome: dict[str, int] = {"evaluated": 0, "paused": 0, "other": 0}
    lock = threading.Lock()

    def one() -> None:
        with app.app_context():
            start.wait()
            try:
                # As the sign-in page does: a refusal is shown, and the request still commits.
                with unit_of_work():
                    try:
                        attempt()
                        key = "evaluated"
                    except InvalidInput:
                        key = "evaluated"
                    except TooManyAttempts:
                        key = "paused"
            except Exception:  # noqa: BLE001  (counted, and the test fails on it)
                key = "other"
            with lock:
                outcome[key] += 1
            db.session.remove()

    threads = [threading.Thread(target=one) for _ in range(tries)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcome


def test_a_burst_of_wrong_passwords_evaluates_no_more_than_the_ceiling(app, app_factory, make_user):
    make_user("staff", username="sun")
    outcome = _burst(
        app_factory, lambda: services.authenticate("sun", "bad-password-1", "203.0.113.5"), tries=40
    )
    assert outcome == {"evaluated": 5, "paused": 35, "other": 0}
    db.session.expire_all()
    assert len(_entries("auth.failed")) == 5 and len(_entries("auth.locked")) == 1


def test_a_burst_spread_over_addresses_stops_at_the_accounts_ceiling(app, app_factory, make_user):
    make_user("staff", username="zheng")
    counter = iter(range(1000))
    lock = threading.Lock()

    def attempt() -> None:
        with lock:
            n = next(counter)
        services.authenticate("zheng", "bad-password-1", f"198.51.100.{n}")

    outcome = _burst(app_factory, attempt, tries=30)
    assert outcome == {"evaluated": 10, "paused": 20, "other": 0}


# -- the booking look-up -----------------------------------------------------------------------------

DAY = date(2026, 3, 10)
AHEAD = datetime(2026, 3, 5, 2, 0, tzinfo=UTC)


@pytest.fixture
def booking(app, make_station, make_lawyer, make_booking) -> Booking:
    station = make_station("自助站", address="服务大厅一楼")
    lawyer = make_lawyer(station, name="张律师")
    with time_machine.travel(AHEAD, tick=False):
        shift = roster.set_shift_lawyer(station, DAY, lawyer, "测试", today=date(2026, 3, 1))
        db.session.commit()
        return make_booking(shift, mobile="13998765432", now=AHEAD)


def _look_up(client, code: str, last4: str, address: str):
    page = client.get("/booking/lookup").get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), "code": code, "last4": last4}
    return client.post("/booking/lookup", data=data, environ_base={"REMOTE_ADDR": address})


def test_strangers_guessing_a_code_do_not_lock_its_owner_out(app, booking):
    client = app.test_client()
    with time_machine.travel(AHEAD, tick=True):
        for stranger in ("203.0.113.1", "203.0.113.2", "203.0.113.3"):
            for n in range(5):
                assert _look_up(client, booking.code, f"{n:04d}", stranger).status_code == 200
            # That stranger is paused for this code …
            assert _look_up(client, booking.code, "0009", stranger).status_code == 429
        # … but the owner, from their own phone, gets in at once.
        found = _look_up(client, booking.code, "5432", "192.0.2.80")
        assert found.status_code == 302 and found.headers["Location"].endswith("/booking/mine")


def test_a_code_has_a_ceiling_of_its_own_against_many_addresses(app, booking):
    client = app.test_client()
    with time_machine.travel(AHEAD, tick=True):
        for n in range(100):
            _look_up(client, booking.code, "0000", f"10.{n // 250}.{n % 250}.1")
        assert _look_up(client, booking.code, "5432", "192.0.2.80").status_code == 429


def test_the_audit_log_tells_failures_and_pauses_in_words(app, signed_in, make_user):
    admin = signed_in("admin")
    make_user("staff", username="liu")
    stranger = app.test_client()
    for _ in range(5):
        login(stranger, "liu", "bad-password-1", environ_base=HOME)
    # A password typed into the username box is no account: it is not written down anywhere.
    login(stranger, "Secret-typed-as-name-9", "x", environ_base=HOME)
    page = admin.get("/admin/audit/").get_data(as_text=True)
    assert "liu" in page and "bad-password-1" not in page
    stored = " ".join(str(row) for row in db.session.execute(sa.select(ThrottleCount.key)).scalars())
    entries = " ".join(str(e.details) for e in db.session.scalars(sa.select(AuditEntry)))
    assert "secret-typed-as-name-9" not in stored.lower() and "Secret-typed-as-name-9" not in entries
    from legalaid.auth.labels import _scope_label, _step_label

    with app.test_request_context():
        assert _scope_label("pair") != "pair" and _scope_label("other") == "other"
        assert _step_label("code") != "code" and _step_label("other") == "other"
