"""The audit log's words for the roster, closures and attendance (registered in legalaid.audit.labels)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from legalaid.audit.labels import Choice, Detail, day, number, register, register_target
from legalaid.lawyers.labels import lawyer_name

register_target("duty_shifts", _l("Duty shift"))
register_target("closures", _l("Closure"))
register(
    "roster.generate",
    _l("Roster generated"),
    {
        "start": Detail(_l("First day"), day),
        "end": Detail(_l("Last day"), day),
        "added": Detail(_l("Shifts added"), number),
        "changed": Detail(_l("Shifts given to another lawyer"), number),
        "removed": Detail(_l("Shifts removed"), number),
    },
)
register(
    "roster.set_lawyer",
    _l("Duty lawyer set by hand"),
    {
        "from": Detail(_l("Lawyer before"), lawyer_name, empty=_l("nobody")),
        "to": Detail(_l("Lawyer now"), lawyer_name),
    },
)
register("roster.close", _l("Day closed"))
register("roster.reopen", _l("Holiday re-opened"))
register("roster.closure_removed", _l("Closure entry removed"))
register("roster.confirm_year", _l("Year's closures confirmed"))
register("roster.check_in", _l("Lawyer checked in"))
register(
    "roster.release",
    _l("Duty day released (day closed)"),
    {"why": Detail(_l("Why"), Choice({"closure": _l("the station is closed that day")}))},
)
register("roster.restore", _l("Duty day restored (day open again)"))
