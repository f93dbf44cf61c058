"""No 500, ever: odd dates, control characters and absurd values in any address give a clear message or a
safe default.

First the inputs that once gave a server error, one by one, each with what it gives now. Then a sweep:
every GET route, as every role and as an anonymous visitor, with extreme dates and control characters in
every query parameter its view reads (found by watching which names the view asks `request.args` for,
plus a fixed list of the common ones), and in the route's own text variables. No answer may be a 500.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask, Request, url_for
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter

from legalaid import demo
from legalaid.bookings.models import BOOKED, Booking, Slot, WalkIn
from legalaid.consultations.models import Consultation, Matter
from legalaid.extensions import db
from legalaid.lawyers.models import LawFirm, Lawyer
from legalaid.reminders.models import OutboxMessage
from legalaid.roster import services as roster
from legalaid.security import local_target
from legalaid.stations.models import Station
from tests.conftest import csrf_token, login

NOW = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)  # Tuesday 3 March 2026, 10:00 in Beijing
TODAY = date(2026, 3, 3)
PASSWORD = "correct-horse-battery"

# -- the inputs that gave a 500 ------------------------------------------------------------------


@pytest.fixture
def admin(client, make_station, make_user):
    """A station and its administrator, signed in, at a set clock."""
    with time_machine.travel(NOW, tick=False):
        station = make_station("站点甲")
        make_user("admin", username="boss", station_id=station.id)
        assert login(client, "boss").status_code == 302
        yield client, station


@pytest.mark.parametrize(
    "target",
    ["/\r\nSet-Cookie: evil=1", "\r\n", "/admin\r\n", "/x\ny", "/\x0bx", "/\u202eevil", "/" + "x" * 5000],
)
def test_a_control_character_in_next_falls_back_to_home(client, target):
    response = client.get("/language/en", query_string={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "evil" not in response.headers.get("Set-Cookie", "")


def test_local_target_keeps_plain_paths_only():
    assert local_target("/admin/roster?month=2026-03") == "/admin/roster?month=2026-03"
    assert local_target("/kiosk/") == "/kiosk/"
    for bad in ("/a\r\nb", "/a\tb", "/a\x00", "/\u2028", "/\u202e", "//evil.example", "http://x/"):
        assert local_target(bad) == "/", bad


def test_sign_in_with_a_control_character_in_next_goes_home(client, make_user):
    make_user("admin", username="boss")
    path = "/login?next=/admin%0d%0aSet-Cookie:%20evil=1"
    page = client.get(path)
    assert page.status_code == 200
    response = client.post(
        path,
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "username": "boss",
            "password": PASSWORD,
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/").status_code == 200  # signed in all the same


@pytest.mark.parametrize("month", ["9999-12", "0001-01", "1999-12", "2101-01", "2026-13", "-1"])
def test_a_month_outside_the_supported_years_shows_this_month_and_says_so(admin, month):
    client, station = admin
    client.set_cookie("lang", "en")
    with time_machine.travel(NOW, tick=False):
        page = client.get("/admin/roster", query_string={"station": station.id, "month": month})
        printed = client.get("/roster/print", query_string={"station": station.id, "month": month})
    assert page.status_code == 200 and printed.status_code == 200
    for response in (page, printed):
        html = response.get_data(as_text=True)
        assert "March 2026" in html
        assert "The roster shows months from 2000-01 to 2100-12; this month is shown instead." in html


def test_the_edges_of_the_supported_years_show_without_a_link_beyond(admin):
    client, station = admin
    with time_machine.travel(NOW, tick=False):
        first = client.get("/admin/roster", query_string={"station": station.id, "month": "2000-01"})
        last = client.get("/admin/roster", query_string={"station": station.id, "month": "2100-12"})
    assert first.status_code == 200 and last.status_code == 200
    first_html, last_html = first.get_data(as_text=True), last.get_data(as_text=True)
    assert "2000年1月" in first_html and "month=1999-12" not in first_html
    assert "month=2000-02" in first_html
    assert "2100年12月" in last_html and "month=2101-01" not in last_html
    assert "month=2100-11" in last_html


@pytest.mark.parametrize("start", ["9999-12-31", "0001-01-01", "1999-12-31", "2101-01-01"])
def test_the_generator_refuses_a_start_outside_the_supported_years(admin, start):
    client, station = admin
    with time_machine.travel(NOW, tick=False):
        url = f"/admin/roster/generate?station={station.id}"
        page = client.get(url).get_data(as_text=True)
        response = client.post(
            url,
            data={
                "csrf_token": csrf_token(page),
                "station_id": station.id,
                "start": start,
                "weeks": "26",
                "preview": "1",
            },
        )
    assert response.status_code == 200
    assert "请输入 2000-01-01 至 2100-12-31 之间的日期" in response.get_data(as_text=True)
    assert roster.shifts_between(station, date(2000, 1, 1), date(2100, 12, 31)) == []


@pytest.mark.parametrize("kind", ["close", "open"])
def test_a_closure_outside_the_supported_years_is_refused(admin, kind):
    client, station = admin
    with time_machine.travel(NOW, tick=False):
        url = f"/admin/roster/closures?station={station.id}"
        page = client.get(url).get_data(as_text=True)
        response = client.post(
            url, data={"csrf_token": csrf_token(page), "closed_on": "9999-12-31", "kind": kind, "reason": "x"}
        )
    assert response.status_code == 200
    assert "请输入 2000-01-01 至 2100-12-31 之间的日期" in response.get_data(as_text=True)
    assert roster.closures(station, date(9999, 1, 1), date(9999, 12, 31)) == {}


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "2026-02-30", "-1", "99999999999999999999"])
def test_a_hand_set_day_outside_the_supported_years_is_refused_plainly(admin, day):
    client, station = admin
    client.set_cookie("lang", "en")
    with time_machine.travel(NOW, tick=False):
        response = client.get("/admin/roster/day", query_string={"station": station.id, "date": day})
        assert response.status_code == 302
        html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Enter the date as YYYY-MM-DD, between 2000-01-01 and 2100-12-31." in html


@pytest.mark.parametrize("command", [["generate", "--weeks", "4", "--start"], ["close", "--date"]])
def test_the_cli_refuses_year_9999_plainly(app, make_station, command):
    station = make_station("站点乙")
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["roster", command[0], "--station", str(station.id), *command[1:], "9999-12-31"]
    )
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)  # click's usage error, not a traceback
    assert "9999-12-31 is not between 2000-01-01 and 2100-12-31." in result.output


# -- the sweep -------------------------------------------------------------------------------------

# Each sent in every parameter a view reads by name, one parameter at a time …
EXTREMES = [
    "0001-01-01",
    "9999-12-31",
    "9999-12",
    "0001-01",
    "2026-02-30",
    "-1",
    "99999999999999999999",
    "\r\n",
    "/\r\nSet-Cookie: x=1",
    "\u202e",
    "x" * 3000,
]
# … and these too, but only in every common name at once (a NUL byte is refused before any view runs).
ALL_AT_ONCE_ONLY = ["0", "1e309", "\x00"]
# Names any view might read, all sent at once; those a view asks for by name are found as it runs (see
# _Watched) and are then also sent one at a time.
COMMON_NAMES = [
    "date",
    "day",
    "month",
    "year",
    "start",
    "end",
    "start_on",
    "end_on",
    "station",
    "page",
    "next",
    "q",
    "code",
    "status",
    "kind",
    "lawyer",
    "category",
    "outcome",
    "stage",
    "channel",
    "sort",
    "mine",
    "from",
    "to",
    "due_from",
    "due_to",
    "format",
    "full",
    "booking",
    "walkin",
    "reason",
    "actor",
    "action",
    "target_type",
    "target_id",
]
ROLES = [None, "admin", "staff", "lawyer"]
PASSWORDS = {username: password for username, _name, _role, password in demo.DEMO_ACCOUNTS}
RESETTING = {"kiosk.reset", "book.reset", "bookings.forget"}  # these forget the visitor's session


class _Watched(ImmutableMultiDict):
    """Query parameters that remember which names the view asked for (not the hooks before it: the NUL
    check reads them all)."""

    asked: set[str] | None = None
    in_view = False

    def _note(self, key: object) -> None:
        if _Watched.in_view and _Watched.asked is not None and isinstance(key, str):
            _Watched.asked.add(key)

    def get(self, key, default=None, type=None):  # noqa: A002, ANN001, ANN201
        """Note the name, then read it."""
        self._note(key)
        return super().get(key, default=default, type=type)

    def getlist(self, key, type=None):  # noqa: A002, ANN001, ANN201
        """Note the name, then read it."""
        self._note(key)
        return super().getlist(key, type=type)

    def __getitem__(self, key):  # noqa: ANN001, ANN204
        self._note(key)
        return super().__getitem__(key)

    def __contains__(self, key) -> bool:  # noqa: ANN001
        self._note(key)
        return super().__contains__(key)


class _WatchingRequest(Request):
    parameter_storage_class = _Watched


def _watch(app: Flask) -> None:
    """Make the app's requests note the query parameters their views read."""

    def view_starts() -> None:
        _Watched.in_view = True

    def view_ends(_error: BaseException | None = None) -> None:
        _Watched.in_view = False

    app.request_class = _WatchingRequest
    app.before_request(view_starts)  # after the app's own hooks, so just before the view
    app.teardown_request(view_ends)


