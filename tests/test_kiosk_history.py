"""The kiosk and the phone pages leave no form submission in the browser's history: every step is
POST → redirect → GET, a step shown again with its messages points its history entry at its GET address,
the answers between steps are kept encrypted, and every address under /kiosk — a POST-only one opened
from the history, an unknown one, a failure — is a kiosk page that returns to the start by itself."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from html import unescape

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask

from legalaid.access import public
from legalaid.bookings.models import Booking
from legalaid.extensions import db
from legalaid.kiosk import routes as kiosk_routes
from legalaid.roster import services as roster

DAY = date(2026, 3, 10)  # a Tuesday
AHEAD = datetime(2026, 3, 5, 2, 0, tzinfo=UTC)
NAME, MOBILE = "李卫国", "13812345678"


@pytest.fixture
def shift(app, make_station, make_lawyer):
    station = make_station("回退站", address="服务大厅一楼")
    lawyer = make_lawyer(station, name="张律师")
    shift = roster.set_shift_lawyer(station, DAY, lawyer, "测试", today=date(2026, 3, 1))
    db.session.commit()
    return shift


def _hidden(html: str) -> dict[str, str]:
    fields = {}
    for tag in re.findall(r"<input[^>]*>", html):
        if 'type="hidden"' in tag:
            name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
            if name:
                fields[name.group(1)] = unescape(value.group(1)) if value else ""
    return fields


def _details(client, prefix: str, shift) -> str:
    times = client.get(f"{prefix}/day/{shift.id}").get_data(as_text=True)
    slot_id = re.search(rf'{prefix}/slot/(\d+)"', times).group(1)
    return client.get(f"{prefix}/slot/{slot_id}/labour").get_data(as_text=True)


def _is_kiosk_page(html: str) -> bool:
    """A kiosk page: the kiosk's look, with its idle reset to the start screen."""
    return bool(re.search(r'<body class="kiosk" data-idle-seconds="\d+" data-reset-url="/kiosk/reset"', html))


def _step(response, step: str, prefix: str = "/kiosk") -> None:
    assert response.status_code == 303, response.status_code
    assert response.headers["Location"] == f"{prefix}/visit?step={step}"


@pytest.mark.parametrize("prefix", ["/kiosk", "/book"])
def test_every_step_redirects_to_its_address_and_the_address_shows_it(client, shift, prefix):
    with time_machine.travel(AHEAD, tick=True):
        page = _details(client, prefix, shift)
        sent = client.post(f"{prefix}/visit", data={**_hidden(page), "name": NAME, "mobile": MOBILE})
        _step(sent, "about", prefix)
        about = client.get(f"{prefix}/visit?step=about").get_data(as_text=True)
        assert 'name="description"' in about and _hidden(about)["name"] == NAME
        # The answers between steps are in the session only encrypted: the cookie is only signed, and
        # read back it shows no name or number.
        app = client.application
        cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
        stored = app.session_interface.get_signing_serializer(app).loads(cookie)
        assert stored[kiosk_routes.DRAFT].startswith("enc1:")
        assert MOBILE not in json.dumps(stored) and NAME not in json.dumps(stored, ensure_ascii=False)
        sent = client.post(f"{prefix}/visit", data={**_hidden(about), "description": "欠薪三个月"})
        _step(sent, "consent", prefix)
        consent = client.get(sent.headers["Location"]).get_data(as_text=True)
        # Back in the browser: the earlier step's address shows it again, with what was typed.
        details = client.get(f"{prefix}/visit?step=details").get_data(as_text=True)
        assert re.search(rf'name="name"[^>]*value="{NAME}"', details)
        sent = client.post(f"{prefix}/visit", data={**_hidden(consent), "consent": "y"})
        _step(sent, "confirm", prefix)
        confirm = client.get(sent.headers["Location"]).get_data(as_text=True)
        assert "138****5678" in confirm and _hidden(confirm)["key"]
        # The page's own "Back" button is a step too.
        back = client.post(f"{prefix}/visit", data={**_hidden(confirm), "back": "1"})
        _step(back, "consent", prefix)
        booked = client.post(f"{prefix}/visit", data=_hidden(confirm))
        assert booked.status_code == 302 and booked.headers["Location"].endswith(f"{prefix}/ticket")
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 1
        # Booked: the answers are forgotten, the step's address now leads to the start.
        again = client.get(f"{prefix}/visit?step=confirm")
        assert again.status_code == 302 and NAME not in again.get_data(as_text=True)


