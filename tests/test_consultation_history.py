"""A consultation record's edit history: its page lists each correction (who, when, and what changed,
field by field, in words) to those who may read the record, never the counselling notes to those who may
not read them, and nothing to anybody else; the veteran's own words from the booking are shown too."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, date, datetime
from html import unescape

import pytest
import time_machine

from legalaid.bookings import planning
from legalaid.bookings import services as bookings
from legalaid.consultations import services
from legalaid.extensions import db
from legalaid.roster import services as roster
from tests.conftest import csrf_token, login

DAY = date(2026, 3, 10)  # a Tuesday
BOOKED_AT = datetime(2026, 3, 5, 2, 0, tzinfo=UTC)
RECORDED_AT = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
CORRECTED_AT = datetime(2026, 3, 10, 3, 15, tzinfo=UTC)  # 11:15 in Beijing
READ_AT = datetime(2026, 3, 11, 1, 0, tzinfo=UTC)
SECRET = "情绪低落需疏导"


@pytest.fixture
def world(app, make_station, make_lawyer, make_user):
    """A station, its duty lawyer on DAY, another lawyer, an administrator, and a kiosk booking for DAY
    with the veteran's description of the problem."""
    with time_machine.travel(datetime(2026, 3, 1, 2, 0, tzinfo=UTC), tick=False):
        station = make_station("历史站")
        duty = make_lawyer(station, name="张明")
        other = make_lawyer(station, name="李华")
        roster.set_shift_lawyer(station, DAY, duty, "排班", today=date(2026, 3, 1))
        db.session.commit()
        slot = planning.plan_slots(roster.shift_on(station, DAY))[1]
        db.session.commit()
        admin = make_user("admin", username="chief", display_name="王局长")
    booking = bookings.place_booking(
        bookings.BookingRequest(
            slot_id=slot.id,
            name="赵建国",
            mobile="13812345678",
            category="labour",
            channel="kiosk",
            idempotency_key=secrets.token_hex(16),
            consent=True,
            description="工地老板拖欠三个月工资",
        ),
        now=BOOKED_AT,
    )
    db.session.commit()
    return {"station": station, "duty": duty, "other": other, "admin": admin, "booking": booking}


def _corrected(world):
    """A record written at RECORDED_AT and corrected at CORRECTED_AT by its author, through the page."""
    duty = world["duty"]
    with time_machine.travel(RECORDED_AT, tick=False):
        c = services.record_consultation(
            world["station"],
            duty.user,
            services.Record(
                category="labour",
                summary="欠薪三个月",
                advice="先与老板协商",
                outcomes=["advice"],
                counselling_notes=SECRET,
            ),
            booking=world["booking"],
        )
        db.session.commit()
    return c


def _correct_through_the_page(client, c, **values):
    page = client.get(f"/consultations/{c.id}/edit").get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), **values}
    response = client.post(f"/consultations/{c.id}/edit", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)


def _history(html: str) -> str:
    """The history section's text, tags stripped."""
    match = re.search(r'<section[^>]*id="edit-history".*?</section>', html, re.S)
    assert match, "no edit history on the page"
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", match.group(0))).split())


def test_the_page_lists_a_correction_with_who_when_and_what_changed(app_factory, world):
    c = _corrected(world)
    author = app_factory().test_client()
    with time_machine.travel(CORRECTED_AT, tick=False):
        login(author, world["duty"].user.username)
        _correct_through_the_page(
            author,
            c,
            category="contracts",
            summary="欠薪三个月并有欠条",
            advice="先与老板协商",
            outcomes=["advice", "mediation"],
            counselling_notes=SECRET,
        )
        html = author.get(f"/consultations/{c.id}").get_data(as_text=True)
    history = _history(html)
    display = world["duty"].user.display_name
    # Who and when (station time), then each changed field in words; unchanged fields are not listed.
    assert f"2026年3月10日 11:15：{display} 修改" in history
    assert "事项 劳动争议 → 合同债务" in history
    assert "处理结果 法律咨询 → 法律咨询和调解" in history
    assert "问题概述 由“欠薪三个月”改为“欠薪三个月并有欠条”" in history
    assert "给出的意见" not in history and "心理疏导记录" not in history
    assert f"2026年3月10日 10:00：{display} 记录" in history  # the first version, by its author
    assert "labour" not in history and "['" not in history  # words, not codes
    # The veteran's own words from the booking are on the record.
    assert re.search(r'id="booking-description">工地老板拖欠三个月工资<', html)


def test_counselling_changes_are_withheld_from_a_reader_who_may_not_see_them(app_factory, world):
    c = _corrected(world)
    with time_machine.travel(CORRECTED_AT, tick=False):
        services.correct_consultation(
            c,
            world["duty"].user,
            services.Record(
                category="labour",
                summary="欠薪三个月",
                advice="先与老板协商",
                outcomes=["advice"],
                counselling_notes="已平复",
            ),
        )
        # The matter behind the record is handed to another lawyer: they may read it, not the notes.
        db.session.add(
            services.Matter(
                consultation_id=c.id, station_id=c.station_id, owner_id=world["other"].user.id, due_on=DAY
            )
        )
        db.session.commit()
    owner_view = services.edit_history(c, world["other"].user)
    assert owner_view is not None and len(owner_view.corrections) == 1
    [fix] = owner_view.corrections
    assert fix.changes == [] and fix.withheld
    client = app_factory().test_client()
    with time_machine.travel(READ_AT, tick=False):
        login(client, world["other"].user.username)
        html = client.get(f"/consultations/{c.id}").get_data(as_text=True)
    history = _history(html)
    assert "心理疏导记录也有修改（仅记录人和管理员可见）" in history
    assert SECRET not in html and "已平复" not in html
    # The author and administrators see what the notes said before and after.
    [fix] = services.edit_history(c, world["admin"]).corrections
    assert [(ch.field, ch.before, ch.after) for ch in fix.changes] == [
        ("counselling_notes", SECRET, "已平复")
    ]


def test_someone_who_may_not_read_the_record_gets_no_history(app_factory, world):
    c = _corrected(world)
    with time_machine.travel(CORRECTED_AT, tick=False):
        services.correct_consultation(
            c,
            world["duty"].user,
            services.Record(category="labour", summary="更正后的概述", advice="", outcomes=["advice"]),
        )
        db.session.commit()
    assert services.edit_history(c, world["other"].user) is None
    client = app_factory().test_client()
    with time_machine.travel(READ_AT, tick=False):
        login(client, world["other"].user.username)
        response = client.get(f"/consultations/{c.id}")
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "欠薪三个月" not in page and "更正后的概述" not in page and "edit-history" not in page


def test_an_uncorrected_record_says_so(app_factory, world):
    c = _corrected(world)
    client = app_factory().test_client()
    with time_machine.travel(READ_AT, tick=False):
        login(client, "chief")
        history = _history(client.get(f"/consultations/{c.id}").get_data(as_text=True))
    assert "记录后未作修改。" in history and "修改：" not in history
