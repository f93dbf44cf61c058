"""Webhooks (issue 16, point 4): an endpoint registered at /admin/webhooks is told of bookings made, moved,
cancelled and completed and of matters closed, through the outbox — signed, delivered once to a real
local receiver, retried after a failure — and never told anything once deactivated or of another station."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import time_machine
from markupsafe import escape

from legalaid.audit.models import AuditEntry
from legalaid.bookings import planning
from legalaid.bookings import services as bookings
from legalaid.consultations import services as consultations
from legalaid.errors import FieldErrors, NotAllowed
from legalaid.extensions import db
from legalaid.reminders import services as outbox
from legalaid.reminders.forms import outbox_label
from legalaid.reminders.models import EXPIRED, PENDING, SENT, OutboxMessage
from legalaid.roster import services as roster
from legalaid.webhooks import services as webhooks
from legalaid.webhooks.models import EVENTS, WebhookEndpoint
from tests.conftest import QueryCounter, csrf_token, field_errors, field_tag, login, post_form

DAY = date(2026, 3, 10)
BOOKED_AT = datetime(2026, 3, 5, 2, 0, tzinfo=UTC)  # 10:00 in Beijing, five days before
SENT_AT = datetime(2026, 3, 5, 2, 30, tzinfo=UTC)  # outside the quiet hours


class Receiver:
    """Another system's webhook receiver on this machine: keeps every request; answers with the given
    statuses in turn (the last one from then on), after `delay` seconds."""

    def __init__(self, answers: tuple[int, ...] = (200,), delay: float = 0.0) -> None:
        self.received: list[dict] = []
        self.answers = list(answers)
        self.delay = delay
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(
                    {
                        "path": self.path,
                        "id": self.headers.get("Webhook-Id"),
                        "timestamp": self.headers.get("Webhook-Timestamp"),
                        "signature": self.headers.get("Webhook-Signature"),
                        "type": self.headers.get("Content-Type"),
                        "body": body,
                    }
                )
                status = receiver.answers.pop(0) if len(receiver.answers) > 1 else receiver.answers[0]
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/legalaid"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    """A receiver answering 200 (others are made in the test)."""
    made = Receiver()
    yield made
    made.close()


@pytest.fixture
def world(app, make_station, make_lawyer, make_user):
    """A station with a duty lawyer on DAY and its slots, another station, and an administrator."""
    station = make_station("咨询站")
    other = make_station("别的站")
    duty = make_lawyer(station, name="值班甲")
    roster.set_shift_lawyer(station, DAY, duty, "测试", today=date(2026, 3, 1))
    db.session.commit()
    shift = roster.shift_on(station, DAY)
    slots = planning.ensure_slots(shift)
    db.session.commit()
    admin = make_user("admin", username="chief")
    return {"station": station, "other": other, "duty": duty, "shift": shift, "slots": slots, "admin": admin}


def _book(world, n: int = 0):
    """A kiosk booking of DAY at its n-th time, made five days before (not committed)."""
    return bookings.place_booking(
        bookings.BookingRequest(
            slot_id=world["slots"][n].id,
            name="王建国",
            mobile=f"1381234{5678 + n:04d}",
            category="labour",
            channel="kiosk",
            idempotency_key=secrets.token_hex(16),
            consent=True,
        ),
        now=BOOKED_AT,
    )


def _register(url: str, events=EVENTS, station=None, name: str = "12345热线") -> tuple[WebhookEndpoint, str]:
    endpoint, secret = webhooks.register(name, url, list(events), station.id if station else None)
    db.session.commit()
    return endpoint, secret


def _deliveries(endpoint: WebhookEndpoint | None = None) -> list[OutboxMessage]:
    query = sa.select(OutboxMessage).where(OutboxMessage.channel == "webhook").order_by(OutboxMessage.id)
    if endpoint is not None:
        query = query.where(OutboxMessage.recipient_id == endpoint.id)
    return list(db.session.scalars(query))


def _signature(secret: str, request: dict) -> str:
    signed = f"{request['id']}.{request['timestamp']}.{request['body'].decode()}".encode()
    return "v1=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def _sweep(at: datetime) -> outbox.SweepReport:
    with time_machine.travel(at, tick=False):
        return outbox.sweep()


# -- delivery --------------------------------------------------------------------------------------------


def test_a_booking_is_delivered_once_with_a_valid_signature(world, receiver):
    endpoint, secret = _register(receiver.url, [EVENTS[0]])
    booking = _book(world)
    db.session.commit()
    [message] = _deliveries()
    assert (message.kind, message.template, message.address) == ("booking.made", "booking.made", receiver.url)

    assert _sweep(SENT_AT).sent == 1
    assert _sweep(SENT_AT + timedelta(minutes=5)).sent == 0  # delivered once
    [request] = receiver.received
    assert request["path"] == "/hooks/legalaid" and request["type"].startswith("application/json")
    assert request["id"] == str(message.id)
    assert request["timestamp"] == str(int(SENT_AT.timestamp()))
    assert hmac.compare_digest(request["signature"], _signature(secret, request))
    assert request["signature"] != _signature("another secret", request)
    body = json.loads(request["body"])
    assert body == {
        "id": message.id,
        "type": "booking.made",
        "occurred_at": "2026-03-05T10:00:00+08:00",
        "station_id": world["station"].id,
        "booking_code": booking.code,
        "starts_at": "2026-03-10T09:00:00+08:00",
        "status": "booked",
        "channel": "kiosk",
        "external_ref": None,
    }
    text = request["body"].decode()
    assert "王建国" not in text and "5678" not in text  # no name, no mobile
    db.session.expire_all()
    assert db.session.get(OutboxMessage, message.id).status == SENT


def test_a_failed_delivery_is_retried_after_the_backoff_and_delivered(world):
    receiver = Receiver(answers=(500, 200))
    try:
        endpoint, secret = _register(receiver.url, [EVENTS[0]])
        _book(world)
        db.session.commit()
        first = _sweep(SENT_AT)
        assert (first.sent, first.retried) == (0, 1)
        [message] = _deliveries()
        assert message.status == PENDING and message.attempts == 1 and "HTTP 500" in message.last_error
        assert message.due_at == SENT_AT + timedelta(minutes=1)
        assert _sweep(SENT_AT + timedelta(seconds=30)).sent == 0  # not before the back-off
        assert len(receiver.received) == 1
        assert _sweep(SENT_AT + timedelta(minutes=1)).sent == 1
        db.session.expire_all()
        assert db.session.get(OutboxMessage, message.id).status == SENT
        failed, delivered = receiver.received
        assert failed["id"] == delivered["id"] == str(message.id)  # the receiver dedupes on it
        assert failed["body"] == delivered["body"]
        assert delivered["timestamp"] == str(int((SENT_AT + timedelta(minutes=1)).timestamp()))
        assert hmac.compare_digest(delivered["signature"], _signature(secret, delivered))
    finally:
        receiver.close()


def test_a_webhook_goes_at_night_and_its_retry_does_not_wait_for_morning(world):
    receiver = Receiver(answers=(500, 200))
    night = datetime(2026, 3, 5, 23, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # quiet hours for people
    try:
        _register(receiver.url, [EVENTS[0]])
        _book(world)
        db.session.commit()
        assert _sweep(night).retried == 1  # tried at 23:00, not held until 08:00
        [message] = _deliveries()
        assert message.due_at == night + timedelta(minutes=1)
        assert _sweep(night + timedelta(minutes=1)).sent == 1
    finally:
        receiver.close()


@pytest.mark.parametrize("trouble", ["redirect", "timeout", "nobody listening"])
def test_a_redirect_a_timeout_or_no_receiver_is_retried(app, world, trouble):
    receiver = Receiver(answers=(302,) if trouble == "redirect" else (200,))
    url = receiver.url
    if trouble == "timeout":
        app.config["WEBHOOK_TIMEOUT"] = 0.3
        receiver.delay = 1.0
    elif trouble == "nobody listening":
        receiver.close()
    try:
        _register(url, [EVENTS[0]])
        _book(world)
        db.session.commit()
        report = _sweep(SENT_AT)
        assert (report.sent, report.retried, report.unknown) == (0, 1, 0)
        [message] = _deliveries()
        assert message.status == PENDING and message.last_error.startswith("webhook:")
        if trouble == "redirect":
            assert [r["path"] for r in receiver.received] == ["/hooks/legalaid"]  # /elsewhere never asked
    finally:
        if trouble != "nobody listening":
            receiver.close()


# -- events ----------------------------------------------------------------------------------------------


def test_each_event_is_queued_for_a_matching_endpoint_only(world):
    url = "http://127.0.0.1:9/hooks"
    everything, _secret = _register(url, name="全部")
    here, _secret = _register(url, station=world["station"], name="本站")
    gone, _secret = _register(url, name="已停用")
    webhooks.deactivate(gone)
    elsewhere, _secret = _register(url, station=world["other"], name="别的站")
    only_made, _secret = _register(url, events=["booking.made"], name="只要新预约")
    db.session.commit()

    moved, cancelled, completed = _book(world, 0), _book(world, 1), _book(world, 2)
    db.session.commit()
    bookings.move(moved, world["slots"][3], by_staff=True, now=BOOKED_AT + timedelta(hours=1))
    bookings.cancel(cancelled, "临时有事", by_staff=True, now=BOOKED_AT + timedelta(hours=1))
    db.session.commit()
    with time_machine.travel(datetime(2026, 3, 10, 2, 0, tzinfo=UTC), tick=False):
        record = consultations.Record(
            category="labour",
            summary="欠薪",
            advice="先协商",
            outcomes=["advice"],
            counselling_notes="",
            follow_up=True,
            due_on=DAY + timedelta(days=7),
        )
        consultation = consultations.record_consultation(
            world["station"], world["duty"].user, record, booking=completed, today=DAY
        )
        db.session.commit()
        consultations.close_matter(consultation.matter, world["duty"].user, "resolved")
        db.session.commit()

    told = [(m.kind, m.params.get("booking_code")) for m in _deliveries(everything)]
    assert told == [
        ("booking.made", moved.code),
        ("booking.made", cancelled.code),
        ("booking.made", completed.code),
        ("booking.moved", moved.code),
        ("booking.cancelled", cancelled.code),
        ("booking.completed", completed.code),
        ("matter.closed", completed.code),
    ]
    assert [m.params for m in _deliveries(here)] == [m.params for m in _deliveries(everything)]
    assert _deliveries(gone) == [] and _deliveries(elsewhere) == []
    assert [m.kind for m in _deliveries(only_made)] == ["booking.made"] * 3
    by_kind = {m.kind: m.params for m in _deliveries(everything)}
    new_start = world["slots"][3].starts_at.astimezone(ZoneInfo("Asia/Shanghai")).isoformat()
    assert by_kind["booking.moved"]["starts_at"] == new_start and new_start.endswith("+08:00")
    assert by_kind["booking.cancelled"]["status"] == "cancelled"
    assert by_kind["booking.completed"]["status"] == "completed"
    assert by_kind["matter.closed"] == {
        "type": "matter.closed",
        "occurred_at": "2026-03-10T10:00:00+08:00",
        "station_id": world["station"].id,
        "matter_id": consultation.matter.id,
        "result": "resolved",
        "booking_code": completed.code,
        "external_ref": None,
    }
    # The reminders still see only made, moved and cancelled (a completion is told, not recorded).
    kinds = db.session.scalars(sa.text("SELECT DISTINCT kind FROM booking_events")).all()
    assert set(kinds) == {"made", "moved", "cancelled"}


def test_running_a_hook_twice_queues_once(world):
    endpoint, _secret = _register("http://127.0.0.1:9/hooks")
    booking = _book(world)
    db.session.commit()
    assert len(_deliveries()) == 1
    assert webhooks.booking_announced(booking, "made", BOOKED_AT) == 0
    moved_at = BOOKED_AT + timedelta(hours=1)
    bookings.move(booking, world["slots"][3], by_staff=True, now=moved_at)
    assert webhooks.booking_announced(booking, "moved", moved_at) == 0
    db.session.commit()
    assert [m.kind for m in _deliveries()] == ["booking.made", "booking.moved"]
    # A later move is another event.
    bookings.move(booking, world["slots"][4], by_staff=True, now=moved_at + timedelta(minutes=5))
    db.session.commit()
    assert [m.kind for m in _deliveries()] == ["booking.made", "booking.moved", "booking.moved"]


def test_with_no_endpoint_a_booking_costs_one_small_query_per_transaction(world):
    booking = _book(world)
    db.session.commit()
    counter = QueryCounter()
    assert counter.during(lambda: webhooks.booking_announced(booking, "made", BOOKED_AT)) == 1
    assert counter.during(lambda: webhooks.booking_announced(booking, "moved", BOOKED_AT)) == 0
    db.session.commit()
    assert counter.during(lambda: webhooks.booking_announced(booking, "made", BOOKED_AT)) == 1  # read afresh
    db.session.rollback()
    endpoint, _secret = _register("http://127.0.0.1:9/hooks")  # seen in the very next transaction
    assert webhooks.booking_announced(booking, "cancelled", BOOKED_AT) == 1


def test_deactivating_lets_the_waiting_deliveries_lapse(world):
    endpoint, _secret = _register("http://127.0.0.1:9/hooks")
    _book(world)
    db.session.commit()
    assert webhooks.deactivate(endpoint) == 1
    db.session.commit()
    [message] = _deliveries()
    assert message.status == EXPIRED
    with pytest.raises(NotAllowed):  # the second time is refused (said in the user's language)
        webhooks.deactivate(endpoint)


# -- the rules for an address ----------------------------------------------------------------------------


def test_addresses_https_only_in_production_and_http_only_to_this_machine_elsewhere(app):
    for good in ("https://hotline.example.cn/hooks", "http://127.0.0.1:8080/x", "http://localhost/x"):
        webhooks.check_url(good)
    for bad in (
        "http://hotline.example.cn/hooks",
        "ftp://example.cn/x",
        "https://",
        "not a url",
        "https://user:pw@example.cn/x",
        "https://example.cn:port/x",
        "https://" + "a" * 500,
    ):
        with pytest.raises(FieldErrors):
            webhooks.check_url(bad)
    app.config["ENV_NAME"] = "production"
    webhooks.check_url("https://hotline.example.cn/hooks")
    with pytest.raises(FieldErrors):
        webhooks.check_url("http://127.0.0.1:8080/x")


# -- the administrator's page ----------------------------------------------------------------------------


def test_bad_input_is_told_on_the_same_page_with_what_was_typed_kept(client, signed_in):
    signed_in("admin")
    typed = {"name": "  ", "url": "http://hotline.example.cn/hooks", "station_id": "0"}
    page = post_form(client, "/admin/webhooks/", typed)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert field_errors(html, "name") and field_errors(html, "url")
    assert 'value="http://hotline.example.cn/hooks"' in field_tag(html, "url")
    assert re.search(r'id="events-error">[^<\s]', html)  # no event chosen
    typed = {"name": "热线", "url": "https://hotline.example.cn/x", "events": ["nonsense"], "station_id": "0"}
    page = post_form(client, "/admin/webhooks/", typed)
    html = page.get_data(as_text=True)
    assert 'value="热线"' in field_tag(html, "name") and not field_errors(html, "name")
    assert re.search(r'id="events-error">[^<\s]', html)  # not an event of the list
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookEndpoint)) == 0


def test_an_administrator_registers_then_deactivates_a_webhook(app, client, signed_in, world):
    signed_in("admin")
    page = post_form(
        client,
        "/admin/webhooks/",
        {
            "name": "12345热线",
            "url": "https://hotline.example.cn/hooks",
            "events": ["booking.made", "matter.closed"],
            "station_id": str(world["station"].id),
        },
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="new-webhook-secret"' in html
    endpoint = db.session.scalars(sa.select(WebhookEndpoint)).one()
    assert endpoint.secret in html  # shown this once …
    assert endpoint.event_list == ["booking.made", "matter.closed"]
    assert endpoint.station_id == world["station"].id
    stored = db.session.execute(sa.text("SELECT secret FROM webhook_endpoints")).scalar()
    assert stored.startswith("enc1:") and endpoint.secret not in stored  # … and kept encrypted
    again = client.get("/admin/webhooks/").get_data(as_text=True)
    assert "https://hotline.example.cn/hooks" in again and endpoint.secret not in again  # never again

    form_token = csrf_token(again)
    done = client.post(f"/admin/webhooks/{endpoint.id}/deactivate", data={"csrf_token": form_token})
    assert done.status_code == 302
    db.session.expire_all()
    endpoint = db.session.get(WebhookEndpoint, endpoint.id)
    assert not endpoint.active and endpoint.revoked_at is not None
    actions = db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions[-2:] == ["webhook.create", "webhook.deactivate"]
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "webhook.create")).one()
    assert endpoint.secret not in json.dumps(entry.details, ensure_ascii=False)
    log = client.get("/admin/audit/").get_data(as_text=True)  # the audit log says it in words
    assert ">webhook.create<" not in log and "12345热线" in log


@pytest.mark.parametrize("role", ["staff", "lawyer"])
def test_only_an_administrator_reaches_the_page(app, client, make_user, make_station, role):
    station = make_station()
    user = make_user(role, station_id=station.id)
    assert login(client, user.username).status_code == 302
    assert client.get("/admin/webhooks/").status_code == 403
    refused = client.post(
        "/admin/webhooks/", data={"name": "x", "url": "https://example.cn/x", "events": ["booking.made"]}
    )
    assert refused.status_code in (400, 403)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookEndpoint)) == 0


def test_the_outbox_page_shows_a_delivery_readably(app, client, signed_in, world, receiver):
    _register(receiver.url, [EVENTS[0]])
    booking = _book(world)
    db.session.commit()
    [message] = _deliveries()
    signed_in("admin")
    listing = client.get("/admin/outbox/?channel=webhook").get_data(as_text=True)
    assert receiver.url in listing and f"/admin/outbox/{message.id}" in listing
    with app.test_request_context():
        channel, kind = outbox_label("channel", "webhook"), outbox_label("kind", "booking.made")
    assert channel != "webhook" and kind != "booking.made"  # said in words …
    assert f"<td>{escape(kind)}</td>" in listing and f"<td>{escape(channel)}</td>" in listing  # … here
    shown = client.get(f"/admin/outbox/{message.id}").get_data(as_text=True)
    assert receiver.url in shown and booking.code in shown
    assert client.get("/admin/webhooks/").status_code == 200
