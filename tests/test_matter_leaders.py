"""Follow-up hand-overs and 领导包案: the new owner of a matter is told once and may read the
consultation behind it; a leader (an administrator) attached beside the handling lawyer sees the matter
in their own list, gets its overdue notices, and the monthly review lists it with its leader.

The consultation is held on Tuesday 10 March 2026 and its matter falls due on Friday 20 March.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import time_machine

from legalaid.audit.models import AuditEntry
from legalaid.consultations import services
from legalaid.consultations.models import Matter
from legalaid.errors import InvalidInput, NotAllowed
from legalaid.extensions import db
from legalaid.reminders import rules
from legalaid.reminders.models import EXPIRED, PENDING, OutboxMessage
from legalaid.reports import services as reports
from legalaid.roster import services as roster
from tests.conftest import csrf_token, login

BEIJING = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 3, 10)
DUE = date(2026, 3, 20)
MARKER = "COUNSEL-MARKER"


def bj(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A Beijing wall-clock time in 2026, as the aware instant."""
    return datetime(2026, month, day, hour, minute, tzinfo=BEIJING).astimezone(UTC)


def messages(kind: str) -> list[OutboxMessage]:
    db.session.expire_all()
    query = sa.select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
    return list(db.session.scalars(query))


def actions(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action)))


def fresh(matter: Matter) -> Matter:
    db.session.expire_all()
    return db.session.get(Matter, matter.id)


@pytest.fixture
def world(app, make_station, make_lawyer, make_user):
    """A station, the duty lawyer who recorded a consultation with a follow-up, a colleague, the
    bureau chief and a deputy (both administrators)."""
    station = make_station("包案站")
    duty, other = make_lawyer(station, name="值班甲"), make_lawyer(station, name="律师乙")
    chief = make_user("admin", username="chief", display_name="局长张", email="chief@example.org")
    deputy = make_user("admin", username="deputy", display_name="副局长李", email="deputy@example.org")
    with time_machine.travel(bj(3, 10, 10), tick=False):
        roster.set_shift_lawyer(station, DAY, duty, "测试", today=date(2026, 3, 1))
        c = services.record_consultation(
            station,
            duty.user,
            services.Record(
                category="labour",
                summary="欠薪三个月",
                outcomes=["advice"],
                counselling_notes=f"情绪低落 {MARKER}",
                follow_up=True,
                due_on=DUE,
            ),
            name="王建国",
            today=DAY,
        )
        db.session.commit()
    return {
        "station": station,
        "duty": duty,
        "other": other,
        "chief": chief,
        "deputy": deputy,
        "consultation": c,
        "matter": c.matter,
    }


def post(client, url: str, data: dict):
    token = csrf_token(client.get("/").get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token})


# -- hand-over -----------------------------------------------------------------------------------------


def test_a_reassigned_matter_is_readable_by_its_new_owner_who_is_told_once(app_factory, world):
    matter, c, other = world["matter"], world["consultation"], world["other"]
    colleague = app_factory().test_client()
    with time_machine.travel(bj(3, 12, 10), tick=True):
        login(colleague, other.user.username)
        assert colleague.get(f"/consultations/{c.id}").status_code == 403  # not theirs yet
        admin = app_factory().test_client()
        login(admin, "chief")
        url = f"/matters/{matter.id}/reassign"
        assert post(admin, url, {"owner_id": str(other.user.id)}).status_code == 302
        assert post(admin, url, {"owner_id": str(other.user.id)}).status_code == 302  # replayed
        page = colleague.get(f"/consultations/{c.id}")
        assert colleague.get(f"/matters/{matter.id}").status_code == 200
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "欠薪三个月" in html and MARKER not in html  # the record, not the counselling notes
    [told] = messages("matter_assigned")
    assert (told.recipient_type, told.recipient_id) == ("user", other.user.id)
    assert told.channel == "sms" and told.address == other.mobile and told.template == "matter_assigned"
    assert told.params["name"] == "王**" and told.params["link"].endswith(f"/matters/{matter.id}")
    assert len(actions("matter.reassign")) == 1
    assert fresh(matter).owner_id == other.user.id
    # The lawyer who wrote it still reads their own record; the matter is no longer theirs.
    assert services.may_read(c, world["duty"].user)
    assert not services.may_see_matter(fresh(matter), world["duty"].user)


