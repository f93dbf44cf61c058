"""Who may call what: a key's scopes and station are enforced, a session cookie is no key (and none is
ever set under /api/), CSRF does not apply; every refusal and error is problem+json."""

from __future__ import annotations

import pytest

from legalaid.api import services as api
from tests.api.conftest import bearer
from tests.conftest import login

PROBLEM = "application/problem+json"


def _problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status and body["code"] == code and body["title"] and body["detail"]
    assert body["type"].endswith(code)
    return body


def test_a_call_without_a_key_or_with_a_wrong_one_is_refused(client, station):
    response = client.get("/api/v1/stations")
    _problem(response, 401, "missing_token")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="legalaid-api"'
    for header in ("Bearer nonsense", "Basic dXNlcjpwYXNz", "Bearer la_0123456789ab_" + "x" * 43):
        response = client.get("/api/v1/stations", headers={"Authorization": header})
        _problem(response, 401, "invalid_token")
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_each_scope_is_enforced(client, make_key, station):
    roster_only = make_key(["roster:read"])
    slots = f"/api/v1/stations/{station.id}/slots?date=2026-03-17"
    roster = f"/api/v1/stations/{station.id}/roster?from=2026-03-01&to=2026-03-31"
    response = client.get(slots, headers=bearer(roster_only))
    _problem(response, 403, "insufficient_scope")
    assert 'scope="slots:read"' in response.headers["WWW-Authenticate"]
    assert client.get(roster, headers=bearer(roster_only)).status_code == 200
    slots_only = make_key(["slots:read"])
    assert client.get(slots, headers=bearer(slots_only)).status_code == 200
    _problem(client.get(roster, headers=bearer(slots_only)), 403, "insufficient_scope")
    # Any valid key lists the stations.
    assert client.get("/api/v1/stations", headers=bearer(make_key(["reports:read"]))).status_code == 200


def test_the_key_is_checked_before_the_input(client, make_key, station):
    roster_only = make_key(["roster:read"])
    _problem(client.get(f"/api/v1/stations/{station.id}/slots?date=nope"), 401, "missing_token")
    _problem(
        client.get(f"/api/v1/stations/{station.id}/slots?date=nope", headers=bearer(roster_only)),
        403,
        "insufficient_scope",
    )


def test_a_station_limited_key_sees_only_its_station(client, make_key, station, other_station):
    key = make_key(station=station)
    listed = client.get("/api/v1/stations", headers=bearer(key)).get_json()
    assert [s["id"] for s in listed["items"]] == [station.id]
    for path in (
        f"/api/v1/stations/{other_station.id}/slots?date=2026-03-17",
        f"/api/v1/stations/{other_station.id}/roster?from=2026-03-01&to=2026-03-31",
    ):
        _problem(client.get(path, headers=bearer(key)), 403, "station_not_allowed")
    assert (
        client.get(f"/api/v1/stations/{station.id}/slots?date=2026-03-17", headers=bearer(key)).status_code
        == 200
    )
    everywhere = make_key()
    listed = client.get("/api/v1/stations", headers=bearer(everywhere)).get_json()
    assert {s["id"] for s in listed["items"]} == {station.id, other_station.id}


def test_a_session_cookie_is_no_key_and_none_is_set(client, make_user, make_key, station):
    admin = make_user("admin")
    assert login(client, admin.username).status_code == 302
    assert client.get("/admin/api-keys/").status_code == 200  # signed in on the site
    client.get("/language/en")  # a language cookie too
    _problem(client.get("/api/v1/stations"), 401, "missing_token")
    key = make_key()
    for path in ("/api/v1/stations", "/api/v1/openapi.json", "/api/v1/docs", "/api/v1/nothing"):
        response = client.get(path, headers=bearer(key))
        assert "Set-Cookie" not in response.headers, path


def test_a_call_needs_no_csrf_token(client, make_user, make_key, station):
    """A POST under /api/ is never refused for a missing CSRF token, even with a session cookie (the
    key is the proof; writes come in the bookings part): here the path takes no POST, so 405."""
    assert login(client, make_user("admin").username).status_code == 302
    response = client.post("/api/v1/stations", headers=bearer(make_key()), data={"x": "1"})
    _problem(response, 405, "method_not_allowed")


def test_routing_errors_under_the_api_are_problems(client, make_key, station):
    key = make_key()
    _problem(client.get("/api/v1/no-such-thing", headers=bearer(key)), 404, "not_found")
    _problem(client.get("/api/v2/stations"), 404, "not_found")
    _problem(
        client.get("/api/v1/stations/99999/slots?date=2026-03-17", headers=bearer(key)), 404, "not_found"
    )
    _problem(client.get("/api/v1/stations/99999999999/slots", headers=bearer(key)), 404, "not_found")
    response = client.delete("/api/v1/stations", headers=bearer(key))
    _problem(response, 405, "method_not_allowed")
    assert set(response.headers["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "OPTIONS"}
    # Outside /api/ the site's own error pages stay.
    page = client.get("/no-such-page")
    assert page.status_code == 404 and page.mimetype == "text/html"


def test_a_failure_under_the_api_is_a_problem_without_a_trace(client, make_key, station, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(api, "stations_page", broken)
    response = client.get("/api/v1/stations", headers=bearer(make_key()))
    body = _problem(response, 500, "server_error")
    assert "secret internals" not in response.get_data(as_text=True) and "Traceback" not in str(body)


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("date=0", {"date"}),
        ("date=2026-02-30", {"date"}),
        ("", {"date"}),
        ("date=2026-03-17&limit=0", {"limit"}),
        ("date=2026-03-17&limit=1.5", {"limit"}),
        ("date=2026-03-17&extra=1", {"extra"}),
        ("date=2026-03-17&date=2026-03-24", {"date"}),
    ],
)
def test_invalid_input_names_each_field_and_why(client, make_key, station, query, fields):
    response = client.get(f"/api/v1/stations/{station.id}/slots?{query}", headers=bearer(make_key()))
    body = _problem(response, 422, "invalid_input")
    assert {e["field"] for e in body["errors"]} == fields
    assert all(e["reason"] and e["code"] for e in body["errors"])


def test_a_cursor_the_server_did_not_give_is_refused(client, make_key, station):
    response = client.get("/api/v1/stations?cursor=WyJ4IiwxXQ.forged", headers=bearer(make_key()))
    body = _problem(response, 400, "invalid_cursor")
    assert body["errors"][0]["field"] == "cursor"
