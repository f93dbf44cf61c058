"""Enqueueing messages and sweeping the outbox: each message is sent once, or ends failed, expired or
unknown for a person to check — never twice, never silently lost.

A sweep claims due rows before sending them: `FOR UPDATE SKIP LOCKED` on PostgreSQL, a conditional
update on SQLite; the claim is committed before anything leaves the machine. Messages for a gateway
(SMS, e-mail) are claimed one at a time and their outcome saved at once, so a sweeper that dies leaves
only the message it was sending in doubt. Messages for the log sender, which only writes on this
machine, are claimed and saved a batch at a time (one commit per message cost more than the writing).
A row claimed but never confirmed becomes `unknown` after its lease rather than being sent again; so
does a message the channel took without answering (a gateway slower than our timeout), since sending it
again could deliver it twice. A sweeper that stops on an error saves what it sent and hands back the
claimed messages it never tried, and it hands back what it has not tried before half its lease is over,
so a live sweeper's claim never looks lost to another.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from legalaid.dates import local_day_bounds, now_utc
from legalaid.db import get_by_id, insert_if_absent
from legalaid.errors import NotAllowed
from legalaid.extensions import db
from legalaid.paging import COUNT_CAP, CappedPage, capped_page
from legalaid.reminders.models import (
    CHANNELS,
    EXPIRED,
    FAILED,
    LOST_CLAIM,
    MACHINE_CHANNELS,
    PENDING,
    SENDING,
    SENT,
    STALE,
    STATUSES,
    UNKNOWN,
    OutboxEvent,
    OutboxMessage,
)
from legalaid.reminders.senders import OutcomeUnknown, SendError, sender_for
from legalaid.reminders.timing import is_quiet, out_of_quiet

MAX_ATTEMPTS = 5
CLAIM_LEASE = timedelta(minutes=10)
# Log-sender messages claimed at once: a claim and a commit per message cost more than writing the
# line (10,000 messages took over a minute). A sweeper killed outright leaves at most this many for a
# person to check; one that fails hands the untried back. Gateway messages go one at a time.
CLAIM_BATCH = 100
# Outcomes saved together: at most this many, or what was sent within OUTCOME_SECONDS.
OUTCOME_BATCH = 100
OUTCOME_SECONDS = 1.0
_clock = time.monotonic  # seconds for the lease and the saving pace (not the wall clock: tests travel)


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


def _claim(now: datetime, limit: int, worker: str, channels: list[str] | None = None) -> list[int]:
    """Mark up to `limit` due messages (of these channels, or any) as ours and commit, so no other
    sweeper sends them; empty only when nothing is left to claim."""
    due = (
        sa.select(OutboxMessage.id)
        .where(OutboxMessage.status == PENDING, OutboxMessage.due_at <= now)
        .order_by(OutboxMessage.due_at, OutboxMessage.id)
        .limit(limit)
    )
    if channels is not None:
        due = due.where(OutboxMessage.channel.in_(channels))
    if db.engine.dialect.name == "postgresql":
        return _claim_skipping_locked(due, now, worker)
    return _claim_one_by_one(due, now, limit, worker)


def _claim_skipping_locked(due: sa.Select, now: datetime, worker: str) -> list[int]:
    """PostgreSQL: lock the due rows no other sweeper holds, mark them ours, commit."""
    ids = list(
        db.session.scalars(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id.in_(due.with_for_update(skip_locked=True).scalar_subquery()))
            .values(status=SENDING, claimed_at=now, claimed_by=worker)
            .returning(OutboxMessage.id)
        )
    )
    db.session.commit()
    return ids


def _claim_one_by_one(due: sa.Select, now: datetime, limit: int, worker: str) -> list[int]:
    """Any engine: take the due messages still pending by one conditional update, and commit."""
    claimed: list[int] = []
    while len(claimed) < limit:
        wanted = limit - len(claimed)
        candidates = list(db.session.scalars(due.limit(wanted)))
        if not candidates:
            break
        # Another sweeper may take some first: read again when it took any, so that losing a race
        # does not end this sweep while messages are still due.
        claimed += db.session.scalars(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id.in_(candidates), OutboxMessage.status == PENDING)
            .values(status=SENDING, claimed_at=now, claimed_by=worker)
            .returning(OutboxMessage.id)
        )
        db.session.commit()
        if len(candidates) < wanted:
            break  # every due message was a candidate
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

    In the quiet hours (21:00–08:00 station time) nothing is sent to people: after downtime, what
    fell due before 21:00 waits until 08:00 (or expires meanwhile). Webhooks go at any hour.
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
    worker = worker_name()
    senders = current_app.config.get("SENDERS", {})
    while True:
        # Unless told the time, read the clock for every claim: during a long sweep (a slow gateway)
        # a claim stamped with the sweep's start would look expired to another sweeper at once, and
        # a retry would skip its back-off. The quiet hours may also begin during a long sweep.
        moment = given or now_utc()
        quiet = is_quiet(moment)
        allowed = [c for c in CHANNELS if not quiet or c in MACHINE_CHANNELS]
        local = [channel for channel in allowed if senders.get(channel, "log") == "log"]
        remote = [channel for channel in allowed if channel not in local]
        tried = False
        for channels, limit in ((local, batch), (remote, 1)):
            ids = _claim(moment, limit, worker, channels) if channels else []
            if ids:
                _send_claimed(ids, moment, worker, report)
                tried = True
        if not tried:
            return report


def _send_claimed(ids: list[int], claimed_at: datetime, worker: str, report: SweepReport) -> None:
    """Send the claimed messages, saving outcomes in batches; hand back those not tried when the lease
    runs short or something fails."""
    messages = list(
        db.session.scalars(
            sa.select(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .order_by(OutboxMessage.due_at, OutboxMessage.id)
        )
    )
    # Detached, so that the commits below neither expire them nor reload them one by one.
    for message in messages:
        db.session.expunge(message)
    claimed = _clock()
    saved = claimed
    outcomes: list[tuple[dict, dict]] = []
    tried = 0
    try:
        for message in messages:
            if _clock() - claimed > CLAIM_LEASE.total_seconds() / 2:
                break  # the rest go back to the queue before another sweeper could think them lost
            tried += 1
            outcomes.append(_attempt(message, claimed_at, report))
            if len(outcomes) >= OUTCOME_BATCH or _clock() - saved >= OUTCOME_SECONDS:
                _save_outcomes(outcomes)
                outcomes, saved = [], _clock()
    finally:
        # Also after an error: what was sent is recorded, and what was never tried is not left in doubt.
        _save_outcomes(outcomes)
        _release([message.id for message in messages[tried:]], worker)


def _attempt(message: OutboxMessage, now: datetime, report: SweepReport) -> tuple[dict, dict]:
    """Send one message; its new values and the event for its history (nothing written yet)."""
    attempts = message.attempts + 1
    values: dict[str, object]
    event: dict[str, object]
    try:
        sender_for(message.channel).send(message)
    except OutcomeUnknown as error:
        # Sending again could deliver it twice: a person checks, and sends it again by hand if need be.
        error_text = str(error)[:500]
        values = {"status": UNKNOWN, "last_error": error_text}
        event = {"status": UNKNOWN, "detail": f"attempt {attempts}: {error_text}", "at": now_utc()}
        report.unknown += 1
    except (SendError, KeyError) as error:
        error_text = str(error)[:500]
        if attempts >= MAX_ATTEMPTS:
            values = {"status": FAILED, "last_error": error_text}
            report.failed += 1
        else:
            due = now + _backoff(attempts)
            due = due if message.channel in MACHINE_CHANNELS else out_of_quiet(due)
            values = {"status": PENDING, "last_error": error_text, "due_at": due}
            report.retried += 1
        event = {"status": values["status"], "detail": f"attempt {attempts}: {error_text}", "at": now_utc()}
    else:
        sent_at = now_utc()
        values = {"status": SENT, "sent_at": sent_at}
        event = {"status": SENT, "detail": f"attempt {attempts}", "at": sent_at}
        report.sent += 1
    return {"id": message.id, "attempts": attempts, **values}, {"message_id": message.id, **event}


def _save_outcomes(outcomes: list[tuple[dict, dict]]) -> None:
    """Write the outcomes and their history events, and commit."""
    if outcomes:
        # Grouped by the columns they set: one executemany each.
        by_keys: dict[tuple[str, ...], list[dict]] = {}
        for values, _event in outcomes:
            by_keys.setdefault(tuple(sorted(values)), []).append(values)
        for rows in by_keys.values():
            db.session.execute(sa.update(OutboxMessage), rows)
        db.session.execute(sa.insert(OutboxEvent), [event for _values, event in outcomes])
    db.session.commit()


def _release(ids: list[int], worker: str) -> None:
    """Give back claimed messages that were never tried, and commit."""
    if ids:
        db.session.execute(
            sa.update(OutboxMessage)
            .where(
                OutboxMessage.id.in_(ids),
                OutboxMessage.status == SENDING,
                OutboxMessage.claimed_by == worker,
            )
            .values(status=PENDING, claimed_at=None, claimed_by=None)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()


def _send_one(message: OutboxMessage, now: datetime, report: SweepReport) -> None:
    """Send one claimed message and save its outcome (commits)."""
    _save_outcomes([_attempt(message, now, report)])


def resend(message: OutboxMessage, by: str = "") -> None:
    """Put a failed or unknown message back in the queue (an administrator's decision); at night a
    message to a person waits for the end of the quiet hours."""
    if message.status not in (FAILED, UNKNOWN):
        raise NotAllowed(_("Only a failed or unknown message can be sent again."))
    now = now_utc()
    if message.expires_at is not None and message.expires_at < now:
        raise NotAllowed(_("Its time has passed: this message is no longer worth sending."))
    due = now if message.channel in MACHINE_CHANNELS else out_of_quiet(now)
    message.status, message.due_at, message.attempts, message.last_error = PENDING, due, 0, ""
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


def search(criteria: OutboxFilter, page: int = 1, per_page: int = 50) -> CappedPage:
    """Messages matching the filter (by due day in station time), latest due first, a page at a time
    (counted up to the cap)."""
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
    return capped_page(query, page, per_page)


def status_counts(cap: int = COUNT_CAP) -> dict[str, int]:
    """How many messages are in each status, each counted no further than cap + 1 (sent messages
    run into millions; the ones to act on are few). One statement."""
    parts = [
        sa.select(
            sa.literal(status).label("status"),
            sa.select(sa.func.count())
            .select_from(
                sa.select(OutboxMessage.id).where(OutboxMessage.status == status).limit(cap + 1).subquery()
            )
            .scalar_subquery()
            .label("n"),
        )
        for status in STATUSES
    ]
    rows = db.session.execute(sa.union_all(*parts))
    return {status: int(n) for status, n in rows if n}


def get_message(message_id: int) -> OutboxMessage | None:
    """The message with this id, if any."""
    return get_by_id(OutboxMessage, message_id)


def sender_configuration() -> list[tuple[str, str, str]]:
    """Per channel: the sender in use and where it sends (secrets are only said to be set)."""
    config = current_app.config
    rows = []
    for channel in CHANNELS:
        choice = config.get("SENDERS", {}).get(channel, "log")
        if choice == "smtp":
            where = f"{config['MAIL_SERVER']}:{config['MAIL_PORT']} · {config['MAIL_FROM']}"
        elif choice == "sms":
            templates = ", ".join(sorted(config.get("SMS_TEMPLATES", {}))) or "—"
            key = _("key set") if config.get("SMS_GATEWAY_KEY") else _("no key")
            host = urlsplit(config.get("SMS_GATEWAY_URL", "")).netloc
            where = f"{host} · {config.get('SMS_SIGN_NAME', '')} · {key} · {templates}"
        elif choice == "webhook":
            where = _("each webhook's own address (Webhooks page)")
        else:
            name = config.get("OUTBOX_LOG_FILE", "")
            where = f"instance/{name}" if name else _("the process's log (stderr)")
        rows.append((channel, choice, where))
    return rows


__all__ = ["SENT", "enqueue", "resend", "sweep"]
