"""The hall's kiosk is a device an administrator enrols: the enrolled kiosk is not limited like an
anonymous address, a phone (no cookie, a forged one, a revoked one) cannot pretend to be it, and where
enrolment is required /kiosk opens only on an enrolled kiosk."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from html import unescape

import pytest
import sqlalchemy as sa
import time_machine

from legalaid.audit.models import AuditEntry
from legalaid.bookings.models import Booking, WalkIn
from legalaid.errors import InvalidInput
from legalaid.extensions import db
from legalaid.kiosk import devices
from legalaid.kiosk.models import KioskDevice
from legalaid.roster import services as roster
from tests.conftest import csrf_token, login
from tests.test_public_limits import _book, _take_a_number, refusal

DAY = date(2026, 3, 10)
AHEAD = datetime(2026, 3, 5, 2, 0, tzinfo=UTC)
ON_THE_DAY = datetime(2026, 3, 10, 1, 30, tzinfo=UTC)
COOKIE = "legalaid_kiosk"  # plain HTTP in the tests: no __Host- prefix


@pytest.fixture
def shift(app, make_station, make_lawyer):
    station = make_station("大厅站", places_per_slot=4)
    lawyer = make_lawyer(station, name="张律师")
    shift = roster.set_shift_lawyer(station, DAY, lawyer, "测试", today=date(2026, 3, 1))
    db.session.commit()
    return shift


def _enrol(client, station_id: int, name: str = "大厅左侧自助机"):
    page = client.get("/admin/kiosks/").get_data(as_text=True)
    return client.post(
        "/admin/kiosks/enrol",
        data={"csrf_token": csrf_token(page), "name": name, "station_id": str(station_id)},
    )


def _sign_out(client) -> None:
    client.post(
        "/logout", data={"csrf_token": csrf_token(client.get("/admin/kiosks/").get_data(as_text=True))}
    )


@pytest.fixture
def kiosk(client, shift, make_user):
    """The client, enrolled as the station's kiosk by an administrator who then signed out."""
    admin = make_user("admin", username="kioskadmin")
    login(client, admin.username)
    response = _enrol(client, shift.station_id)
    assert response.status_code == 302
    _sign_out(client)
    return client


def test_enrolling_gives_this_browser_a_safe_long_lived_cookie_and_is_audited(client, shift, signed_in):
    signed_in("admin")
    response = _enrol(client, shift.station_id)
    assert response.status_code == 302
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{COOKIE}="))
    assert "HttpOnly" in header and "SameSite=Strict" in header and "Path=/" in header
    assert int(re.search(r"Max-Age=(\d+)", header).group(1)) > 365 * 24 * 3600
    token = client.get_cookie(COOKIE).value
    [device] = db.session.scalars(sa.select(KioskDevice)).all()
    assert device.name == "大厅左侧自助机" and device.station_id == shift.station_id and device.active
    assert device.token_hash != token and token not in device.token_hash  # only a hash is kept
    [entry] = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "kiosk.enrol")).all()
    assert entry.target_id == device.id and entry.details == {"name": "大厅左侧自助机"}
    page = client.get("/admin/kiosks/").get_data(as_text=True)
    assert "大厅左侧自助机" in page and "大厅站" in page


def test_enrolling_without_a_name_or_station_says_so_on_the_page(client, shift, signed_in):
    signed_in("admin")
    nameless = _enrol(client, shift.station_id, name="  ")
    assert nameless.status_code == 200 and 'aria-invalid="true"' in nameless.get_data(as_text=True)
    nowhere = _enrol(client, 999999, name="无站点")
    assert nowhere.status_code == 200 and 'value="无站点"' in nowhere.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(KioskDevice)) == 0
    assert client.get_cookie(COOKIE) is None


def test_only_an_administrator_reaches_the_kiosk_pages(client, shift, signed_in):
    signed_in("staff")
    assert client.get("/admin/kiosks/").status_code == 403
    page = client.get("/").get_data(as_text=True)
    assert client.post("/admin/kiosks/enrol", data={"csrf_token": csrf_token(page)}).status_code == 403


def test_an_enrolled_kiosk_is_not_limited_per_address(app, kiosk, shift):
    with time_machine.travel(ON_THE_DAY, tick=False):
        for _n in range(5):
            assert _take_a_number(kiosk, shift.station_id).status_code == 302
    with time_machine.travel(AHEAD, tick=True):
        for n in range(5):
            assert _book(kiosk, "/kiosk", shift, f"1395555000{n}").status_code == 302
        # Still one booking per mobile per duty day, and still the weekly allowance of a number.
        assert _book(kiosk, "/kiosk", shift, "13955550000").status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WalkIn)) == 5
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 5
    assert {b.channel for b in db.session.scalars(sa.select(Booking))} == {"kiosk"}


