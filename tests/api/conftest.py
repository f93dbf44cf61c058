"""Fixtures of the API tests: a station with coming duty days (the clock held on a Tuesday morning) and
API keys made through the service."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime

import pytest
import time_machine

from legalaid.api import services as api
from legalaid.api.models import SCOPES
from legalaid.extensions import db
from legalaid.roster import services as roster

# Tuesday 10 March 2026, 08:30 in Beijing: a duty day, before its first slot.
NOW = datetime(2026, 3, 10, 0, 30, tzinfo=UTC)
TODAY = date(2026, 3, 10)
DUTY_DAYS = [date(2026, 3, d) for d in (10, 17, 24, 31)]  # Tuesdays
PAST = date(2026, 3, 3)


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    """The station's morning of 10 March 2026 (never the day the tests run)."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def seed_station(make_station: Callable, make_lawyer: Callable, name: str) -> object:
    """A station on Tuesdays 09:00–12:00 and 14:30–17:30, 30-minute single places, with a lawyer on
    each Tuesday of March 2026 from the 10th (their slots are made with the shifts)."""
    station = make_station(name)
    lawyer = make_lawyer(station, name=f"{name}律师")
    for day in DUTY_DAYS:
        roster.set_shift_lawyer(station, day, lawyer, "测试", today=PAST)
    db.session.commit()
    return station


@pytest.fixture
def station(app, clock, make_station, make_lawyer):
    """The station the tests read."""
    return seed_station(make_station, make_lawyer, "甲站")


@pytest.fixture
def other_station(app, clock, make_station, make_lawyer):
    """A second station, for keys limited to the first."""
    return seed_station(make_station, make_lawyer, "乙站")


@pytest.fixture
def make_key(app) -> Callable[..., str]:
    """Make a key (committed) and return the key itself, as its holder would send it."""
    counter = iter(range(1, 10_000))

    def make(scopes: tuple[str, ...] | list[str] = SCOPES, station=None, name: str | None = None) -> str:
        _key, plain = api.create_key(
            name or f"系统{next(counter)}", list(scopes), station.id if station else None
        )
        db.session.commit()
        return plain

    return make


def bearer(key: str) -> dict[str, str]:
    """The header a call carries its key in."""
    return {"Authorization": f"Bearer {key}"}
