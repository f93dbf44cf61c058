"""Consultations and follow-up: who may see and do what, the state changes, overdue in station time,
and the veteran's look-up that shows the stage and result but never any content."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from legalaid.audit.models import AuditEntry
from legalaid.bookings import planning
from legalaid.bookings import services as bookings
from legalaid.bookings.models import Booking
from legalaid.consultations import services
from legalaid.consultations.models import Consultation, ConsultationVersion, Matter
from legalaid.errors import InvalidInput, NotAllowed
from legalaid.extensions import db
from legalaid.roster import services as roster
from tests.conftest import csrf_token, login

DAY = date(2026, 3, 10)
ON_THE_DAY = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
MARKER = "SECRET-NOTE-MARKER"


@pytest.fixture
def world(app, make_station, make_lawyer, make_user):
    """A station, the duty lawyer, another lawyer, an administrator, staff, and a booking for today."""
    station = make_station("咨询站")
    duty, other = make_lawyer(station, name="值班甲"), make_lawyer(station, name="律师乙")
    roster.set_shift_lawyer(station, DAY, duty, "测试", today=date(2026, 3, 1))
    db.session.commit()
    shift = roster.shift_on(station, DAY)
    slot = planning.ensure_slots(shift)[2]
    db.session.commit()
    booking = bookings.place_booking(
        bookings.BookingRequest(
            slot_id=slot.id,
            name="王建国",
            mobile="13812345678",
            category="labour",
            channel="kiosk",
            idempotency_key=secrets.token_hex(16),
            consent=True,
        ),
        now=datetime(2026, 3, 5, 2, 0, tzinfo=UTC),
    )
    db.session.commit()
    admin = make_user("admin", username="chief")
    staff = make_user("staff", username="desk", station_id=station.id)
    return {
        "station": station,
        "duty": duty,
        "other": other,
        "admin": admin,
        "staff": staff,
        "booking": booking,
    }


def _record(world, **overrides):
    values = dict(
        category="labour",
        summary=f"欠薪 {MARKER}",
        advice=f"先协商 {MARKER}",
        outcomes=["advice", "mediation"],
        counselling_notes=f"情绪低落 {MARKER}",
        follow_up=True,
        due_on=DAY + timedelta(days=7),
    )
    values.update(overrides)
    return services.Record(**values)


def test_recording_completes_the_booking_and_opens_a_matter(world):
    c = services.record_consultation(
        world["station"], world["duty"].user, _record(world), booking=world["booking"], today=DAY
    )
    db.session.commit()
    assert db.session.get(Booking, world["booking"].id).status == "completed"
    assert c.matter.status == "open" and c.matter.owner_id == world["duty"].user_id
    assert c.veteran_id == world["booking"].veteran_id and c.name == "王建国"


def test_only_todays_duty_lawyer_records(world):
    with pytest.raises(NotAllowed):
        services.record_consultation(world["station"], world["other"].user, _record(world), today=DAY)
    with pytest.raises(InvalidInput):
        services.record_consultation(
            world["station"], world["duty"].user, _record(world, outcomes=[]), today=DAY
        )
    with pytest.raises(InvalidInput):
        services.record_consultation(
            world["station"], world["duty"].user, _record(world, due_on=None), today=DAY
        )


def test_corrections_keep_history_and_only_the_author_corrects(world):
    c = services.record_consultation(
        world["station"], world["duty"].user, _record(world), booking=world["booking"], today=DAY
    )
    services.correct_consultation(c, world["duty"].user, _record(world, summary="同日更正"), today=DAY)
    services.correct_consultation(
        c, world["duty"].user, _record(world, summary="次日补充"), today=DAY + timedelta(days=1)
    )
    db.session.commit()
    versions = db.session.scalars(sa.select(ConsultationVersion).order_by(ConsultationVersion.id)).all()
    assert [v.data["summary"] for v in versions] == [f"欠薪 {MARKER}", "同日更正"]
    assert c.summary == "次日补充"
    with pytest.raises(NotAllowed):
        services.correct_consultation(c, world["other"].user, _record(world), today=DAY)
    with pytest.raises(NotAllowed):
        services.correct_consultation(c, world["admin"], _record(world), today=DAY)


def test_matter_states_and_refusals(world):
    c = services.record_consultation(
        world["station"], world["duty"].user, _record(world), booking=world["booking"], today=DAY
    )
    matter = c.matter
    with pytest.raises(NotAllowed):
        services.add_note(matter, world["other"].user, "不是我的")
    services.add_note(matter, world["duty"].user, "已联系单位")
    assert matter.status == "in_progress"
    services.add_note(matter, world["duty"].user, "", milestone="submitted", on=DAY + timedelta(days=1))
    with pytest.raises(InvalidInput):
        services.add_note(matter, world["duty"].user, "", milestone="submitted", on=None)
    with pytest.raises(InvalidInput):
        services.close_matter(matter, world["duty"].user, None)  # closing needs a result
    with pytest.raises(NotAllowed):
        services.reassign(matter, world["duty"].user, world["other"].user)
    services.reassign(matter, world["admin"], world["admin"])  # 领导包案
    with pytest.raises(NotAllowed):
        services.close_matter(matter, world["duty"].user, "resolved")  # no longer theirs
    services.close_matter(matter, world["admin"], "mediation_agreement", money_saved=12000)
    db.session.commit()
    assert (matter.status, matter.result, matter.money_saved) == ("closed", "mediation_agreement", 12000)
    with pytest.raises(NotAllowed):
        services.add_note(matter, world["admin"], "关闭后")


def test_overdue_is_reckoned_in_station_time(world):
    c = services.record_consultation(
        world["station"], world["duty"].user, _record(world), booking=world["booking"], today=DAY
    )
    db.session.commit()
    due = c.matter.due_on  # 17 March
    with time_machine.travel(datetime(2026, 3, 17, 15, 30, tzinfo=UTC), tick=False):  # 23:30 on the 17th
        assert not services.is_overdue(c.matter)
    with time_machine.travel(datetime(2026, 3, 17, 16, 30, tzinfo=UTC), tick=False):  # 00:30 on the 18th
        assert services.is_overdue(c.matter)
    assert due == date(2026, 3, 17)


def test_the_public_look_up_shows_stage_and_result_never_content(client, world):
    c = services.record_consultation(
        world["station"], world["duty"].user, _record(world), booking=world["booking"], today=DAY
    )
    services.add_note(c.matter, world["duty"].user, f"电话回访 {MARKER}")
    db.session.commit()
    page = client.get("/booking/lookup").get_data(as_text=True)
    client.post(
        "/booking/lookup",
        data={"csrf_token": csrf_token(page), "code": world["booking"].code, "last4": "5678"},
    )
    html = client.get("/booking/mine").get_data(as_text=True)
    assert "正在办理" in html or "跟进" in html or "办理" in html
    assert MARKER not in html
    services.close_matter(c.matter, world["duty"].user, "resolved")
    db.session.commit()
    html = client.get("/booking/mine").get_data(as_text=True)
    assert "已解决" in html and MARKER not in html


PAGES = [
    "/console",
    "/consultations/new",
    "/consultations/{c}",
    "/consultations/{c}/edit",
    "/matters",
    "/matters/{m}",
]


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("anonymous", [302, 302, 302, 302, 302, 302]),
        ("staff", [403, 403, 403, 403, 403, 403]),
        ("duty", [200, 200, 200, 200, 200, 200]),
        ("other", [200, 403, 403, 403, 200, 403]),
        ("admin", [200, 200, 200, 403, 200, 200]),
    ],
)
def test_access_matrix(app_factory, world, who, expected):
    c = services.record_consultation(
        world["station"], world["duty"].user, _record(world), booking=world["booking"], today=DAY
    )
    db.session.commit()
    client = app_factory().test_client()
    with time_machine.travel(ON_THE_DAY, tick=True):
        if who != "anonymous":
            user = {
                "staff": world["staff"],
                "duty": world["duty"].user,
                "other": world["other"].user,
                "admin": world["admin"],
            }[who]
            login(client, user.username)
        answers = [client.get(p.format(c=c.id, m=c.matter.id)).status_code for p in PAGES]
        assert answers == expected
        # The actions, with a valid form token where the user has a page to take one from.
        token = csrf_token(client.get("/").get_data(as_text=True)) if who != "anonymous" else ""
        close = client.post(f"/matters/{c.matter.id}/close", data={"csrf_token": token, "result": "resolved"})
        reassign = client.post(
            f"/matters/{c.matter.id}/reassign", data={"csrf_token": token, "owner_id": str(world["admin"].id)}
        )
    expect_close = {"anonymous": {302, 400}, "staff": {403}, "duty": {302}, "other": {403}, "admin": {302}}[
        who
    ]
    assert close.status_code in expect_close
    assert (
        reassign.status_code
        in {"anonymous": {302, 400}, "staff": {403}, "duty": {403}, "other": {403}, "admin": {302}}[who]
    )


def test_every_view_of_content_is_audited_and_counselling_notes_are_kept_apart(app_factory, world):
    c = services.record_consultation(
        world["station"], world["duty"].user, _record(world), booking=world["booking"], today=DAY
    )
    db.session.commit()
    client = app_factory().test_client()
    with time_machine.travel(ON_THE_DAY, tick=True):
        login(client, "chief")
        html = client.get(f"/consultations/{c.id}").get_data(as_text=True)
    assert f"情绪低落 {MARKER}" in html  # administrators see counselling notes
    views = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "consultation.view")).all()
    assert len(views) == 1 and views[0].actor_name == "chief" and views[0].target_id == c.id
    desk = app_factory().test_client()
    with time_machine.travel(ON_THE_DAY, tick=True):
        login(desk, "desk")
        queue = desk.get("/desk").get_data(as_text=True)
    assert MARKER not in queue  # staff see arrivals, never content


def test_console_takes_the_next_person_and_records(app_factory, world):
    bookings.check_in(world["booking"], now=ON_THE_DAY)
    db.session.commit()
    client = app_factory().test_client()
    with time_machine.travel(ON_THE_DAY, tick=True):
        login(client, world["duty"].user.username)
        console = client.get("/console").get_data(as_text=True)
        taken = client.post("/console/call-next", data={"csrf_token": csrf_token(console)})
        assert taken.status_code == 302 and f"booking={world['booking'].id}" in taken.headers["Location"]
        page = client.get(taken.headers["Location"]).get_data(as_text=True)
        assert "王建国" in page
        saved = client.post(
            taken.headers["Location"],
            data={
                "csrf_token": csrf_token(page),
                "category": "labour",
                "summary": "拖欠工资",
                "advice": "申请劳动仲裁",
                "outcomes": ["advice", "legal_aid"],
                "counselling_notes": "",
                "follow_up": "y",
                "due_on": "2026-03-20",
            },
        )
        assert saved.status_code == 302
    c = db.session.scalar(sa.select(Consultation))
    assert c.outcomes == ["advice", "legal_aid"] and db.session.scalar(sa.select(Matter)).due_on == date(
        2026, 3, 20
    )
