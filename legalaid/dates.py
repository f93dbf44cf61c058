"""The clock and the station's time zone.

Servers run in UTC; veterans, lawyers and staff live in the station's zone (Asia/Shanghai). All
instants are aware UTC; dates a person means ("Tuesday 3 March") are computed in the station's zone.
Never take "today" from the server clock or use naive datetimes: between 00:00 and 08:00 in Beijing the
server is still on yesterday.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

DEFAULT_TIMEZONE = "Asia/Shanghai"


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
