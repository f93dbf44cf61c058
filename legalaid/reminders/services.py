"""Enqueueing messages and sweeping the outbox: each message is sent once, or ends failed, expired or
unknown for a person to check — never twice, never silently lost.

A sweep claims due rows before sending them: `FOR UPDATE SKIP LOCKED` on PostgreSQL, a conditional
update on SQLite; the claim is committed before anything leaves the machine. It claims one message at
a time, so a sweeper that dies leaves only the message it was sending in doubt. A row claimed but never
confirmed becomes `unknown` after its lease rather than being sent again; so does a message the channel
took without answering (a gateway slower than our timeout), since sending it again could deliver it
twice.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_sqlalchemy.pagination import Pagination

from legalaid.dates import local_day_bounds, now_utc
from legalaid.db import get_by_id, insert_if_absent, rows_changed
from legalaid.errors import NotAllowed
from legalaid.extensions import db
from legalaid.reminders.models import (
    EXPIRED,
    FAILED,
    LOST_CLAIM,
    PENDING,
    SENDING,
    SENT,
    STALE,
    UNKNOWN,
    OutboxEvent,
    OutboxMessage,
)
from legalaid.reminders.senders import OutcomeUnknown, SendError, sender_for
from legalaid.reminders.timing import is_quiet, out_of_quiet

MAX_ATTEMPTS = 5
CLAIM_LEASE = timedelta(minutes=10)
# Messages claimed at once. A claim is committed before sending, so a sweeper that dies leaves its
# whole claim for a person to check: one at a time, that is only the message really in doubt.
CLAIM_BATCH = 1


def enqueue(
    *,
    kind: str,
    channel: str,
    recipient_type: str,
    recipient_id: int | None,
    address: str,
    template: str,
    params: dict,
    due_at: datetime,
    dedupe_key: str,
    expires_at: datetime | None = None,
    locale: str = "zh_Hans_CN",
) -> bool:
    """Add a message in the caller's transaction; False if the same message was already queued."""
    values = {
        "kind": kind,
        "channel": channel,
        "recipient_type": recipient_type,
        "recipient_id": recipient_id,
        "address": address,
        "template": template,
        "params": params,
        "due_at": due_at,
        "expires_at": expires_at,
        "dedupe_key": dedupe_key,
        "locale": locale,
        "status": PENDING,
        "attempts": 0,
        "last_error": "",
        "created_at": now_utc(),
    }
    return insert_if_absent(OutboxMessage, values)


def worker_name() -> str:
    """Who claims: host and process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _claim(now: datetime, limit: int, worker: str) -> list[int]:
    """Mark up to `limit` due messages as ours and commit, so no other sweeper sends them; empty only
    when nothing is left to claim."""
    due = (
        sa.select(OutboxMessage.id)
        .where(OutboxMessage.status == PENDING, OutboxMessage.due_at <= now)
        .order_by(OutboxMessage.due_at, OutboxMessage.id)
        .limit(limit)
    )
    if db.engine.dialect.name == "postgresql":
        return _claim_skipping_locked(due, now, worker)
    return _claim_one_by_one(due, now, limit, worker)


def _claim_skipping_locked(due: sa.Select, now: datetime, worker: str) -> list[int]:
    """PostgreSQL: lock the due rows no other sweeper holds, mark them ours, commit."""
    ids = list(db.session.scalars(due.with_for_update(skip_locked=True)))
    if ids:
        db.session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .values(status=SENDING, claimed_at=now, claimed_by=worker)
        )
    db.session.commit()
    return ids


def _claim_one_by_one(due: sa.Select, now: datetime, limit: int, worker: str) -> list[int]:
    """Any engine: take each due message by a conditional update, committed one at a time."""
    claimed: list[int] = []
    while len(claimed) < limit:
        candidates = list(db.session.scalars(due))
        if not candidates:
            break
        # Another sweeper may take a candidate first: then try the next, and read again when all
        # were taken, so that losing a race does not end this sweep while messages are still due.
        for message_id in candidates:
            taken = rows_changed(
                db.session.execute(
                    sa.update(OutboxMessage)
                    .where(OutboxMessage.id == message_id, OutboxMessage.status == PENDING)
                    .values(status=SENDING, claimed_at=now, claimed_by=worker)
                )
            )
            db.session.commit()
            if taken:
                claimed.append(message_id)
                if len(claimed) == limit:
                    break
    return claimed


def _log_events(ids: list[int], status: str, detail: str, at: datetime) -> None:
    if ids:
        db.session.execute(
            sa.insert(OutboxEvent),
            [{"message_id": i, "status": status, "detail": detail, "at": at} for i in ids],
        )


def expire_pending(condition: sa.ColumnElement[bool], note: str, now: datetime | None = None) -> int:
    """Mark the pending messages matching the condition expired, with the reason in their history."""
    now = now or now_utc()
    ids = list(
        db.session.scalars(
            sa.update(OutboxMessage)
            .where(OutboxMessage.status == PENDING, condition)
            .values(status=EXPIRED, last_error=note)
            .returning(OutboxMessage.id)
        )
    )
    _log_events(ids, EXPIRED, note, now)
    return len(ids)


def _backoff(attempts: int) -> timedelta:
    return timedelta(minutes=2 ** (attempts - 1))  # 1, 2, 4, 8 minutes


@dataclass
class SweepReport:
    """What one sweep did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    expired: int = 0
    unknown: int = 0


