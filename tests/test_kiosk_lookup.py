"""The kiosk's look-up, move and cancel (issue 14 point 2): the code and last four digits on the kiosk's
own pads, the online look-up's rules (one throttle, one allowance for changes, one cutoff), a reason
tapped from a short list, POST → redirect → GET at every step, and no more personal data than online."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from html import unescape

import pytest
import sqlalchemy as sa
import time_machine

from legalaid.bookings import services as bookings
from legalaid.bookings.models import Booking, Slot
from legalaid.dates import zone
from legalaid.extensions import db
from legalaid.kiosk import lookup as kiosk_lookup
from legalaid.kiosk.forms import CANCEL_REASONS
from legalaid.kiosk.models import PublicCounter
from legalaid.roster import services as roster
from tests.conftest import csrf_token

DAY = date(2026, 3, 10)  # a Tuesday
AHEAD = datetime(2026, 3, 5, 2, 0, tzinfo=UTC)
TZ = zone("Asia/Shanghai")
NAME, MOBILE, ABOUT = "李卫国", "13812345678", "单位拖欠工资三个月"


@pytest.fixture
def shift(app, make_station, make_lawyer):
    station = make_station("查询站", address="服务大厅一楼")
    lawyer = make_lawyer(station, name="张律师")
    shift = roster.set_shift_lawyer(station, DAY, lawyer, "测试", today=date(2026, 3, 1))
    db.session.commit()
    return shift


@pytest.fixture
def booking(shift):
    """李卫国's booking at the day's first time (09:00), made at the kiosk, with what the matter is about."""
    with time_machine.travel(AHEAD, tick=True):
        slot = db.session.scalars(
            sa.select(Slot).where(Slot.shift_id == shift.id).order_by(Slot.starts_at)
        ).first()
        made = bookings.place_booking(
            bookings.BookingRequest(
                slot_id=slot.id,
                name=NAME,
                mobile=MOBILE,
                category="labour",
                channel="kiosk",
                idempotency_key="k" * 24,
                consent=True,
                description=ABOUT,
                id_number="110101195001010017",
            )
        )
        db.session.commit()
        return made


def _find(client, code: str, last4: str, **kwargs):
    page = client.get("/kiosk/lookup", **kwargs).get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), "code": code, "last4": last4}
    return client.post("/kiosk/lookup", data=data, **kwargs)


def _found(client, booking) -> str:
    """Look the booking up at the kiosk; the booking page's HTML."""
    sent = _find(client, booking.code.lower(), MOBILE[-4:])
    assert sent.status_code == 303 and sent.headers["Location"] == "/kiosk/booking"
    return client.get("/kiosk/booking").get_data(as_text=True)


def _reload(booking) -> Booking:
    db.session.expire_all()
    return db.session.get(Booking, booking.id)


def _errors(html: str) -> list[str]:
    return [unescape(m).strip() for m in re.findall(r'class="kiosk-alert"[^>]*>([^<]*)<', html)]


# -- the way in ----------------------------------------------------------------------------------------


def _hidden(html: str) -> dict[str, str]:
    """The hidden inputs of a page, as a browser would send them."""
    fields = {}
    for tag in re.findall(r"<input[^>]*>", html):
        if 'type="hidden"' in tag:
            name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
            if name:
                fields[name.group(1)] = unescape(value.group(1)) if value else ""
    return fields


