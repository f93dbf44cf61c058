"""The audit log's and the outbox page's words for ratings (registered in their registries)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from legalaid.audit.labels import Choice, Detail, number, register, register_target
from legalaid.ratings.forms import CHANNEL_LABELS, LEVEL_LABELS
from legalaid.reminders.forms import KIND_LABELS

register_target("ratings", _l("Rating"), "ratings.show", "rating_id")
register(
    "rating.give",
    _l("Consultation rated"),
    {
        "level": Detail(_l("Rating"), Choice(LEVEL_LABELS)),
        "channel": Detail(_l("Rated at"), Choice(CHANNEL_LABELS)),
        "consultation": Detail(_l("Consultation no."), number),
    },
)
register(
    "rating.reply",
    _l("Reply to a poor rating recorded"),
    {"level": Detail(_l("Rating"), Choice(LEVEL_LABELS))},
)
KIND_LABELS.update(
    {
        "consultation_done": _l("Veteran: thanks and the rating link"),
        "rating_poor": _l("Poor rating: waits for a reply"),
    }
)