def sweep(now: datetime | None = None, batch: int = CLAIM_BATCH) -> SweepReport:
    """Expire stale messages, give up on lost claims, then send what is due, batch by batch; commits.

    In the quiet hours (21:00–08:00 station time) nothing is sent: after downtime, what fell due
    before 21:00 waits until 08:00 (or expires meanwhile).
    """
    given, now = now, now or now_utc()
    report = SweepReport()
    report.expired = expire_pending(
        sa.and_(OutboxMessage.expires_at.is_not(None), OutboxMessage.expires_at < now), STALE, now
    )
    lost = list(
        db.session.scalars(
            sa.update(OutboxMessage)
            .where(OutboxMessage.status == SENDING, OutboxMessage.claimed_at < now - CLAIM_LEASE)
            .values(status=UNKNOWN, last_error=LOST_CLAIM)
            .returning(OutboxMessage.id)
        )
    )
    _log_events(lost, UNKNOWN, LOST_CLAIM, now)
    report.unknown = len(lost)
    db.session.commit()
    if is_quiet(now):
        return report
    worker = worker_name()
    while True:
        # Unless told the time, read the clock for every claim: during a long sweep (a slow gateway)
        # a claim stamped with the sweep's start would look expired to another sweeper at once, and
        # a retry would skip its back-off.
        moment = given or now_utc()
        ids = _claim(moment, batch, worker)
        if not ids:
            return report
        for message_id in ids:
            _send_one(db.session.get_one(OutboxMessage, message_id), moment, report)


def _send_one(message: OutboxMessage, now: datetime, report: SweepReport) -> None:
    try:
        sender_for(message.channel).send(message)
    except OutcomeUnknown as error:
        # Sending again could deliver it twice: a person checks, and sends it again by hand if need be.
        message.status, message.attempts, message.last_error = UNKNOWN, message.attempts + 1, str(error)[:500]
        _log_events([message.id], UNKNOWN, f"attempt {message.attempts}: {message.last_error}", now_utc())
        report.unknown += 1
    except (SendError, KeyError) as error:
        message.attempts += 1
        message.last_error = str(error)[:500]
        if message.attempts >= MAX_ATTEMPTS:
            message.status = FAILED
            report.failed += 1
        else:
            message.status = PENDING
            message.due_at = out_of_quiet(now + _backoff(message.attempts))
            report.retried += 1
        _log_events(
            [message.id], message.status, f"attempt {message.attempts}: {message.last_error}", now_utc()
        )
    else:
        message.status, message.sent_at, message.attempts = SENT, now_utc(), message.attempts + 1
        _log_events([message.id], SENT, f"attempt {message.attempts}", message.sent_at)
        report.sent += 1
    db.session.commit()


def resend(message: OutboxMessage, by: str = "") -> None:
    """Put a failed or unknown message back in the queue (an administrator's decision); at night it
    waits for the end of the quiet hours like any other message."""
    if message.status not in (FAILED, UNKNOWN):
        raise NotAllowed(_("Only a failed or unknown message can be sent again."))
    now = now_utc()
    if message.expires_at is not None and message.expires_at < now:
        raise NotAllowed(_("Its time has passed: this message is no longer worth sending."))
    message.status, message.due_at, message.attempts, message.last_error = PENDING, out_of_quiet(now), 0, ""
    _log_events([message.id], PENDING, f"sent again by {by}".strip(), now)
    db.session.flush()


def history(message: OutboxMessage) -> list[OutboxEvent]:
    """A message's steps after it was queued, oldest first."""
    return list(
        db.session.scalars(
            sa.select(OutboxEvent)
            .where(OutboxEvent.message_id == message.id)
            .order_by(OutboxEvent.at, OutboxEvent.id)
        )
    )


@dataclass
class OutboxFilter:
    """Which messages the administrator wants to see."""

    status: str | None = None
    kind: str | None = None
    channel: str | None = None
    start_on: date | None = None
    end_on: date | None = None


def search(criteria: OutboxFilter, page: int = 1, per_page: int = 50) -> Pagination:
    """Messages matching the filter (by due day in station time), latest due first, a page at a time."""
    query = sa.select(OutboxMessage)
    if criteria.status:
        query = query.where(OutboxMessage.status == criteria.status)
    if criteria.kind:
        query = query.where(OutboxMessage.kind == criteria.kind)
    if criteria.channel:
        query = query.where(OutboxMessage.channel == criteria.channel)
    if criteria.start_on:
        query = query.where(OutboxMessage.due_at >= local_day_bounds(criteria.start_on)[0])
    if criteria.end_on:
        query = query.where(OutboxMessage.due_at < local_day_bounds(criteria.end_on)[1])
    query = query.order_by(OutboxMessage.due_at.desc(), OutboxMessage.id.desc())
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def status_counts() -> dict[str, int]:
    """How many messages are in each status."""
    rows = db.session.execute(sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status))
    return dict(rows.all())


def get_message(message_id: int) -> OutboxMessage | None:
    """The message with this id, if any."""
    return get_by_id(OutboxMessage, message_id)


def sender_configuration() -> list[tuple[str, str, str]]:
    """Per channel: the sender in use and where it sends (secrets are only said to be set)."""
    config = current_app.config
    rows = []
    for channel in ("log", "email", "sms"):
        choice = config.get("SENDERS", {}).get(channel, "log")
        if choice == "smtp":
            where = f"{config['MAIL_SERVER']}:{config['MAIL_PORT']} · {config['MAIL_FROM']}"
        elif choice == "sms":
            templates = ", ".join(sorted(config.get("SMS_TEMPLATES", {}))) or "—"
            key = _("key set") if config.get("SMS_GATEWAY_KEY") else _("no key")
            host = urlsplit(config.get("SMS_GATEWAY_URL", "")).netloc
            where = f"{host} · {config.get('SMS_SIGN_NAME', '')} · {key} · {templates}"
        else:
            where = "instance/outbox.log"
        rows.append((channel, choice, where))
    return rows


__all__ = ["SENT", "enqueue", "resend", "sweep"]
