"""The outbox: queued once, sent once by any number of sweepers, retried then failed, lost claims
marked unknown; real SMTP (aiosmtpd) and a local fake SMS gateway."""

from __future__ import annotations

import json
import multiprocessing
import socket
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa
import time_machine

from legalaid.extensions import db
from legalaid.reminders import services as outbox
from legalaid.reminders.models import FAILED, PENDING, SENDING, SENT, UNKNOWN, OutboxMessage

NOW = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)


def _queue(n: int = 1, channel: str = "log", address: str = "13812345678", prefix: str = "m") -> None:
    for i in range(n):
        outbox.enqueue(
            kind="test",
            channel=channel,
            recipient_type="veteran",
            recipient_id=None,
            address=address,
            template="test",
            params={"station": "解放区站"},
            due_at=NOW,
            dedupe_key=f"{prefix}{i}",
        )
    db.session.commit()


def _statuses() -> dict[str, int]:
    rows = db.session.execute(sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status))
    return dict(rows.all())


class Gateway:
    """A fake SMS gateway on this machine: records every request; can be told to fail."""

    def __init__(self, fail: bool = False) -> None:
        self.received: list[dict] = []
        self.fail = fail
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                body["auth"] = self.headers.get("Authorization")
                gateway.received.append(body)
                self.send_response(500 if gateway.fail else 200)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/send"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def _sms_settings(app, url):
    app.config.update(
        SENDERS={"sms": "sms", "log": "log", "email": "log"},
        SMS_GATEWAY_URL=url,
        SMS_GATEWAY_KEY="k3y",
        SMS_SIGN_NAME="解放区退役军人事务局",
        SMS_TEMPLATES={"test": "SMS_100"},
    )


def test_the_same_message_is_queued_once(app):
    _queue(1)
    _queue(1)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 1


def test_log_sender_writes_masked_lines_and_a_second_sweep_sends_nothing(app, tmp_path):
    app.instance_path = str(tmp_path)
    _queue(3)
    assert outbox.sweep(NOW).sent == 3
    assert outbox.sweep(NOW).sent == 0
    lines = (tmp_path / "outbox.log").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and all("138****5678" in line and "13812345678" not in line for line in lines)
    assert "解放区站" in lines[0]


def test_smtp_sender_delivers_a_chinese_message(app):
    from aiosmtpd.controller import Controller

    class Collect:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            self.messages.append(envelope)
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        app.config.update(
            SENDERS={"email": "smtp", "log": "log", "sms": "log"},
            MAIL_SERVER="127.0.0.1",
            MAIL_PORT=port,
            MAIL_FROM="station@example.org",
        )
        _queue(1, channel="email", address="veteran@example.org")
        assert outbox.sweep(NOW).sent == 1
    finally:
        controller.stop()
    from email import message_from_bytes, policy

    mail = message_from_bytes(handler.messages[0].content, policy=policy.default)
    assert mail["To"] == "veteran@example.org" and mail["Subject"] == "测试消息"
    assert "解放区站" in mail.get_content()


def test_sms_sender_posts_the_template_and_parameters(app):
    gateway = Gateway()
    try:
        _sms_settings(app, gateway.url)
        _queue(1, channel="sms")
        assert outbox.sweep(NOW).sent == 1
    finally:
        gateway.close()
    body = gateway.received[0]
    assert body["template_id"] == "SMS_100" and body["phone"] == "13812345678"
    assert body["params"] == {"station": "解放区站"} and body["sign"] == "解放区退役军人事务局"
    assert body["auth"] == "Bearer k3y"


def test_a_failing_gateway_is_retried_then_marked_failed(app, make_station):
    station = make_station("不变站")
    gateway = Gateway(fail=True)
    try:
        _sms_settings(app, gateway.url)
        _queue(1, channel="sms")
        moment = NOW
        for _attempt in range(5):
            outbox.sweep(moment)
            moment += timedelta(minutes=20)  # past every back-off
    finally:
        gateway.close()
    message = db.session.scalar(sa.select(OutboxMessage))
    assert (message.status, message.attempts) == (FAILED, 5)
    assert message.last_error == "sms: HTTP 500"  # the gateway's answer, kept for the outbox page
    assert len(gateway.received) == 5
    assert db.session.get(type(station), station.id).name == "不变站"  # what caused it is untouched


def test_a_sweeper_killed_mid_batch_sends_nothing_twice(app, tmp_path):
    app.instance_path = str(tmp_path)
    _queue(10)
    # A sweeper claimed five messages, sent two, and died.
    claimed = outbox._claim(NOW, 5, "dead-host:1")
    for message_id in claimed[:2]:
        outbox._send_one(db.session.get(OutboxMessage, message_id), NOW, outbox.SweepReport())
    assert _statuses() == {SENT: 2, SENDING: 3, PENDING: 5}
    outbox.sweep(NOW + timedelta(minutes=1))  # restarted at once: sends the five never claimed
    assert _statuses() == {SENT: 7, SENDING: 3}
    outbox.sweep(NOW + timedelta(minutes=11))  # after the claim's lease: unknown, not sent again
    assert _statuses() == {SENT: 7, UNKNOWN: 3}
    assert len((tmp_path / "outbox.log").read_text(encoding="utf-8").splitlines()) == 7


