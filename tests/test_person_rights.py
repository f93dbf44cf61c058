"""A person's rights (PIPL Art. 44–47), for administrators only: find a person by their exact mobile or ID
number (shown masked), see everything held about them, export it as a JSON file, correct it (checked as
the booking forms check it, every wrong field at once, what was typed kept), and erase it with the
retention's erasure after a typed reason and a confirmation. Each step is audited with ids and counts.

The world is the reports' (tests/test_reports.py) with the extras of tests/test_retention.py.
"""

# ruff: noqa: F811 (the world fixtures are imported from the reports' and the retention's tests)
from __future__ import annotations

import json
from datetime import date

import pytest
import sqlalchemy as sa
import time_machine

from legalaid.audit.models import AuditEntry
from legalaid.bookings.models import Booking, Veteran
from legalaid.consultations.models import Consultation, Matter
from legalaid.errors import FieldErrors, InvalidInput, NotAllowed
from legalaid.extensions import db
from legalaid.privacy import people
from legalaid.reminders.models import EXPIRED, OutboxMessage
from tests.conftest import csrf_token, field_errors, login, post_form
from tests.test_reports import P1_MOBILE, P2_ID, P2_MOBILE, bj, world  # noqa: F401
from tests.test_retention import figures, full_world, raw_text  # noqa: F401

P2_TRACES = ["李秀英", P2_MOBILE, P2_ID, "临时有事", "房屋漏水", "心理疏导记录甲", "旧的建议"]


def person_id(mobile: str) -> int:
    """The id of the person with this mobile number."""
    return db.session.scalar(sa.select(Veteran.id).where(Veteran.with_mobile(mobile)))


def actions(prefix: str = "privacy.") -> list[AuditEntry]:
    """The audit entries of the privacy steps, oldest first."""
    return list(
        db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action.startswith(prefix)).order_by(AuditEntry.id)
        )
    )


@pytest.fixture
def admin(client, full_world):
    """The client, signed in as the world's administrator."""
    assert login(client, full_world.admin.username).status_code == 302
    return client


def test_only_administrators_reach_the_pages(client, full_world, make_user):
    pid = person_id(P1_MOBILE)
    make_user("staff", username="desk9", station_id=full_world.s1.id)
    assert login(client, "desk9").status_code == 302
    for url in (
        "/admin/privacy/people",
        f"/admin/privacy/people/{pid}",
        f"/admin/privacy/people/{pid}/erase",
    ):
        assert client.get(url).status_code == 403
    assert client.post(f"/admin/privacy/people/{pid}/export").status_code in (400, 403)


