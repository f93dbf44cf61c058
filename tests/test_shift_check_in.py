"""The duty lawyer's arrival (签到) through its button: the lawyer for their own shift, the desk of the
station and an administrator may record it, once and on the day; everybody else is refused and nothing
is written."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
import time_machine

from legalaid.audit.models import AuditEntry
from legalaid.extensions import db
from legalaid.roster import services as roster
from legalaid.roster.models import DutyShift
from tests.conftest import csrf_token, login

DUTY_DAY = date(2026, 3, 10)  # a Tuesday, a working day
ARRIVAL = datetime(2026, 3, 10, 0, 52, tzinfo=UTC)  # 08:52 in the station's zone
THE_DAY_BEFORE = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)
# The page each role has the check-in button on (any page of the session gives the CSRF token).
BUTTON_PAGE = {"lawyer": "/me/shifts", "desk": "/desk", "chief": "/"}


@pytest.fixture
def duty(app, make_station, make_lawyer, make_user):
    """Two stations; the first has 王芳 on duty on DUTY_DAY and 李强 beside her; a desk at each; an
    administrator."""
    station, elsewhere = make_station("服务大厅"), make_station("别的大厅")
    lawyer, colleague = make_lawyer(station, name="王芳"), make_lawyer(station, name="李强")
    shift = roster.set_shift_lawyer(station, DUTY_DAY, lawyer, "排班", today=date(2026, 3, 1))
    db.session.commit()
    make_user("staff", username="desk", station_id=station.id)
    make_user("staff", username="otherdesk", station_id=elsewhere.id)
    make_user("admin", username="chief")
    return {"station": station, "shift": shift, "lawyer": lawyer, "colleague": colleague}


def _post_check_in(client, shift_id: int, page: str, back: str | None = None):
    token = csrf_token(client.get(page).get_data(as_text=True))
    data = {"csrf_token": token, **({"back": back} if back else {})}
    return client.post(f"/roster/shifts/{shift_id}/check-in", data=data)


def _check_ins() -> list[AuditEntry]:
    return list(db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "roster.check_in")))


def _shift(shift_id: int) -> DutyShift:
    return db.session.get(DutyShift, shift_id)


@pytest.mark.parametrize("who", ["lawyer", "desk", "chief"])
def test_the_lawyer_the_desk_and_an_administrator_record_the_arrival(client, duty, who):
    username = duty["lawyer"].user.username if who == "lawyer" else who
    shift_id = duty["shift"].id
    with time_machine.travel(ARRIVAL, tick=False):
        login(client, username)
        response = _post_check_in(client, shift_id, BUTTON_PAGE[who], back=BUTTON_PAGE[who])
        assert response.status_code == 302 and response.headers["Location"] == BUTTON_PAGE[who]
        page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已签到" in page and f"/roster/shifts/{shift_id}/check-in" not in page  # the button is gone
    shift = _shift(shift_id)
    assert shift.checked_in_at == ARRIVAL
    [entry] = _check_ins()
    assert entry.actor_name == username and entry.target_id == shift_id
    assert shift.checked_in_by_id == entry.actor_id
    assert entry.details == {"date": "2026-03-10"}


def test_the_lawyers_own_page_offers_the_button_only_on_the_day(client, duty):
    shift_id = duty["shift"].id
    with time_machine.travel(THE_DAY_BEFORE, tick=False):
        login(client, duty["lawyer"].user.username)
        before = client.get("/me/shifts").get_data(as_text=True)
    with time_machine.travel(ARRIVAL, tick=False):
        login(client, duty["lawyer"].user.username)  # the session of the day before has timed out
        on_the_day = client.get("/me/shifts").get_data(as_text=True)
    assert f"/roster/shifts/{shift_id}/check-in" not in before
    assert f"/roster/shifts/{shift_id}/check-in" in on_the_day


@pytest.mark.parametrize("who", ["colleague", "otherdesk"])
def test_a_colleague_and_another_stations_desk_are_refused(client, duty, who):
    username = duty["colleague"].user.username if who == "colleague" else who
    page = "/me/shifts" if who == "colleague" else "/desk"
    with time_machine.travel(ARRIVAL, tick=False):
        login(client, username)
        response = _post_check_in(client, duty["shift"].id, page, back=page)
        assert response.status_code == 302
        said = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "只有本站服务台、管理员或值班律师本人可以签到。" in said
    assert _shift(duty["shift"].id).checked_in_at is None and _check_ins() == []


def test_nobody_checks_in_on_another_day(client, duty):
    with time_machine.travel(THE_DAY_BEFORE, tick=False):
        login(client, "chief")
        response = _post_check_in(client, duty["shift"].id, "/")
        said = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "只能在值班当天签到。" in said
    assert _shift(duty["shift"].id).checked_in_at is None and _check_ins() == []


def test_a_second_press_keeps_the_first_arrival(client, duty):
    shift_id = duty["shift"].id
    with time_machine.travel(ARRIVAL, tick=False):
        login(client, duty["lawyer"].user.username)
        _post_check_in(client, shift_id, "/me/shifts")
    with time_machine.travel(datetime(2026, 3, 10, 1, 30, tzinfo=UTC), tick=False):
        login(client, "desk")
        response = _post_check_in(client, shift_id, "/desk")
        assert response.status_code == 302
    shift = _shift(shift_id)
    assert shift.checked_in_at == ARRIVAL and shift.checked_in_by_id == duty["lawyer"].user_id
    assert len(_check_ins()) == 1


def test_without_signing_in_or_without_the_token_nothing_is_recorded(client, duty):
    shift_id = duty["shift"].id
    with time_machine.travel(ARRIVAL, tick=False):
        anonymous = client.post(f"/roster/shifts/{shift_id}/check-in")
        assert anonymous.status_code in (302, 400)
        if anonymous.status_code == 302:
            assert "/login" in anonymous.headers["Location"]
        login(client, "desk")
        forged = client.post(f"/roster/shifts/{shift_id}/check-in", data={"back": "/desk"})
        assert forged.status_code in (302, 400)  # a cross-site post carries no token
    assert _shift(shift_id).checked_in_at is None and _check_ins() == []


def test_an_unknown_shift_is_not_found_and_back_stays_on_this_site(client, duty):
    with time_machine.travel(ARRIVAL, tick=False):
        login(client, "chief")
        token = csrf_token(client.get("/").get_data(as_text=True))
        missing = client.post("/roster/shifts/999999/check-in", data={"csrf_token": token})
        assert missing.status_code == 404
        response = client.post(
            f"/roster/shifts/{duty['shift'].id}/check-in",
            data={"csrf_token": token, "back": "https://evil.example/phish"},
        )
    assert response.status_code == 302 and "evil.example" not in response.headers["Location"]
    assert _shift(duty["shift"].id).checked_in_at == ARRIVAL