def test_an_address_from_the_history_after_start_again_shows_nothing(client, shift):
    with time_machine.travel(AHEAD, tick=True):
        page = _details(client, "/kiosk", shift)
        client.post("/kiosk/visit", data={**_hidden(page), "name": NAME, "mobile": MOBILE})
        client.get("/kiosk/reset")  # "start again", or the idle reset
        for address in ("/kiosk/visit", "/kiosk/visit?step=about", "/kiosk/visit?step=details"):
            response = client.get(address)
            assert response.status_code == 302 and response.headers["Location"] == "/kiosk/"
        start = client.get("/kiosk/", follow_redirects=True).get_data(as_text=True)
        assert _is_kiosk_page(start) and NAME not in start


def test_a_step_cannot_be_skipped_through_its_address(client, shift):
    with time_machine.travel(AHEAD, tick=True):
        page = _details(client, "/kiosk", shift)
        client.post("/kiosk/visit", data={**_hidden(page), "name": NAME, "mobile": MOBILE})
        skipped = client.get("/kiosk/visit?step=confirm").get_data(as_text=True)
        assert 'name="step" value="about"' in skipped and "kiosk-summary" not in skipped
        odd = client.get("/kiosk/visit?step=nonsense").get_data(as_text=True)
        assert 'name="step" value="about"' in odd


def test_an_unreadable_or_stale_draft_starts_again(app, client, shift):
    with time_machine.travel(AHEAD, tick=True):
        page = _details(client, "/kiosk", shift)
        client.post("/kiosk/visit", data={**_hidden(page), "name": NAME, "mobile": MOBILE})
        app.config["DATA_KEYS"] = "Q" * 43 + "="  # the key that wrote it was rotated away
        assert client.get("/kiosk/visit?step=about").headers["Location"] == "/kiosk/"
        with client.session_transaction() as session:
            session[kiosk_routes.DRAFT] = 42
        assert client.get("/kiosk/visit?step=about").headers["Location"] == "/kiosk/"


def test_a_draft_for_a_time_that_is_gone_starts_again(app, client, shift):
    from legalaid import crypto

    with time_machine.travel(AHEAD, tick=True):
        with app.test_request_context():
            token = crypto.encrypt('{"slot_id": 999999, "reached": "about"}')
        with client.session_transaction() as session:
            session[kiosk_routes.DRAFT] = token
        assert client.get("/kiosk/visit?step=about").headers["Location"] == "/kiosk/"


def test_a_step_shown_again_with_its_messages_points_its_history_entry_at_its_address(client, shift):
    with time_machine.travel(AHEAD, tick=True):
        page = _details(client, "/kiosk", shift)
        wrong = client.post("/kiosk/visit", data={**_hidden(page), "name": "王", "mobile": "1381234"})
        html = wrong.get_data(as_text=True)
        assert wrong.status_code == 200 and _is_kiosk_page(html)
        assert 'data-history-url="/kiosk/visit?step=details"' in html
        # … and that address shows the step again with what was typed.
        again = client.get("/kiosk/visit?step=details").get_data(as_text=True)
        assert re.search(r'name="mobile"[^>]*value="1381234"', again)
        # The consent step refused without the tick: the same.
        page = client.post("/kiosk/visit", data={**_hidden(page), "name": NAME, "mobile": MOBILE})
        about = client.get(page.headers["Location"]).get_data(as_text=True)
        consent = client.get(client.post("/kiosk/visit", data=_hidden(about)).headers["Location"])
        refused = client.post("/kiosk/visit", data=_hidden(consent.get_data(as_text=True)))
        assert 'data-history-url="/kiosk/visit?step=consent"' in refused.get_data(as_text=True)