def test_the_start_screen_and_already_booked_lead_to_the_lookup(client, shift, booking):
    with time_machine.travel(AHEAD, tick=True):
        start = client.get(f"/kiosk/?station={shift.station_id}").get_data(as_text=True)
        assert 'id="start-lookup" href="/kiosk/lookup"' in start
        # The same person books that day again: the "already booked" page leads to the look-up.
        times = client.get(f"/kiosk/day/{shift.id}").get_data(as_text=True)
        slot_id = re.findall(r'/kiosk/slot/(\d+)"', times)[1]
        page = client.get(f"/kiosk/slot/{slot_id}/labour").get_data(as_text=True)
        answers = [{"name": NAME, "mobile": MOBILE}, {"description": ""}, {"consent": "y"}]
        for answer in answers:
            sent = client.post("/kiosk/visit", data={**_hidden(page), **answer})
            assert sent.status_code == 303
            page = client.get(sent.headers["Location"]).get_data(as_text=True)
        sent = client.post("/kiosk/visit", data=_hidden(page))
        already = sent.get_data(as_text=True)
        assert sent.status_code == 200 and 'id="already-lookup" href="/kiosk/lookup"' in already
        assert booking.code not in already  # a mobile number alone reveals nothing


def test_the_pads_type_only_the_code_alphabet_and_the_inputs_work_without_them(client, shift):
    page = client.get(f"/kiosk/lookup?station={shift.station_id}").get_data(as_text=True)
    code_pad = re.search(r'<div class="kiosk-pad-code" data-keypad-for="code".*?</div>', page, re.S).group(0)
    keys = re.findall(r'data-key="([^"]+)"', code_pad)
    assert "".join(k for k in keys if k != "back") == bookings.CODE_ALPHABET
    assert not set("01ILO") & set(keys)
    digit_pad = re.search(r'data-keypad-for="last4".*?</div>', page, re.S).group(0)
    assert sorted(k for k in re.findall(r'data-key="([^"]+)"', digit_pad) if k.isdigit()) == list(
        "0123456789"
    )
    # The real inputs are in the form and typeable: the pads' script makes them read-only on the kiosk.
    code = re.search(r'<input[^>]*id="code"[^>]*>', page).group(0)
    last4 = re.search(r'<input[^>]*id="last4"[^>]*>', page).group(0)
    assert "readonly" not in code and "readonly" not in last4
    assert 'type="password"' in last4 and 'maxlength="4"' in last4  # shown as dots in the hall
    assert "/static/js/kiosk-pad.js" in page and "/static/css/kiosk-pads.css" in page


# -- finding ---------------------------------------------------------------------------------------------


def test_a_wrong_code_or_number_says_so_on_the_page_and_keeps_what_was_typed(client, booking):
    with time_machine.travel(AHEAD, tick=True):
        wrong = _find(client, booking.code, "0000")
        html = wrong.get_data(as_text=True)
        assert wrong.status_code == 200 and _errors(html)
        assert re.search(rf'id="code"[^>]*value="{booking.code}"', html)
        assert 'data-history-url="/kiosk/lookup"' in html  # Back never resubmits the look-up
        with client.session_transaction() as session:
            assert kiosk_lookup.BOOKING not in session
        assert client.get("/kiosk/booking").headers["Location"] == "/kiosk/lookup"
        # Odd input never gives a 500.
        for code, last4 in (("", ""), ("<>'\"", "٥٦٧٨"), ("x" * 300, "1" * 300), ("\u3000", "12 34")):
            assert _find(client, code, last4).status_code == 200
        # A stale page (its CSRF token gone, an old page from the history) starts the kiosk again.
        stale = client.post(
            "/kiosk/lookup", data={"csrf_token": "old", "code": booking.code, "last4": "5678"}
        )
        assert stale.status_code == 302 and stale.headers["Location"] == "/kiosk/"


def test_the_kiosk_lookup_is_throttled_with_the_online_one(client, booking):
    with time_machine.travel(AHEAD, tick=True):
        for _ in range(3):
            assert _find(client, booking.code, "0000").status_code == 200
        online = client.get("/booking/lookup").get_data(as_text=True)
        for _ in range(2):
            data = {"csrf_token": csrf_token(online), "code": booking.code, "last4": "0000"}
            assert client.post("/booking/lookup", data=data).status_code == 200
        # Five wrong tries for one code from one address, wherever they were typed.
        paused = _find(client, booking.code, MOBILE[-4:])
        assert paused.status_code == 429 and _errors(paused.get_data(as_text=True))
        # Another address (another phone) may still find it: the owner is never locked out.
        other = {"environ_base": {"REMOTE_ADDR": "10.9.9.9"}}
        assert _find(client, booking.code, MOBILE[-4:], **other).status_code == 303


