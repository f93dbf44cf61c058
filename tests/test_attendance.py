"""The duty lawyer's arrival (签到) recorded by the desk or an administrator, not only by the lawyer."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
import time_machine

from legalaid.audit.models import AuditEntry
from legalaid.auth.services import find_by_username
from legalaid.errors import NotAllowed
from legalaid.extensions import db
from legalaid.roster import services as roster
from tests.conftest import csrf_token, login

DUTY_DAY = date(2026, 3, 10)  # a Tuesday
ARRIVAL = datetime(2026, 3, 10, 0, 52, tzinfo=UTC)  # 08:52 in the station's zone


@pytest.fixture
def duty(app, make_station, make_lawyer, make_user):
    """Two stations, a shift at the first on the duty day, and the desk of each."""
    station, elsewhere = make_station("服务大厅"), make_station("别的大厅")
    lawyer, other_lawyer = make_lawyer(station, name="王芳"), make_lawyer(station, name="李强")
    shift = roster.set_shift_lawyer(station, DUTY_DAY, lawyer, "排班", today=date(2026, 3, 1))
    db.session.commit()
    make_user("staff", username="desk", station_id=station.id)
    make_user("staff", username="otherdesk", station_id=elsewhere.id)
    return station, shift, lawyer, other_lawyer


def _check_in_form(html: str, shift_id: int) -> dict[str, str]:
    """The check-in button's form on a page: its token and where it comes back to."""
    form = re.search(
        rf'<form method="post" action="/roster/shifts/{shift_id}/check-in">(.*?)</form>', html, re.S
    )
    assert form, "no check-in button on the page"
    back = re.search(r'name="back" value="([^"]+)"', form.group(1)).group(1)
    return {"csrf_token": csrf_token(form.group(1)), "back": back.replace("&amp;", "&")}


def test_the_desk_records_the_lawyers_arrival(client, duty):
    station, shift, _lawyer, _other = duty
    with time_machine.travel(ARRIVAL, tick=False):
        login(client, "desk")
        desk = client.get("/desk").get_data(as_text=True)
        response = client.post(f"/roster/shifts/{shift.id}/check-in", data=_check_in_form(desk, shift.id))
        assert response.status_code == 302 and response.headers["Location"].startswith("/desk")
        desk = client.get(response.headers["Location"]).get_data(as_text=True)
    assert re.search(r'id="lawyer-checked-in">✓ [^<]*08:52', desk)
    assert f"/roster/shifts/{shift.id}/check-in" not in desk  # the button gives way to the time
    shift = roster.get_shift(shift.id)
    assert shift.checked_in_at == ARRIVAL
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "roster.check_in"))
    assert (
        entry.actor_name == "desk"
        and entry.target_id == shift.id
        and shift.checked_in_by_id == entry.actor_id
    )


def test_the_desk_of_another_station_is_refused(client, duty):
    _station, shift, _lawyer, _other = duty
    with time_machine.travel(ARRIVAL, tick=False):
        login(client, "otherdesk")
        desk = client.get("/desk").get_data(as_text=True)
        assert "/check-in" not in desk  # their own desk has no shift today
        response = client.post(
            f"/roster/shifts/{shift.id}/check-in",
            data={"csrf_token": csrf_token(desk), "back": "/desk"},
            follow_redirects=True,
        )
        assert "alert-danger" in response.get_data(as_text=True)
    assert roster.get_shift(shift.id).checked_in_at is None
    assert not db.session.scalar(sa.select(AuditEntry.id).where(AuditEntry.action == "roster.check_in"))


def test_who_may_record_the_arrival(duty, make_user):
    station, shift, lawyer, other_lawyer = duty
    staff_here, staff_there = find_by_username("desk"), find_by_username("otherdesk")
    admin = make_user("admin")
    with time_machine.travel(ARRIVAL, tick=False):
        for refused in (staff_there, other_lawyer.user):
            with pytest.raises(NotAllowed):
                roster.check_in(shift, by=refused)
        for allowed in (lawyer.user, staff_here, admin):
            roster.check_in(shift, by=allowed)  # the first records it; the others find it done
    assert shift.checked_in_by_id == lawyer.user.id
    with pytest.raises(NotAllowed):
        roster.check_in(roster.get_shift(shift.id), today=date(2026, 3, 9), by=admin)  # not on another day


def test_the_administrators_month_view_checks_todays_lawyer_in(client, duty, make_user):
    station, shift, _lawyer, _other = duty
    make_user("admin", username="chief")
    with time_machine.travel(ARRIVAL, tick=False):
        login(client, "chief")
        page = client.get(f"/admin/roster?station={station.id}&month=2026-03").get_data(as_text=True)
        form = _check_in_form(page, shift.id)
        assert form["back"] == f"/admin/roster?station={station.id}&month=2026-03"
        response = client.post(f"/roster/shifts/{shift.id}/check-in", data=form, follow_redirects=True)
        page = response.get_data(as_text=True)
    assert "alert-success" in page and f"/roster/shifts/{shift.id}/check-in" not in page
    assert roster.get_shift(shift.id).checked_in_at == ARRIVAL
    # Only today's shift has the button: another day's row does not.
    with time_machine.travel(datetime(2026, 3, 9, 2, 0, tzinfo=UTC), tick=False):
        login(client, "chief")
        page = client.get(f"/admin/roster?station={station.id}&month=2026-03").get_data(as_text=True)
    assert "/check-in" not in page
