"""When messages may go: the reminder times (station time, overridable by settings), the quiet hours
21:00–08:00, and the working days of the State Council calendar (调休 included)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import chinese_calendar
from flask import current_app

from legalaid.dates import local_to_utc, to_local

# Every time of day is station time; every setting may be overridden by REMINDER_TIMES (JSON).
DEFAULT_TIMES: dict[str, str | int] = {
    "quiet_start": "21:00",  # nothing is sent from here …
    "quiet_end": "08:00",  # … until here
    "duty_days_before": 7,
    "duty_week_at": "10:00",
    "duty_eve_at": "17:00",  # on the previous working day
    "duty_morning_at": "08:00",
    "duty_morning_until": "12:00",  # a "today is your duty" message is pointless after noon
    "veteran_eve_at": "17:00",  # the day before
    "veteran_day_at": "08:00",
    "matter_at": "09:00",
    "overdue_every_days": 7,
    "contract_days_before": 30,
    "admin_at": "09:00",
}


def times() -> dict[str, str | int]:
    """The reminder times in force: the defaults with the settings' overrides."""
    return {**DEFAULT_TIMES, **current_app.config.get("REMINDER_TIMES", {})}


def clock(name: str) -> time:
    """A time-of-day setting."""
    return time.fromisoformat(str(times()[name]))


def days(name: str) -> int:
    """A day-count setting."""
    return int(times()[name])


def at(day: date, setting: str, tz: str | None) -> datetime:
    """The UTC instant of the setting's time of day on a local date."""
    return local_to_utc(day, clock(setting), tz)


def is_quiet(instant: datetime, tz: str | None = None) -> bool:
    """Whether an instant falls in the quiet hours (21:00–08:00 by default) where the station is."""
    wall = to_local(instant, tz).time()
    start, end = clock("quiet_start"), clock("quiet_end")
    return wall >= start or wall < end if start > end else start <= wall < end


def out_of_quiet(instant: datetime, tz: str | None = None) -> datetime:
    """The instant itself, or the end of the quiet hours it falls in."""
    if not is_quiet(instant, tz):
        return instant
    local = to_local(instant, tz)
    day = local.date() if local.time() < clock("quiet_end") else local.date() + timedelta(days=1)
    return at(day, "quiet_end", tz)


def is_working_day(day: date) -> bool:
    """A working day by the State Council calendar (调休 Saturdays count); Mon–Fri beyond its data."""
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:  # a year the installed holiday data does not cover yet
        return day.weekday() < 5


def previous_working_day(day: date) -> date:
    """The last working day before a date."""
    day -= timedelta(days=1)
    while not is_working_day(day):
        day -= timedelta(days=1)
    return day


def first_working_day(year: int, month: int) -> date:
    """The first working day of a month."""
    day = date(year, month, 1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day
