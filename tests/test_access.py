"""Deny by default: only the public list answers a visitor; every role reaches only its pages;
CSRF on every form; security headers on every response."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from werkzeug.routing import IntegerConverter

from legalaid.access import ADMIN, ALL_ROLES, API_KEY, LAWYER, PUBLIC, STAFF, access_of
from tests.conftest import login

# The whole public list. A new public endpoint must be added here on purpose.
PUBLIC_ENDPOINTS = {
    "auth.login",
    "auth.login_code",  # the second step of signing in, for the person who just gave the password
    "core.healthz",
    "i18n.set_language",
    "static",
    "roster.calendar_feed",  # the secret in the address is the key
    "roster.hall_display",  # the hall's TV: no personal data
    "bookings.calling",  # its "now calling" panel (masked names)
    "bookings.calling_voice",  # the spoken call of a queue number: no personal data
    "bookings.lookup",  # a booking is found by its code and the mobile's last digits
    "bookings.mine",
    "bookings.cancel_mine",
    "bookings.move_mine",
    "bookings.forget",
    "api_v1.openapi_document",  # the API's document: no data
    "api_v1.docs",  # the API's reference page: no data
}
# The API's operations: a key with the operation's scope (tests/api/), never a session.
API_ENDPOINTS = {
    "api_v1.list_stations",
    "api_v1.station_roster",
    "api_v1.station_slots",
    "api_v1.create_booking",
    "api_v1.find_bookings",
    "api_v1.lookup_booking",
    "api_v1.cancel_booking",
    "api_v1.move_booking",
    "api_v1.annual_figures",
    "api_v1.monthly_figures",
}
# The veteran's booking flow, at the kiosk and online: public by design.
BOOKING_FLOW = {
    "start",
    "reset",
    "days",
    "times",
    "category",
    "details",
    "visit",
    "ticket",
    "walkin",
    "walkin_ticket",
    # the kiosk's own look-up, move and cancel (under /book they send a phone to /booking/lookup)
    "lookup",
    "booking",
    "booking_move",
    "booking_move_confirm",
    "booking_cancel",
    "booking_cancel_confirm",
    "booking_cancelled",
    "recognise",  # handwriting recognition for the name step (under /book: 404)
}
PUBLIC_ENDPOINTS |= {f"{prefix}.{name}" for prefix in ("kiosk", "book") for name in BOOKING_FLOW}
# 好差评: the phone page behind the signed link; the kiosk's rating page (under /book it answers 404).
PUBLIC_ENDPOINTS |= {"ratings.rate", "kiosk.rate", "kiosk.rated", "book.rate", "book.rated"}
# Who may use each signed-in endpoint.
EXPECTED = {
    "core.home": ALL_ROLES,
    "auth.logout": ALL_ROLES,
    "auth.own_password": ALL_ROLES,
    "auth.account": ALL_ROLES,
    "auth.end_other_sessions": ALL_ROLES,
    "auth.two_step": ALL_ROLES,
    "auth.two_step_confirm": ALL_ROLES,
    "auth.recovery_codes": ALL_ROLES,
    "auth.two_step_off": ALL_ROLES,
    "auth.users": {ADMIN},
    "auth.user_new": {ADMIN},
    "auth.user_edit": {ADMIN},
    "auth.user_role": {ADMIN},
    "auth.user_password": {ADMIN},
    "auth.user_active": {ADMIN},
    "stations.index": {ADMIN},
    "stations.new": {ADMIN},
    "stations.edit": {ADMIN},
    "kiosks.index": {ADMIN},
    "kiosks.enrol": {ADMIN},
    "kiosks.revoke": {ADMIN},
    "api_keys.index": {ADMIN},
    "api_keys.create": {ADMIN},
    "api_keys.revoke": {ADMIN},
    "webhooks.index": {ADMIN},
    "webhooks.create": {ADMIN},
    "webhooks.deactivate": {ADMIN},
    "audit.index": {ADMIN},
    "outbox.index": {ADMIN},
    "outbox.show": {ADMIN},
    "outbox.resend": {ADMIN},
    "lawyers.firms": {ADMIN},
    "lawyers.firm_edit": {ADMIN},
    "lawyers.index": {ADMIN},
    "lawyers.new": {ADMIN},
    "lawyers.edit": {ADMIN},
    "lawyers.set_active": {ADMIN},
    "lawyers.add_leave": {ADMIN},
    "lawyers.delete_leave": {ADMIN},
    "lawyers.import_file": {ADMIN},
    "lawyers.import_template": {ADMIN},
    "roster.month": {ADMIN},
    "roster.print_month": {ADMIN, STAFF},
    "roster.generate": {ADMIN},
    "roster.closures": {ADMIN},
    "roster.remove_closure": {ADMIN},
    "roster.confirm_year": {ADMIN},
    "roster.set_day": {ADMIN},
    "roster.check_in": ALL_ROLES,
    "roster.my_shifts": {LAWYER},
    "roster.reset_calendar": {LAWYER},
    "roster.my_leave": {LAWYER},
    "roster.my_leave_delete": {LAWYER},
    "swaps.mine": {LAWYER},
    "swaps.ask": {LAWYER},
    "swaps.accept": {LAWYER},
    "swaps.decline": {LAWYER},
    "swaps.cancel": {LAWYER},
    "swaps.pending": {ADMIN},
    "swaps.decide": {ADMIN},
    "bookings.desk": {ADMIN, STAFF},
    "bookings.desk_live": {ADMIN, STAFF},
    "bookings.desk_walkin": {ADMIN, STAFF},
    "bookings.desk_booking_action": {ADMIN, STAFF},
    "bookings.call_next": {ADMIN, STAFF},
    "bookings.desk_queue_action": {ADMIN, STAFF},
    "bookings.desk_queue_ticket": {ADMIN, STAFF},
    "bookings.desk_book": {ADMIN, STAFF},
    "consultations.console": {ADMIN, LAWYER},
    "consultations.console_live": {ADMIN, LAWYER},
    "consultations.call_next": {ADMIN, LAWYER},
    "consultations.no_show": {ADMIN, LAWYER},
    "consultations.new": {ADMIN, LAWYER},
    "consultations.view": {ADMIN, LAWYER},
    "consultations.edit": {ADMIN, LAWYER},
    "consultations.matters": {ADMIN, LAWYER},
    "consultations.matter": {ADMIN, LAWYER},
    "consultations.matter_action": {ADMIN, LAWYER},
    "privacy.reveal": ALL_ROLES,
    "privacy.people_search": {ADMIN},
    "privacy.person": {ADMIN},
    "privacy.person_export": {ADMIN},
    "privacy.person_correct": {ADMIN},
    "privacy.person_erase": {ADMIN},
    "reports.log": {ADMIN},
    "ratings.index": {ADMIN},
    "ratings.show": {ADMIN},
    "ratings.mine": {LAWYER},
    "reports.export": {ADMIN},
    "reports.export_full": {ADMIN},
    "reports.statistics": {ADMIN},
    "reports.lawyers": {ADMIN},
    "reports.annual_this_year": {ADMIN},
    "reports.annual": {ADMIN},
    "reports.monthly_last": {ADMIN},
    "reports.monthly": {ADMIN},
}
SAMPLE_VALUES = {"integer": "1", "unicode": "x", "path": "x/y", "any": "approve"}
ANY_SAMPLES = {
    "swaps.decide": "approve",
    "bookings.desk_booking_action": "check_in",
    "consultations.matter_action": "note",
    "privacy.reveal": "booking",
    "reports.export": "csv",
}


def _urls(app: Flask):
    """Every rule of the url_map, with sample arguments, and each of its methods."""
    for rule in app.url_map.iter_rules():
        values = {}
        for name in rule.arguments:
            converter = rule._converters[name]
            kind = "integer" if isinstance(converter, IntegerConverter) else type(converter).__name__
            values[name] = SAMPLE_VALUES.get(kind.replace("Converter", "").lower(), "x")
            if kind == "AnyConverter":
                values[name] = ANY_SAMPLES[rule.endpoint]
        if rule.endpoint == "static":
            values["filename"] = "css/app.css"
        if rule.endpoint == "i18n.set_language":
            values["code"] = "en"
        path = rule.build(values, append_unknown=False)[1]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, path


def test_every_endpoint_declares_its_access(app):
    declared = {}
    for rule in app.url_map.iter_rules():
        declared[rule.endpoint] = access_of(app, rule.endpoint)
    assert {e for e, a in declared.items() if a == PUBLIC} == PUBLIC_ENDPOINTS
    assert {e for e, a in declared.items() if a == API_KEY} == API_ENDPOINTS
    private = {e: set(a) for e, a in declared.items() if a not in (PUBLIC, API_KEY)}
    assert private == {e: set(r) for e, r in EXPECTED.items()}, "an endpoint's access differs from the table"


def test_anonymous_visitor_reaches_only_the_public_list(app, client):
    reached = set()
    for endpoint, method, path in _urls(app):
        response = client.open(path, method=method)
        if endpoint in PUBLIC_ENDPOINTS:
            reached.add(endpoint)
            assert response.status_code in (200, 302, 400, 404), (endpoint, response.status_code)
        elif endpoint in API_ENDPOINTS:  # no key: refused as the API refuses, never sent to sign in
            assert response.status_code == 401, (endpoint, response.status_code)
        else:
            # POSTs without a CSRF token are refused before anything else; everything else
            # sends the visitor to the sign-in page.
            if method == "POST":
                assert response.status_code in (400, 302), (endpoint, method, response.status_code)
            else:
                assert response.status_code == 302, (endpoint, response.status_code)
                assert response.headers["Location"].startswith("/login")
    assert reached == PUBLIC_ENDPOINTS


@pytest.mark.parametrize("role", [ADMIN, STAFF, LAWYER])
def test_each_role_reaches_exactly_its_pages(app, client, make_user, make_station, role):
    # Hall staff work at their own station only (issue 13): a staff account here has one.
    user = make_user(role, station_id=make_station().id if role == STAFF else None)
    assert login(client, user.username).status_code == 302
    home = client.get("/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', home).group(1)
    for endpoint, method, path in _urls(app):
        if endpoint in PUBLIC_ENDPOINTS or endpoint == "auth.logout":
            continue
        data = {"csrf_token": token} if method == "POST" else None
        response = client.open(path, method=method, data=data)
        if endpoint in API_ENDPOINTS:  # a signed-in session is no key
            assert response.status_code == 401, (role, endpoint, response.status_code)
            continue
        if role in EXPECTED[endpoint]:
            # Allowed: the page answers (a sample id may not exist: 404), and never with a 500.
            assert response.status_code not in (403, 500), (role, endpoint, method, response.status_code)
        else:
            assert response.status_code == 403, (role, endpoint, method, response.status_code)
            assert "无权访问" in response.get_data(as_text=True)


def test_post_without_csrf_token_is_refused(app, signed_in):
    client = signed_in(ADMIN)
    response = client.post("/admin/stations/new", data={"name": "无令牌站"})
    assert response.status_code == 400
    assert "表单已过期" in response.get_data(as_text=True)
    from legalaid.stations.services import list_stations

    assert [s.name for s in list_stations()] == []


def test_login_form_needs_csrf_too(client):
    response = client.post("/login", data={"username": "a", "password": "b"})
    assert response.status_code == 400


def _check_headers(response, path):
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in csp, path
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp, path
    assert headers.get("X-Content-Type-Options") == "nosniff", path
    assert headers.get("Referrer-Policy"), path
    if response.mimetype == "text/html":
        assert headers.get("Cache-Control") == "no-store", path


def test_security_headers_on_every_route(app, client, signed_in):
    for _endpoint, method, path in _urls(app):
        _check_headers(client.open(path, method=method), path)  # anonymous: redirects, 400s, pages
    admin = signed_in(ADMIN)
    for _endpoint, method, path in _urls(app):
        if method == "GET":
            _check_headers(admin.get(path), path)
    _check_headers(admin.get("/no-such-page"), "404")


def test_pages_have_no_inline_script(app, signed_in):
    admin = signed_in(ADMIN)
    for endpoint, method, path in _urls(app):
        if method != "GET" or endpoint == "static":
            continue
        response = admin.get(path)
        if response.mimetype != "text/html":  # a download (the import template) is no page
            continue
        html = response.get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), endpoint
        assert " style=" not in html, endpoint