def test_a_person_is_found_by_mobile_or_id_number_and_shown_masked(admin, full_world):
    page = post_form(
        admin, "/admin/privacy/people", {"by": "mobile", "value": f" {P2_MOBILE[:3]}-{P2_MOBILE[3:]}"}
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "李*" in html and "139****4321" in html and P2_MOBILE not in html and "李秀英" not in html
    assert f"/admin/privacy/people/{person_id(P2_MOBILE)}" in html
    page = post_form(admin, "/admin/privacy/people", {"by": "id_number", "value": P2_ID.lower()})
    assert f"/admin/privacy/people/{person_id(P2_MOBILE)}" in page.get_data(as_text=True)
    page = post_form(admin, "/admin/privacy/people", {"by": "mobile", "value": "13011112222"})
    assert "Nobody has this number" in page.get_data(as_text=True) or "没有" in page.get_data(as_text=True)
    searches = actions("privacy.search")
    assert [e.details for e in searches] == [
        {"by": "mobile", "found": 1},
        {"by": "id_number", "found": 1},
        {"by": "mobile", "found": 0},
    ]


def test_a_wrong_number_is_said_beside_the_field_and_kept(admin, full_world):
    wrong = P2_ID[:-1] + ("1" if P2_ID[-1] == "0" else "0")  # a wrong check character
    page = post_form(admin, "/admin/privacy/people", {"by": "id_number", "value": wrong})
    html = page.get_data(as_text=True)
    assert field_errors(html, "value") and f'value="{wrong}"' in html
    page = post_form(admin, "/admin/privacy/people", {"by": "mobile", "value": "12345"})
    assert field_errors(page.get_data(as_text=True), "value")
    assert actions("privacy.search") == []


def test_the_person_page_lists_everything_held_and_is_audited(admin, full_world):
    pid = person_id(P1_MOBILE)
    page = admin.get(f"/admin/privacy/people/{pid}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "王*" in html and P1_MOBILE not in html
    held = people.holdings(db.session.get(Veteran, pid))
    # 王建国: bookings b0 b1 b3 b5 b9 b10, consultations c0 c1 c3 c6 c10 c11, matters of c1 c6 c11.
    assert len(held.bookings) == 6 and len(held.consultations) == 6 and len(held.matters) == 3
    for c in held.consultations:
        assert f"/consultations/{c.id}" in html
    entry = actions("privacy.person_view")[-1]
    assert (entry.target_type, entry.target_id) == ("veterans", pid)
    assert entry.details == {
        "bookings": 6,
        "walk_ins": 0,
        "consultations": 6,
        "matters": 3,
        "messages": 6,  # a thank-you message with the rating link after each consultation
        "reveals": 0,
    }


def test_the_export_holds_all_their_records_as_a_file(admin, full_world):
    pid = person_id(P2_MOBILE)
    page = admin.get(f"/admin/privacy/people/{pid}")
    response = admin.post(
        f"/admin/privacy/people/{pid}/export", data={"csrf_token": csrf_token(page.get_data(as_text=True))}
    )
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f'attachment; filename="person-{pid}.json"'
    assert response.headers["Cache-Control"] == "no-store"  # never kept by the browser or a proxy
    data = json.loads(response.get_data(as_text=True))
    assert data["person"]["name"] == "李秀英" and data["person"]["id_number"] == P2_ID
    assert data["person"]["mobile"] == P2_MOBILE
    # Her bookings b2 (desk) and b6 (cancelled "临时有事"), her walk-in of 8 April, c2 and c7, c2's matter.
    assert sorted(b["id"] for b in data["bookings"]) == sorted([full_world.b[2].id, full_world.b[6].id])
    assert "临时有事" in [b["cancel_reason"] for b in data["bookings"]]
    assert len(data["walk_ins"]) == 1
    assert sorted(c["id"] for c in data["consultations"]) == sorted([full_world.id[2], full_world.id[7]])
    c2 = next(c for c in data["consultations"] if c["id"] == full_world.id[2])
    assert c2["counselling_notes"] == "心理疏导记录甲" and len(c2["earlier_versions"]) == 2
    assert [m["id"] for m in data["matters"]] == [full_world.m[2].id]
    assert {m["to"] for m in data["messages"]} == {P2_MOBILE}
    entry = actions("privacy.export")[-1]
    # Her two messages, and a thank-you message with the rating link after each of her consultations.
    assert entry.details["consultations"] == 2 and entry.details["messages"] == 4
    assert not any(value in json.dumps(entry.details, ensure_ascii=False) for value in P2_TRACES)


def test_a_correction_is_checked_like_a_booking_and_audited(admin, full_world):
    pid = person_id(P2_MOBILE)
    url = f"/admin/privacy/people/{pid}/correct"
    form = admin.get(url).get_data(as_text=True)
    assert P2_MOBILE in form  # the form shows the numbers to correct, and says so in the audit log
    assert actions("privacy.correct_open")
    bad = {"name": "李", "mobile": "1398765432", "id_number": "410102198001011230", "veteran_card_no": "卡*"}
    page = admin.post(url, data={**bad, "csrf_token": csrf_token(form)})
    html = page.get_data(as_text=True)
    assert page.status_code == 400
    for name in ("name", "mobile", "id_number", "veteran_card_no"):
        assert field_errors(html, name), name
    assert 'value="1398765432"' in html
    taken = admin.post(
        url, data={"name": "李秀英", "mobile": P1_MOBILE, "id_number": P2_ID, "csrf_token": csrf_token(form)}
    )
    assert field_errors(taken.get_data(as_text=True), "mobile")
    good = {"name": "李秀英", "mobile": "13987650000", "id_number": P2_ID, "veteran_card_no": "jr-1"}
    page = admin.post(url, data={**good, "csrf_token": csrf_token(form)})
    assert page.status_code == 302
    person = db.session.get(Veteran, pid)
    assert (person.mobile, person.veteran_card_no) == ("13987650000", "JR-1")
    assert actions("privacy.correct")[-1].details == {"fields": ["mobile", "veteran_card_no"]}


def test_erasing_a_person_removes_their_data_and_keeps_the_figures(admin, full_world):
    before = figures()
    pid = person_id(P2_MOBILE)
    url = f"/admin/privacy/people/{pid}/erase"
    page = admin.get(url)
    html = page.get_data(as_text=True)
    assert "2 consultation records" in html or "2" in html
    refused = admin.post(url, data={"reason": "", "csrf_token": csrf_token(html)})
    assert refused.status_code == 400
    assert field_errors(refused.get_data(as_text=True), "reason")
    assert db.session.get(Veteran, pid).erased_at is None
    done = admin.post(url, data={"reason": "本人申请删除", "confirm": "y", "csrf_token": csrf_token(html)})
    assert done.status_code == 302
    text = raw_text()
    assert [value for value in P2_TRACES if value in text] == []
    assert figures() == before
    person = db.session.get(Veteran, pid)
    assert person.erased_at is not None and person.mobile is None
    entry = actions("privacy.erase")[-1]
    assert entry.details["consultations"] == 2 and entry.details["bookings"] == 2
    assert entry.details["reason"] == "本人申请删除" and entry.details["messages"] == 4  # 2 + 2 thank-yous
    # The pending message to her lapsed; the page now says the person was erased.
    assert db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.status == EXPIRED)).all()
    html = admin.get(f"/admin/privacy/people/{pid}").get_data(as_text=True)
    assert "/correct" not in html and "/erase" not in html
    # Erasing again is refused, on the page.
    again = admin.post(url, data={"reason": "再次", "confirm": "y", "csrf_token": csrf_token(html)})
    assert again.status_code == 400


