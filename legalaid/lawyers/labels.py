"""The audit log's words for law firms, lawyers and their dates off (registered in legalaid.audit.labels)."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from legalaid.audit.labels import Detail, day, number, register, register_target, text
from legalaid.extensions import db
from legalaid.lawyers.models import Lawyer


def lawyer_name(lawyer_id: object) -> str:
    """A lawyer by name (the log keeps only the id)."""
    lawyer = db.session.get(Lawyer, lawyer_id) if isinstance(lawyer_id, int) else None
    return lawyer.name if lawyer is not None else _("lawyer no. %(id)s (no longer there)", id=lawyer_id)


FIRM = {"name": Detail(_l("Firm name"), text)}

register_target("lawyers", _l("Lawyer"), "lawyers.edit", "lawyer_id")
register_target("law_firms", _l("Law firm"), "lawyers.firm_edit", "firm_id")
register("firm.create", _l("Firm added"), FIRM)
register("firm.update", _l("Firm changed"), FIRM)
register("lawyer.create", _l("Lawyer added"))
register("lawyer.update", _l("Lawyer changed"))
register("lawyer.activate", _l("Lawyer reactivated"))
register("lawyer.deactivate", _l("Lawyer deactivated"))
register("lawyer.import", _l("Lawyers imported"), {"count": Detail(_l("Number of lawyers"), number)})
register(
    "lawyer.leave",
    _l("Dates off entered"),
    {"from": Detail(_l("First day off"), day), "to": Detail(_l("Last day off"), day)},
)
register("lawyer.leave_removed", _l("Dates off removed"), {"from": Detail(_l("First day off"), day)})
register("lawyer.calendar_reset", _l("Calendar address renewed"))
