"""The audit log's words for API keys and calls (registered in legalaid.audit.labels)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from legalaid.api.forms import CHANNEL_LABELS, SCOPE_LABELS
from legalaid.audit.labels import Choice, Detail, each, number, register, register_target, text

KEY = {"name": Detail(_l("API key"), text), "prefix": Detail(_l("Key prefix"), text)}

register_target("api_keys", _l("API key"))
register(
    "api_key.create",
    _l("API key created"),
    {
        **KEY,
        "scopes": Detail(_l("Permissions"), each(Choice(SCOPE_LABELS))),
        "channel": Detail(_l("Its bookings are made"), Choice(CHANNEL_LABELS)),
        "rate_per_minute": Detail(_l("Calls a minute"), number),
    },
)
register("api_key.revoke", _l("API key revoked"), KEY)
register(
    "api.call",
    _l("API call"),
    {"operation": Detail(_l("Operation"), text), "status": Detail(_l("Answer (HTTP status)"), text)},
)
