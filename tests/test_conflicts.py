"""Leave over a shift already given, a lawyer deactivated, a contract ending early: the shift is marked
as a conflict, the administrators are told once, the month view offers the rotation's replacement, and
the hand-over tells the booked veterans once. A deactivated lawyer can no longer sign in."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
import time_machine

from legalaid.bookings import planning
from legalaid.bookings import services as bookings
from legalaid.extensions import db
from legalaid.lawyers import services as lawyers
from legalaid.reminders import rules
from legalaid.reminders.models import OutboxMessage
from legalaid.roster import conflicts
from legalaid.roster import services as roster
from tests.conftest import csrf_token, login

DAY = date(2026, 3, 10)  # a Tuesday
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # the Monday of the week before, 10:00 in Beijing


@pytest.fixture
def rostered(app, make_station, make_lawyer, make_user):
    """Three lawyers; 张明 has the 10 March shift with one person booked; 王芳 was on duty on 3 March,
    李强 not for a long time (so the rotation picks 李强)."""
    with time_machine.travel(NOW, tick=False):
        station = make_station("冲突站")
        zhang, wang, li = (make_lawyer(station, name=n) for n in ("张明", "王芳", "李强"))
        admin = make_user("admin", username="juzhang")
        roster.set_shift_lawyer(station, date(2026, 3, 3), wang, "测试", today=date(2026, 3, 1))
        roster.set_shift_lawyer(station, date(2026, 2, 3), li, "测试", today=date(2026, 2, 1))
        shift = roster.set_shift_lawyer(station, DAY, zhang, "测试", today=date(2026, 3, 1))
        db.session.commit()
        slot = planning.ensure_slots(shift)[0]
        bookings.place_booking(
            bookings.BookingRequest(
                slot_id=slot.id,
                name="李卫国",
                mobile="13812345678",
                category="labour",
                channel="kiosk",
                idempotency_key=secrets.token_hex(16),
                consent=True,
            ),
            now=NOW,
        )
        db.session.commit()
        yield station, shift, zhang, wang, li, admin


def _kind(kind: str) -> list[OutboxMessage]:
    return list(db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == kind)))


def test_leave_over_a_shift_is_a_conflict_and_the_administrators_are_told_once(rostered):
    station, shift, zhang, _wang, li, admin = rostered
    with time_machine.travel(NOW, tick=False):
        lawyers.add_unavailability(zhang, date(2026, 3, 9), date(2026, 3, 13), "外地开庭")
        db.session.commit()
        found = conflicts.station_conflicts(station, date(2026, 3, 1), date(2026, 3, 31))
        assert list(found) == [shift.id] and found[shift.id].why == conflicts.LEAVE
        (notice,) = _kind("shift_conflict")
        assert notice.recipient_id == admin.id and notice.params["lawyer"] == "张明"
        assert notice.params["why"] == "请假" and "/admin/roster" in notice.params["link"]
        # The same dates entered again (or overlapping ones) announce nothing new.
        lawyers.add_unavailability(zhang, date(2026, 3, 10), date(2026, 3, 10), "外地开庭")
        db.session.commit()
        assert len(_kind("shift_conflict")) == 1
        # The rotation's pick: free that day, on duty least recently.
        assert conflicts.replacement_for(shift).id == li.id


def test_the_month_view_offers_the_replacement_and_the_hand_over_tells_the_veteran(rostered, client):
    station, shift, zhang, _wang, li, admin = rostered
    with time_machine.travel(NOW, tick=True):
        lawyers.add_unavailability(zhang, DAY, DAY, "外地开庭")
        db.session.commit()
        login(client, admin.username)
        month = client.get(f"/admin/roster?station={station.id}&month=2026-03").get_data(as_text=True)
        assert "冲突：请假" in month and "选择替班律师: 李强" in month
        url = f"/admin/roster/day?station={station.id}&date={DAY.isoformat()}&lawyer={li.id}&reason=x"
        page = client.get(url).get_data(as_text=True)
        assert f'<option selected value="{li.id}">' in page or f'value="{li.id}" selected' in page
        response = client.post(
            f"/admin/roster/day?station={station.id}&date={DAY.isoformat()}",
            data={"csrf_token": csrf_token(page), "lawyer_id": li.id, "reason": "张明请假，李强替班"},
        )
        assert response.status_code == 302
        rules.enqueue_due()
        db.session.commit()
        rules.enqueue_due()  # the scheduler runs every minute: nobody is told twice
        db.session.commit()
    assert roster.shift_on(station, DAY).lawyer_id == li.id
    (told,) = _kind("lawyer_changed")
    assert told.address == "13812345678" and told.params["lawyer"] == "李强"
    assert not conflicts.station_conflicts(station, date(2026, 3, 1), date(2026, 3, 31), today=NOW.date())


def test_the_lawyer_is_told_truthfully_what_happens(rostered, client):
    _station, _shift, zhang, _wang, _li, _admin = rostered
    with time_machine.travel(NOW, tick=True):
        login(client, zhang.user.username)
        page = client.get("/me/shifts").get_data(as_text=True)
        response = client.post(
            "/me/leave",
            data={
                "csrf_token": csrf_token(page),
                "start_on": "2026-03-10",
                "end_on": "2026-03-10",
                "reason": "开庭",
            },
            follow_redirects=True,
        )
    text = response.get_data(as_text=True)
    assert "已通知管理员安排替班" in text and "该值班仍由您负责" in text


def test_a_deactivated_lawyer_leaves_a_conflict_and_cannot_sign_in(rostered, client):
    station, shift, zhang, _wang, _li, _admin = rostered
    with time_machine.travel(NOW, tick=True):
        found = lawyers.set_lawyer_active(zhang, False)
        db.session.commit()
        assert [c.shift.id for c in found] == [shift.id] and found[0].why == conflicts.INACTIVE
        assert len(_kind("shift_conflict")) == 1
        login(client, zhang.user.username)
        refused = client.get("/me/shifts")
        assert refused.status_code == 302 and "/login" in refused.headers["Location"]


def test_a_contract_ending_before_a_shift_is_a_conflict(rostered):
    station, shift, zhang, _wang, _li, _admin = rostered
    with time_machine.travel(NOW, tick=False):
        data = lawyers.LawyerData(
            name=zhang.name,
            firm_id=zhang.firm_id,
            licence_no=zhang.licence_no,
            contract_start=zhang.contract_start,
            contract_end=date(2026, 3, 6),
            mobile=zhang.mobile,
            user_id=zhang.user_id,
        )
        lawyers.update_lawyer(zhang, data)
        db.session.commit()
    found = conflicts.station_conflicts(station, date(2026, 3, 1), date(2026, 3, 31), today=NOW.date())
    assert found[shift.id].why == conflicts.CONTRACT
    assert len(_kind("shift_conflict")) == 1
