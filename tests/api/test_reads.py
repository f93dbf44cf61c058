"""The read endpoints: stations, the duty roster and a day's free slots for the hotline, with times in
the station's offset and every list paged by a cursor that never repeats or skips an item."""

from __future__ import annotations

from datetime import date

from legalaid.bookings import planning
from legalaid.extensions import db
from legalaid.roster import closing
from legalaid.roster import services as roster
from tests.api.conftest import bearer


def _all_pages(client, path: str, key: str, limit: int) -> list[dict]:
    """Every item of a list, read page by page."""
    items, cursor, pages = [], "", 0
    while True:
        sep = "&" if "?" in path else "?"
        body = client.get(f"{path}{sep}limit={limit}&cursor={cursor}", headers=bearer(key)).get_json()
        items += body["items"]
        pages += 1
        assert len(body["items"]) <= limit
        if body["next_cursor"] is None:
            return items
        cursor = body["next_cursor"]
        assert pages < 50


def test_stations_are_listed_by_name_with_their_booking_rules(client, make_key, station, other_station):
    body = client.get("/api/v1/stations", headers=bearer(make_key())).get_json()
    assert sorted(s["name"] for s in body["items"]) == ["乙站", "甲站"]  # in the database's order of names
    first = next(s for s in body["items"] if s["id"] == station.id)
    assert first["timezone"] == "Asia/Shanghai" and first["duty_weekdays"] == [2]
    assert first["sessions"] == [{"start": "09:00", "end": "12:00"}, {"start": "14:30", "end": "17:30"}]
    assert body["next_cursor"] is None
    paged = _all_pages(client, "/api/v1/stations", make_key(), limit=1)
    assert [s["id"] for s in paged] == [s["id"] for s in body["items"]]


def test_the_roster_gives_each_duty_day_its_lawyer_and_hours_with_the_offset(client, make_key, station):
    path = f"/api/v1/stations/{station.id}/roster?from=2026-03-01&to=2026-03-31"
    body = client.get(path, headers=bearer(make_key(["roster:read"]))).get_json()
    assert [d["date"] for d in body["items"]] == ["2026-03-10", "2026-03-17", "2026-03-24", "2026-03-31"]
    day = body["items"][0]
    assert day["lawyer"]["name"] == "甲站律师" and day["station_id"] == station.id and day["closed"] is False
    assert day["hours"] == [
        {"starts_at": "2026-03-10T09:00:00+08:00", "ends_at": "2026-03-10T12:00:00+08:00"},
        {"starts_at": "2026-03-10T14:30:00+08:00", "ends_at": "2026-03-10T17:30:00+08:00"},
    ]
    paged = _all_pages(client, path, make_key(["roster:read"]), limit=3)
    assert [d["date"] for d in paged] == [d["date"] for d in body["items"]]
    narrow = client.get(
        f"/api/v1/stations/{station.id}/roster?from=2026-03-17&to=2026-03-17", headers=bearer(make_key())
    ).get_json()
    assert [d["date"] for d in narrow["items"]] == ["2026-03-17"]
    backwards = client.get(
        f"/api/v1/stations/{station.id}/roster?from=2026-03-31&to=2026-03-01", headers=bearer(make_key())
    ).get_json()
    assert backwards == {"items": [], "next_cursor": None}
    far = client.get(
        f"/api/v1/stations/{station.id}/roster?from=0001-01-01&to=9999-12-31", headers=bearer(make_key())
    )
    assert far.status_code == 200 and len(far.get_json()["items"]) == 4


def test_a_closed_day_is_marked_has_no_slots_and_leaves_the_roster_once_closed(client, make_key, station):
    key = make_key()
    roster_path = f"/api/v1/stations/{station.id}/roster?from=2026-03-01&to=2026-03-31"
    roster.set_closure(station, date(2026, 3, 24), True, "大厅维修")  # recorded; the shift not yet released
    db.session.commit()
    days = {d["date"]: d for d in client.get(roster_path, headers=bearer(key)).get_json()["items"]}
    assert days["2026-03-24"]["closed"] is True and days["2026-03-17"]["closed"] is False
    slots = client.get(f"/api/v1/stations/{station.id}/slots?date=2026-03-24", headers=bearer(key)).get_json()
    assert slots == {"items": [], "next_cursor": None}
    closing.close_day(station, date(2026, 3, 31), "停电")  # closed the whole way: its lawyer is taken off
    db.session.commit()
    days = [d["date"] for d in client.get(roster_path, headers=bearer(key)).get_json()["items"]]
    assert "2026-03-31" not in days


def test_free_slots_for_the_hotline_with_places_left(client, make_key, make_booking, station):
    key = make_key(["slots:read"])
    path = f"/api/v1/stations/{station.id}/slots?date=2026-03-17"
    body = client.get(path, headers=bearer(key)).get_json()
    assert len(body["items"]) == 12  # the walk-in reserve limits the kiosk, not the hotline
    first = body["items"][0]
    assert (
        first["starts_at"] == "2026-03-17T09:00:00+08:00" and first["ends_at"] == "2026-03-17T09:30:00+08:00"
    )
    assert first["places_left"] == 1
    make_booking(roster.shift_on(station, date(2026, 3, 17)), slot=0, channel="hotline")
    body = client.get(path, headers=bearer(key)).get_json()
    assert len(body["items"]) == 11 and body["items"][0]["starts_at"] == "2026-03-17T09:30:00+08:00"
    paged = _all_pages(client, path, key, limit=5)
    assert [s["id"] for s in paged] == [s["id"] for s in body["items"]]
    # No duty that day, a day far off, a day out of range: nothing to book, not an error.
    for day in ("2026-03-18", "1900-01-01", "9999-12-31"):
        empty = client.get(f"/api/v1/stations/{station.id}/slots?date={day}", headers=bearer(key)).get_json()
        assert empty == {"items": [], "next_cursor": None}, day


def test_slots_already_over_are_not_offered(client, make_key, station, clock):
    shift = roster.shift_on(station, date(2026, 3, 10))
    assert len(planning.slots_of(shift)) == 12
    clock.move_to("2026-03-10T12:10:00+08:00")  # the morning is over
    body = client.get(
        f"/api/v1/stations/{station.id}/slots?date=2026-03-10", headers=bearer(make_key())
    ).get_json()
    assert [s["starts_at"][11:16] for s in body["items"]] == [
        "14:30",
        "15:00",
        "15:30",
        "16:00",
        "16:30",
        "17:00",
    ]
