"""The structure the features rely on: one commit per request, command and job; bookings announce what
happened as rows the reminders read; who may change a station is decided in the service; no import
cycles between modules."""

from __future__ import annotations

import ast
import secrets
from datetime import UTC, date, datetime
from pathlib import Path

import click
import pytest
import sqlalchemy as sa
import time_machine

from legalaid.access import public
from legalaid.bookings import planning
from legalaid.bookings import services as bookings
from legalaid.bookings.models import CANCELLED_EVENT, MADE, MOVED, BookingEvent
from legalaid.errors import NotAllowed
from legalaid.extensions import db
from legalaid.reminders import rules
from legalaid.reminders.models import OutboxMessage
from legalaid.roster import services as roster
from legalaid.stations import services as stations
from legalaid.stations.models import Station
from legalaid.transaction import CommandGroup

PACKAGE = Path(__file__).resolve().parents[1] / "legalaid"
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in Beijing
DAY = date(2026, 3, 10)  # a Tuesday


def _stations_in_another_session(app_factory) -> list[str]:
    """What another connection sees: only committed rows."""
    other = app_factory()
    with other.app_context():
        names = list(db.session.scalars(sa.select(Station.name)))
        db.session.remove()
    return names


# -- one commit per unit of work ---------------------------------------------------------------------


def test_a_request_commits_once_after_its_view_and_nothing_when_the_view_fails(app, app_factory, client):
    def saves() -> str:
        stations.create_station(stations.StationSettings(name="请求提交站"))
        return "ok"

    def fails() -> str:
        stations.create_station(stations.StationSettings(name="请求失败站"))
        raise RuntimeError("the view broke after the service flushed")

    app.add_url_rule("/_test/saves", "test_saves", public(saves), methods=["POST"])
    app.add_url_rule("/_test/fails", "test_fails", public(fails), methods=["POST"])
    app.config["WTF_CSRF_ENABLED"] = False

    assert client.post("/_test/saves").status_code == 200
    assert client.post("/_test/fails").status_code == 500
    assert _stations_in_another_session(app_factory) == ["请求提交站"]


def test_a_command_is_one_unit_of_work(app, app_factory, runner):
    group = CommandGroup("unit-test")

    @group.command("add")
    @click.option("--fail", is_flag=True)
    def add(fail: bool) -> None:
        stations.create_station(stations.StationSettings(name="命令站" + ("失败" if fail else "")))
        if fail:
            raise click.ClickException("stopped after the write")

    app.cli.add_command(group)
    failed = runner.invoke(args=["unit-test", "add", "--fail"])
    assert failed.exit_code != 0 and "stopped after the write" in failed.output
    assert runner.invoke(args=["unit-test", "add"]).exit_code == 0
    assert _stations_in_another_session(app_factory) == ["命令站"]


def _calls(tree: ast.AST, name: str) -> list[int]:
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == name
    ]


def test_only_the_boundaries_and_the_outbox_sweep_commit():
    # The request (transaction.py), commands and jobs commit; the sweep commits each claim before it
    # talks to a gateway, by design. Routes and services only flush.
    allowed = {"transaction.py", "reminders/services.py"}
    committing = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if _calls(ast.parse(path.read_text(encoding="utf-8")), "commit")
    }
    assert committing <= allowed, committing - allowed


# -- modules ------------------------------------------------------------------------------------------


def _module_imports() -> dict[str, set[str]]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        modules[name] = path
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    target = f"{node.module}.{alias.name}"
                    if target in modules:
                        graph[name].add(target)
                    elif node.module in modules and node.module != name:
                        graph[name].add(node.module)
            elif isinstance(node, ast.Import):
                graph[name] |= {alias.name for alias in node.names if alias.name in modules}
    return graph


def test_bookings_do_not_import_the_reminders():
    graph = _module_imports()
    reaching = {
        (module, target)
        for module, targets in graph.items()
        if module.startswith("legalaid.bookings")
        for target in targets
        if target.startswith("legalaid.reminders")
    }
    assert not reaching


def test_no_module_imports_itself_back_through_others():
    graph = _module_imports()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    assert cycles == []


# -- booking events -----------------------------------------------------------------------------------


@pytest.fixture
def day_shift(make_station, make_lawyer):
    station = make_station("事件站")
    lawyer = make_lawyer(station, name="张明")
    with time_machine.travel(NOW, tick=False):
        shift = roster.set_shift_lawyer(station, DAY, lawyer, "测试", today=date(2026, 3, 1))
        db.session.commit()
    return shift


def test_a_booking_announces_itself_and_the_reminders_tell_the_veteran_once(day_shift):
    slots = planning.slots_of(day_shift)
    with time_machine.travel(NOW, tick=False):
        booking = bookings.place_booking(
            bookings.BookingRequest(
                slot_id=slots[0].id,
                name="王建国",
                mobile="13812345678",
                category="labour",
                channel="online",
                idempotency_key=secrets.token_hex(16),
                consent=True,
            )
        )
        bookings.move(booking, slots[2])
        bookings.cancel(booking, "有事，改天再来")
        db.session.commit()
        events = db.session.scalars(sa.select(BookingEvent).order_by(BookingEvent.id)).all()
        assert [(e.kind, e.cause) for e in events] == [
            (MADE, ""),
            (MOVED, "veteran"),
            (CANCELLED_EVENT, "veteran"),
        ]
        # The booking's own transaction queued nothing: the reminders read the rows on their run.
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0
        assert rules.booking_notices(NOW) == 3
        db.session.commit()
        assert rules.booking_notices(NOW) == 0  # read once
    messages = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
    # The confirmation and the move's notice had not gone out: only the cancellation still goes.
    assert [(m.kind, m.status) for m in messages] == [
        ("booking_confirmed", "expired"),
        ("booking_moved", "expired"),
        ("booking_cancelled", "pending"),
    ]
    assert all(e.processed_at is not None for e in db.session.scalars(sa.select(BookingEvent)))


# -- permissions in the services ----------------------------------------------------------------------


def test_only_an_administrator_may_change_a_station(make_station, make_user):
    station = make_station("设置站")
    staff, admin = make_user("staff", station_id=station.id), make_user("admin")
    settings = stations.StationSettings.of(station)
    settings.slot_minutes = 20
    with pytest.raises(NotAllowed):
        stations.update_station(station, settings, by=staff)
    with pytest.raises(NotAllowed):
        planning.replan_coming_days(station, by=staff)
    with pytest.raises(NotAllowed):
        stations.create_station(stations.StationSettings(name="越权站"), by=staff)
    assert stations.update_station(station, settings, by=admin) == {"slot_minutes": [30, 20]}


def test_who_may_call_the_next_person_is_decided_by_the_service(
    day_shift, make_user, make_lawyer, make_station
):
    from legalaid.bookings import calling

    station = day_shift.station
    other_station = make_station("别处站")
    off_duty = make_lawyer(station, name="王芳")
    desk, elsewhere = (
        make_user("staff", station_id=station.id),
        make_user("staff", station_id=other_station.id),
    )
    duty_user = day_shift.lawyer.user
    on_the_day = datetime(2026, 3, 10, 1, 30, tzinfo=UTC)  # 09:30 in Beijing
    with time_machine.travel(on_the_day, tick=False):
        for stranger in (off_duty.user, elsewhere):
            with pytest.raises(NotAllowed):
                calling.call_next(station, by=stranger)
        for allowed in (desk, duty_user, make_user("admin")):
            assert calling.call_next(station, by=allowed) is None  # nobody waiting, but allowed to call
