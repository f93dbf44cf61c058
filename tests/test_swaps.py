"""The swap flow: its states, and who may take each step."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from legalaid.audit.models import AuditEntry
from legalaid.errors import InvalidInput, NotAllowed
from legalaid.extensions import db
from legalaid.roster import services as roster
from legalaid.roster.models import MANUAL, ShiftChange
from legalaid.stations.services import StationSettings, update_station
from legalaid.swaps import services as swaps
from legalaid.swaps.models import ACCEPTED, APPROVED, CANCELLED, DECLINED, REJECTED, REQUESTED
from tests.conftest import csrf_token, login

TODAY = date(2026, 3, 1)


@pytest.fixture
def setting(app, make_station, make_lawyer, make_user):
    """A station, three lawyers, a generated March, and an administrator."""
    station = make_station("调班站")
    trio = [make_lawyer(station, name=n) for n in ("甲", "乙", "丙")]
    roster.apply_rotation(station, date(2026, 3, 3), date(2026, 3, 31), today=TODAY)
    db.session.commit()
    admin = make_user("admin", username="chief")
    return station, trio, admin


def _shift_of(station, lawyer):
    return next(
        s
        for s in roster.shifts_between(station, date(2026, 3, 2), date(2026, 3, 31))
        if s.lawyer_id == lawyer.id
    )


def test_ask_accept_approve_moves_the_shift(setting):
    station, (a, b, _c), admin = setting
    shift = _shift_of(station, a)
    swap = swaps.request_swap(shift, a, b, "家中有事", today=TODAY)
    assert swap.status == REQUESTED
    swaps.accept_swap(swap, b, today=TODAY)
    assert swap.status == ACCEPTED and shift.lawyer_id == a.id  # nothing moves before approval
    swaps.approve_swap(swap, admin, today=TODAY)
    db.session.commit()
    assert swap.status == APPROVED
    assert shift.lawyer_id == b.id and shift.source == MANUAL
    change = db.session.scalar(sa.select(ShiftChange).where(ShiftChange.shift_id == shift.id))
    assert (change.old_lawyer_id, change.new_lawyer_id, change.cause) == (a.id, b.id, "swap")
    actions = db.session.scalars(
        sa.select(AuditEntry.action).where(AuditEntry.target_type == "swap_requests")
    ).all()
    assert actions == ["swap.request", "swap.accept", "swap.approve"]
    # Regeneration keeps the swapped shift.
    roster.apply_rotation(station, date(2026, 3, 3), date(2026, 3, 31), today=TODAY)
    db.session.commit()
    assert roster.get_shift(shift.id).lawyer_id == b.id


def test_an_open_offer_can_be_taken_by_any_colleague(setting):
    station, (a, _b, c), admin = setting
    swap = swaps.request_swap(_shift_of(station, a), a, None, today=TODAY)
    with pytest.raises(NotAllowed):
        swaps.accept_swap(swap, a, today=TODAY)  # not oneself
    swaps.accept_swap(swap, c, today=TODAY)
    swaps.approve_swap(swap, admin, today=TODAY)
    assert swap.shift.lawyer_id == c.id


def test_who_may_take_each_step(setting, make_station, make_lawyer):
    station, (a, b, c), admin = setting
    shift_a, shift_b = _shift_of(station, a), _shift_of(station, b)
    with pytest.raises(NotAllowed):
        swaps.request_swap(shift_b, a, c, today=TODAY)  # only one's own shift
    with pytest.raises(InvalidInput):
        swaps.request_swap(shift_a, a, a, today=TODAY)
    elsewhere = make_lawyer(make_station("别的站"))
    with pytest.raises(NotAllowed):
        swaps.request_swap(shift_a, a, elsewhere, today=TODAY)
    swap = swaps.request_swap(shift_a, a, b, today=TODAY)
    with pytest.raises(NotAllowed):
        swaps.request_swap(shift_a, a, c, today=TODAY)  # one request at a time per shift
    with pytest.raises(NotAllowed):
        swaps.accept_swap(swap, c, today=TODAY)  # asked of b, not c
    with pytest.raises(NotAllowed):
        swaps.decline_swap(swap, c)
    with pytest.raises(NotAllowed):
        swaps.approve_swap(swap, admin, today=TODAY)  # b has not accepted yet
    with pytest.raises(NotAllowed):
        swaps.cancel_swap(swap, b)  # only the requester withdraws
    swaps.decline_swap(swap, b)
    assert swap.status == DECLINED
    with pytest.raises(NotAllowed):
        swaps.accept_swap(swap, b, today=TODAY)


def test_nobody_approves_their_own_swap(setting):
    station, (a, b, _c), admin = setting
    swap = swaps.request_swap(_shift_of(station, a), a, b, today=TODAY)
    swaps.accept_swap(swap, b, today=TODAY)
    a.user_id = admin.id  # an administrator who is also the requesting lawyer
    db.session.flush()
    with pytest.raises(NotAllowed):
        swaps.approve_swap(swap, admin, today=TODAY)
    with pytest.raises(NotAllowed):
        swaps.reject_swap(swap, admin)


def test_past_shifts_cannot_be_swapped(setting):
    station, (a, b, _c), admin = setting
    shift = _shift_of(station, a)
    with pytest.raises(NotAllowed):
        swaps.request_swap(shift, a, b, today=shift.duty_on)
    swap = swaps.request_swap(shift, a, b, today=TODAY)
    swaps.accept_swap(swap, b, today=TODAY)
    with pytest.raises(NotAllowed):
        swaps.approve_swap(swap, admin, today=shift.duty_on)


def test_colleague_on_leave_cannot_take_the_shift(setting):
    from legalaid.lawyers.services import add_unavailability

    station, (a, b, _c), admin = setting
    shift = _shift_of(station, a)
    add_unavailability(b, shift.duty_on, shift.duty_on, "出差")
    with pytest.raises(NotAllowed):
        swaps.request_swap(shift, a, b, today=TODAY)


def test_reject_cancel_and_hand_change_close_requests(setting):
    station, (a, b, c), admin = setting
    swap = swaps.request_swap(_shift_of(station, a), a, b, today=TODAY)
    swaps.reject_swap(swap, admin, "人手不足")
    assert swap.status == REJECTED
    swap2 = swaps.request_swap(_shift_of(station, a), a, b, today=TODAY)
    swaps.cancel_swap(swap2, a)
    assert swap2.status == CANCELLED
    shift = _shift_of(station, a)
    swap3 = swaps.request_swap(shift, a, b, today=TODAY)
    roster.set_shift_lawyer(station, shift.duty_on, c, "局里安排", today=TODAY)
    assert swap3.status == CANCELLED


def test_automatic_approval_when_the_station_says_so(setting):
    station, (a, b, _c), _admin = setting
    settings = StationSettings.of(station)
    settings.swap_auto_approve = True
    update_station(station, settings)
    swap = swaps.request_swap(_shift_of(station, a), a, b, today=TODAY)
    swaps.accept_swap(swap, b, today=TODAY)
    assert swap.status == APPROVED and swap.shift.lawyer_id == b.id


def test_the_pages_follow_the_flow(app_factory, setting):
    from datetime import UTC, datetime

    import time_machine

    station, (a, b, _c), admin = setting
    shift = _shift_of(station, a)
    app = app_factory()
    with time_machine.travel(datetime(2026, 3, 1, 2, 0, tzinfo=UTC), tick=True):
        lawyer_a, lawyer_b, chief = app.test_client(), app.test_client(), app.test_client()
        login(lawyer_a, a.user.username)
        login(lawyer_b, b.user.username)
        login(chief, "chief")
        page = lawyer_a.get(f"/me/shifts/{shift.id}/swap")
        assert page.status_code == 200
        response = lawyer_a.post(
            f"/me/shifts/{shift.id}/swap",
            data={
                "csrf_token": csrf_token(page.get_data(as_text=True)),
                "to_lawyer_id": str(b.id),
                "note": "",
            },
        )
        assert response.status_code == 302
        swap = swaps.open_swap_for(shift)
        mine = lawyer_b.get("/me/swaps").get_data(as_text=True)
        assert "甲" in mine
        lawyer_b.post(f"/me/swaps/{swap.id}/accept", data={"csrf_token": csrf_token(mine)})
        pending = chief.get("/admin/swaps").get_data(as_text=True)
        chief.post(f"/admin/swaps/{swap.id}/approve", data={"csrf_token": csrf_token(pending)})
        # b cannot act on a's shift pages; a cannot see b's shift pages.
        assert lawyer_b.get(f"/me/shifts/{_shift_of(station, a).id}/swap").status_code in (200, 404)
    db.session.expire_all()
    assert roster.get_shift(shift.id).lawyer_id == b.id
