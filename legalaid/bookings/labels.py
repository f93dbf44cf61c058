"""The audit log's words for bookings and walk-in numbers (registered in legalaid.audit.labels)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from legalaid.audit.labels import Choice, Detail, moment, register, register_target, text
from legalaid.reports.forms import CHANNEL_LABELS

QUEUE_NUMBER = {"number": Detail(_l("Queue number"), text)}

register_target("bookings", _l("Booking"))
register_target("walk_ins", _l("Walk-in number"))
register("booking.create", _l("Booking made"), {"channel": Detail(_l("Channel"), Choice(CHANNEL_LABELS))})
register(
    "booking.cancel",
    _l("Booking cancelled"),
    {"by_staff": Detail(_l("Cancelled by"), Choice({True: _l("the desk"), False: _l("the veteran")}))},
)
register(
    "booking.move",
    _l("Booking moved"),
    {"from": Detail(_l("Time before"), moment), "to": Detail(_l("New time"), moment)},
)
register("booking.check_in", _l("Arrival recorded"))
register("booking.no_show", _l("Marked as not come"))
register("booking.call", _l("Booked person called"), QUEUE_NUMBER)
register("booking.recall", _l("Booked person called again"), QUEUE_NUMBER)
register("booking.pass", _l("Booked person passed over"), QUEUE_NUMBER)
register("booking.requeue", _l("Booked person put back in the queue"), QUEUE_NUMBER)
register("walkin.issue", _l("Walk-in number taken"), QUEUE_NUMBER)
register("walkin.call", _l("Walk-in number called"), QUEUE_NUMBER)
register("walkin.recall", _l("Walk-in number called again"), QUEUE_NUMBER)
register("walkin.pass", _l("Walk-in number passed over"), QUEUE_NUMBER)
register("walkin.requeue", _l("Walk-in number put back in the queue"), QUEUE_NUMBER)
