"""The audit log's words for stations and their settings (registered in legalaid.audit.labels)."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from legalaid.audit.labels import (
    Detail,
    change,
    day,
    each,
    joined,
    listing,
    number,
    register,
    register_target,
    text,
    yes_no,
)
from legalaid.stations.forms import WEEKDAYS


def _weekdays(days: object) -> str:
    """Weekday numbers (1 = Monday) as names: 星期二和星期四."""
    names = dict(WEEKDAYS)
    if not isinstance(days, list):
        return str(days)
    return listing([str(names.get(d, d)) for d in days])


def _kept(days: object) -> str:
    """Days kept on their old plan, each with the reason: 2026年3月10日 星期二（有人预约）."""
    if not isinstance(days, dict):
        return str(days)
    return joined(
        [_("%(day)s (%(why)s)", day=day(on), why=why) if why else day(on) for on, why in days.items()]
    )


# A settings change records {setting: [before, after]}; each setting reads as its form names it.
SETTINGS = {
    "name": Detail(_l("Station name"), change(text)),
    "address": Detail(_l("Address"), change(text)),
    "timezone": Detail(_l("Time zone"), change(text)),
    "duty_weekdays": Detail(_l("Duty days"), change(_weekdays)),
    "sessions": Detail(_l("Sessions"), change(each(text))),
    "slot_minutes": Detail(_l("Slot length (minutes)"), change(number)),
    "places_per_slot": Detail(_l("Places per slot"), change(number)),
    "walkin_reserve": Detail(_l("Places kept for walk-ins per shift"), change(number)),
    "booking_window_days": Detail(_l("Booking opens (days ahead)"), change(number)),
    "booking_cutoff_hours": Detail(_l("Booking closes (hours before)"), change(number)),
    "retention_years": Detail(_l("Keep personal data (years)"), change(number)),
    "queue_opens_minutes": Detail(
        _l("Queue numbers from (minutes before the first session)"), change(number)
    ),
    "swap_auto_approve": Detail(_l("Approve swaps automatically once the colleague accepts"), change(yes_no)),
}
REPLANNED = {
    "days": Detail(_l("Days re-planned"), each(day)),
    "kept": Detail(_l("Days kept on their old plan"), _kept),
}

register_target("stations", _l("Station"), "stations.edit", "station_id")
register("station.create", _l("Station added"), {"name": Detail(_l("Station name"), text)})
register("station.update", _l("Station settings changed"), SETTINGS)
register("station.replan", _l("Coming days re-planned (new settings)"), REPLANNED)
register("station.replan_booked", _l("Booked days re-planned (bookings kept at their times)"), REPLANNED)
