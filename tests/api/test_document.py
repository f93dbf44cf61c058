"""The OpenAPI document is valid OAS 3.1 and describes exactly the API's routes; its reference page is
served from this site alone, under the site's CSP."""

from __future__ import annotations

import re
from pathlib import Path

from openapi_spec_validator import validate

from legalaid.security import CONTENT_SECURITY_POLICY

STATIC = Path(__file__).resolve().parents[2] / "static"
# The two addresses under /api/v1 that describe the API rather than belong to it.
META = {"/api/v1/openapi.json", "/api/v1/docs"}


def test_the_document_is_valid_openapi_3_1(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert "Set-Cookie" not in response.headers
    document = response.get_json()
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_the_document_lists_exactly_the_api_routes(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    documented = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    served = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule in META:
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        served |= {(path, m) for m in (rule.methods or set()) - {"HEAD", "OPTIONS"}}
    assert documented == served
    assert documented == {
        ("/api/v1/stations", "GET"),
        ("/api/v1/stations/{station_id}/roster", "GET"),
        ("/api/v1/stations/{station_id}/slots", "GET"),
        ("/api/v1/bookings", "GET"),
        ("/api/v1/bookings", "POST"),
        ("/api/v1/bookings/{code}/lookup", "POST"),
        ("/api/v1/bookings/{code}/cancel", "POST"),
        ("/api/v1/bookings/{code}/move", "POST"),
        ("/api/v1/reports/annual", "GET"),
        ("/api/v1/reports/monthly", "GET"),
    }
    for item in document["paths"].values():
        for method, operation in item.items():
            assert operation["security"] == [{"apiKey": []}]
            for status in ("401", "403", "404", "405", "422", "429", "500"):
                assert status in operation["responses"]
            if method == "post":  # a body: JSON only, and the state may refuse it
                assert set(operation["requestBody"]["content"]) == {"application/json"}
                assert {"409", "413", "415"} <= set(operation["responses"])
    booking = document["paths"]["/api/v1/bookings"]["post"]
    assert "201" in booking["responses"]
    assert [p["name"] for p in booking["parameters"] if p["in"] == "header"] == ["Idempotency-Key"]
    code = document["paths"]["/api/v1/bookings/{code}/cancel"]["post"]["parameters"][0]
    assert code["in"] == "path" and code["schema"]["type"] == "string"
    assert document["components"]["responses"]["Problem429"]["headers"]["Retry-After"]["required"] is True
    problem_401 = document["components"]["responses"]["Problem401"]
    assert "application/problem+json" in problem_401["content"]
    assert problem_401["headers"]["WWW-Authenticate"]["required"] is True
    assert document["components"]["responses"]["Problem405"]["headers"]["Allow"]["required"] is True


def test_the_reference_page_uses_only_this_sites_files(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    html = response.get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) and " style=" not in html
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith("/") and not s.startswith("//") for s in sources), sources
    for source in sources:
        if source.startswith("/static/"):
            assert (STATIC / source.removeprefix("/static/")).is_file(), source
            assert client.get(source).status_code == 200
    assert 'data-spec-url="/api/v1/openapi.json"' in html
    script = (STATIC / "js" / "api-docs.js").read_text()
    assert "validatorUrl: null" in script and "supportedSubmitMethods: []" in script