@pytest.fixture
def world(app: Flask):
    """The demo on a Tuesday morning (a duty day with a queue), with ids of real records."""
    with time_machine.travel(NOW, tick=False):
        demo.load(today=TODAY)
        db.session.commit()
    station = db.session.scalar(sa.select(Station).where(Station.name == demo.DEMO_STATION))
    coming = roster.shifts_between(station, TODAY, TODAY + timedelta(days=30))
    booking = db.session.scalar(
        sa.select(Booking)
        .where(Booking.status == BOOKED, Booking.shift_id.in_([s.id for s in coming]))
        .limit(1)
    )
    slot = db.session.scalar(sa.select(Slot).where(Slot.shift_id == coming[-1].id).order_by(Slot.id).limit(1))
    lawyer = db.session.scalar(sa.select(Lawyer).order_by(Lawyer.id).limit(1))
    latest = {
        model: db.session.scalar(sa.select(sa.func.max(model.id)))
        for model in (Consultation, Matter, OutboxMessage, LawFirm, WalkIn)
    }
    values = {
        "station_id": station.id,
        "shift_id": coming[-1].id,
        "slot_id": slot.id,
        "booking_id": booking.id,
        "lawyer_id": lawyer.id,
        "firm_id": latest[LawFirm],
        "consultation_id": latest[Consultation],
        "matter_id": latest[Matter],
        "message_id": latest[OutboxMessage],
        "user_id": lawyer.user_id,
        "year": TODAY.year,
        "month": "2026-02",
        "category": "labour",
        "token": lawyer.calendar_token,
        "fmt": "csv",
        "code": "zh_Hans_CN",
        "filename": "css/app.css",
    }
    visitor = {"station": station.id, "lookup": booking.id, "ticket": booking.code, "walkin": latest[WalkIn]}
    return values, visitor


