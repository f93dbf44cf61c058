"""Every form tells every wrong field at once, each message beside its field, in the reader's language,
with what was typed kept: the admin, desk, lawyer and kiosk forms walked through the pages with a
wrong value in each field."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from html import unescape

import pytest
import sqlalchemy as sa
import time_machine

from legalaid.bookings.models import WalkIn
from legalaid.bookings.validation import id_check_digit
from legalaid.extensions import db
from legalaid.roster import services as roster
from tests.conftest import csrf_token, login

DUTY_DAY = date(2026, 3, 10)  # a Tuesday: the desk and the duty lawyer work today
NEXT_DUTY_DAY = date(2026, 3, 17)
ON_THE_DAY = datetime(2026, 3, 10, 1, 5, tzinfo=UTC)  # 09:05 in Beijing
# A resident ID number with a correct check digit whose birth date has a 13th month.
MONTH_13 = "11010519491331002" + id_check_digit("11010519491331002")
ARABIC_MOBILE = "١٣٨١٢٣٤٥٦٧٨"  # 13812345678 in Arabic-Indic digits
FULL_WIDTH_MOBILE = "１３８１２３４５６７８"
FULL_WIDTH_LICENCE = "１４１０８２０１９１０００００９９"
_CONTROL = re.compile(r"<(input|select|textarea)\b[^>]*>", re.S)
_MESSAGE = re.compile(r'<div class="(?:invalid-feedback|kiosk-error|text-danger)[^"]*"[^>]*>([^<]*)<')


@pytest.fixture
def hall(app, make_station, make_lawyer, make_user, make_firm):
    """A station with its duty lawyer today and next week, a colleague, a firm, an administrator, a
    desk account; the clock is held on the duty day."""
    station = make_station("表单站")
    make_firm("明理律师事务所")
    lawyer = make_lawyer(station, name="张律师")
    make_lawyer(station, name="李律师")
    roster.set_shift_lawyer(station, DUTY_DAY, lawyer, "排班", today=date(2026, 3, 1))
    later = roster.set_shift_lawyer(station, NEXT_DUTY_DAY, lawyer, "排班", today=date(2026, 3, 1))
    db.session.commit()
    make_user("admin", username="chief")
    make_user("staff", username="desk", station_id=station.id)
    with time_machine.travel(ON_THE_DAY, tick=False):
        yield {"station": station, "lawyer": lawyer, "later": later}


def told(page: str, field: str) -> list[str]:
    """The messages shown beside a field: after its input up to the next control, or in the fieldset
    that holds a group of boxes (or a list of times)."""
    for tag in _CONTROL.finditer(page):
        text = tag.group(0)
        if 'type="hidden"' in text or not re.search(rf'\b(?:id|name)="{re.escape(field)}"', text):
            continue
        following = _CONTROL.search(page, tag.end())
        end = page.find("</form>", tag.end())
        stop = min(x for x in (following.start() if following else len(page), end if end >= 0 else len(page)))
        found = [unescape(m).strip() for m in _MESSAGE.findall(page[tag.end() : stop])]
        if found:
            return found
        break
    for block in re.findall(r"<fieldset\b.*?</fieldset>", page, re.S):
        if re.search(rf'name="{re.escape(field)}[-"]', block):
            return [unescape(m).strip() for m in _MESSAGE.findall(block)]
    return []


def value_of(page: str, field: str) -> str | None:
    """What a text box shows."""
    tag = re.search(rf'<input\b[^>]*\bid="{re.escape(field)}"[^>]*>', page)
    value = re.search(r'value="([^"]*)"', tag.group(0)) if tag else None
    return unescape(value.group(1)) if value else None


def submit(client, url: str, data: dict, form_page: str | None = None, **kwargs) -> tuple[int, str]:
    """GET the form's page, POST the data with its token; the status and the page answered."""
    page = client.get(form_page or url)
    assert page.status_code == 200, (form_page or url, page.status_code)
    token = csrf_token(page.get_data(as_text=True))
    response = client.post(url, data={**data, "csrf_token": token}, **kwargs)
    return response.status_code, response.get_data(as_text=True)


def assert_all_told(page: str, fields: dict[str, str | None]) -> None:
    """Each field shows a message (with these words, where given)."""
    missing = [name for name in fields if not told(page, name)]
    assert not missing, f"no message beside {missing}"
    for name, words in fields.items():
        if words:
            assert any(words in message for message in told(page, name)), (name, told(page, name))


# -- the administrator's forms ---------------------------------------------------------------------


def _admin(client):
    login(client, "chief")
    return client


