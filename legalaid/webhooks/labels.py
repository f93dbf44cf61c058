"""Webhooks in words: the events (the admin page), the outbox's kinds of delivery, and the audit log's
words (registered in legalaid.audit.labels; this module is loaded by legalaid.audit.wording)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from legalaid.audit.labels import Choice, Detail, each, number, register, register_target, text
from legalaid.reminders.forms import KIND_LABELS
from legalaid.webhooks.models import (
    BOOKING_CANCELLED,
    BOOKING_COMPLETED,
    BOOKING_MADE,
    BOOKING_MOVED,
    MATTER_CLOSED,
)

EVENT_LABELS = {
    BOOKING_MADE: _l("Booking made"),
    BOOKING_MOVED: _l("Booking moved"),
    BOOKING_CANCELLED: _l("Booking cancelled"),
    BOOKING_COMPLETED: _l("Booking completed (consultation recorded)"),
    MATTER_CLOSED: _l("Follow-up matter closed"),
}

# The outbox page names a delivery by its event (the message's kind).
KIND_LABELS.update(
    {
        BOOKING_MADE: _l("Webhook: booking made"),
        BOOKING_MOVED: _l("Webhook: booking moved"),
        BOOKING_CANCELLED: _l("Webhook: booking cancelled"),
        BOOKING_COMPLETED: _l("Webhook: booking completed"),
        MATTER_CLOSED: _l("Webhook: follow-up matter closed"),
    }
)

ENDPOINT = {"name": Detail(_l("Webhook"), text), "url": Detail(_l("Address (URL)"), text)}

register_target("webhook_endpoints", _l("Webhook"))
register(
    "webhook.create",
    _l("Webhook registered"),
    {**ENDPOINT, "events": Detail(_l("Events"), each(Choice(EVENT_LABELS)))},
)
register(
    "webhook.deactivate",
    _l("Webhook deactivated"),
    {**ENDPOINT, "lapsed": Detail(_l("Deliveries no longer sent"), number)},
)
