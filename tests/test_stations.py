"""Stations: defaults, the rules of the settings, the admin pages and the CLI."""

from __future__ import annotations

from datetime import time

import pytest
import sqlalchemy as sa

from legalaid.audit.models import AuditEntry
from legalaid.errors import InvalidInput
from legalaid.extensions import db
from legalaid.stations import services
from legalaid.stations.models import Station
from legalaid.stations.services import StationSettings
from tests.conftest import post_form


def test_a_new_station_has_the_usual_settings(app):
    station = services.create_station(StationSettings(name="解放区站"))
    db.session.commit()
    assert station.timezone == "Asia/Shanghai"
    assert station.duty_weekday_list == [2]  # Tuesday
    assert [(s.start_time, s.end_time) for s in station.sessions] == [
        (time(9, 0), time(12, 0)),
        (time(14, 30), time(17, 30)),
    ]
    assert (station.slot_minutes, station.places_per_slot, station.walkin_reserve) == (30, 1, 2)
    assert (station.booking_window_days, station.booking_cutoff_hours) == (28, 2)
    assert station.retention_years >= 1


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"sessions": [(time(12, 0), time(9, 0))]}, "sessions", "结束"),
        ({"sessions": [(time(9, 0), time(12, 0)), (time(11, 0), time(13, 0))]}, "sessions", "重叠"),
        ({"slot_minutes": 0}, "slot_minutes", "0"),
        ({"sessions": []}, "sessions", "接待时段"),
        ({"duty_weekdays": []}, "duty_weekdays", "值班日"),
        ({"timezone": "Mars/Olympus"}, "timezone", "Mars/Olympus"),
        ({"places_per_slot": 0}, "places_per_slot", "1"),
        ({"retention_years": 0}, "retention_years", "1"),
        ({"slot_minutes": 200}, "slot_minutes", "200"),
    ],
)
def test_invalid_settings_are_refused_with_a_clear_message(app, change, field, words):
    with pytest.raises(InvalidInput) as caught:
        services.create_station(StationSettings(name="错站", **change))
    assert caught.value.field == field
    assert words in caught.value.message
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Station)) == 0


def test_station_names_are_unique(app, make_station):
    make_station("甲站")
    with pytest.raises(InvalidInput, match="甲站"):
        services.create_station(StationSettings(name="甲站"))


def test_changes_are_audited_with_what_changed(app, make_station):
    station = make_station("乙站")
    settings = StationSettings.of(station)
    settings.slot_minutes = 20
    settings.sessions = [(time(9, 0), time(11, 30))]
    changes = services.update_station(station, settings)
    db.session.commit()
    assert changes["slot_minutes"] == [30, 20]
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "station.update"))
    assert entry.details["slot_minutes"] == [30, 20]
    assert entry.details["sessions"][1] == ["09:00–11:30"]
    assert services.update_station(station, StationSettings.of(station)) == {}


def _form(station: Station, **overrides) -> dict:
    data = {
        "name": station.name,
        "address": station.address,
        "timezone": station.timezone,
        "duty_weekdays": [str(d) for d in station.duty_weekday_list],
        "sessions-0-start": "09:00",
        "sessions-0-end": "12:00",
        "sessions-1-start": "14:30",
        "sessions-1-end": "17:30",
        "sessions-2-start": "",
        "sessions-2-end": "",
        "slot_minutes": "30",
        "places_per_slot": "1",
        "walkin_reserve": "2",
        "booking_window_days": "28",
        "booking_cutoff_hours": "2",
        "retention_years": "3",
        "queue_opens_minutes": "60",
    }
    data.update(overrides)
    return data


def test_admin_edits_a_station_on_its_page(signed_in, make_station):
    admin = signed_in("admin")
    station = make_station("丙站")
    url = f"/admin/stations/{station.id}"
    page = admin.get(url).get_data(as_text=True)
    assert 'value="09:00"' in page and 'value="14:30"' in page
    response = post_form(
        admin,
        url,
        _form(
            station,
            slot_minutes="20",
            duty_weekdays=["2", "4"],
            **{"sessions-2-start": "18:00", "sessions-2-end": "19:00"},
        ),
    )
    assert response.status_code == 302
    db.session.expire_all()
    station = db.session.get(Station, station.id)
    assert station.slot_minutes == 20
    assert station.duty_weekday_list == [2, 4]
    assert len(station.sessions) == 3


def test_bad_input_stays_on_the_page_with_what_was_typed(signed_in, make_station):
    admin = signed_in("admin")
    station = make_station("丁站")
    url = f"/admin/stations/{station.id}"
    response = post_form(admin, url, _form(station, address="新地址123号", **{"sessions-1-start": "11:00"}))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "重叠" in html
    assert 'value="新地址123号"' in html and 'value="11:00"' in html
    response = post_form(admin, url, _form(station, slot_minutes="abc"))
    assert response.status_code == 200 and "请输入" in response.get_data(as_text=True)
    response = post_form(admin, url, _form(station, **{"sessions-0-end": ""}))
    assert response.status_code == 200
    db.session.expire_all()
    unchanged = db.session.get(Station, station.id)
    assert unchanged.address == "" and [s.start_time for s in unchanged.sessions] == [
        time(9, 0),
        time(14, 30),
    ]


def test_admin_adds_a_station_on_a_page(signed_in):
    admin = signed_in("admin")
    page = admin.get("/admin/stations/new").get_data(as_text=True)
    assert 'value="09:00"' in page  # the default sessions are offered
    response = post_form(
        admin,
        "/admin/stations/new",
        {
            "name": "新站",
            "address": "",
            "timezone": "Asia/Shanghai",
            "duty_weekdays": ["2"],
            "sessions-0-start": "09:00",
            "sessions-0-end": "12:00",
            "sessions-1-start": "",
            "sessions-1-end": "",
            "sessions-2-start": "",
            "sessions-2-end": "",
            "slot_minutes": "30",
            "places_per_slot": "1",
            "walkin_reserve": "2",
            "booking_window_days": "28",
            "booking_cutoff_hours": "2",
            "retention_years": "3",
            "queue_opens_minutes": "60",
        },
    )
    assert response.status_code == 302
    assert [s.name for s in services.list_stations()] == ["新站"]


def test_cli_creates_a_station_and_prints_its_id(runner, app):
    result = runner.invoke(args=["stations", "create", "命令行站"])
    assert result.exit_code == 0, result.output
    station = db.session.scalar(sa.select(Station).where(Station.name == "命令行站"))
    assert result.output.strip() == str(station.id)
    again = runner.invoke(args=["stations", "create", "命令行站"])
    assert again.exit_code != 0 and "命令行站" in again.output
