"""The audit log's words for showing a full number (registered in legalaid.audit.labels)."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from legalaid.audit.labels import Choice, Detail, register
from legalaid.privacy.services import FIELDS, REASONS


def person(veteran_id: object) -> str:
    """The person whose number was shown, by their number in the system (never their name or number)."""
    return _("person no. %(id)s", id=veteran_id)


register(
    "privacy.reveal",
    _l("Full number shown"),
    {
        "field": Detail(_l("Which number"), Choice(FIELDS)),
        "reason": Detail(_l("Why"), Choice(REASONS)),
        "person": Detail(_l("Whose"), person),
    },
)

register(
    "privacy.keys_rotated",
    _l("Encryption keys rotated"),
    {"values": Detail(_l("Values re-encrypted")), "reindexed": Detail(_l("People re-indexed"))},
)
