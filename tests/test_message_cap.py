"""At most a few messages per veteran's mobile or e-mail address a day, whatever causes them: one over
the cap is kept as expired with its reason (shown on the outbox page), never tried again, audited and
logged without the number; staff and lawyers are not capped."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from html import unescape

import sqlalchemy as sa
import time_machine
from flask_babel import force_locale

from legalaid.audit.models import AuditEntry
from legalaid.extensions import db
from legalaid.reminders import queueing
from legalaid.reminders.forms import outbox_detail
from legalaid.reminders.models import EXPIRED, PENDING, OutboxEvent, OutboxMessage
from legalaid.reminders.queueing import OVER_CAP, Contact, Planned

NOW = datetime(2026, 3, 5, 2, 0, tzinfo=UTC)  # 10:00 in Beijing, out of the quiet hours
MOBILE = "13812340000"


def _planned(contact: Contact, key: str, now: datetime = NOW) -> Planned:
    return Planned(
        kind="booking_confirmed",
        recipient=contact,
        template="booking_confirmed",
        params={"code": "ABCD"},
        due_at=now,
        expires_at=None,
        dedupe_key=key,
    )


def _statuses() -> list[tuple[str, str]]:
    return [
        (m.dedupe_key, m.status)
        for m in db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id))
    ]


def test_a_veteran_gets_at_most_five_messages_a_day(app, caplog):
    veteran = Contact("veteran", 1, "sms", MOBILE)
    caplog.set_level(logging.INFO)
    with time_machine.travel(NOW, tick=False):
        assert queueing.queue([_planned(veteran, f"m{n}") for n in range(6)], NOW) == 5
        db.session.commit()
        assert queueing.queue([_planned(veteran, f"m{n}") for n in range(6)], NOW) == 0  # run again: nothing
        assert queueing.queue([_planned(veteran, "m6")], NOW) == 0  # a seventh cause: held back too
        db.session.commit()
    assert [s for _k, s in _statuses()] == [PENDING] * 5 + [EXPIRED] * 2
    held = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.dedupe_key == "m5"))
    assert held.last_error == OVER_CAP
    assert (
        db.session.scalar(sa.select(OutboxEvent.detail).where(OutboxEvent.message_id == held.id)) == OVER_CAP
    )
    entries = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "outbox.capped")).all()
    assert [e.target_id for e in entries][0] == held.id and len(entries) == 2
    assert all(e.details == {"kind": "booking_confirmed"} for e in entries)
    assert MOBILE not in caplog.text and "over the day's cap" in caplog.text
    # The next day (in the station's time) the veteran can be told again.
    tomorrow = NOW + timedelta(days=1)
    with time_machine.travel(tomorrow, tick=False):
        assert queueing.queue([_planned(veteran, "next-day", tomorrow)], tomorrow) == 1


def test_the_cap_is_per_address(app):
    with time_machine.travel(NOW, tick=False):
        first = Contact("veteran", 1, "sms", MOBILE)
        second = Contact("veteran", 2, "sms", "13812349999")
        mail = Contact("veteran", 1, "email", "Veteran@Example.org")
        assert queueing.queue([_planned(first, f"a{n}") for n in range(5)], NOW) == 5
        assert queueing.queue([_planned(second, f"b{n}") for n in range(5)], NOW) == 5
        assert queueing.queue([_planned(mail, f"c{n}") for n in range(5)], NOW) == 5
        same_mail = Contact("veteran", 1, "email", " veteran@example.org")
        assert queueing.queue([_planned(same_mail, "c5")], NOW) == 0


def test_staff_lawyers_and_the_log_are_not_capped(app):
    with time_machine.travel(NOW, tick=False):
        lawyer = Contact("lawyer", 1, "sms", MOBILE)
        user = Contact("user", 1, "email", "admin@example.org")
        logged = Contact("veteran", 1, "log", "王**")
        assert queueing.queue([_planned(lawyer, f"l{n}") for n in range(8)], NOW) == 8
        assert queueing.queue([_planned(user, f"u{n}") for n in range(8)], NOW) == 8
        assert queueing.queue([_planned(logged, f"g{n}") for n in range(8)], NOW) == 8
        # A lawyer's messages to the same number do not use up a veteran's allowance either.
        veteran = Contact("veteran", 1, "sms", MOBILE)
        assert queueing.queue([_planned(veteran, f"v{n}") for n in range(5)], NOW) == 5


def test_the_cap_is_a_setting(app):
    app.config["MESSAGES_PER_RECIPIENT_DAY"] = 2
    with time_machine.travel(NOW, tick=False):
        veteran = Contact("veteran", 1, "sms", MOBILE)
        assert queueing.queue([_planned(veteran, f"s{n}") for n in range(3)], NOW) == 2


def test_the_outbox_page_says_why_a_message_was_held_back(app, client, signed_in):
    with time_machine.travel(NOW, tick=False):
        app.config["MESSAGES_PER_RECIPIENT_DAY"] = 0
        queueing.queue([_planned(Contact("veteran", 1, "sms", MOBILE), "held")], NOW)
        db.session.commit()
    held = db.session.scalar(sa.select(OutboxMessage))
    signed_in("admin")
    page = unescape(client.get(f"/admin/outbox/{held.id}").get_data(as_text=True))
    with app.test_request_context(), force_locale("zh_Hans_CN"):
        said = outbox_detail(OVER_CAP)
    assert said != OVER_CAP and said in page