def test_a_person_with_an_open_matter_is_erased_and_the_matter_stays_open(full_world):
    pid = person_id(P1_MOBILE)
    erased = people.erase_person(db.session.get(Veteran, pid), "撤回同意")
    db.session.commit()
    c6 = db.session.get(Consultation, full_world.id[6])
    matter = db.session.get(Matter, full_world.m[6].id)
    assert c6.summary == "" and c6.erased_at is not None
    assert matter.status != "closed" and [n.milestone for n in matter.notes] == ["submitted", "accepted"]
    assert len(erased.consultations) == 6
    text = raw_text()
    assert "王建国" not in text and P1_MOBILE not in text and "离婚财产" not in text


def test_a_person_with_a_booking_to_come_is_not_erased(full_world, make_booking):
    with time_machine.travel(bj(date(2026, 1, 15)), tick=False):
        booking = make_booking(full_world.shift["D7"], name="周八", mobile="13400004444", channel="online")
    veteran = db.session.get(Veteran, db.session.get(Booking, booking.id).veteran_id)
    with pytest.raises(NotAllowed):
        people.erase_person(veteran, "本人申请")
    assert veteran.erased_at is None


def test_the_service_refuses_bad_input(full_world):
    veteran = db.session.get(Veteran, person_id(P2_MOBILE))
    with pytest.raises(InvalidInput):
        people.erase_person(veteran, "  ")
    with pytest.raises(InvalidInput):
        people.find("name", "李秀英")
    with pytest.raises(InvalidInput):
        people.find("id_number", "")
    with pytest.raises(FieldErrors):
        people.correct(veteran, "", "1", None, None)
    assert people.correct(veteran, "李秀英", P2_MOBILE, P2_ID, None) == []
    people.erase_person(veteran, "本人申请")
    with pytest.raises(NotAllowed):
        people.correct(veteran, "李秀英", P2_MOBILE, None, None)


def test_no_privacy_step_writes_personal_data_into_the_audit_log(admin, full_world):
    pid = person_id(P2_MOBILE)
    post_form(admin, "/admin/privacy/people", {"by": "mobile", "value": P2_MOBILE})
    admin.get(f"/admin/privacy/people/{pid}")
    html = admin.get(f"/admin/privacy/people/{pid}/erase").get_data(as_text=True)
    admin.post(
        f"/admin/privacy/people/{pid}/erase",
        data={"reason": "本人申请", "confirm": "y", "csrf_token": csrf_token(html)},
    )
    logged = json.dumps([e.details for e in actions()], ensure_ascii=False)
    assert len(actions()) >= 3
    assert [value for value in P2_TRACES if value in logged] == []


def test_an_unknown_or_erased_person(admin, full_world):
    assert admin.get("/admin/privacy/people/99999").status_code == 404
    pid = person_id(P2_MOBILE)
    people.erase_person(db.session.get(Veteran, pid), "本人申请")
    db.session.commit()
    page = admin.get(f"/admin/privacy/people/{pid}/correct")
    assert page.status_code == 302 and page.headers["Location"].endswith(f"/admin/privacy/people/{pid}")
    html = admin.get(f"/admin/privacy/people/{pid}").get_data(as_text=True)
    assert "李*" not in html and ("Erased" in html or "已删除" in html)
    # The public look-up of one of her old bookings finds nothing (her number is gone), without an error.
    from legalaid.bookings import services as bookings

    assert bookings.find_booking(full_world.b[2].code, P2_MOBILE[-4:]) is None


def test_a_booking_looked_up_before_its_person_was_erased_is_gone(app, full_world):
    """A visitor's browser still holds the look-up of a booking whose person is erased since: the look-up
    page again, never a 500 nor the booking."""
    booking = full_world.b[2]
    people.erase_person(db.session.get(Veteran, person_id(P2_MOBILE)), "本人要求")
    db.session.commit()
    visitor = app.test_client()
    with visitor.session_transaction() as session:
        session["lookup"] = booking.id
    assert visitor.get("/booking/mine").headers["Location"].endswith("/booking/lookup")
    page = visitor.get("/booking/lookup").get_data(as_text=True)
    with visitor.session_transaction() as session:
        session["lookup"] = booking.id
    cancel = visitor.post("/booking/mine/cancel", data={"csrf_token": csrf_token(page), "reason": "x"})
    assert cancel.status_code == 302 and cancel.headers["Location"].endswith("/booking/lookup")