def test_found_the_page_shows_no_more_personal_data_than_the_online_lookup(client, booking):
    with time_machine.travel(AHEAD, tick=True):
        kiosk = _found(client, booking)
        with client.session_transaction() as session:
            assert session[kiosk_lookup.BOOKING] == booking.id
        online = client.get("/booking/lookup").get_data(as_text=True)
        client.post(
            "/booking/lookup",
            data={"csrf_token": csrf_token(online), "code": booking.code, "last4": MOBILE[-4:]},
        )
        mine = client.get("/booking/mine").get_data(as_text=True)
    assert (
        booking.code in kiosk and "张律师" in kiosk and "2026年3月10日 星期二" in kiosk and "09:00" in kiosk
    )
    assert "李**" in kiosk and 'data-status="booked"' in kiosk
    for private in (NAME, MOBILE, MOBILE[-4:], "138****5678", ABOUT, "110101195001010017", "0017"):
        assert private not in kiosk
    # Every run of two or more Chinese characters or digits the kiosk shows, the online page shows too
    # (except the kiosk's own words and links).
    main = re.search(r'<main class="kiosk-main">(.*)</main>', kiosk, re.S).group(1)
    shown = set(re.findall(r">([^<>]*[\d\u4e00-\u9fff][^<>]*)<", main))
    for text in shown:
        if re.search(r"[\d*]{2,}|\*\*", text):
            assert text.strip() in mine, text
    assert 'href="/kiosk/booking/move"' in kiosk and 'href="/kiosk/booking/cancel"' in kiosk


def test_done_and_the_reset_forget_the_booking(client, booking):
    with time_machine.travel(AHEAD, tick=True):
        page = _found(client, booking)
        assert 'id="booking-done" href="/kiosk/reset"' in page
        client.get("/kiosk/reset")
        with client.session_transaction() as session:
            assert kiosk_lookup.BOOKING not in session
        for address in (
            "/kiosk/booking",
            "/kiosk/booking/move",
            "/kiosk/booking/cancel",
            "/kiosk/booking/cancelled",
        ):
            gone = client.get(address)
            assert gone.status_code == 302 and gone.headers["Location"] == "/kiosk/lookup"
            assert booking.code not in gone.get_data(as_text=True)


def test_an_erased_booking_goes_back_to_the_lookup(client, booking):
    with time_machine.travel(AHEAD, tick=True):
        _found(client, booking)
        _reload(booking).erased_at = datetime(2026, 3, 5, 3, 0, tzinfo=UTC)
        db.session.commit()
        assert client.get("/kiosk/booking").headers["Location"] == "/kiosk/lookup"


def test_the_phone_pages_lead_to_the_online_lookup(client, booking):
    for address in ("/book/lookup", "/book/booking", "/book/booking/move", "/book/booking/cancel/health"):
        response = client.get(address)
        assert response.status_code == 302 and response.headers["Location"] == "/booking/lookup", address


# -- moving ------------------------------------------------------------------------------------------------


def _move(client, to: int | None = None):
    """Choose a time on the move page (the second offered, or `to`), confirm; the POST's answer."""
    page = client.get("/kiosk/booking/move").get_data(as_text=True)
    offered = [int(s) for s in re.findall(r'href="/kiosk/booking/move/(\d+)"', page)]
    slot_id = to or offered[1]
    confirm = client.get(f"/kiosk/booking/move/{slot_id}").get_data(as_text=True)
    assert f'name="slot_id" value="{slot_id}"' in confirm
    return client.post("/kiosk/booking/move", data={"csrf_token": csrf_token(confirm), "slot_id": slot_id})


