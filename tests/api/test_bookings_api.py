"""Bookings through the API, as the 12345 hotline makes them: the kiosk's rules, the caller's consent
recorded as given by telephone, the work-order number kept and searchable, a retried request answered
with the first booking, masked personal data, and the keys' scopes and stations enforced."""

from __future__ import annotations

import json
import re
import uuid

import sqlalchemy as sa

from legalaid.api.models import BOOKINGS_WRITE, SLOTS_READ
from legalaid.audit.models import AuditEntry
from legalaid.bookings.models import Booking, Slot
from legalaid.extensions import db
from tests.api.conftest import bearer
from tests.conftest import login

DAY = "2026-03-17"  # a Tuesday a week after the clock's day


def _slots(client, key: str, station_id: int, day: str = DAY) -> list[dict]:
    response = client.get(f"/api/v1/stations/{station_id}/slots?date={day}", headers=bearer(key))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def _book(client, key: str, slot_id: int, idempotency: str | None = None, **overrides) -> object:
    body = {
        "slot_id": slot_id,
        "name": "王建国",
        "mobile": "13912345678",
        "category": "labour",
        "description": "拖欠工资，已申请仲裁。",
        "consent": True,
        "external_ref": "GD-2026-0310-0042",
        **overrides,
    }
    headers = bearer(key) | ({"Idempotency-Key": idempotency} if idempotency else {})
    return client.post("/api/v1/bookings", json=body, headers=headers)


def _problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status and body["code"] == code
    return body


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_the_hotline_books_a_place_for_a_caller(client, make_key, station):
    key = make_key([SLOTS_READ, BOOKINGS_WRITE], name="12345 热线")
    slot = _slots(client, key, station.id)[0]
    response = _book(client, key, slot["id"], idempotency=str(uuid.uuid4()))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["starts_at"] == "2026-03-17T09:00:00+08:00" and body["station_id"] == station.id
    assert body["status"] == "booked" and body["channel"] == "hotline" and body["category"] == "labour"
    assert body["name"] == "王**" and body["mobile"] == "139****5678"  # masked as on the pages
    assert body["external_ref"] == "GD-2026-0310-0042" and re.fullmatch(r"[2-9A-Z]{6}", body["code"])
    assert "13912345678" not in response.get_data(as_text=True)

    booking = db.session.get(Booking, body["id"])
    assert booking.channel == "hotline" and booking.consent_how == "phone" and booking.consent_by_id is None
    assert booking.veteran.mobile == "13912345678" and booking.description == "拖欠工资，已申请仲裁。"
    assert booking.api_key_id is not None and db.session.get(Slot, slot["id"]).booked == 1
    made = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "booking.create")).one()
    assert made.actor_name.startswith("api:") and made.actor_id is None
    assert "13912345678" not in json.dumps(made.details, ensure_ascii=False)  # the audit keeps it masked
    # The slot is one place fuller for everybody.
    assert slot["id"] not in [s["id"] for s in _slots(client, key, station.id)]


def test_a_retried_request_returns_the_first_booking_and_makes_nothing(client, make_key, station):
    key = make_key([SLOTS_READ, BOOKINGS_WRITE])
    slot_id = _slots(client, key, station.id)[0]["id"]
    idempotency = str(uuid.uuid4())
    first = _book(client, key, slot_id, idempotency)
    again = _book(client, key, slot_id, idempotency)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotency-Replayed"] == "true" and "Idempotency-Replayed" not in first.headers
    assert _count(Booking) == 1 and db.session.get(Slot, slot_id).booked == 1
    # The same key with another request is refused, not answered with the first booking.
    other = _book(client, key, slot_id, idempotency, mobile="13800001111")
    _problem(other, 422, "idempotency_key_reused")
    # Another system's key never finds this one's booking by the same value.
    replay_elsewhere = _book(client, make_key([BOOKINGS_WRITE]), slot_id, idempotency)
    _problem(replay_elsewhere, 409, "slot_full")
    assert _count(Booking) == 1
    # Without the header two sends are two requests: the second is the same person the same day.
    second = _book(client, key, _slots(client, key, station.id)[0]["id"])
    _problem(second, 409, "already_booked")


def test_the_kiosks_rules_hold_through_the_api(client, make_key, station):
    key = make_key([SLOTS_READ, BOOKINGS_WRITE])
    slot_id = _slots(client, key, station.id)[0]["id"]
    missing = client.post(
        "/api/v1/bookings",
        json={"slot_id": slot_id, "name": "王", "mobile": "12345", "category": "cooking"},
        headers=bearer(key),
    )
    errors = {e["field"] for e in _problem(missing, 422, "invalid_input")["errors"]}
    assert {"name", "mobile", "category", "consent"} <= errors  # every wrong field at once
    not_json = client.post("/api/v1/bookings", data="slot_id=1", headers=bearer(key))
    _problem(not_json, 415, "unsupported_media_type")
    broken = client.post(
        "/api/v1/bookings", data="{", headers=bearer(key), content_type="application/json"
    )
    _problem(broken, 400, "invalid_json")
    _problem(_book(client, key, 999_999), 404, "slot_not_found")
    _problem(_book(client, key, slot_id, idempotency="with spaces"), 422, "invalid_input")
    assert _count(Booking) == 0
    assert _book(client, key, slot_id).status_code == 201
    _problem(_book(client, key, slot_id, mobile="13700002222"), 409, "slot_full")


