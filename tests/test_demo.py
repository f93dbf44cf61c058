"""The demo data loads once, and its printed accounts sign in."""

from __future__ import annotations

import sqlalchemy as sa

from legalaid import demo
from legalaid.auth.models import User
from legalaid.extensions import db
from tests.conftest import login


def test_demo_load_is_idempotent(runner, app):
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0 and "admin" in first.output
    second = runner.invoke(args=["demo", "load"])
    assert "already" in second.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == len(demo.DEMO_ACCOUNTS)
    skipped = runner.invoke(args=["demo", "load", "--if-empty"])
    assert "not loaded" in skipped.output


def test_printed_demo_accounts_sign_in(runner, client):
    runner.invoke(args=["demo", "load"])
    listing = runner.invoke(args=["demo", "accounts"]).output
    for username, _name, _role, password in demo.DEMO_ACCOUNTS:
        assert username in listing and password in listing
        fresh = client.application.test_client()
        assert login(fresh, username, password).status_code == 302


def test_demo_outbox_has_a_message_in_every_status_and_the_admin_page_shows_them(runner, client):
    from legalaid.reminders.models import STATUSES, OutboxMessage

    runner.invoke(args=["demo", "load"])
    statuses = set(db.session.scalars(sa.select(OutboxMessage.status).distinct()))
    assert statuses == set(STATUSES)
    login(client, "admin", "admin-demo-2026")
    page = client.get("/admin/outbox/?status=unknown").get_data(as_text=True)
    assert "1 条消息" in page and "值班律师：前一个工作日" in page
