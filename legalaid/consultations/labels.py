"""The words of consultation records: the audit log's (registered in legalaid.audit.labels), and those of
a record's edit history."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from legalaid.audit.labels import Choice, Detail, each, listing, money, register, register_target
from legalaid.auth.labels import user_name
from legalaid.categories import category_label
from legalaid.consultations.forms import MILESTONE_LABELS, OUTCOME_LABELS, RESULT_LABELS
from legalaid.consultations.forms import label as consultation_label
from legalaid.consultations.services import FieldChange

# The fields of a record its history talks about, named as the record page names them.
FIELD_LABELS = {
    "category": _l("Matter"),
    "summary": _l("The problem"),
    "advice": _l("Advice given"),
    "outcomes": _l("Outcomes"),
    "counselling_notes": _l("Counselling notes"),
}


def change_words(change: FieldChange) -> str:
    """What a correction did to one field, in words: 劳动争议 → 合同债务; 由“…”改为“…”."""
    if change.field == "category":
        return f"{category_label(str(change.before))} → {category_label(str(change.after))}"
    if change.field == "outcomes":
        before = listing([consultation_label("outcome", c) for c in change.before]) or "—"
        after = listing([consultation_label("outcome", c) for c in change.after]) or "—"
        return f"{before} → {after}"
    if not change.before:
        return _("added: “%(after)s”", after=change.after)
    if not change.after:
        return _("removed: “%(before)s”", before=change.before)
    return _("changed from “%(before)s” to “%(after)s”", before=change.before, after=change.after)


register_target("consultations", _l("Consultation record"), "consultations.view", "consultation_id")
register_target("matters", _l("Follow-up matter"), "consultations.matter", "matter_id")
register(
    "consultation.create",
    _l("Consultation recorded"),
    {"outcomes": Detail(_l("Outcomes"), each(Choice(OUTCOME_LABELS)))},
)
register(
    "consultation.correct",
    _l("Consultation record corrected"),
    {
        "same_day": Detail(
            _l("Corrected"), Choice({True: _l("on the day of the consultation"), False: _l("on a later day")})
        )
    },
)
register("consultation.view", _l("Consultation record read"))
register(
    "matter.note",
    _l("Note added to a follow-up matter"),
    {"milestone": Detail(_l("Legal-aid step"), Choice(MILESTONE_LABELS))},
)
register(
    "matter.close",
    _l("Follow-up matter closed"),
    {
        "result": Detail(_l("Result"), Choice(RESULT_LABELS)),
        "money": Detail(_l("Money recovered or saved"), money),
    },
)
register(
    "matter.reassign",
    _l("Follow-up matter reassigned"),
    {"from": Detail(_l("Owner before"), user_name), "to": Detail(_l("New owner"), user_name)},
)
register(
    "matter.lead",
    _l("Leader attached to a matter"),
    {"from": Detail(_l("Leader before"), user_name), "to": Detail(_l("Leader"), user_name)},
)
register(
    "matter.unlead", _l("Leader detached from a matter"), {"from": Detail(_l("Leader before"), user_name)}
)
register("booking.record_form", _l("Viewed a booking's record form"))
