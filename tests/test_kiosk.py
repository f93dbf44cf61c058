"""The veteran's booking flow through the pages: kiosk and online, ticket, look-up, move, cancel,
the desk and the hall display; odd input never gives a 500 nor a half booking."""

from __future__ import annotations

import base64
import io
import re
from datetime import UTC, date, datetime
from html import unescape as html_unescape

import pytest
import sqlalchemy as sa
import time_machine
import zxingcpp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from legalaid.bookings import planning
from legalaid.bookings import services as bookings
from legalaid.bookings.models import Booking, Slot
from legalaid.extensions import db
from legalaid.roster import services as roster
from tests.conftest import csrf_token, login

DAY = date(2026, 3, 10)
AHEAD = datetime(2026, 3, 5, 2, 0, tzinfo=UTC)


@pytest.fixture
def shift(app, make_station, make_lawyer):
    station = make_station("自助站", address="服务大厅一楼")
    lawyer = make_lawyer(station, name="张律师")
    shift = roster.set_shift_lawyer(station, DAY, lawyer, "测试", today=date(2026, 3, 1))
    db.session.commit()
    return shift


def _hidden(html: str) -> dict[str, str]:
    """The hidden inputs of a page, as a browser would send them."""
    fields = {}
    for tag in re.findall(r"<input[^>]*>", html):
        if 'type="hidden"' in tag:
            name = re.search(r'name="([^"]+)"', tag)
            value = re.search(r'value="([^"]*)"', tag)
            if name:
                fields[name.group(1)] = html_unescape(value.group(1)) if value else ""
    return fields


