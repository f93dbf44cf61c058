"""Issue 13 point 2: consent asked wherever personal data is collected — the desk's walk-ins with a
mobile number and its telephone bookings, the lawyer's record of someone without a booking — with the
notice read out, and recorded: when, how (kiosk, online, read aloud, by telephone) and who read it."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
import time_machine

from legalaid.bookings import calling, planning
from legalaid.bookings import services as bookings
from legalaid.bookings.models import Booking, WalkIn
from legalaid.consultations import services
from legalaid.consultations.models import Consultation
from legalaid.errors import InvalidInput
from legalaid.extensions import db
from legalaid.roster import services as roster
from tests.conftest import csrf_token, login

DUTY_DAY = date(2026, 3, 10)  # a Tuesday
NEXT_DUTY_DAY = date(2026, 3, 17)
ON_THE_DAY = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
NOTICE = 'class="card border-info mb-3 consent-notice" id="consent-notice"'  # in any language


@pytest.fixture
def hall(app, make_station, make_lawyer, make_user):
    """A station on its duty day, its duty lawyer, the desk and next week's shift with times."""
    station = make_station("咨询站")
    duty = make_lawyer(station, name="值班甲")
    roster.set_shift_lawyer(station, DUTY_DAY, duty, "排班", today=date(2026, 3, 1))
    later = roster.set_shift_lawyer(station, NEXT_DUTY_DAY, duty, "排班", today=date(2026, 3, 1))
    planning.ensure_slots(later)
    db.session.commit()
    desk = make_user("staff", username="desk", station_id=station.id, display_name="前台小李")
    return {"station": station, "duty": duty, "later": later, "desk": desk}


def _walkin_post(client, station, consent: bool):
    page = client.get(f"/desk?station={station.id}").get_data(as_text=True)
    assert NOTICE in page
    data = {"csrf_token": csrf_token(page), "name": "王建国", "mobile": "13812345678", "category": "labour"}
    if consent:
        data["consent"] = "y"
    return client.post(f"/desk/walkin?station={station.id}", data=data)


def test_a_walk_in_with_a_mobile_needs_the_notice_read(app, client, hall):
    station = hall["station"]
    with time_machine.travel(ON_THE_DAY, tick=False):
        login(client, "desk")
        refused = _walkin_post(client, station, consent=False)
        assert refused.status_code == 200
        page = refused.get_data(as_text=True)
        assert 'id="consent-error"' in page and 'value="王建国"' in page  # told beside it, typed kept
        assert db.session.scalar(sa.select(sa.func.count()).select_from(WalkIn)) == 0
        assert _walkin_post(client, station, consent=True).status_code == 302
    walkin = db.session.scalars(sa.select(WalkIn)).one()
    assert walkin.consent_at == ON_THE_DAY
    assert (walkin.consent_how, walkin.consent_by_id) == ("read_aloud", hall["desk"].id)


def test_a_walk_in_with_a_name_only_needs_no_consent(app, client, hall):
    with time_machine.travel(ON_THE_DAY, tick=False):
        login(client, "desk")
        page = client.get("/desk").get_data(as_text=True)
        response = client.post("/desk/walkin", data={"csrf_token": csrf_token(page), "name": "钱大妈"})
    assert response.status_code == 302
    assert db.session.scalars(sa.select(WalkIn)).one().consent_at is None


@pytest.mark.parametrize(
    ("channel", "how"), [("hotline", "phone"), ("phone", "phone"), ("staff", "read_aloud")]
)
def test_a_desk_booking_records_who_read_the_notice_and_how(app, client, hall, channel, how):
    slot = planning.ensure_slots(hall["later"])[0]
    db.session.commit()
    with time_machine.travel(ON_THE_DAY, tick=False):
        login(client, "desk")
        page = client.get("/desk/book").get_data(as_text=True)
        assert NOTICE in page
        data = {
            "csrf_token": csrf_token(page),
            "key": secrets.token_urlsafe(24),
            "slot_id": slot.id,
            "channel": channel,
            "category": "labour",
            "name": "赵大爷",
            "mobile": "13812345680",
        }
        refused = client.post("/desk/book", data=data)
        assert refused.status_code == 200 and 'id="consent-error"' in refused.get_data(as_text=True)
        assert client.post("/desk/book", data={**data, "consent": "y"}).status_code == 302
        booking = db.session.scalars(sa.select(Booking)).one()
        recorded = (booking.consent_how, booking.consent_by_id, booking.consent_at)
        assert recorded == (how, hall["desk"].id, ON_THE_DAY)
    with time_machine.travel(datetime(2026, 3, 17, 1, 0, tzinfo=UTC), tick=False):
        login(client, "desk")
        desk = client.get("/desk").get_data(as_text=True)
    assert "前台小李" in desk  # the desk's list says who read the notice


@pytest.mark.parametrize("channel", ["kiosk", "online"])
def test_the_kiosk_and_online_record_the_persons_own_consent(app, hall, make_booking, channel):
    booking = make_booking(hall["later"], channel=channel, now=ON_THE_DAY)
    assert (booking.consent_how, booking.consent_by_id, booking.consent_at) == (channel, None, ON_THE_DAY)


