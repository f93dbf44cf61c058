"""The audit log's words for exports and monthly reviews (registered in legalaid.audit.labels)."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from legalaid.audit.labels import Choice, Detail, Nested, day, number, register, register_target, text
from legalaid.categories import category_label
from legalaid.consultations.forms import OUTCOME_LABELS
from legalaid.extensions import db
from legalaid.lawyers.labels import lawyer_name
from legalaid.privacy.services import REASONS
from legalaid.reports.forms import CHANNEL_LABELS, STAGE_LABELS
from legalaid.stations.models import Station


def station_name(station_id: object) -> str:
    """A station by name (the log keeps only the id)."""
    station = db.session.get(Station, station_id) if isinstance(station_id, int) else None
    return station.name if station is not None else _("station no. %(id)s (no longer there)", id=station_id)


STATION = Detail(_l("Station"), station_name, empty=_l("All stations"))
# The filter an export was made with (the consultation log's, or a period's), key by key.
FILTER = {
    "station_id": STATION,
    "start_on": Detail(_l("First day"), day),
    "end_on": Detail(_l("Last day"), day),
    "from": Detail(_l("First day"), day),
    "to": Detail(_l("Last day"), day),
    "lawyer_id": Detail(_l("Lawyer"), lawyer_name),
    "category": Detail(_l("Matter category"), category_label),
    "outcome": Detail(_l("Outcome"), Choice(OUTCOME_LABELS)),
    "stage": Detail(_l("Follow-up"), Choice(STAGE_LABELS)),
    "channel": Detail(_l("Channel"), Choice(CHANNEL_LABELS)),
    "text": Detail(None, Choice({True: _l("searched for words (not kept in the log)")})),
    "sort": Detail(
        _l("Sorted by"),
        Choice(
            {
                "date": _l("Date"),
                "station": _l("Station"),
                "lawyer": _l("Lawyer"),
                "category": _l("Matter category"),
                "channel": _l("Channel"),
            }
        ),
    ),
    "descending": Detail(_l("Order"), Choice({True: _l("descending"), False: _l("ascending")})),
}
EXPORT = {
    "report": Detail(
        _l("Report"),
        Choice({"lawyers": _l("Lawyer performance"), "annual": _l("Annual report")}),
    ),
    "format": Detail(_l("Format"), Choice({"csv": "CSV", "xlsx": "Excel (XLSX)", "json": "JSON"})),
    "full_numbers": Detail(_l("Phone and ID numbers"), Choice({True: _l("in full"), False: _l("masked")})),
    "filter": Detail(_l("Filter"), Nested(FILTER), empty=_l("none")),
    "reason": Detail(_l("Why the full numbers"), Choice(REASONS)),
    "rows": Detail(_l("Rows"), number),
    "year": Detail(_l("Year"), number),
    "station_id": STATION,
    "via": Detail(_l("Run from"), Choice({"cli": _l("the command line on the server")})),
    "note": Detail(_l("Note"), text),
}

register_target("monthly_reviews", _l("Monthly review"))
register("report.export", _l("Report exported"), EXPORT)
register("review.save", _l("Monthly review recorded"))
