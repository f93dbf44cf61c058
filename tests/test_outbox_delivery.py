"""Delivery when the channel misbehaves: a gateway slower than our timeout (or one that hangs up after
taking the request) gets each message once and the outbox says "unknown"; a gateway that refuses or
answers with an error is tried again with back-off, always with the same de-duplication reference; a
sweeper killed mid-send leaves only the message it was sending in doubt."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import socket
import socketserver
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa
import time_machine

from legalaid.extensions import db
from legalaid.reminders import services as outbox
from legalaid.reminders.models import FAILED, PENDING, SENDING, SENT, UNKNOWN, OutboxMessage
from tests.test_reminders import NOW, _queue, _sms_settings, _statuses

TIMEOUT = 0.3  # the sender's timeout in these tests (seconds)


class Gateway:
    """A local SMS gateway that answers as told: "ok", "slow" (after the sender's timeout), "drop"
    (hangs up without answering) or an HTTP status code; it can kill a sweeper at its nth request."""

    def __init__(self, behaviour: str = "ok") -> None:
        self.behaviour = behaviour
        self.received: list[dict] = []
        self.kill_at: tuple[int, int] | None = None  # (nth request, process id)
        self.lock = threading.Lock()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with gateway.lock:
                    gateway.received.append(body)
                    count = len(gateway.received)
                self.close_connection = True
                if gateway.kill_at and count == gateway.kill_at[0]:
                    os.kill(gateway.kill_at[1], signal.SIGKILL)  # the sweeper dies mid-send
                    return
                if gateway.behaviour == "drop":
                    return  # the request was read, the connection closes without an answer
                if gateway.behaviour == "slow":
                    time.sleep(TIMEOUT * 4)
                status = int(gateway.behaviour) if gateway.behaviour.isdigit() else 200
                try:
                    self.send_response(status)
                    self.end_headers()
                    self.wfile.write(b"{}")
                except OSError:
                    pass  # the sender stopped waiting

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/send"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def out_ids(self) -> list[str]:
        """The de-duplication reference of every request received, in order."""
        return [body["out_id"] for body in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway(app):
    """A gateway the app's SMS sender posts to, with a short timeout."""
    gw = Gateway()
    _sms_settings(app, gw.url)
    app.config["SMS_GATEWAY_TIMEOUT"] = TIMEOUT
    yield gw
    gw.close()


def _messages() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


@pytest.mark.parametrize("behaviour", ["slow", "drop"])
def test_a_message_without_an_answer_is_received_once_and_marked_unknown(app, gateway, signed_in, behaviour):
    gateway.behaviour = behaviour
    _queue(3, channel="sms")
    started = time.monotonic()
    report = outbox.sweep(NOW)
    assert (report.unknown, report.sent, report.retried) == (3, 0, 0)
    assert time.monotonic() - started < 3 * TIMEOUT * 4  # the sweep did not wait for the slow answers
    # Long after every back-off, nothing is posted again by itself.
    assert outbox.sweep(NOW + timedelta(hours=1)).sent == 0
    time.sleep(TIMEOUT * 4)  # let the slow answers finish
    messages = _messages()
    assert sorted(gateway.out_ids) == sorted(str(m.id) for m in messages)  # each exactly once
    assert _statuses() == {UNKNOWN: 3}
    assert all(m.attempts == 1 and "no answer after the request was sent" in m.last_error for m in messages)
    assert [e.status for e in outbox.history(messages[0])] == [UNKNOWN]
    page = signed_in("admin").get("/admin/outbox/?status=unknown").get_data(as_text=True)
    assert "3 条消息" in page  # listed for a person to check and send again by hand

    # Sent again by hand, it carries the same reference: a de-duplicating gateway delivers it once.
    gateway.behaviour = "ok"
    with time_machine.travel(NOW + timedelta(hours=2), tick=False):
        outbox.resend(messages[0], by="admin")
    db.session.commit()
    assert outbox.sweep(NOW + timedelta(hours=2)).sent == 1
    assert gateway.out_ids.count(str(messages[0].id)) == 2
    assert _statuses() == {SENT: 1, UNKNOWN: 2}


def test_a_refusing_gateway_is_retried_with_back_off(app, gateway):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app.config["SMS_GATEWAY_URL"] = f"http://127.0.0.1:{port}/send"
    _queue(1, channel="sms")
    report = outbox.sweep(NOW)
    assert report.retried == 1 and report.unknown == 0
    (message,) = _messages()
    assert (message.status, message.attempts) == (PENDING, 1)
    assert message.due_at == NOW + timedelta(minutes=1) and "ConnectionRefusedError" in message.last_error
    assert outbox.sweep(NOW + timedelta(seconds=30)).retried == 0  # not before its back-off
    moment = NOW
    for _attempt in range(4):
        moment += timedelta(minutes=20)
        outbox.sweep(moment)
    (message,) = _messages()
    assert (message.status, message.attempts) == (FAILED, 5)


@pytest.mark.parametrize("answer", ["500", "503", "400"])
def test_an_error_answer_is_retried_with_the_same_reference(app, gateway, answer):
    gateway.behaviour = answer
    _queue(1, channel="sms")
    moment = NOW
    for _attempt in range(3):
        assert outbox.sweep(moment).retried == 1
        moment += timedelta(minutes=20)
    (message,) = _messages()
    assert (message.status, message.attempts) == (PENDING, 3) and f"HTTP {answer}" in message.last_error
    assert gateway.out_ids == [str(message.id)] * 3
    assert {body["reference"] for body in gateway.received} == {message.dedupe_key}
    gateway.behaviour = "ok"
    assert outbox.sweep(moment).sent == 1
    assert gateway.out_ids == [str(message.id)] * 4


def _sweep_until_killed(database_url: str, gateway_url: str) -> None:
    """A sweeper process (spawned) that the gateway kills while it waits for an answer."""
    from tests.conftest import make_app

    app = make_app(database_url)
    _sms_settings(app, gateway_url)
    with app.app_context(), time_machine.travel(NOW + timedelta(seconds=30), tick=True):
        outbox.sweep()


def test_a_sweeper_killed_mid_send_leaves_only_that_message_in_doubt(app, gateway, database_url):
    _queue(10, channel="sms", prefix="crash")
    worker = multiprocessing.get_context("spawn").Process(
        target=_sweep_until_killed, args=(database_url, gateway.url)
    )
    worker.start()
    gateway.kill_at = (3, worker.pid)
    worker.join(120)
    assert worker.exitcode == -signal.SIGKILL
    assert _statuses() == {SENT: 2, SENDING: 1, PENDING: 7}  # claimed one at a time: one in doubt

    # Restarted at once it sends the seven never claimed; after the lease the one in doubt is
    # unknown for a person, not posted again.
    assert outbox.sweep(NOW + timedelta(minutes=1)).sent == 7
    assert outbox.sweep(NOW + timedelta(minutes=12)).unknown == 1
    assert _statuses() == {SENT: 9, UNKNOWN: 1}
    assert len(gateway.out_ids) == 10 and len(set(gateway.out_ids)) == 10


class FakeSmtp:
    """A minimal SMTP server that takes a message and then answers `after_data` ("250", "554") or
    hangs up ("drop"); it hangs up on QUIT without a goodbye."""

    def __init__(self, after_data: str) -> None:
        self.after_data = after_data
        self.messages = 0
        fake = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                self.wfile.write(b"220 fake\r\n")
                while line := self.rfile.readline():
                    verb = line[:4].upper()
                    if verb == b"DATA":
                        self.wfile.write(b"354 go on\r\n")
                        while self.rfile.readline() not in (b".\r\n", b""):
                            pass
                        fake.messages += 1
                        if fake.after_data == "drop":
                            return
                        self.wfile.write(f"{fake.after_data} done\r\n".encode())
                    elif verb == b"QUIT":
                        return
                    else:
                        self.wfile.write(b"250 ok\r\n")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize(("after_data", "status"), [("250", SENT), ("drop", UNKNOWN), ("554", PENDING)])
def test_smtp_a_connection_lost_while_handing_over_leaves_the_outcome_unknown(app, after_data, status):
    server = FakeSmtp(after_data)
    try:
        app.config.update(
            SENDERS={"email": "smtp", "log": "log", "sms": "log"},
            MAIL_SERVER="127.0.0.1",
            MAIL_PORT=server.server.server_address[1],
            MAIL_FROM="station@example.org",
        )
        _queue(1, channel="email", address="veteran@example.org")
        outbox.sweep(NOW)
    finally:
        server.close()
    (message,) = _messages()
    # Handed over then hung up on: unknown. Refused: tried again later. Taken, then no answer to
    # the goodbye: sent all the same.
    assert (message.status, message.attempts, server.messages) == (status, 1, 1)