def test_a_person_without_a_booking_is_read_the_notice_by_the_lawyer(app, client, hall):
    lawyer = hall["duty"]
    with time_machine.travel(ON_THE_DAY, tick=False):
        login(client, lawyer.user.username)
        page = client.get("/consultations/new").get_data(as_text=True)
        assert NOTICE in page
        data = {
            "csrf_token": csrf_token(page),
            "name": "孙大叔",
            "category": "labour",
            "summary": "工资被拖欠",
            "outcomes": "advice",
        }
        refused = client.post("/consultations/new", data=data)
        assert refused.status_code == 200
        kept = refused.get_data(as_text=True)
        assert 'id="consent-error"' in kept and "工资被拖欠" in kept
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Consultation)) == 0
        assert client.post("/consultations/new", data={**data, "consent": "y"}).status_code == 302
        c = db.session.scalars(sa.select(Consultation)).one()
        assert (c.consent_how, c.consent_by_id, c.consent_at) == ("read_aloud", lawyer.user_id, ON_THE_DAY)
        view = client.get(f"/consultations/{c.id}").get_data(as_text=True)
    assert 'data-how="read_aloud"' in view


def test_a_booking_or_a_consented_walk_in_is_not_asked_again(app, client, hall, make_booking):
    station, lawyer = hall["station"], hall["duty"]
    shift = roster.shift_on(station, DUTY_DAY)
    booking = make_booking(shift, name="李卫国", channel="online", now=datetime(2026, 3, 5, 2, 0, tzinfo=UTC))
    with time_machine.travel(ON_THE_DAY, tick=False):
        named = calling.issue_walkin(station, "labour", name="钱大妈")
        consented = calling.issue_walkin(
            station, "labour", bookings.veteran_for("周大哥", "13812349999"), consent_by=hall["desk"]
        )
        db.session.commit()
        assert not services.needs_consent(booking, None)
        assert not services.needs_consent(None, consented)
        assert services.needs_consent(None, named) and services.needs_consent(None, None)
        with pytest.raises(InvalidInput):
            services.check_consent(None, named, False)
        services.check_consent(None, consented, False)
        login(client, lawyer.user.username)
        page = client.get(f"/consultations/new?booking={booking.id}").get_data(as_text=True)
        assert NOTICE not in page
        data = {"csrf_token": csrf_token(page), "category": "labour", "summary": "咨询", "outcomes": "advice"}
        assert client.post(f"/consultations/new?booking={booking.id}", data=data).status_code == 302
        c = db.session.scalars(sa.select(Consultation)).one()
        assert c.consent_at is None  # the booking holds it
        consent = services.consent_of(c)
        assert consent is not None and (consent.how, consent.by) == ("online", None)
        view = client.get(f"/consultations/{c.id}").get_data(as_text=True)
    assert 'data-how="online"' in view


def test_a_consultation_with_no_consent_anywhere_says_so(app, hall):
    station, lawyer = hall["station"], hall["duty"]
    with time_machine.travel(ON_THE_DAY, tick=False):
        walkin = calling.issue_walkin(station, "labour", name="钱大妈")
        c = services.record_consultation(
            station, lawyer.user, services.Record("labour", "咨询", outcomes=["advice"]), walkin=walkin
        )
        db.session.commit()
    assert services.consent_of(c) is None


def test_the_migration_fills_in_how_existing_bookings_were_consented(databases):
    """Bookings made before 0013 get how from their channel, and who from the staff who booked."""
    from flask_migrate import downgrade, upgrade

    from tests.conftest import make_app

    app = make_app(databases.new())
    with app.app_context():
        upgrade()
        from legalaid.auth import services as accounts
        from legalaid.lawyers import services as lawyers
        from legalaid.stations import services as stations

        station = stations.create_station(stations.StationSettings(name="迁移站"))
        desk = accounts.create_user("desk", "前台", "staff", "a-long-password-1", station_id=station.id)
        firm = lawyers.save_firm(None, "某律所", "", "")
        lawyer = lawyers.create_lawyer(
            station,
            lawyers.LawyerData(
                name="甲", firm_id=firm.id, licence_no="14108200000000001", contract_start=date(2020, 1, 1)
            ),
        )
        shift = roster.set_shift_lawyer(station, NEXT_DUTY_DAY, lawyer, "排班", today=date(2026, 3, 1))
        slots = planning.ensure_slots(shift)
        for i, channel in enumerate(("kiosk", "online", "hotline", "phone", "staff")):
            bookings.place_booking(
                bookings.BookingRequest(
                    slot_id=slots[i].id,
                    name="某人",
                    mobile=f"1381234000{i}",
                    category="labour",
                    channel=channel,
                    idempotency_key=secrets.token_hex(16),
                    consent=True,
                ),
                now=ON_THE_DAY,
                actor_id=None if channel in ("kiosk", "online") else desk.id,
            )
        db.session.commit()
        desk_id = desk.id
        db.session.remove()
        downgrade(revision="0012_retention")
        upgrade()
        rows = db.session.execute(
            sa.select(Booking.channel, Booking.consent_how, Booking.consent_by_id).order_by(Booking.id)
        ).all()
        assert [tuple(r) for r in rows] == [
            ("kiosk", "kiosk", None),
            ("online", "online", None),
            ("hotline", "phone", desk_id),
            ("phone", "phone", desk_id),
            ("staff", "read_aloud", desk_id),
        ]
        db.session.remove()
        db.engine.dispose()
