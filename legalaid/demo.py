"""Demo data for `make run`: a station and one account per role. Loading twice changes nothing."""

from __future__ import annotations

import sqlalchemy as sa

from legalaid.access import ADMIN, LAWYER, STAFF
from legalaid.auth import services as accounts
from legalaid.auth.models import User
from legalaid.extensions import db
from legalaid.stations import services as stations
from legalaid.stations.models import Station

DEMO_STATION = "解放区退役军人法律服务站"
DEMO_ADDRESS = "焦作市解放区退役军人服务中心服务大厅"
# (username, full name, role, password): printed by `make run`, so never use these for real.
DEMO_ACCOUNTS = (
    ("admin", "局管理员", ADMIN, "admin-demo-2026"),
    ("staff", "大厅工作人员", STAFF, "staff-demo-2026"),
    ("lawyer", "值班律师", LAWYER, "lawyer-demo-2026"),
)


def has_data() -> bool:
    """Whether the database already holds any station or account."""
    return bool(
        db.session.scalar(sa.select(sa.func.count()).select_from(User))
        or db.session.scalar(sa.select(sa.func.count()).select_from(Station))
    )


def load() -> list[str]:
    """Add whatever part of the demo data is missing; returns what was added. Flushes only."""
    added = []
    station = db.session.scalar(sa.select(Station).where(Station.name == DEMO_STATION))
    if station is None:
        station = stations.create_station(stations.StationSettings(name=DEMO_STATION, address=DEMO_ADDRESS))
        added.append(f"station {DEMO_STATION}")
    for username, name, role, password in DEMO_ACCOUNTS:
        if accounts.find_by_username(username) is None:
            station_id = None if role == ADMIN else station.id
            accounts.create_user(username, name, role, password, station_id=station_id)
            added.append(f"user {username}")
    return added
