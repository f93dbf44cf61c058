"""A lawyer's personal calendar feed (iCalendar): one event per duty shift."""

from __future__ import annotations

from datetime import datetime, time

from flask_babel import gettext as _
from icalendar import Calendar, Event

from legalaid.dates import now_utc, zone
from legalaid.lawyers.models import Lawyer
from legalaid.roster.models import DutyShift

PRODID = "-//legalaid//duty roster//ZH"


def _hours(shift: DutyShift) -> tuple[time, time]:
    sessions = shift.station.sessions
    if not sessions:
        return time(9, 0), time(17, 0)
    return sessions[0].start_time, sessions[-1].end_time


def event_uid(shift: DutyShift, domain: str) -> str:
    """The shift's event id: the same whichever address served the feed, and across regenerations, so
    calendar clients update the one event (never the request's Host, which differs by route in)."""
    return f"duty-shift-{shift.id}@{domain}"


def lawyer_calendar(lawyer: Lawyer, shifts: list[DutyShift], uid_domain: str) -> bytes:
    """The lawyer's shifts as an iCalendar file, in the station's time zone."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", _("Duty shifts: %(name)s", name=lawyer.name))
    stamp = now_utc()
    for shift in shifts:
        station = shift.station
        tz = zone(station.timezone)
        start, end = _hours(shift)
        event = Event()
        event.add("uid", event_uid(shift, uid_domain))
        event.add("dtstamp", stamp)
        event.add("dtstart", datetime.combine(shift.duty_on, start, tzinfo=tz))
        event.add("dtend", datetime.combine(shift.duty_on, end, tzinfo=tz))
        event.add("summary", _("Duty at %(station)s", station=station.name))
        if station.address:
            event.add("location", station.address)
        hours = ", ".join(f"{s.start_time:%H:%M}–{s.end_time:%H:%M}" for s in station.sessions)
        event.add("description", _("Reception hours: %(hours)s", hours=hours))
        event.add("last-modified", shift.updated_at)
        cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical()