def test_move_at_the_kiosk(client, booking):
    with time_machine.travel(AHEAD, tick=True):
        _found(client, booking)
        page = client.get("/kiosk/booking/move").get_data(as_text=True)
        offered = [int(s) for s in re.findall(r'href="/kiosk/booking/move/(\d+)"', page)]
        assert offered == [s.id for s in bookings.move_choices(_reload(booking))]
        assert booking.slot_id not in offered
        moved = _move(client, offered[2])
        assert moved.status_code == 303 and moved.headers["Location"] == "/kiosk/booking"
        assert _reload(booking).slot_id == offered[2]
        after = client.get("/kiosk/booking").get_data(as_text=True)
        assert "kiosk-alert-done" in after
        # Counted as a change of the number, as online.
        assert (
            db.session.scalar(sa.select(PublicCounter.count).where(PublicCounter.scope == "change:mobile"))
            == 1
        )
        # A time that is not offered (gone meanwhile) says so on the move page.
        assert _errors(client.get("/kiosk/booking/move/999999").get_data(as_text=True))


def test_with_several_days_the_day_comes_first_then_its_times(client, shift, booking):
    next_week = roster.set_shift_lawyer(
        shift.station, date(2026, 3, 17), shift.lawyer, "测试", today=date(2026, 3, 1)
    )
    db.session.commit()
    with time_machine.travel(AHEAD, tick=True):
        _found(client, booking)
        days = client.get("/kiosk/booking/move").get_data(as_text=True)
        assert re.findall(r'data-day="(\d+)"', days) == [str(shift.id), str(next_week.id)]
        assert "data-slot" not in days
        times = client.get(f"/kiosk/booking/move?day={next_week.id}").get_data(as_text=True)
        offered = [int(s) for s in re.findall(r'data-slot="(\d+)"', times)]
        assert offered and all(db.session.get(Slot, s).shift_id == next_week.id for s in offered)
        assert 'href="/kiosk/booking/move"' in times  # back to the days
        assert _move(client, offered[0]).status_code == 303
        moved = _reload(booking)
        assert moved.shift_id == next_week.id and moved.slot_id == offered[0]


def test_the_change_allowance_is_the_online_one(app, client, booking):
    app.config["PUBLIC_CHANGES_PER_MOBILE_DAY"] = 1
    with time_machine.travel(AHEAD, tick=True):
        _found(client, booking)
        assert _move(client).status_code == 303
        before = _reload(booking).slot_id
        refused = _move(client)
        html = refused.get_data(as_text=True)
        assert refused.status_code == 429 and _errors(html)
        assert 'data-history-url="/kiosk/booking/move"' in html
        assert _reload(booking).slot_id == before
        cancel = client.get("/kiosk/booking/cancel/health").get_data(as_text=True)
        refused = client.post(
            "/kiosk/booking/cancel", data={"csrf_token": csrf_token(cancel), "reason": "health"}
        )
        assert refused.status_code == 429 and _reload(booking).status == "booked"


def test_moving_and_cancelling_end_at_the_cutoff(client, booking):
    just_before = datetime(2026, 3, 10, 6, 59, tzinfo=TZ)  # the 09:00 booking; the cutoff is 2 hours
    with time_machine.travel(just_before, tick=False):
        page = _found(client, booking)
        assert 'href="/kiosk/booking/move"' in page
        page = client.get("/kiosk/booking/move").get_data(as_text=True)
        confirm = client.get(re.search(r'href="(/kiosk/booking/move/\d+)"', page).group(1)).get_data(
            as_text=True
        )
        reasons = client.get("/kiosk/booking/cancel/clash").get_data(as_text=True)
    with time_machine.travel(datetime(2026, 3, 10, 7, 1, tzinfo=TZ), tick=False):
        page = client.get("/kiosk/booking").get_data(as_text=True)
        assert "/kiosk/booking/move" not in page and "/kiosk/booking/cancel" not in page
        assert _errors(page)  # too late here: ask at the desk
        slot_id = re.search(r'name="slot_id" value="(\d+)"', confirm).group(1)
        late = client.post(
            "/kiosk/booking/move", data={"csrf_token": csrf_token(confirm), "slot_id": slot_id}
        )
        assert late.status_code == 303 and late.headers["Location"] == "/kiosk/booking"
        late = client.post(
            "/kiosk/booking/cancel", data={"csrf_token": csrf_token(reasons), "reason": "clash"}
        )
        assert late.status_code == 303 and late.headers["Location"] == "/kiosk/booking"
        assert client.get("/kiosk/booking/move").headers["Location"] == "/kiosk/booking"
    again = _reload(booking)
    assert again.status == "booked" and again.slot_id == booking.slot_id