def test_scopes_and_stations_are_enforced(client, make_key, station, other_station):
    reader = make_key([SLOTS_READ])
    slot_id = _slots(client, reader, station.id)[0]["id"]
    _problem(_book(client, reader, slot_id), 403, "insufficient_scope")
    elsewhere = make_key([SLOTS_READ, BOOKINGS_WRITE], station=other_station)
    _problem(_book(client, elsewhere, slot_id), 403, "station_not_allowed")
    assert _count(Booking) == 0

    here = make_key([BOOKINGS_WRITE], station=station)
    booking = _book(client, here, slot_id).get_json()
    lookup = {"last4": "5678"}
    found = client.post(f"/api/v1/bookings/{booking['code']}/lookup", json=lookup, headers=bearer(here))
    assert found.status_code == 200 and found.get_json()["id"] == booking["id"]
    hidden = client.post(f"/api/v1/bookings/{booking['code']}/lookup", json=lookup, headers=bearer(elsewhere))
    _problem(hidden, 404, "booking_not_found")  # another station's booking: as if there were none
    listed = client.get("/api/v1/bookings?external_ref=GD-2026-0310-0042", headers=bearer(elsewhere))
    assert listed.get_json()["items"] == []


def test_look_up_cancel_and_move_with_the_code_and_last_four_digits(client, make_key, station):
    key = make_key([SLOTS_READ, BOOKINGS_WRITE])
    first, second = _slots(client, key, station.id)[:2]
    booking = _book(client, key, first["id"]).get_json()
    code = booking["code"]

    wrong = client.post(f"/api/v1/bookings/{code}/lookup", json={"last4": "0000"}, headers=bearer(key))
    _problem(wrong, 404, "booking_not_found")
    lower = f"/api/v1/bookings/{code.lower()}/lookup"
    found = client.post(lower, json={"last4": "5678"}, headers=bearer(key))
    assert found.status_code == 200 and found.get_json() == booking  # a code typed in lower case too

    moved = client.post(
        f"/api/v1/bookings/{code}/move", json={"last4": "5678", "slot_id": second["id"]}, headers=bearer(key)
    )
    assert moved.status_code == 200, moved.get_json()
    assert (moved.get_json()["slot_id"], moved.get_json()["starts_at"]) == (second["id"], second["starts_at"])
    db.session.expire_all()
    assert db.session.get(Slot, first["id"]).booked == 0 and db.session.get(Slot, second["id"]).booked == 1

    reason = {"last4": "5678", "reason": "来电：已和解。"}
    cancelled = client.post(f"/api/v1/bookings/{code}/cancel", json=reason, headers=bearer(key))
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    db.session.expire_all()
    assert db.session.get(Slot, second["id"]).booked == 0
    assert db.session.get(Booking, booking["id"]).cancel_reason == "来电：已和解。"  # kept as said
    again = client.post(
        f"/api/v1/bookings/{code}/cancel", json={"last4": "5678", "reason": "再次"}, headers=bearer(key)
    )
    _problem(again, 409, "not_allowed")


def test_bookings_are_found_by_the_work_order_number_page_by_page(client, make_key, station):
    key = make_key([SLOTS_READ, BOOKINGS_WRITE])
    days = ["2026-03-17", "2026-03-24", "2026-03-31"]
    made = []
    for day in days:
        first_slot = _slots(client, key, station.id, day)[0]["id"]
        made.append(_book(client, key, first_slot, external_ref="GD-7").get_json()["id"])
    _book(client, key, _slots(client, key, station.id)[0]["id"], mobile="13600003333", external_ref="GD-8")
    seen, cursor = [], ""
    while True:
        page = client.get(f"/api/v1/bookings?external_ref=GD-7&limit=2&cursor={cursor}", headers=bearer(key))
        body = page.get_json()
        seen += [b["id"] for b in body["items"]]
        if body["next_cursor"] is None:
            break
        cursor = body["next_cursor"]
    assert seen == made


def test_the_booking_shows_on_the_desk_with_its_channel_and_reference(
    client, app_factory, make_key, station, make_user
):
    key = make_key([SLOTS_READ, BOOKINGS_WRITE])
    today = _slots(client, key, station.id, "2026-03-10")
    # The hotline books until a slot ends: today's first slot is still offered at 08:30.
    assert today and today[0]["starts_at"] == "2026-03-10T09:00:00+08:00"
    assert _book(client, key, today[-1]["id"]).status_code == 201
    desk = app_factory().test_client()
    make_user("staff", username="hotdesk", station_id=station.id)
    assert login(desk, "hotdesk").status_code == 302
    page = desk.get(f"/desk?station={station.id}").get_data(as_text=True)
    assert "王建国" in page and "12345 热线" in page and "GD-2026-0310-0042" in page