def _walk(client, prefix, shift, name="李卫国", mobile="13812345678"):
    """Go through every step as a visitor; returns the confirm page's HTML."""
    start = client.get(f"{prefix}/days")
    assert "2026年3月10日 星期二" in start.get_data(as_text=True)
    times = client.get(f"{prefix}/day/{shift.id}").get_data(as_text=True)
    slot_id = int(re.search(rf'{prefix}/slot/(\d+)"', times).group(1))
    assert "劳动争议" in client.get(f"{prefix}/slot/{slot_id}").get_data(as_text=True)
    page = client.get(f"{prefix}/slot/{slot_id}/labour").get_data(as_text=True)
    data = {**_hidden(page), "name": name, "mobile": mobile, "id_number": "", "veteran_card_no": ""}
    about = client.post(f"{prefix}/visit", data=data, follow_redirects=True).get_data(as_text=True)
    assert 'name="description"' in about
    consent = client.post(
        f"{prefix}/visit", data={**_hidden(about), "description": "欠薪三个月"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "多长时间" in consent or "保存" in consent
    confirm = client.post(
        f"{prefix}/visit", data={**_hidden(consent), "consent": "y"}, follow_redirects=True
    ).get_data(as_text=True)
    assert f"{mobile[:3]}****{mobile[-4:]}" in confirm
    return confirm


def _decode_qr(page: str):
    """Read the ticket's QR code from its image, as a phone camera would."""
    data = re.search(r'class="ticket-qr" src="data:image/png;base64,([^"]+)"', page).group(1)
    (found,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(base64.b64decode(data))))
    return found


def test_kiosk_flow_ends_with_a_ticket_and_starts_again(app, client, shift):
    app.config["PUBLIC_URL"] = "https://legal.example.org"
    with time_machine.travel(AHEAD, tick=True):
        confirm = _walk(client, "/kiosk", shift)
        response = client.post("/kiosk/visit", data=_hidden(confirm))
        assert response.status_code == 302 and response.headers["Location"].endswith("/kiosk/ticket")
        ticket = client.get("/kiosk/ticket").get_data(as_text=True)
        booking = db.session.scalar(sa.select(Booking))
        assert booking.code in ticket and "张律师" in ticket
        # The QR code is a normal one (phones and WeChat do not read Micro QR) that opens the look-up
        # with the code filled in, and carries no mobile number.
        qr = _decode_qr(ticket)
        assert qr.format == zxingcpp.BarcodeFormat.QRCode
        assert qr.text == f"https://legal.example.org/booking/lookup?code={booking.code}"
        assert "13812345678" not in qr.text and "5678" not in qr.text
        lookup = client.get(qr.text.removeprefix("https://legal.example.org")).get_data(as_text=True)
        assert re.search(rf'name="code"[^>]*value="{booking.code}"', lookup)
        assert booking.channel == "kiosk" and booking.description == "欠薪三个月"
        # The same confirm page sent again: the same ticket, still one booking.
        again = client.post("/kiosk/visit", data=_hidden(confirm))
        assert again.status_code == 302
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 1
        # Start again: the ticket is gone, Back shows nothing of it.
        client.get("/kiosk/reset")
        after = client.get("/kiosk/ticket")
        assert after.status_code == 302 and booking.code not in after.get_data(as_text=True)
        # The next visitor resubmits an old step from the history: the session that signed it is gone.
        replay = client.post("/kiosk/visit", data=_hidden(confirm))
        assert replay.status_code == 302 and replay.headers["Location"].endswith("/kiosk/")
        assert "李卫国" not in replay.get_data(as_text=True)


def test_online_booking_then_lookup_move_and_cancel(client, shift):
    with time_machine.travel(AHEAD, tick=True):
        confirm = _walk(client, "/book", shift, mobile="13998765432")
        client.post("/book/visit", data=_hidden(confirm))
        booking = db.session.scalar(sa.select(Booking))
        assert booking.channel == "online"
        page = client.get("/booking/lookup").get_data(as_text=True)
        wrong = client.post(
            "/booking/lookup", data={"csrf_token": csrf_token(page), "code": booking.code, "last4": "0000"}
        )
        assert "不相符" in wrong.get_data(as_text=True) or "没有找到" in wrong.get_data(as_text=True)
        found = client.post(
            "/booking/lookup",
            data={"csrf_token": csrf_token(page), "code": booking.code.lower(), "last4": "5432"},
        )
        assert found.status_code == 302
        mine = client.get("/booking/mine").get_data(as_text=True)
        assert "李**" in mine and booking.code in mine
        other = next(s for s in planning.ensure_slots(shift) if s.id != booking.slot_id)
        client.post("/booking/mine/move", data={"csrf_token": csrf_token(mine), "slot_id": str(other.id)})
        db.session.expire_all()
        assert db.session.get(Booking, booking.id).slot_id == other.id
        client.post("/booking/mine/cancel", data={"csrf_token": csrf_token(mine), "reason": "身体不适"})
        db.session.expire_all()
        cancelled = db.session.get(Booking, booking.id)
        assert cancelled.status == "cancelled" and cancelled.cancel_reason == "身体不适"
        assert db.session.get(Slot, other.id).booked == 0


def test_lookup_guessing_is_throttled(client, shift):
    page = client.get("/booking/lookup").get_data(as_text=True)

    def guess(code: str):
        data = {"csrf_token": csrf_token(page), "code": code, "last4": "1234"}
        return client.post("/booking/lookup", data=data)

    for _ in range(5):
        assert guess("ABCDEF").status_code == 200
    assert guess("ABCDEF").status_code == 429  # five wrong tries on one code
    for n in range(15):
        assert guess(f"GH{n:04d}"[:6]).status_code == 200
    assert guess("XYZXYZ").status_code == 429  # twenty from one address, whatever the codes


def test_bad_details_stay_on_the_page_with_what_was_typed(client, shift):
    with time_machine.travel(AHEAD, tick=True):
        client.get(f"/kiosk/day/{shift.id}")
        slot = planning.ensure_slots(shift)[0]
        page = client.get(f"/kiosk/slot/{slot.id}/family").get_data(as_text=True)
        response = client.post("/kiosk/visit", data={**_hidden(page), "name": "王", "mobile": "1381234"})
        html = response.get_data(as_text=True)
        assert response.status_code == 200 and "2 到 30" in html and 'value="1381234"' in html


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.text(max_size=80),
    mobile=st.text(max_size=30),
    id_number=st.text(max_size=30),
    description=st.text(max_size=700),
    step=st.sampled_from(["details", "about", "consent", "confirm", "x"]),
)
def test_any_text_never_gives_a_500_or_a_half_booking(
    client, shift, name, mobile, id_number, description, step
):
    slot = planning.ensure_slots(shift)[3]
    db.session.commit()
    data = {
        "step": step,
        "name": name.replace("\x00", ""),
        "mobile": mobile.replace("\x00", ""),
        "id_number": id_number.replace("\x00", ""),
        "description": description.replace("\x00", ""),
        "consent": "y",
        "key": "k" * 20,
    }
    with time_machine.travel(AHEAD, tick=True):
        page = client.get(f"/kiosk/slot/{slot.id}/other").get_data(as_text=True)
        response = client.post("/kiosk/visit", data={**_hidden(page), **data})
    assert response.status_code in (200, 302, 303)
    db.session.expire_all()
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Booking))
    assert db.session.get(Slot, slot.id).booked == count  # a place is taken only with a booking


def test_desk_walkin_call_and_hall_display(client, shift, make_user):
    make_user("staff", username="desk1", station_id=shift.station_id)
    on_the_day = datetime(2026, 3, 10, 1, 30, tzinfo=UTC)
    with time_machine.travel(on_the_day, tick=True):
        login(client, "desk1")
        desk = client.get("/desk").get_data(as_text=True)
        client.post(
            "/desk/walkin",
            data={
                "csrf_token": csrf_token(desk),
                "name": "赵大爷",
                "mobile": "13700001111",
                "category": "pensions",
                "consent": "y",  # the desk read the notice out (issue 13)
            },
        )
        desk = client.get("/desk").get_data(as_text=True)
        assert "A001" in desk and "赵大爷" in desk and "13700001111" not in desk
        client.post("/desk/call-next", data={"csrf_token": csrf_token(desk)})
        panel = client.get(f"/duty/calling?station={shift.station_id}").get_data(as_text=True)
        assert "A001" in panel and "赵**" in panel and "13700001111" not in panel
        hall = client.get(f"/duty/today?station={shift.station_id}").get_data(as_text=True)
        assert "hx-get" in hall and "htmx.min.js" in hall