def test_already_booked_points_its_history_entry_at_the_start(client, shift):
    with time_machine.travel(AHEAD, tick=True):
        for _ in range(2):
            client.get("/kiosk/reset")
            page = _details(client, "/kiosk", shift)
            about = client.get(
                client.post("/kiosk/visit", data={**_hidden(page), "name": NAME, "mobile": MOBILE}).headers[
                    "Location"
                ]
            ).get_data(as_text=True)
            consent = client.get(client.post("/kiosk/visit", data=_hidden(about)).headers["Location"])
            sent = client.post(
                "/kiosk/visit", data={**_hidden(consent.get_data(as_text=True)), "consent": "y"}
            )
            confirm = client.get(sent.headers["Location"]).get_data(as_text=True)
            last = client.post("/kiosk/visit", data=_hidden(confirm))
        html = last.get_data(as_text=True)
        assert last.status_code == 200 and 'data-history-url="/kiosk/"' in html and _is_kiosk_page(html)
        assert client.get("/kiosk/visit?step=confirm").headers["Location"] == "/kiosk/"


@pytest.mark.parametrize("method", ["post", "put"])
def test_an_address_used_the_wrong_way_at_the_kiosk_starts_again(client, shift, method):
    response = getattr(client, method)("/kiosk/ticket")  # a GET-only address
    assert response.status_code == 302 and response.headers["Location"] == "/kiosk/"


def test_an_unknown_address_under_the_kiosk_is_a_kiosk_page(client, shift):
    response = client.get("/kiosk/no/such/page")
    html = response.get_data(as_text=True)
    assert response.status_code == 404 and _is_kiosk_page(html)
    assert "/login" not in html and 'href="/kiosk/reset"' in html
    # On the phone pages the same, in the phone's look (no idle reset on somebody's own phone).
    phone = client.get("/book/no/such/page")
    assert phone.status_code == 404 and '<body class="book"' in phone.get_data(as_text=True)
    # Elsewhere the site's own page, as before.
    assert '<body class="kiosk"' not in client.get("/kioskish").get_data(as_text=True)
    assert client.post("/book/ticket").status_code == 405


def test_a_failure_under_the_kiosk_is_a_kiosk_page(app_factory):
    app: Flask = app_factory()

    @app.get("/kiosk/boom")
    @public
    def boom():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/kiosk/boom")
    html = response.get_data(as_text=True)
    assert response.status_code == 500 and _is_kiosk_page(html)
    assert "secret internals" not in html


def test_a_refusal_at_the_kiosk_is_a_kiosk_page(app_factory):
    from flask import abort

    app: Flask = app_factory()

    @app.get("/kiosk/busy")
    @public
    def busy():
        abort(429)

    response = app.test_client().get("/kiosk/busy")
    assert response.status_code == 429 and _is_kiosk_page(response.get_data(as_text=True))


def test_the_phone_pages_offer_large_text(client, shift):
    for address in ("/book/days", "/booking/lookup"):
        html = client.get(address).get_data(as_text=True)
        assert "js/large-text.js" in html and "css/app.css" in html
        assert re.search(
            r'<button type="button" class="book-large-toggle" data-large-text aria-pressed="false"', html
        )
    # The kiosk has its own large look, and no switch.
    assert "data-large-text" not in client.get("/kiosk/days").get_data(as_text=True)


def test_a_refused_walk_in_number_points_its_history_entry_at_the_start(client, shift):
    from tests.conftest import csrf_token

    with time_machine.travel(datetime(2026, 3, 10, 9, 0, tzinfo=UTC), tick=False):  # 17:00 on the day
        stale = client.get(f"/kiosk/?station={shift.station_id}").get_data(as_text=True)
    with time_machine.travel(datetime(2026, 3, 10, 16, 5, tzinfo=UTC), tick=False):  # 00:05 the day after
        response = client.post("/kiosk/walkin", data={"csrf_token": csrf_token(stale)})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'data-history-url="/kiosk/"' in html and _is_kiosk_page(html)
