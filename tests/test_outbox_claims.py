"""Both ways a sweeper claims due messages — PostgreSQL's SKIP LOCKED and the conditional update used on
SQLite — claim each due message once, mark it as the sweeper's, and leave nothing claimed twice; each
runs on whichever database the suite uses (SQLite renders no FOR UPDATE)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from legalaid.extensions import db
from legalaid.reminders import services as outbox
from legalaid.reminders.models import PENDING, SENDING, OutboxMessage
from tests.test_reminders import NOW, _queue


def _due(limit: int) -> sa.Select:
    return (
        sa.select(OutboxMessage.id)
        .where(OutboxMessage.status == PENDING, OutboxMessage.due_at <= NOW)
        .order_by(OutboxMessage.due_at, OutboxMessage.id)
        .limit(limit)
    )


@pytest.mark.parametrize("way", ["skipping_locked", "one_by_one"])
def test_each_way_claims_each_due_message_once(app, way):
    _queue(3)
    later = NOW + timedelta(hours=1)
    outbox.enqueue(
        kind="test",
        channel="log",
        recipient_type="veteran",
        recipient_id=None,
        address="13812345678",
        template="test",
        params={},
        due_at=later,
        dedupe_key="later",
    )
    db.session.commit()
    if way == "skipping_locked":
        first = outbox._claim_skipping_locked(_due(2), NOW, "sweeper-a")
        second = outbox._claim_skipping_locked(_due(2), NOW, "sweeper-b")
    else:
        first = outbox._claim_one_by_one(_due(2), NOW, 2, "sweeper-a")
        second = outbox._claim_one_by_one(_due(2), NOW, 2, "sweeper-b")
    assert len(first) == 2 and len(second) == 1 and not set(first) & set(second)
    db.session.expire_all()
    rows = db.session.execute(
        sa.select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.claimed_by)
    ).all()
    owners = {row.id: row.claimed_by for row in rows if row.status == SENDING}
    assert owners == {**dict.fromkeys(first, "sweeper-a"), **dict.fromkeys(second, "sweeper-b")}
    assert [row.status for row in rows if row.id not in owners] == [PENDING]  # the one not yet due
