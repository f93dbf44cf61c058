"""The administrator's reports at province scale: the consultation log and the statistics page send the
same number of statements whatever the rows shown; a deep page in date order (started at its month
from the summary counts) shows exactly the rows plain OFFSET paging shows; a filter the summaries
cannot count stops counting past COUNT_CAP; `flask report rebuild-summaries` rebuilds them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from itertools import cycle

import pytest
import sqlalchemy as sa
import time_machine

from legalaid.consultations.models import Consultation, ConsultationOutcome
from legalaid.extensions import db
from legalaid.reports import services as reports
from legalaid.reports.models import ReportMonth
from legalaid.reports.services import LogFilter
from tests.conftest import QueryCounter, login

CATEGORIES = cycle(("labour", "housing", "family", "pensions"))
CHANNELS = cycle(("kiosk", "online", "walkin", "hotline"))
OUTCOMES = cycle((["advice"], ["advice", "mediation"], ["legal_aid"], ["referral"]))
TODAY = date(2026, 1, 15)



@pytest.fixture
def place(make_station, make_lawyer, make_user):
    """Two stations with two lawyers each, and a way to add consultations spread over months."""
    stations = [make_station("东城站"), make_station("西城站")]
    lawyers = [make_lawyer(s) for s in stations for _ in range(2)]
    author = make_user("lawyer", username="author")
    made = [0]

    def add(n: int, months: int = 12) -> None:
        for _ in range(n):
            i = made[0]
            made[0] += 1
            lawyer = lawyers[i % len(lawyers)]
            c = Consultation(
                station_id=lawyer.station_id,
                lawyer_id=lawyer.id,
                author_id=author.id,
                name=f"来访{i}",
                held_on=date(2025, 1 + i % months, 1 + i % 28),
                channel=next(CHANNELS),
                category=next(CATEGORIES),
            )
            c.outcome_rows = [
                ConsultationOutcome(outcome=o, position=k) for k, o in enumerate(next(OUTCOMES))
            ]
            db.session.add(c)
        db.session.commit()

    return {"stations": stations, "lawyers": lawyers, "add": add}


def _queries(client, path: str) -> int:
    return QueryCounter().during(lambda: _ok(client.get(path)))


@pytest.fixture
def on_today():
    """The clock at 10:00 in Beijing on TODAY, running (sign-in sessions need time to pass)."""
    with time_machine.travel(datetime(2026, 1, 15, 2, tzinfo=UTC), tick=True):
        yield


def _ok(response) -> None:
    assert response.status_code == 200, response.status_code


@pytest.mark.parametrize(
    "path",
    [
        "/admin/consultations",
        "/admin/consultations?sort=-date&page=2",
        "/admin/consultations?station={s}&lawyer={l}&category=labour",
        "/admin/consultations?outcome=advice&channel=kiosk",
    ],
)
def test_the_log_sends_as_many_statements_for_many_rows_as_for_few(on_today, client, make_user, place, path):
    path = path.format(s=place["stations"][0].id, l=place["lawyers"][0].id)
    admin = make_user("admin", username="chief")
    login(client, admin.username)
    place["add"](120)
    _queries(client, path)  # warm: the first request of a session loads what it keeps
    place["add"](4)  # a change at each station: the figures kept from the summaries are read again
    few = _queries(client, path)
    place["add"](240)
    many = _queries(client, path)
    assert few == many <= 14


def test_the_statistics_pages_send_as_many_statements_for_many_rows_as_for_few(
    on_today, client, make_user, make_lawyer, place
):
    admin = make_user("admin", username="chief")
    login(client, admin.username)
    pages = [
        "/admin/statistics?start_on=2025-01-01&end_on=2025-12-31",
        "/admin/statistics/lawyers?start_on=2025-01-01&end_on=2025-12-31",
        "/admin/reports/annual/2025",
    ]
    place["add"](40, months=3)
    for page in pages:
        _queries(client, page)
    place["add"](4)  # a change at each station: the figures kept from the summaries are read again
    few = [_queries(client, page) for page in pages]
    place["lawyers"].extend(make_lawyer(place["stations"][1]) for _ in range(3))
    for page in pages:  # a lawyer added drops what is kept of the station (its choices too): warm again
        _queries(client, page)
    place["add"](200, months=12)  # more months, more lawyers, more categories and outcomes
    many = [_queries(client, page) for page in pages]
    assert few == many
    assert max(many) <= 25


@pytest.mark.parametrize("descending", [True, False])
@pytest.mark.parametrize("which", ["all", "station", "lawyer", "category", "outcome", "months"])
def test_a_deep_page_shows_the_rows_offset_paging_shows(app, place, descending, which):
    place["add"](300)
    station, lawyer = place["stations"][1].id, place["lawyers"][0].id
    criteria = {
        "all": LogFilter(),
        "station": LogFilter(station_id=station),
        "lawyer": LogFilter(lawyer_id=lawyer),
        "category": LogFilter(station_id=station, category="housing"),
        "outcome": LogFilter(outcome="mediation"),
        "months": LogFilter(start_on=date(2025, 3, 1), end_on=date(2025, 8, 31)),
    }[which]
    criteria = LogFilter(**{**criteria.__dict__, "descending": descending})
    assert reports._month_counts(criteria) is not None  # answered from the summaries
    order = (
        (Consultation.held_on.desc(), Consultation.id.desc())
        if descending
        else (
            Consultation.held_on.asc(),
            Consultation.id.asc(),
        )
    )
    expected = db.session.scalars(
        reports._filtered(sa.select(Consultation.id), criteria, TODAY).order_by(*order)
    ).all()
    per_page = 7
    pages = -(-len(expected) // per_page)
    for page in range(1, pages + 2):
        result = reports.search_log(criteria, page=page, per_page=per_page, today=TODAY)
        assert result.exact and result.total == len(expected)
        start = (min(page, pages) - 1) * per_page
        assert [r.id for r in result.items] == expected[start : start + per_page]


def test_a_filter_the_summaries_cannot_count_stops_counting_at_the_cap(app, place, monkeypatch):
    place["add"](30)
    monkeypatch.setattr(reports, "COUNT_CAP", 10)
    text = LogFilter(text="来访")  # free text: not in any summary (the name is not the summary)
    both = LogFilter(category="labour", channel="kiosk")
    assert reports._month_counts(text) is None and reports._month_counts(both) is None
    plenty = reports.search_log(LogFilter(stage="none"), per_page=4, today=TODAY)
    assert (plenty.total, plenty.exact, plenty.has_next) == (10, False, True)
    few = reports.search_log(both, per_page=50, today=TODAY)
    assert few.exact and few.total == len(few.items) and not few.has_next


def test_rebuild_summaries_command(app, place):
    place["add"](25)
    kept = db.session.execute(sa.select(ReportMonth.__table__)).all()
    db.session.execute(sa.delete(ReportMonth))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["report", "rebuild-summaries"])
    assert result.exit_code == 0, result.output
    assert "report_months" in result.output
    assert sorted(db.session.execute(sa.select(ReportMonth.__table__)).all()) == sorted(kept)