def test_a_hand_over_still_unsent_lapses_when_the_matter_moves_on(world):
    matter, chief = world["matter"], world["chief"]
    with time_machine.travel(bj(3, 12, 22), tick=False):  # at night: it would go at 08:00
        assert services.reassign(matter, chief, world["other"].user)
        assert not services.reassign(fresh(matter), chief, world["other"].user)  # theirs already
        assert services.reassign(fresh(matter), chief, world["duty"].user)
        db.session.commit()
    first, second = messages("matter_assigned")
    assert (first.recipient_id, first.status) == (world["other"].user.id, EXPIRED)
    assert (second.recipient_id, second.status) == (world["duty"].user.id, PENDING)
    assert second.due_at == bj(3, 13, 8)
    with time_machine.travel(bj(3, 12, 23), tick=False):
        services.reassign(fresh(matter), chief, chief)  # the chief takes it: nobody to tell
        db.session.commit()
    assert len(messages("matter_assigned")) == 2


# -- 领导包案 ---------------------------------------------------------------------------------------------


def test_a_leader_is_attached_told_once_and_the_lawyer_keeps_working(world):
    matter, chief, deputy, duty = world["matter"], world["chief"], world["deputy"], world["duty"]
    with pytest.raises(NotAllowed):
        services.lead(matter, duty.user, deputy)  # a lawyer attaches nobody
    with pytest.raises(InvalidInput):
        services.lead(matter, chief, world["other"].user)  # a leader is an administrator
    with time_machine.travel(bj(3, 12, 10), tick=False):
        assert services.lead(matter, chief, deputy)
        assert not services.lead(fresh(matter), chief, deputy)  # replayed: nothing new
        db.session.commit()
    matter = fresh(matter)
    assert (matter.owner_id, matter.leader_id) == (duty.user.id, deputy.id)
    [told] = messages("matter_leader")
    assert (told.recipient_id, told.channel, told.address) == (deputy.id, "email", "deputy@example.org")
    assert told.params["owner"] == duty.user.display_name and told.params["matter"] == matter.id
    assert [e.details["to"] for e in actions("matter.lead")] == [deputy.id]
    services.add_note(matter, duty.user, "已联系单位")  # still the lawyer's to work
    with pytest.raises(InvalidInput):
        services.reassign(matter, chief, deputy)  # the leader does not also hold it
    # Detaching ends the 包案 (audited); a notice to the leader still unsent would lapse.
    with time_machine.travel(bj(3, 12, 22), tick=False):
        services.lead(matter, chief, chief)  # the chief leads it himself: nobody is told
        db.session.commit()
    assert len(messages("matter_leader")) == 1
    with time_machine.travel(bj(3, 12, 22, 5), tick=False):
        services.lead(fresh(matter), chief, deputy)
        assert messages("matter_leader")[-1].status == PENDING
        assert services.unlead(fresh(matter), chief)
        assert not services.unlead(fresh(matter), chief)
        db.session.commit()
    assert fresh(matter).leader_id is None and len(actions("matter.unlead")) == 1
    assert messages("matter_leader")[-1].status == EXPIRED
    services.reassign(fresh(matter), chief, chief)
    with pytest.raises(InvalidInput):
        services.lead(fresh(matter), chief, chief)  # the owner does not also lead it


def test_a_led_matter_is_in_its_leaders_own_list(app_factory, world):
    matter, chief, deputy = world["matter"], world["chief"], world["deputy"]
    services.lead(matter, chief, deputy)
    db.session.commit()
    assert [m.id for m in services.matters_for(deputy, mine=True)] == [matter.id]
    assert services.matters_for(chief, mine=True) == []
    assert [m.id for m in services.matters_for(world["duty"].user)] == [matter.id]
    leader, other = app_factory().test_client(), app_factory().test_client()
    with time_machine.travel(bj(3, 12, 10), tick=True):
        login(leader, "deputy")
        mine = leader.get("/matters?mine=1").get_data(as_text=True)
        login(other, "chief")
        chiefs = other.get("/matters?mine=1").get_data(as_text=True)
        everything = other.get("/matters").get_data(as_text=True)
    assert f"/matters/{matter.id}" in mine and "副局长李" in mine
    assert f"/matters/{matter.id}" not in chiefs
    assert f"/matters/{matter.id}" in everything


def test_only_administrators_attach_and_detach_leaders_through_the_pages(app_factory, world):
    matter = world["matter"]
    lawyer, admin = app_factory().test_client(), app_factory().test_client()
    with time_machine.travel(bj(3, 12, 10), tick=True):
        login(lawyer, world["duty"].user.username)
        assert (
            post(lawyer, f"/matters/{matter.id}/lead", {"leader_id": world["deputy"].id}).status_code == 403
        )
        login(admin, "chief")
        page = admin.get(f"/matters/{matter.id}").get_data(as_text=True)
        assert f"/matters/{matter.id}/lead" in page
        assert post(admin, f"/matters/{matter.id}/lead", {"leader_id": world["deputy"].id}).status_code == 302
        assert "副局长李" in admin.get(f"/matters/{matter.id}").get_data(as_text=True)
        assert post(lawyer, f"/matters/{matter.id}/unlead", {}).status_code == 403
        assert post(admin, f"/matters/{matter.id}/unlead", {}).status_code == 302
    assert fresh(matter).leader_id is None
    assert [e.action for e in actions("matter.lead") + actions("matter.unlead")] == [
        "matter.lead",
        "matter.unlead",
    ]