def test_a_new_account(client, hall):
    status, page = submit(
        _admin(client),
        "/admin/users/new",
        {
            "username": "a!",
            "display_name": "",
            "email": "not-an-address",
            "role": "king",
            "station_id": "0",
            "password": "short",
            "confirm": "other",
        },
    )
    assert status == 200
    assert_all_told(
        page,
        {
            "username": None,
            "display_name": None,
            "email": "邮箱",
            "role": None,
            "password": "10",
            "confirm": "不一致",
        },
    )
    assert value_of(page, "username") == "a!" and value_of(page, "email") == "not-an-address"


def test_a_taken_username_is_told_with_the_other_mistakes(client, hall):
    status, page = submit(
        _admin(client),
        "/admin/users/new",
        {"username": "desk", "display_name": "", "role": "staff", "station_id": "0", "password": "x" * 12},
    )
    assert_all_told(page, {"username": "desk", "display_name": None, "confirm": None})


def test_ones_own_password(client, hall):
    status, page = submit(
        _admin(client),
        "/account/password",
        {"current_password": "wrong", "password": "short", "confirm": "x"},
    )
    assert status == 200
    assert_all_told(page, {"current_password": "当前密码", "password": "10", "confirm": None})


def test_another_accounts_password(client, hall):
    staff = db.session.scalar(sa.text("SELECT id FROM users WHERE username = 'desk'"))
    status, page = submit(
        _admin(client),
        f"/admin/users/{staff}/password",
        {"password": "short", "confirm": "other"},
        form_page=f"/admin/users/{staff}",
    )
    assert_all_told(page, {"password": "10", "confirm": None})


def test_a_new_station(client, hall):
    status, page = submit(
        _admin(client),
        "/admin/stations/new",
        {
            "name": "",
            "address": "路" * 201,
            "timezone": "Mars/Olympus",
            "sessions-0-start": "09:00",
            "sessions-0-end": "",
            "slot_minutes": "0",
            "places_per_slot": "0",
            "walkin_reserve": "-1",
            "booking_window_days": "0",
            "booking_cutoff_hours": "999",
            "retention_years": "0",
        },
    )
    assert status == 200
    assert_all_told(
        page,
        {
            "name": None,
            "address": None,
            "timezone": "Mars/Olympus",
            "duty_weekdays": None,
            "sessions-0-end": None,
            "slot_minutes": "5",
            "places_per_slot": None,
            "walkin_reserve": None,
            "booking_window_days": None,
            "booking_cutoff_hours": None,
            "retention_years": None,
        },
    )
    assert value_of(page, "timezone") == "Mars/Olympus"


def test_station_sessions_and_walk_in_places_are_told_with_the_rest(client, hall):
    status, page = submit(
        _admin(client),
        "/admin/stations/new",
        {
            "name": "",
            "timezone": "Asia/Shanghai",
            "duty_weekdays": "2",
            "sessions-0-start": "09:00",
            "sessions-0-end": "12:00",
            "sessions-1-start": "11:00",
            "sessions-1-end": "13:00",
            "slot_minutes": "30",
            "places_per_slot": "1",
            "walkin_reserve": "2",
            "booking_window_days": "28",
            "booking_cutoff_hours": "2",
            "retention_years": "3",
        },
    )
    assert_all_told(page, {"name": None, "sessions-0-start": "重叠"})


def test_a_firm(client, hall):
    status, page = submit(
        _admin(client), "/admin/firms", {"name": "", "contact_person": "人" * 61, "phone": "1" * 31}
    )
    assert_all_told(page, {"name": None, "contact_person": None, "phone": None})


def test_a_new_lawyer_with_every_field_wrong(client, hall):
    station = hall["station"]
    status, page = submit(
        _admin(client),
        f"/admin/lawyers/new?station={station.id}",
        {
            "name": "",
            "firm_id": "0",
            "licence_no": FULL_WIDTH_LICENCE,
            "mobile": ARABIC_MOBILE,
            "email": "nope",
            "contract_start": "",
            "specialties": ["astrology"],
            "user_id": "999999",
        },
    )
    assert status == 200
    assert_all_told(
        page,
        {
            "name": None,
            "firm_id": "律师事务所",
            "licence_no": "0–9",
            "mobile": "0–9",
            "email": "邮箱",
            "contract_start": "日期",
            "specialties": None,
            "user_id": None,
        },
    )
    assert value_of(page, "licence_no") == FULL_WIDTH_LICENCE and value_of(page, "mobile") == ARABIC_MOBILE


def test_a_lawyers_contract_and_a_clash_are_told_with_the_form_checks(client, hall):
    station, lawyer = hall["station"], hall["lawyer"]
    firm = lawyer.firm_id
    status, page = submit(
        _admin(client),
        f"/admin/lawyers/new?station={station.id}",
        {
            "name": "",
            "firm_id": str(firm),
            "licence_no": lawyer.licence_no,
            "mobile": "12345",
            "contract_start": "2026-03-01",
            "contract_end": "2026-02-01",
        },
    )
    assert_all_told(
        page, {"name": None, "licence_no": lawyer.licence_no, "mobile": "11", "contract_end": "开始日期"}
    )


