"""Every signed-in list page sends as many statements with three times the rows as with one: no query per
row shown (N+1). The generator writes consistent data of every kind (stations, firms, lawyers, accounts,
rosters, bookings, consultations, matters, ratings, outbox, audit); each page is read on one station's
data and again on three stations' with three times the consultations, at the same moment (a duty Tuesday
afternoon, so the desk and the console have a day to show)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
import time_machine

from legalaid import generate
from legalaid.auth import services as accounts
from legalaid.auth.models import User
from legalaid.consultations.models import Matter
from legalaid.extensions import db
from legalaid.lawyers.models import Lawyer
from legalaid.roster.models import DutyShift
from legalaid.stations.models import Station
from tests.conftest import DEFAULT_PASSWORD, QueryCounter, _empty_tables, login

TUESDAY = datetime(2026, 11, 17, 7, 0, tzinfo=UTC)  # 15:00 in Beijing, a duty Tuesday
SMALL, LARGE = (1, 150), (3, 450)  # stations, consultations per station and year
BOUND = 16  # statements per page at most, whatever it lists

# (who reads it, the page); `{station}` is the first station, `{lawyer}` the busiest lawyer's id.
PAGES = [
    ("staff", "/desk"),
    ("admin", "/desk?station={station}"),
    ("lawyer", "/console"),
    ("admin", "/console?station={station}"),
    ("admin", "/admin/roster?station={station}&month=2026-11"),
    ("admin", "/admin/lawyers"),
    ("admin", "/admin/stations/"),
    ("admin", "/admin/users"),
    ("admin", "/admin/firms"),
    ("admin", "/matters"),
    ("admin", "/matters?mine=1"),
    ("lawyer", "/matters"),
    ("admin", "/admin/outbox/"),
    ("admin", "/admin/outbox/?status=sent"),
    ("admin", "/admin/audit/"),
    ("admin", "/admin/audit/?target_type=bookings"),
    ("admin", "/admin/ratings"),
    ("admin", "/admin/ratings?show=all"),
    ("admin", "/admin/kiosks/"),
    ("admin", "/admin/swaps"),
    ("lawyer", "/me/shifts"),
    ("lawyer", "/me/swaps"),
    ("lawyer", "/me/ratings"),
]



def _read_pages(app, size: tuple[int, int]) -> dict[tuple[str, str], tuple[int, int]]:
    """Generate this size, then read every page: its statements and its table rows, by page."""
    stations, per_year = size
    found: dict[tuple[str, str], tuple[int, int]] = {}
    with time_machine.travel(TUESDAY, tick=False):
        generate.generate(
            generate.Sizes(stations=stations, years=1, per_station_year=per_year, seed=5),
            say=lambda _line: None,
        )
        db.session.commit()
        station = db.session.scalar(sa.select(Station.id).order_by(Station.id).limit(1))
        # The lawyer of the station's next duty day: their own pages list coming shifts and past work.
        lawyer = db.session.scalars(
            sa.select(Lawyer)
            .join(DutyShift, DutyShift.lawyer_id == Lawyer.id)
            .where(DutyShift.station_id == station, DutyShift.duty_on > TUESDAY.date())
            .where(Lawyer.user_id.is_not(None))
            .order_by(DutyShift.duty_on)
        ).first()
        assert lawyer is not None
        readers = {
            "admin": accounts.create_user("perf-admin", "Perf", "admin", DEFAULT_PASSWORD),
            "staff": accounts.create_user(
                "perf-staff", "Perf", "staff", DEFAULT_PASSWORD, station_id=station
            ),
            "lawyer": db.session.get_one(User, lawyer.user_id),
        }
        accounts.set_password(readers["lawyer"], DEFAULT_PASSWORD)
        # The administrator leads a few matters (some of the lawyer's), so that "held or led by me" lists
        # some and every page shows a leader.
        for matter in db.session.scalars(sa.select(Matter).order_by(Matter.id).limit(stations * 3)):
            matter.leader_id = readers["admin"].id
        for matter in db.session.scalars(
            sa.select(Matter).where(Matter.owner_id == lawyer.user_id).order_by(Matter.id).limit(2)
        ):
            matter.leader_id = readers["admin"].id
        db.session.commit()
        counter = QueryCounter()
        for role, reader in readers.items():
            client = app.test_client()
            assert login(client, reader.username).status_code == 302, role
            for who, path in PAGES:
                if who != role:
                    continue
                url = path.format(station=station, lawyer=lawyer.id)
                responses: list = []
                n = counter.during(lambda url=url, c=client, got=responses: got.append(c.get(url)))
                response = responses[0]
                assert response.status_code == 200, (url, response.status_code, response.location)
                found[(who, path)] = (n, response.get_data(as_text=True).count('href="'))
    return found


_MEASURED: dict[str, dict] = {}


@pytest.fixture
def measured(app) -> dict:
    """Every page's statements and rows at both sizes (measured once per test run: two generations)."""
    if not _MEASURED:
        small = _read_pages(app, SMALL)
        db.session.remove()
        _empty_tables(app)
        large = _read_pages(app, LARGE)
        _MEASURED.update(small=small, large=large)
    return _MEASURED


@pytest.mark.parametrize(("who", "path"), PAGES, ids=[f"{w}:{p}" for w, p in PAGES])
def test_a_list_page_sends_as_many_statements_with_three_times_the_rows(measured, who, path):
    small_queries, small_rows = measured["small"][(who, path)]
    large_queries, large_rows = measured["large"][(who, path)]
    assert large_queries == small_queries, (path, small_queries, large_queries, small_rows, large_rows)
    assert large_queries <= BOUND, (path, large_queries)


def test_the_larger_size_shows_more_rows_on_the_long_lists(measured):
    # The comparison above means something only where the page lists more at the larger size (the paged
    # lists — matters, outbox, audit — show a full page of 50 at both).
    for page in [
        ("admin", "/admin/stations/"),
        ("admin", "/admin/users"),
        ("admin", "/admin/firms"),
        ("lawyer", "/matters"),
        ("admin", "/admin/ratings?show=all"),
    ]:
        assert measured["large"][page][1] > measured["small"][page][1], page
