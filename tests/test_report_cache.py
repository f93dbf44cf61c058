"""Figures read from the summary tables are kept in memory under the summaries' version
(legalaid.reports.services._kept): read again from the database only after a summary row changed, and
never one change behind, whoever made the change.

Nothing in this process drops the kept figures when something changes: a change reaches them only
through the version read from the database, as it would from another process or another app host.
"""

from __future__ import annotations

from datetime import date

from legalaid.consultations.models import Consultation
from legalaid.extensions import db
from legalaid.reports import services as reports
from legalaid.reports import summaries
from legalaid.reports.services import Period
from tests.conftest import QueryCounter
from tests.test_reports import TODAY, clock
from tests.test_reports import world as _world

world = _world  # the world of tests/test_reports.py, as a fixture of this module too

YEAR_2025 = Period(date(2025, 1, 1), date(2025, 12, 31), None)


def read(period: Period = YEAR_2025) -> tuple[reports.Statistics, int]:
    """The statistics of a period as the page reads them, and how many statements that took."""
    found: list[reports.Statistics] = []
    counter = QueryCounter()
    with clock(TODAY):
        counter.during(lambda: found.append(reports.statistics(period, today=TODAY)))
    db.session.commit()  # one request, one transaction
    return found[0], counter.count


def test_figures_read_again_are_kept_until_a_summary_row_changes(world):
    first, statements = read()
    again, kept = read()
    assert again == first == reports.statistics_live(YEAR_2025, TODAY)
    assert kept == 1 < statements  # only the version is read

    # A consultation of 2025 moves to another category and another month, committed.
    c = db.session.get(Consultation, world.id[1])
    c.category, c.held_on = "housing", date(2025, 11, 4)
    db.session.commit()
    after, statements_after = read()
    assert after == reports.statistics_live(YEAR_2025, TODAY)
    assert after != first
    assert statements_after == statements  # read again in full


def test_the_version_moves_with_each_committed_change_and_only_then(world):
    before = summaries.version(db.session, None)
    station = summaries.version(db.session, world.s1.id)
    other = summaries.version(db.session, world.s2.id)
    db.session.commit()
    read()  # reading changes nothing
    assert summaries.version(db.session, None) == before
    db.session.commit()

    c = db.session.get(Consultation, world.id[1])
    assert c.station_id == world.s1.id
    c.category = "housing"
    db.session.commit()
    assert summaries.version(db.session, world.s1.id) != station
    assert summaries.version(db.session, world.s2.id) == other
    assert summaries.version(db.session, None) != before


def test_a_transaction_that_changed_the_figures_reads_its_own_and_keeps_nothing(world):
    first, _ = read()
    c = db.session.get(Consultation, world.id[1])
    c.held_on = date(2024, 6, 1)  # out of 2025
    db.session.flush()
    with clock(TODAY):
        own = reports.statistics(YEAR_2025, today=TODAY)
    assert summaries.version(db.session, None) is None  # this transaction's own figures
    assert own.consultations == first.consultations - 1
    db.session.rollback()
    again, kept = read()
    assert again == first and kept == 1  # what the rolled-back transaction read was not kept


def test_each_station_and_period_is_kept_apart(world):
    stations = [Period(YEAR_2025.start_on, YEAR_2025.end_on, s) for s in (world.s1.id, world.s2.id)]
    months = Period(date(2025, 3, 1), date(2025, 4, 30), world.s1.id)
    for period in [YEAR_2025, *stations, months]:
        figures, _ = read(period)
        assert figures == reports.statistics_live(period, TODAY), period
    assert read(stations[0])[0].consultations + read(stations[1])[0].consultations == read()[0].consultations