def test_dates_off(client, hall):
    lawyer = hall["lawyer"]
    status, page = submit(
        _admin(client),
        f"/admin/lawyers/{lawyer.id}/leave",
        {"start_on": "2026-03-20", "end_on": "2026-03-19", "reason": "因" * 201},
        form_page=f"/admin/lawyers/{lawyer.id}",
    )
    assert status == 200
    assert_all_told(page, {"end_on": "早于", "reason": None})
    status, page = submit(
        client,
        f"/admin/lawyers/{lawyer.id}/leave",
        {"start_on": "someday", "end_on": "", "reason": ""},
        form_page=f"/admin/lawyers/{lawyer.id}",
    )
    assert_all_told(page, {"start_on": None, "end_on": None})


def test_the_import_form(client, hall):
    status, page = submit(
        _admin(client), "/admin/lawyers/import", {"station_id": "999999"}, content_type="multipart/form-data"
    )
    assert_all_told(page, {"station_id": None, "file": None})


def test_generating_the_roster(client, hall):
    station = hall["station"]
    status, page = submit(
        _admin(client),
        f"/admin/roster/generate?station={station.id}",
        {"station_id": str(station.id), "start": "", "weeks": "0", "preview": "1"},
    )
    assert_all_told(page, {"start": None, "weeks": None})


def test_a_closure(client, hall):
    station = hall["station"]
    status, page = submit(
        _admin(client),
        f"/admin/roster/closures?station={station.id}",
        {"closed_on": "", "kind": "close", "reason": "因" * 201},
    )
    assert_all_told(page, {"closed_on": None, "reason": None})


def test_a_days_lawyer_by_hand(client, hall):
    station = hall["station"]
    url = f"/admin/roster/day?station={station.id}&date=2026-03-24"
    status, page = submit(_admin(client), url, {"lawyer_id": "0", "reason": ""})
    assert_all_told(page, {"lawyer_id": None, "reason": "原因"})


def test_the_monthly_review(client, hall):
    station = hall["station"]
    status, page = submit(
        _admin(client),
        f"/admin/reports/monthly/2026-02?station={station.id}",
        {"held_on": "", "attendees": "", "conclusions": ""},
    )
    assert_all_told(page, {"held_on": None, "attendees": None, "conclusions": None})


# -- the desk --------------------------------------------------------------------------------------


def test_a_walk_in_keeps_what_was_typed_and_tells_every_mistake(client, hall):
    station = hall["station"]
    login(client, "desk")
    status, page = submit(
        client,
        f"/desk/walkin?station={station.id}",
        {"name": "张", "mobile": ARABIC_MOBILE, "category": "astrology"},
        form_page=f"/desk?station={station.id}",
    )
    assert status == 200
    assert_all_told(page, {"name": "2", "mobile": "0–9", "category": None})
    assert value_of(page, "name") == "张" and value_of(page, "mobile") == ARABIC_MOBILE
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WalkIn)) == 0


def test_a_walk_in_is_told_its_number(client, hall):
    station = hall["station"]
    login(client, "desk")
    status, _page = submit(
        client,
        f"/desk/walkin?station={station.id}",
        {"name": "王建国", "mobile": "138 1234 5678", "category": "labour", "consent": "y"},
        form_page=f"/desk?station={station.id}",
    )
    assert status == 302
    page = client.get(f"/desk?station={station.id}").get_data(as_text=True)
    assert "A001" in page and re.search(r"alert-success[^>]*>[^<]*A001", page)
    assert "王建国" in page


def test_a_booking_by_telephone(client, hall):
    station = hall["station"]
    login(client, "desk")
    url = f"/desk/book?station={station.id}"
    key = re.search(r'name="key" type="hidden" value="([^"]+)"', client.get(url).get_data(as_text=True))
    status, page = submit(
        client,
        url,
        {
            "key": key.group(1),
            "channel": "fax",
            "category": "astrology",
            "name": "",
            "mobile": FULL_WIDTH_MOBILE,
            "id_number": MONTH_13,
            "veteran_card_no": "卡号？",
            "description": "述" * 501,
        },
    )
    assert status == 200
    assert_all_told(
        page,
        {
            "slot_id": "时段",
            "channel": None,
            "category": None,
            "name": None,
            "mobile": "0–9",
            "id_number": "身份证",
            "veteran_card_no": None,
            "description": "500",
            "consent": None,
        },
    )
    assert value_of(page, "mobile") == FULL_WIDTH_MOBILE and value_of(page, "id_number") == MONTH_13