def _routes(app: Flask, values: dict) -> list[tuple[str, dict, list[str]]]:
    """Every GET rule: its endpoint, its arguments (real ids, or 1) and which of them are free text (to
    be swept too)."""
    routes = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or set()) or rule.endpoint == "static":
            continue
        args, text_args = {}, []
        for name in rule.arguments:
            converter = rule._converters[name]
            args[name] = values.get(name, 1)
            if not isinstance(converter, IntegerConverter) and type(converter).__name__ != "AnyConverter":
                text_args.append(name)
        routes.append((rule.endpoint, args, text_args))
    return routes


def _sweep(app: Flask, client, values: dict, restore: dict) -> list[str]:
    """GET every route with every extreme value in every parameter it reads; the answers that were 500."""
    failures: list[str] = []

    def get(endpoint: str, path: str, query: dict | None = None) -> int:
        response = client.get(path, query_string=query)
        if response.status_code >= 500:
            failures.append(f"{response.status_code} {endpoint} {path} {query!r}"[:300])
        if endpoint in RESETTING:
            with client.session_transaction() as session:
                session.clear()
                session.update(restore)
        cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
        if cookie is not None and len(cookie.value) > 2000:  # unread messages pile up: drop them
            with client.session_transaction() as session:
                session.pop("_flashes", None)
        return response.status_code

    with app.test_request_context():
        built = [
            (endpoint, url_for(endpoint, **args), args, text_args)
            for endpoint, args, text_args in _routes(app, values)
        ]
    for endpoint, path, args, text_args in built:
        _Watched.asked = set()
        get(endpoint, path)  # as it is
        for value in EXTREMES + ALL_AT_ONCE_ONLY:
            get(endpoint, path, dict.fromkeys(COMMON_NAMES, value))  # every name at once
        names, _Watched.asked = sorted(_Watched.asked), None  # the names the view asked for
        for value in EXTREMES:
            for name in names:  # each alone
                get(endpoint, path, {name: value})
            for name in text_args:  # and the route's own text in the path
                with app.test_request_context():
                    odd = url_for(endpoint, **{**args, name: value})
                get(endpoint, odd)
    return failures


# Not counted in the coverage (pytest-cov's no_cover): the sweep asserts only that no answer is a 500;
# measuring its thousands of requests doubled its time, and what the pages do is asserted by their own tests.
@pytest.mark.no_cover
@pytest.mark.sweep
@pytest.mark.parametrize("username", ROLES)
def test_no_get_route_answers_500_to_odd_input(app, world, username):
    values, visitor = world
    _watch(app)
    client = app.test_client()
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        if username is not None:
            assert login(client, username, PASSWORDS[username]).status_code == 302
        with client.session_transaction() as session:
            session.update(visitor)
            restore = dict(session)
        failures = _sweep(app, client, values, restore)
        if username is not None:  # still the same person at the end: the sweep saw the role's pages
            assert client.get("/account/password").status_code == 200
    assert failures == [], "\n".join(failures)


def test_the_sweep_sees_the_names_a_view_reads(app, client, make_station, make_user):
    _watch(app)  # before the app's first request
    station = make_station("站点丁")
    make_user("admin", username="boss", station_id=station.id)
    _Watched.asked = set()
    with time_machine.travel(NOW, tick=False):
        assert login(client, "boss").status_code == 302
        assert client.get(f"/admin/roster?station={station.id}").status_code == 200
        assert client.get("/language/en").status_code == 302
    asked, _Watched.asked = _Watched.asked, None
    assert {"station", "month", "next"} <= asked