def _sweeper(database_url: str, gateway_url: str, results) -> None:
    """One sweeper process (spawned): its own app and connections."""
    from tests.conftest import make_app

    app = make_app(database_url)
    _sms_settings(app, gateway_url)
    with app.app_context():
        with time_machine.travel(NOW + timedelta(seconds=30), tick=True):
            results.put(outbox.sweep().sent)  # claiming one message at a time
        db.engine.dispose()


def test_four_sweeper_processes_send_each_of_a_thousand_messages_once(app, database_url):
    gateway = Gateway()
    try:
        _queue(1000, channel="sms", prefix="bulk")
        context = multiprocessing.get_context("spawn")
        results = context.Queue()
        workers = [
            context.Process(target=_sweeper, args=(database_url, gateway.url, results)) for _ in range(4)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(300)
        per_process = [results.get(timeout=5) for _ in workers]
    finally:
        gateway.close()
    references = [r["reference"] for r in gateway.received]
    assert len(references) == 1000 and len(set(references)) == 1000
    assert len({r["out_id"] for r in gateway.received}) == 1000
    db.session.expire_all()
    assert _statuses() == {SENT: 1000}
    print(
        f"4 sweepers on {db.engine.dialect.name}: {sum(per_process)} sent, per process {per_process}, "
        f"gateway received {len(references)} ({len(set(references))} distinct)"
    )


@pytest.mark.parametrize("status", [FAILED, UNKNOWN])
def test_an_administrator_can_send_again(app, status):
    _queue(1)
    message = db.session.scalar(sa.select(OutboxMessage))
    message.status = status
    outbox.resend(message)
    assert message.status == PENDING


def test_the_outbox_page_filters_shows_history_and_sends_again(app, signed_in, tmp_path):
    from legalaid.scheduler import run_job
    from tests.conftest import post_form

    app.instance_path = str(tmp_path)
    gateway = Gateway(fail=True)
    try:
        _sms_settings(app, gateway.url)
        _queue(1, channel="sms", prefix="bad")
        _queue(2, channel="log", prefix="good")
        moment = NOW
        for _attempt in range(5):
            outbox.sweep(moment)
            moment += timedelta(minutes=20)
    finally:
        gateway.close()
    with time_machine.travel(NOW, tick=False):
        run_job(app, "send_due")
    client = signed_in("admin")
    page = client.get("/admin/outbox/").get_data(as_text=True)
    assert "发件箱" in page and "138****5678" in page and "13812345678" not in page
    assert "解放区退役军人事务局" in page and "k3y" not in page  # the sign is shown, never the key
    last_sweep = page.split('id="last-sweep">')[1].split("</dd>")[0]
    assert "上次发送" in page and "2026年3月9日" in last_sweep
    failed = client.get("/admin/outbox/?status=failed").get_data(as_text=True)
    assert "1 条消息" in failed and "HTTP" in failed
    sent = client.get("/admin/outbox/?status=sent&channel=log").get_data(as_text=True)
    assert "2 条消息" in sent
    bad = client.get("/admin/outbox/?start_on=2026-13-40")
    assert bad.status_code == 200 and "is-invalid" in bad.get_data(as_text=True)

    message = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.status == FAILED))
    detail = client.get(f"/admin/outbox/{message.id}").get_data(as_text=True)
    assert detail.count("次尝试") == 5 and "再发一次" in detail and "测试消息" in detail
    response = post_form(
        client, f"/admin/outbox/{message.id}/resend", {}, form_page=f"/admin/outbox/{message.id}"
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(OutboxMessage, message.id).status == PENDING
    again = client.get(f"/admin/outbox/{message.id}").get_data(as_text=True)
    assert "由 " in again and " 重发" in again and "第 5 次尝试" in again
    from legalaid.audit.models import AuditEntry

    assert db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "outbox.resend")) is not None
    sent_message = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.status == SENT))
    post_form(
        client, f"/admin/outbox/{sent_message.id}/resend", {}, form_page=f"/admin/outbox/{sent_message.id}"
    )
    db.session.expire_all()
    assert db.session.get(OutboxMessage, sent_message.id).status == SENT  # a sent message is not sent twice


def test_a_message_whose_time_has_passed_is_not_sent_again(app):
    from legalaid.errors import NotAllowed

    _queue(1)
    message = db.session.scalar(sa.select(OutboxMessage))
    message.status, message.expires_at = FAILED, NOW - timedelta(hours=1)
    with pytest.raises(NotAllowed):
        outbox.resend(message)
    assert message.status == FAILED


def test_a_message_sent_again_at_night_waits_for_the_morning(app):
    _queue(1)
    message = db.session.scalar(sa.select(OutboxMessage))
    message.status = FAILED
    night = datetime(2026, 3, 9, 15, 0, tzinfo=UTC)  # 23:00 in Beijing
    with time_machine.travel(night, tick=False):
        outbox.resend(message)
    assert message.status == PENDING and message.due_at == datetime(2026, 3, 10, 0, 0, tzinfo=UTC)  # 08:00