@pytest.mark.parametrize("cookie", ["forged-token", "x" * 300, ""])
def test_a_forged_device_cookie_is_an_anonymous_client(app, client, shift, cookie):
    client.set_cookie(COOKIE, cookie)
    with time_machine.travel(ON_THE_DAY, tick=False):
        for _n in range(3):
            assert _take_a_number(client, shift.station_id).status_code == 302
        refused = _take_a_number(client, shift.station_id)
        assert refused.status_code == 429 and refusal(app, "address") in unescape(
            refused.get_data(as_text=True)
        )


def test_a_revoked_kiosk_is_limited_at_once_and_the_revocation_audited(
    app, kiosk, shift, make_user, app_factory
):
    device = db.session.scalar(sa.select(KioskDevice))
    admin_client = app.test_client()
    login(admin_client, make_user("admin").username)
    page = admin_client.get("/admin/kiosks/").get_data(as_text=True)
    response = admin_client.post(f"/admin/kiosks/{device.id}/revoke", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302
    db.session.expire_all()
    assert not db.session.get(KioskDevice, device.id).active
    [entry] = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "kiosk.revoke")).all()
    assert entry.target_id == device.id
    again = admin_client.post(f"/admin/kiosks/{device.id}/revoke", data={"csrf_token": csrf_token(page)})
    assert again.status_code == 302  # told it was already revoked, nothing changes
    assert (
        admin_client.post("/admin/kiosks/999999/revoke", data={"csrf_token": csrf_token(page)}).status_code
        == 404
    )
    with time_machine.travel(ON_THE_DAY, tick=False):
        for _n in range(3):
            assert _take_a_number(kiosk, shift.station_id).status_code == 302
        assert _take_a_number(kiosk, shift.station_id).status_code == 429


def test_where_enrolment_is_required_only_the_kiosk_opens_the_kiosk_pages(app, client, kiosk, shift):
    app.config["KIOSK_ENROLMENT_REQUIRED"] = True
    assert kiosk.get(f"/kiosk/?station={shift.station_id}").status_code == 200
    phone = app.test_client()
    refused = phone.get(f"/kiosk/?station={shift.station_id}")
    assert refused.status_code == 403 and "/book/days" in refused.get_data(as_text=True)
    book = phone.get("/book/days")
    assert book.status_code == 200  # the phone site stays open
    token = csrf_token(phone.get("/booking/lookup").get_data(as_text=True))
    assert phone.post("/kiosk/walkin", data={"csrf_token": token}).status_code == 403
    phone.set_cookie(COOKIE, "forged-token")
    assert phone.get("/kiosk/").status_code == 403


def test_production_requires_enrolment_unless_told_otherwise(app):
    with app.test_request_context():
        assert not devices.enrolment_required()  # the tests' settings: development-like
        app.config["ENV_NAME"] = "production"
        app.config.pop("KIOSK_ENROLMENT_REQUIRED")
        assert devices.enrolment_required()  # unset: on in production
        app.config["KIOSK_ENROLMENT_REQUIRED"] = False
        assert not devices.enrolment_required()
        app.config["SESSION_COOKIE_SECURE"] = True
        assert devices.cookie_name() == "__Host-legalaid_kiosk"


def test_the_kiosk_opens_on_its_own_station(client, shift, make_station, make_lawyer, make_user):
    other = make_station("二号站")
    roster.set_shift_lawyer(other, DAY, make_lawyer(other, name="李律师"), "测试", today=date(2026, 3, 1))
    db.session.commit()
    login(client, make_user("admin").username)
    assert _enrol(client, other.id, name="二号站自助机").status_code == 302
    _sign_out(client)
    with time_machine.travel(AHEAD, tick=True):
        page = client.get("/kiosk/days").get_data(as_text=True)
        assert "李律师" in page and "张律师" not in page
        moved = client.get(f"/kiosk/days?station={shift.station_id}").get_data(as_text=True)
        assert "李律师" in moved and "张律师" not in moved  # a visitor cannot move the kiosk elsewhere
        anonymous = client.application.test_client().get("/kiosk/days").get_data(as_text=True)
        assert "张律师" in anonymous  # without the device: the first station


def test_a_kiosk_name_is_short_and_no_device_outside_a_request(app, shift, make_user):
    admin = make_user("admin")
    with pytest.raises(InvalidInput):
        devices.enrol("长" * 61, shift.station, by=admin)
    device, token = devices.enrol("  大厅   右侧 ", shift.station, by=admin)
    assert device.name == "大厅 右侧" and len(token) > 40
    assert devices.current_device() is None  # no request: a job or a command is no kiosk
