"""Odd input never gives a 500: NUL bytes, huge ids, out-of-range dates and pages, races."""

from __future__ import annotations

from datetime import time

import pytest

from legalaid.errors import InvalidInput
from legalaid.stations import services as stations
from tests.conftest import login, post_form


def test_nul_bytes_are_refused_plainly(client, make_user):
    make_user("admin", username="boss")
    page = client.get("/login").get_data(as_text=True)
    from tests.conftest import csrf_token

    response = client.post(
        "/login", data={"csrf_token": csrf_token(page), "username": "bo\x00ss", "password": "x"}
    )
    assert response.status_code == 400
    assert client.get("/calendar/ab%00cd.ics").status_code == 400


@pytest.mark.parametrize(
    "path",
    [
        "/admin/users/99999999999999999999",
        "/admin/users/2147483648",
        "/admin/stations/2147483648",
        "/admin/audit/?page=99999999999999999999999999",
        "/admin/audit/?target_id=99999999999999999999999999",
        "/admin/audit/?start_on=0001-01-01&end_on=9999-12-31",
        "/admin/audit/?endpoint=x&_method=POST&page=2",
        "/admin/roster?month=9999-99",
        "/admin/roster/day?date=not-a-date",
        "/admin/roster/closures?year=999999",
        "/duty/today?station=99999999999",
    ],
)
def test_odd_urls_answer_without_a_server_error(signed_in, path):
    admin = signed_in("admin")
    response = admin.get(path)
    assert response.status_code in (200, 302, 400, 404), (path, response.status_code)


def test_walk_in_reserve_cannot_exceed_the_shifts_places(app):
    settings = stations.StationSettings(name="小站", sessions=[(time(9, 0), time(10, 0))], walkin_reserve=3)
    with pytest.raises(InvalidInput) as caught:
        stations.create_station(settings)  # one hour of 30-minute slots holds 2 people
    assert caught.value.field == "walkin_reserve" and "2" in caught.value.message


def test_time_zone_must_be_a_place(app):
    with pytest.raises(InvalidInput):
        stations.create_station(stations.StationSettings(name="时区站", timezone="localtime"))


def test_a_race_on_a_unique_name_gives_a_clear_page_not_a_500(app_factory, make_user, monkeypatch):
    from legalaid.auth import services as accounts

    make_user("admin", username="boss")
    client = app_factory().test_client()
    login(client, "boss")
    # The other request saved the same username between our check and our insert.
    monkeypatch.setattr(accounts, "find_by_username", lambda username: None)
    make_user("staff", username="taken")
    response = post_form(
        client,
        "/admin/users/new",
        {
            "username": "taken",
            "display_name": "重名",
            "role": "staff",
            "station_id": "0",
            "password": "long-enough-pw",
            "confirm": "long-enough-pw",
        },
    )
    assert response.status_code == 409
    assert "刚才有人同时保存" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/admin/lawyers?station=99999999999", "/admin/roster?station=-5"])
def test_station_ids_in_query_strings_are_bounded(signed_in, path):
    assert signed_in("admin").get(path).status_code in (200, 404)