def test_a_desk_cancellation_without_a_reason_is_told_in_its_row(client, hall, make_booking):
    station = hall["station"]
    booking = make_booking(
        roster.shift_on(station, DUTY_DAY), name="王建国", now=datetime(2026, 3, 5, 2, 0, tzinfo=UTC)
    )
    login(client, "desk")
    status, page = submit(
        client,
        f"/desk/bookings/{booking.id}/cancel?station={station.id}",
        {"reason": "  "},
        form_page=f"/desk?station={station.id}",
    )
    assert status == 200
    assert_all_told(page, {f"reason-{booking.id}": "原因"})


def test_the_veterans_cancellation_without_a_reason_is_told_beside_it(client, hall, make_booking):
    booking = make_booking(hall["later"], mobile="13812345678", now=datetime(2026, 3, 5, 2, 0, tzinfo=UTC))
    status, _page = submit(client, "/booking/lookup", {"code": booking.code, "last4": "5678"})
    assert status == 302
    status, page = submit(client, "/booking/mine/cancel", {"reason": ""}, form_page="/booking/mine")
    assert status == 200
    assert_all_told(page, {"reason": "原因"})


# -- the duty lawyer -------------------------------------------------------------------------------


def test_a_consultation_record(client, hall):
    station, lawyer = hall["station"], hall["lawyer"]
    login(client, lawyer.user.username)
    status, page = submit(
        client,
        f"/consultations/new?station={station.id}",
        {"name": "王建国", "category": "astrology", "summary": "  ", "follow_up": "y", "due_on": ""},
    )
    assert status == 200
    assert_all_told(page, {"category": None, "summary": None, "outcomes": None, "due_on": None})


def test_a_swap_request(client, hall):
    lawyer, later = hall["lawyer"], hall["later"]
    login(client, lawyer.user.username)
    status, page = submit(
        client, f"/me/shifts/{later.id}/swap", {"to_lawyer_id": "999999", "note": "换" * 201}
    )
    assert_all_told(page, {"to_lawyer_id": None, "note": None})


# -- the kiosk and the phone -----------------------------------------------------------------------


def _details_page(client, prefix: str, hall) -> str:
    slot = client.get(f"{prefix}/day/{hall['later'].id}").get_data(as_text=True)
    slot_id = re.search(rf'{prefix}/slot/(\d+)"', slot).group(1)
    return client.get(f"{prefix}/slot/{slot_id}/labour").get_data(as_text=True)


def _hidden(page: str) -> dict[str, str]:
    fields = {}
    for tag in re.findall(r"<input[^>]*>", page):
        if 'type="hidden"' in tag:
            name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
            if name:
                fields[name.group(1)] = unescape(value.group(1)) if value else ""
    return fields


@pytest.mark.parametrize("prefix", ["/kiosk", "/book"])
def test_the_visitors_details_are_all_told_at_once(client, hall, prefix):
    page = _details_page(client, prefix, hall)
    typed = {"name": "张", "mobile": FULL_WIDTH_MOBILE, "id_number": MONTH_13, "veteran_card_no": "卡号？"}
    response = client.post(f"{prefix}/visit", data={**_hidden(page), **typed})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert_all_told(page, {"name": "2", "mobile": "0–9", "id_number": "身份证", "veteran_card_no": None})
    for field, value in typed.items():
        assert value_of(page, field) == value


def test_the_visitors_description_and_consent(client, hall):
    page = _details_page(client, "/kiosk", hall)
    data = {**_hidden(page), "name": "王建国", "mobile": "13812345678"}
    about = client.post("/kiosk/visit", data=data, follow_redirects=True).get_data(as_text=True)
    page = client.post("/kiosk/visit", data={**_hidden(about), "description": "述" * 501}).get_data(
        as_text=True
    )
    assert any("500" in m for m in told(page, "description"))
    consent = client.post(
        "/kiosk/visit", data={**_hidden(page), "description": "欠薪。"}, follow_redirects=True
    ).get_data(as_text=True)
    page = client.post("/kiosk/visit", data={**_hidden(consent), "step": "consent"}).get_data(as_text=True)
    assert told(page, "consent")


# -- the filters that stay in the address ----------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/admin/consultations?start_on=1999-12-31&end_on=2026-13-01", ("start_on", "end_on")),
        ("/admin/outbox/?start_on=1999-12-31&end_on=yesterday", ("start_on", "end_on")),
    ],
)
def test_filters_tell_each_wrong_date(client, hall, path, fields):
    page = _admin(client).get(path).get_data(as_text=True)
    assert_all_told(page, dict.fromkeys(fields))
