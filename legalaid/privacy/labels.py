"""The audit log's words for showing a full number (registered in legalaid.audit.labels)."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from legalaid.audit.labels import Choice, Detail, day, each, number, register, register_target, text
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

register_target("veterans", _l("Person"), "privacy.person", "person_id")

# Retention and a person's rights: counts and ids only, never a name or a number.
_COUNTS = {
    "consultations": Detail(_l("Consultation records"), number),
    "bookings": Detail(_l("Bookings"), number),
    "walk_ins": Detail(_l("Walk-in numbers"), number),
    "people": Detail(_l("People"), number),
    "versions": Detail(_l("Earlier versions"), number),
    "notes": Detail(_l("Matter notes"), number),
    "messages": Detail(_l("Messages"), number),
    "matters": Detail(_l("Follow-up matters"), number),
    "reveals": Detail(_l("Numbers shown in full"), number),
}
SEARCH_BY = {"mobile": _l("Mobile number"), "id_number": _l("ID number")}
PERSON_FIELDS = {
    "name": _l("Name"),
    "mobile": _l("Mobile number"),
    "id_number": _l("ID number"),
    "veteran_card_no": _l("Veteran card number"),
}

register(
    "privacy.retention",
    _l("Personal data past its retention erased"),
    {
        "years": Detail(_l("Retention (years)"), number),
        "before": Detail(_l("Records dated before"), day),
        **_COUNTS,
    },
)
register("privacy.outbox_emptied", _l("Old messages emptied of personal data"), _COUNTS)
register(
    "privacy.search",
    _l("Person searched for"),
    {"by": Detail(_l("Searched by"), Choice(SEARCH_BY)), "found": Detail(_l("Found"), number)},
)
register("privacy.person_view", _l("Person's records viewed"), _COUNTS)
register("privacy.export", _l("Person's records exported"), _COUNTS)
register(
    "privacy.correct",
    _l("Person's data corrected"),
    {"fields": Detail(_l("Fields"), each(Choice(PERSON_FIELDS)))},
)
register("privacy.correct_open", _l("Person's numbers shown in full to correct them"))
register("privacy.erase", _l("Person's data erased"), {**_COUNTS, "reason": Detail(_l("Why"), text)})

register(
    "privacy.keys_rotated",
    _l("Encryption keys rotated"),
    {"values": Detail(_l("Values re-encrypted")), "reindexed": Detail(_l("People re-indexed"))},
)
