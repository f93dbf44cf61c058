"""Text is stored as typed: full-width Chinese punctuation (，。：；？！（）“”) survives every free-text
field; numbers take the digits 0–9 only, and an ID number needs a real birth date."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, date, datetime
from html import unescape

import pytest
import sqlalchemy as sa
import time_machine

from legalaid.bookings import planning, validation
from legalaid.bookings import services as bookings
from legalaid.bookings.models import Booking, WalkIn
from legalaid.consultations import services as consultations
from legalaid.consultations.models import Consultation, MatterNote
from legalaid.errors import FieldErrors, InvalidInput
from legalaid.extensions import db
from legalaid.lawyers import services as lawyers
from legalaid.reports import services as reports
from legalaid.roster import closing
from legalaid.roster import services as roster
from legalaid.roster.models import Closure
from legalaid.swaps import services as swaps
from tests.conftest import csrf_token, login

DUTY_DAY = date(2026, 3, 10)  # a Tuesday
NEXT_DUTY_DAY = date(2026, 3, 17)
BEFORE = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 2 March, 10:00 in Beijing
ON_THE_DAY = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # the duty day, 10:00 in Beijing
# Full-width punctuation, full-width digits in prose, and an ideographic space inside the text.
PROSE = "欠薪三个月，老板说：“下月（最迟１５号）再付。”怎么办？！　另：合同；"


def _request(slot, **values) -> bookings.BookingRequest:
    fields = {
        "slot_id": slot.id,
        "name": "王建国",
        "mobile": "13812345678",
        "category": "labour",
        "channel": "kiosk",
        "idempotency_key": secrets.token_hex(16),
        "consent": True,
        **values,
    }
    return bookings.BookingRequest(**fields)


@pytest.fixture(autouse=True)
def _clock():
    """The Monday before the duty day, unless a test travels on."""
    with time_machine.travel(BEFORE, tick=False):
        yield


@pytest.fixture
def hall(app, make_station, make_lawyer, make_user):
    """A station, its duty lawyer on two Tuesdays, a colleague, an administrator; the first Tuesday's
    first time."""
    station = make_station("原文站")
    duty, colleague = make_lawyer(station, name="张律师"), make_lawyer(station, name="李律师")
    shift = roster.set_shift_lawyer(station, DUTY_DAY, duty, "排班", today=date(2026, 3, 1))
    later = roster.set_shift_lawyer(station, NEXT_DUTY_DAY, duty, "排班", today=date(2026, 3, 1))
    db.session.commit()
    admin = make_user("admin", username="chief")
    make_user("staff", username="desk", station_id=station.id)
    return {
        "station": station,
        "duty": duty,
        "colleague": colleague,
        "shift": shift,
        "later": later,
        "slot": planning.ensure_slots(shift)[0],
        "admin": admin,
    }


def test_the_cleaners_keep_prose_and_normalise_codes():
    assert validation.clean_prose(f"  {PROSE}\x00 ") == PROSE
    assert validation.clean_text("ｋ７ｑ２") == "k7q2"  # a code may be normalised


def test_a_booking_description_and_name_are_stored_as_typed(hall):
    req = _request(hall["slot"], name="阿依古丽·买买提（母亲）", description=PROSE)
    booking = bookings.place_booking(req, now=BEFORE)
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(Booking, booking.id)
    assert stored.description == PROSE and stored.name == "阿依古丽·买买提（母亲）"


def test_a_cancel_reason_is_stored_as_typed(hall):
    booking = bookings.place_booking(_request(hall["slot"]), now=BEFORE)
    bookings.cancel(booking, PROSE, now=BEFORE)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).cancel_reason == PROSE[:200]


def test_a_consultation_and_its_matters_notes_are_stored_as_typed(hall):
    booking = bookings.place_booking(_request(hall["slot"], description=PROSE), now=BEFORE)
    db.session.commit()
    record = consultations.Record(
        category="labour",
        summary=PROSE,
        advice="建议：先协商；不成，申请劳动仲裁（60日内）。",
        outcomes=["advice"],
        counselling_notes="情绪激动，已安抚。",
        follow_up=True,
        due_on=date(2026, 3, 31),
    )
    done = consultations.record_consultation(
        hall["station"], hall["duty"].user, record, booking=booking, today=DUTY_DAY
    )
    consultations.add_note(done.matter, hall["duty"].user, "已电话联系：对方同意（口头）分期付款。")
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(Consultation, done.id)
    assert stored.summary == PROSE
    assert stored.advice == "建议：先协商；不成，申请劳动仲裁（60日内）。"
    assert stored.counselling_notes == "情绪激动，已安抚。"
    note = db.session.scalar(sa.select(MatterNote).where(MatterNote.matter_id == stored.matter.id))
    assert note.text == "已电话联系：对方同意（口头）分期付款。"


def test_a_swap_note_a_closure_reason_a_leave_reason_and_a_shift_reason_are_stored_as_typed(hall):
    swap = swaps.request_swap(
        hall["later"], hall["duty"], hall["colleague"], "家中有事（住院），请见谅。", today=BEFORE.date()
    )
    lawyers.add_unavailability(hall["colleague"], date(2026, 4, 1), date(2026, 4, 3), "出差：外地开庭。")
    roster.set_closure(hall["station"], date(2026, 3, 24), True, "大厅检修（停电）。")
    closing.close_day(hall["station"], date(2026, 3, 31), "临时停业：消防检查。", now=BEFORE)
    shift = roster.set_shift_lawyer(
        hall["station"], date(2026, 4, 7), hall["colleague"], "调换：张律师休假。", today=BEFORE.date()
    )
    db.session.commit()
    db.session.expire_all()
    assert swaps.get_swap(swap.id).note == "家中有事（住院），请见谅。"
    assert hall["colleague"].leaves[0].reason == "出差：外地开庭。"
    reasons = set(db.session.scalars(sa.select(Closure.reason)))
    assert reasons == {"大厅检修（停电）。", "临时停业：消防检查。"}
    assert roster.get_shift(shift.id).reason == "调换：张律师休假。"


def test_the_monthly_review_is_stored_as_typed(hall):
    review = reports.save_review(
        hall["station"],
        date(2026, 2, 1),
        reports.ReviewRecord(
            held_on=date(2026, 3, 2),
            attendees="局长、科长（主持）",
            conclusions=PROSE,
            actions="一、回访；二、督办。",
        ),
        hall["admin"],
    )
    db.session.commit()
    db.session.expire_all()
    stored = reports.get_review(hall["station"].id, date(2026, 2, 1))
    assert (stored.attendees, stored.conclusions, stored.actions) == (
        "局长、科长（主持）",
        PROSE,
        "一、回访；二、督办。",
    )
    assert review.id == stored.id


def test_a_firm_and_a_lawyer_are_stored_as_typed(hall):
    firm = lawyers.save_firm(None, "明理（河南）律师事务所", "周主任（合伙人）", "0391-1234567")
    lawyer = lawyers.create_lawyer(
        hall["station"],
        lawyers.LawyerData(
            name="欧阳·娜娜", firm_id=firm.id, licence_no="14108201910000099", contract_start=date(2026, 1, 1)
        ),
    )
    db.session.commit()
    db.session.expire_all()
    assert lawyers.get_firm(firm.id).name == "明理（河南）律师事务所"
    assert lawyers.get_firm(firm.id).contact_person == "周主任（合伙人）"
    assert lawyers.get_lawyer(lawyer.id).name == "欧阳·娜娜"


# -- through the pages -----------------------------------------------------------------------------


def test_the_desk_books_by_telephone_and_the_queue_shows_the_description_as_typed(client, hall):
    station = hall["station"]
    url = f"/desk/book?station={station.id}"
    with time_machine.travel(BEFORE, tick=False):
        login(client, "desk")
        page = client.get(url).get_data(as_text=True)
        slot = re.search(r'name="slot_id" id="slot-(\d+)"', page).group(1)
        key = re.search(r'name="key" type="hidden" value="([^"]+)"', page).group(1)
        response = client.post(
            url,
            data={
                "csrf_token": csrf_token(page),
                "key": key,
                "slot_id": slot,
                "channel": "phone",
                "category": "labour",
                "name": "李卫国",
                "mobile": "13812345679",
                "description": PROSE,
                "consent": "y",
            },
        )
    assert response.status_code == 302
    assert db.session.scalar(sa.select(Booking.description)) == PROSE
    with time_machine.travel(ON_THE_DAY, tick=False):
        login(client, "desk")  # a week later: signed in again
        desk = client.get(f"/desk?station={station.id}").get_data(as_text=True)
    shown = re.search(r'class="[^"]*booking-description[^"]*">([^<]*)<', desk)
    assert shown and unescape(shown.group(1)) == PROSE


def test_the_kiosk_keeps_the_description_as_typed(client, hall):
    with time_machine.travel(BEFORE, tick=False):
        times = client.get(f"/book/day/{hall['shift'].id}").get_data(as_text=True)
        slot_id = re.search(r'/book/slot/(\d+)"', times).group(1)
        page = client.get(f"/book/slot/{slot_id}/labour").get_data(as_text=True)

        def hidden(html: str) -> dict[str, str]:
            found = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)
            found += [
                (n, v)
                for v, n in re.findall(
                    r'<input[^>]*value="([^"]*)"[^>]*name="([^"]+)"[^>]*type="hidden"', html
                )
            ]
            return {name: unescape(value) for name, value in found}

        data = {**hidden(page), "name": "王建国", "mobile": "13812345678"}
        about = client.post("/book/visit", data=data, follow_redirects=True).get_data(as_text=True)
        consent = client.post(
            "/book/visit", data={**hidden(about), "description": PROSE}, follow_redirects=True
        ).get_data(as_text=True)
        confirm = client.post(
            "/book/visit", data={**hidden(consent), "consent": "y"}, follow_redirects=True
        ).get_data(as_text=True)
        assert unescape(confirm).count(PROSE) >= 1
        response = client.post("/book/visit", data={**hidden(confirm), "consent": "y"})
    assert response.status_code == 302
    assert db.session.scalar(sa.select(Booking.description)) == PROSE


def test_the_desk_walk_in_name_is_kept_as_typed(client, hall):
    station = hall["station"]
    with time_machine.travel(ON_THE_DAY, tick=False):
        login(client, "desk")
        page = client.get(f"/desk?station={station.id}").get_data(as_text=True)
        response = client.post(
            f"/desk/walkin?station={station.id}",
            data={"csrf_token": csrf_token(page), "name": "阿依古丽·买买提"},
        )
    assert response.status_code == 302
    assert db.session.scalar(sa.select(WalkIn.name)) == "阿依古丽·买买提"


# -- numbers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["١٣٨١٢٣٤٥٦٧٨", "１３８１２３４５６７８", "١٣٨12345678"])
def test_a_mobile_number_takes_the_digits_0_to_9_only(app, typed):
    with pytest.raises(InvalidInput) as caught:
        validation.check_mobile(typed)
    assert caught.value.field == "mobile" and "0–9" in caught.value.message


def test_a_mobile_number_may_have_spaces_and_dashes():
    assert validation.check_mobile(" 138-1234 5678 ") == "13812345678"


def test_an_id_number_needs_its_check_digit_and_a_real_birth_date(app):
    good = "11010519491231002X"
    assert validation.check_id_number(good.lower()) == good
    month_13 = "11010519491331002" + validation.id_check_digit("11010519491331002")
    feb_30 = "11010519490230002" + validation.id_check_digit("11010519490230002")
    wrong_check = "110105194912310021"
    for value in (
        month_13,
        feb_30,
        wrong_check,
        "١١٠١٠٥١٩٤٩١٢٣١٠٠٢X",
        "１１０１０５１９４９１２３１００２Ｘ",
    ):
        with pytest.raises(InvalidInput) as caught:
            validation.check_id_number(value)
        assert caught.value.field == "id_number", value
    born_next_year = "11010520270101002" + validation.id_check_digit("11010520270101002")
    with pytest.raises(InvalidInput):
        validation.check_id_number(born_next_year)


def test_a_booking_tells_every_wrong_detail_at_once(hall):
    req = _request(
        hall["slot"],
        name="张",
        mobile="１３８１２３４５６７８",
        id_number="11010519491331002" + validation.id_check_digit("11010519491331002"),
        veteran_card_no="卡号？",
        description="述" * 501,
        consent=False,
    )
    with pytest.raises(FieldErrors) as caught:
        bookings.place_booking(req, now=BEFORE)
    assert [field for field, _message in caught.value.errors] == [
        "name",
        "mobile",
        "id_number",
        "veteran_card_no",
        "description",
        "consent",
    ]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 0
