"""The audit log's words for the outbox (registered in legalaid.audit.labels)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from legalaid.audit.labels import Choice, Detail, register, register_target
from legalaid.reminders.forms import CHANNEL_LABELS, KIND_LABELS

# Deliveries to other systems' URLs (legalaid.webhooks); their kinds are named in legalaid.webhooks.labels.
CHANNEL_LABELS["webhook"] = _l("Webhook")

register_target("outbox_messages", _l("Message"), "outbox.show", "message_id")
register("outbox.resend", _l("Message sent again"), {"kind": Detail(_l("Message"), Choice(KIND_LABELS))})
register(
    "outbox.capped",
    _l("Message held back: too many for one recipient today"),
    {"kind": Detail(_l("Message"), Choice(KIND_LABELS))},
)
