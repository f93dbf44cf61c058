"""An extra duty day on another weekday (a session before a holiday, a make-up day): set from the month
view with a lawyer, bookable like any duty day; refused on a closed day."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine

from legalaid.bookings import planning
from legalaid.errors import NotAllowed
from legalaid.extensions import db
from legalaid.roster import services as roster
from tests.conftest import csrf_token, login

FRIDAY = date(2026, 3, 13)  # not the station's duty weekday (Tuesday)
NOW = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)  # the Monday before, 10:00 in Beijing


@pytest.fixture
def station_and_lawyer(app, make_station, make_lawyer, make_user):
    station = make_station("加班站")
    return station, make_lawyer(station, name="张明"), make_user("admin", username="juzhang")


def test_the_month_view_adds_an_extra_day_that_the_kiosk_offers(station_and_lawyer, client):
    station, lawyer, admin = station_and_lawyer
    with time_machine.travel(NOW, tick=True):
        login(client, admin.username)
        month = client.get(f"/admin/roster?station={station.id}&month=2026-03").get_data(as_text=True)
        assert "/admin/roster/day" in month  # the form that asks for the extra day's date
        url = f"/admin/roster/day?station={station.id}&date={FRIDAY.isoformat()}"
        token = csrf_token(client.get(url).get_data(as_text=True))
        response = client.post(url, data={"csrf_token": token, "lawyer_id": lawyer.id, "reason": "节前加开"})
        assert response.status_code == 302
        days = planning.bookable_days(station, "kiosk", now=NOW)
    assert FRIDAY in [d.shift.duty_on for d in days]
    assert roster.shift_on(station, FRIDAY).lawyer_id == lawyer.id


def test_an_extra_day_is_refused_on_a_closed_day(station_and_lawyer):
    station, lawyer, _admin = station_and_lawyer
    with time_machine.travel(NOW, tick=False):
        roster.set_closure(station, FRIDAY, True, "场地活动")
        db.session.commit()
        with pytest.raises(NotAllowed):
            roster.set_shift_lawyer(station, FRIDAY, lawyer, "节前加开")


def test_a_bad_date_goes_back_to_the_month_with_a_message(station_and_lawyer, client):
    station, _lawyer, admin = station_and_lawyer
    with time_machine.travel(NOW, tick=True):
        login(client, admin.username)
        response = client.get(
            f"/admin/roster/day?station={station.id}&date=13/03/2026", follow_redirects=True
        )
    assert response.status_code == 200 and "年-月-日" in response.get_data(as_text=True)
