"""The clock and the station's time zone.

Servers run in UTC; veterans, lawyers and staff live in the station's zone (Asia/Shanghai). All
instants are aware UTC; dates a person means ("Tuesday 3 March") are computed in the station's zone.
Never take "today" from the server clock or use naive datetimes: between 00:00 and 08:00 in Beijing the
server is still on yesterday.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

DEFAULT_TIMEZONE = "Asia/Shanghai"
# The dates the application works with (holiday data, reports, the roster): anything a request names
# outside them is refused or replaced, never computed with (year 9999 + a week overflows `date`).
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2100, 12, 31)
_MONTH = re.compile(r"(\d{4})-(\d{1,2})", re.ASCII)
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def now_utc() -> datetime:
    """The current instant, aware, in UTC."""
    return datetime.now(UTC)


def zone(name: str | None) -> ZoneInfo:
    """The ZoneInfo for a station's zone name (Asia/Shanghai when missing)."""
    return ZoneInfo(name or DEFAULT_TIMEZONE)


def is_valid_timezone(name: str) -> bool:
    """Tell whether a name is a known IANA time zone."""
    if name not in available_timezones():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def local_now(tz_name: str | None = None) -> datetime:
    """The current wall-clock time in the given zone."""
    return now_utc().astimezone(zone(tz_name))


def local_today(tz_name: str | None = None) -> date:
    """Today's date where the station is (not where the server is)."""
    return local_now(tz_name).date()


def to_local(instant: datetime, tz_name: str | None = None) -> datetime:
    """Show an aware instant in the station's zone."""
    if instant.tzinfo is None:
        raise ValueError("naive datetime: store and pass instants as aware UTC")
    return instant.astimezone(zone(tz_name))


def local_to_utc(day: date, at: time, tz_name: str | None = None) -> datetime:
    """The UTC instant of a wall-clock time on a local date in the station's zone."""
    return datetime.combine(day, at, tzinfo=zone(tz_name)).astimezone(UTC)


def local_day_bounds(day: date, tz_name: str | None = None) -> tuple[datetime, datetime]:
    """The UTC instants where a local day starts and the next one starts (for range queries)."""
    start = local_to_utc(day, time.min, tz_name)
    following = date.fromordinal(day.toordinal() + 1)
    return start, local_to_utc(following, time.min, tz_name)


def is_supported_day(day: date) -> bool:
    """Whether a date lies in the years the application works with (2000–2100)."""
    return EARLIEST_DAY <= day <= LATEST_DAY


def clamp_day(day: date) -> date:
    """The date, moved into the years the application works with."""
    return min(max(day, EARLIEST_DAY), LATEST_DAY)


def parse_day(text: str | None) -> date | None:
    """A YYYY-MM-DD date typed into an address, or None if it is not one or lies outside 2000–2100."""
    if not text or not _DAY.fullmatch(text.strip()):
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        return None
    return day if is_supported_day(day) else None


def parse_month(text: str | None) -> date | None:
    """The first day of a YYYY-MM month typed into an address, or None if it is not one or lies
    outside 2000–2100."""
    match = _MONTH.fullmatch((text or "").strip())
    if match is None:
        return None
    try:
        first = date(int(match.group(1)), int(match.group(2)), 1)
    except ValueError:
        return None
    return first if is_supported_day(first) else None


def shift_month(first: date, months: int) -> date | None:
    """The first day of the month `months` away (negative: earlier), or None outside 2000–2100."""
    index = first.year * 12 + first.month - 1 + months
    year, month = divmod(index, 12)
    if not EARLIEST_DAY.year <= year <= LATEST_DAY.year:
        return None
    return date(year, month + 1, 1)