def test_the_leader_gets_the_overdue_notices_too(world):
    matter, deputy = world["matter"], world["deputy"]
    services.lead(matter, world["chief"], deputy)
    db.session.commit()

    def run(at: datetime) -> None:
        with time_machine.travel(at, tick=False):
            rules.enqueue_due()
            db.session.commit()

    run(bj(3, 19, 9))  # the day before it falls due: the owner only
    assert [m.recipient_id for m in messages("matter_due")] == [world["duty"].user.id]
    run(bj(3, 21, 9))
    run(bj(3, 21, 9, 1))
    overdue = messages("matter_overdue")
    assert sorted((m.recipient_id, m.template) for m in overdue) == sorted(
        [(world["duty"].user.id, "matter_overdue"), (deputy.id, "matter_overdue_led")]
    )
    led = next(m for m in overdue if m.recipient_id == deputy.id)
    assert led.address == "deputy@example.org" and led.params["owner"] == world["duty"].user.display_name
    run(bj(3, 28, 9))  # a week on: both again
    assert len(messages("matter_overdue")) == 4
    services.unlead(fresh(matter), world["chief"])
    db.session.commit()
    run(bj(4, 4, 9))  # no longer led: the owner only
    assert [m.recipient_id for m in messages("matter_overdue")][4:] == [world["duty"].user.id]


# -- the monthly review -------------------------------------------------------------------------------


def test_the_monthly_review_lists_matters_under_leadership_with_their_leader(app_factory, world):
    matter, chief, deputy = world["matter"], world["chief"], world["deputy"]
    services.lead(matter, chief, deputy)
    db.session.commit()
    # Not overdue on 15 March: it is listed as led, not as overdue.
    f = reports.month_figures(world["station"].id, date(2026, 3, 1), today=date(2026, 3, 15))
    assert f.overdue == []
    assert [(m.id, m.leader, m.owner, m.status, m.days_overdue) for m in f.led] == [
        (matter.id, "副局长李", world["duty"].user.display_name, "open", 0)
    ]
    # Overdue on 25 March: in both lists, the overdue one naming its leader.
    f = reports.month_figures(world["station"].id, date(2026, 3, 1), today=date(2026, 3, 25))
    assert [(o.id, o.leader, o.days_overdue) for o in f.overdue] == [(matter.id, "副局长李", 5)]
    assert f.led[0].days_overdue == 5
    # Closed in March: still in March's review, with its result; not in April's.
    with time_machine.travel(bj(3, 30, 10), tick=False):
        services.close_matter(fresh(matter), world["duty"].user, "resolved")
        db.session.commit()
    march = reports.month_figures(world["station"].id, date(2026, 3, 1), today=date(2026, 4, 2))
    assert [(m.id, m.status, m.result, m.days_overdue) for m in march.led] == [
        (matter.id, "closed", "resolved", 0)
    ]
    assert reports.month_figures(world["station"].id, date(2026, 4, 1), today=date(2026, 5, 2)).led == []

    client = app_factory().test_client()
    with time_machine.travel(bj(4, 2, 10), tick=True):
        login(client, "chief")
        html = client.get(f"/admin/reports/monthly/2026-03?station={world['station'].id}").get_data(
            as_text=True
        )
    assert "副局长李" in html and f"/matters/{matter.id}" in html


# -- the note form --------------------------------------------------------------------------------------


TYPED = "已电话联系：当事人将于下周补交材料（工资条）。"


def test_a_note_needs_its_text_and_a_step_its_date_said_on_the_matter_page(client, world):
    matter = world["matter"]
    page_url, url = f"/matters/{matter.id}", f"/matters/{matter.id}/note"

    def note(data: dict) -> str:
        token = csrf_token(client.get(page_url).get_data(as_text=True))
        answer = client.post(url, data={**data, "csrf_token": token}, follow_redirects=True)
        return answer.get_data(as_text=True)

    with time_machine.travel(bj(3, 12, 10), tick=True):
        login(client, world["duty"].user.username)
        assert "请填写记录内容。" in note({"text": "  ", "milestone": "", "milestone_on": ""})
        assert "请选择办理环节及日期。" in note({"text": "", "milestone": "submitted", "milestone_on": ""})
        assert fresh(matter).notes == []  # nothing saved
        saved = note({"text": TYPED, "milestone": "", "milestone_on": ""})
    assert "已保存" in saved
    assert [n.text for n in fresh(matter).notes] == [TYPED]  # as typed