# -- cancelling --------------------------------------------------------------------------------------------


def test_cancel_with_a_reason_from_the_list(app, client, booking):
    with time_machine.travel(AHEAD, tick=True):
        _found(client, booking)
        reasons = client.get("/kiosk/booking/cancel").get_data(as_text=True)
        assert re.findall(r'data-reason="([^"]+)"', reasons) == list(CANCEL_REASONS)
        confirm = client.get("/kiosk/booking/cancel/health").get_data(as_text=True)
        assert 'name="reason" type="hidden" value="health"' in confirm or 'value="health"' in confirm
        done = client.post(
            "/kiosk/booking/cancel", data={"csrf_token": csrf_token(confirm), "reason": "health"}
        )
        assert done.status_code == 303 and done.headers["Location"] == "/kiosk/booking/cancelled"
        cancelled = client.get("/kiosk/booking/cancelled").get_data(as_text=True)
        assert 'id="cancelled-title"' in cancelled and booking.code in cancelled
        assert 'href="/kiosk/reset"' in cancelled
        again = _reload(booking)
        assert again.status == "cancelled"
        # Kept as words in the station's working language, whatever language the kiosk showed.
        with app.test_request_context():
            assert again.cancel_reason == kiosk_lookup.reason_words("health") != "health"
        assert db.session.get(Slot, again.slot_id).booked == 0
        # The booking page now says cancelled and offers no change.
        page = client.get("/kiosk/booking").get_data(as_text=True)
        assert 'data-status="cancelled"' in page and "/kiosk/booking/cancel" not in page


def test_a_reason_not_on_the_list_is_refused_on_the_page(client, booking):
    with time_machine.travel(AHEAD, tick=True):
        _found(client, booking)
        odd = client.get("/kiosk/booking/cancel/whatever")
        assert odd.status_code == 200 and _errors(odd.get_data(as_text=True))
        confirm = client.get("/kiosk/booking/cancel/clash").get_data(as_text=True)
        for reason in ("", "我就是想取消", "clash ", "<script>", "x" * 500):
            sent = client.post(
                "/kiosk/booking/cancel", data={"csrf_token": csrf_token(confirm), "reason": reason}
            )
            html = sent.get_data(as_text=True)
            assert sent.status_code == 200 and _errors(html), reason
            assert 'data-history-url="/kiosk/booking/cancel"' in html
        assert _reload(booking).status == "booked"
        stale = client.post("/kiosk/booking/cancel", data={"csrf_token": "old", "reason": "clash"})
        assert stale.status_code == 302 and _reload(booking).status == "booked"


def test_with_a_language_chosen_the_reason_is_still_kept_in_the_working_language(app, client, booking):
    with time_machine.travel(AHEAD, tick=True):
        client.set_cookie("lang", "en")
        _found(client, booking)
        confirm = client.get("/kiosk/booking/cancel/solved").get_data(as_text=True)
        client.post("/kiosk/booking/cancel", data={"csrf_token": csrf_token(confirm), "reason": "solved"})
    with app.test_request_context():
        assert _reload(booking).cancel_reason == kiosk_lookup.reason_words("solved")