def test_desk_takes_a_hotline_booking(client, shift, make_user):
    make_user("staff", username="desk2", station_id=shift.station_id)
    with time_machine.travel(AHEAD, tick=True):
        login(client, "desk2")
        page = client.get("/desk/book").get_data(as_text=True)
        slot_id = re.search(r'name="slot_id" id="slot-(\d+)"', page).group(1)
        response = client.post(
            "/desk/book",
            data={
                "csrf_token": csrf_token(page),
                "key": _hidden(page)["key"],
                "slot_id": slot_id,
                "channel": "hotline",
                "category": "housing",
                "name": "孙阿姨",
                "mobile": "13600002222",
                "consent": "y",
            },
        )
        assert response.status_code == 302
    booking = db.session.scalar(sa.select(Booking))
    assert (
        booking.channel == "hotline" and not booking.uses_public_quota and booking.created_by_id is not None
    )


def test_desk_walkin_with_a_name_only(client, shift, make_user):
    make_user("staff", username="desk3", station_id=shift.station_id)
    with time_machine.travel(datetime(2026, 3, 10, 1, 30, tzinfo=UTC), tick=True):
        login(client, "desk3")
        desk = client.get("/desk").get_data(as_text=True)
        client.post(
            "/desk/walkin",
            data={"csrf_token": csrf_token(desk), "name": "钱大妈", "mobile": "", "category": ""},
        )
        desk = client.get("/desk").get_data(as_text=True)
        assert "A001" in desk and "钱大妈" in desk
        client.post("/desk/call-next", data={"csrf_token": csrf_token(desk)})
        panel = client.get(f"/duty/calling?station={shift.station_id}").get_data(as_text=True)
        assert "A001" in panel and "钱**" in panel


def test_review_fixes_for_the_kiosk(client, shift):
    """A stale day keeps the kiosk's look; an unknown matter is refused; start again resets the language."""
    missing = client.get("/kiosk/day/999999")
    html = missing.get_data(as_text=True)
    assert missing.status_code == 404 and "kiosk.js" in html and "/login" not in html
    slot = planning.ensure_slots(shift)[0]
    db.session.commit()
    assert client.get(f"/kiosk/slot/{slot.id}/astrology").status_code == 404
    client.get("/language/en?next=/kiosk/")
    reset = client.get("/kiosk/reset")
    assert "lang=;" in reset.headers.get("Set-Cookie", "") or "lang=" in reset.headers.get("Set-Cookie", "")
    assert "预约法律咨询" in client.get("/kiosk/").get_data(as_text=True)


def test_a_known_mobile_reveals_nothing_and_renames_nobody(client, shift):
    slots = planning.ensure_slots(shift)
    db.session.commit()
    first = bookings.place_booking(
        bookings.BookingRequest(
            slot_id=slots[0].id,
            name="王建国",
            mobile="13812345678",
            category="labour",
            channel="kiosk",
            idempotency_key="a" * 32,
            consent=True,
            id_number="11010519491231002X",
        ),
        now=AHEAD,
    )
    db.session.commit()
    with time_machine.travel(AHEAD, tick=True):
        page = client.get(f"/book/slot/{slots[4].id}/other").get_data(as_text=True)
        data = {
            **_hidden(page),
            "name": "冒名者",
            "mobile": "13812345678",
            "id_number": "",
            "veteran_card_no": "",
        }
        for _step in ("details", "about", "consent"):
            page = client.post(
                "/book/visit", data={**data, **_hidden(page), "consent": "y"}, follow_redirects=True
            ).get_data(as_text=True)
        answer = client.post("/book/visit", data={**_hidden(page), "consent": "y"}).get_data(as_text=True)
    assert "当天已有预约" in answer
    assert "09:00" not in answer and first.shift.lawyer.name not in answer
    db.session.expire_all()
    veteran = db.session.get(Booking, first.id).veteran
    assert veteran.name == "王建国" and veteran.id_number == "11010519491231002X"


def test_non_ascii_digits_are_refused_and_never_crash_the_lookup(client, shift):
    from legalaid.bookings.validation import valid_id_number

    assert not valid_id_number("١١٠١٠٥١٩٤٩١٢٣١٠٠٢X")
    page = client.get("/booking/lookup").get_data(as_text=True)
    response = client.post(
        "/booking/lookup", data={"csrf_token": csrf_token(page), "code": "ABCDEF", "last4": "٥٦٧٨"}
    )
    assert response.status_code == 200
