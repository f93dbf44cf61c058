"""The audit log reads in words in every language: each action the code records, each record type and
each detail has a label translated in both Chinese catalogs; the page says the details as sentences or
label–value pairs (dates as dates, codes as names, yes/no as words — never a Python value); a veteran
acting at the kiosk or online is "访客（自助机）" / "访客（网上）", not "system". And the swap page names
its two lawyers, not a start and an end."""

from __future__ import annotations

import ast
import re
from datetime import UTC, date, datetime
from html import unescape
from pathlib import Path

import pytest
import time_machine
from babel.messages.pofile import read_po
from flask_babel.speaklater import LazyString

from legalaid import audit
from legalaid.audit import labels
from legalaid.audit import wording as _wording  # noqa: F401  (loads every feature's labels)
from legalaid.bookings import planning
from legalaid.bookings import services as bookings
from legalaid.extensions import db
from legalaid.reports.services import LogFilter
from legalaid.roster import services as roster
from legalaid.stations.services import StationSettings, update_station
from legalaid.swaps import services as swaps
from tests.conftest import csrf_token, login

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "legalaid"
CATALOGS = ROOT / "legalaid" / "translations"
LANGUAGES = ("zh_Hans_CN", "zh_Hant_TW")

DAY = date(2026, 3, 10)  # a Tuesday
SET_UP = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
ON_THE_DAY = datetime(2026, 3, 10, 1, 30, tzinfo=UTC)  # 09:30 in Beijing
READ_AT = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)


# -- every recorded action, record type and detail has a label in each catalog --------------------------


def _constants(tree: ast.Module) -> dict[str, str]:
    """The module's NAME = "string" constants (an action may be recorded through one)."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name) and isinstance(node.value.value, str):
                    found[target.id] = node.value.value
    return found


def _actions_of(node: ast.expr, constants: dict[str, str]) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _actions_of(node.body, constants) + _actions_of(node.orelse, constants)
    if isinstance(node, ast.Name) and node.id in constants:
        return [constants[node.id]]
    raise AssertionError(f"an action the test cannot read: {ast.unparse(node)}")


def _is_audit_record(call: ast.Call) -> bool:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr == "record" and isinstance(func.value, ast.Name) and func.value.id == "audit"
    return False


def recorded() -> dict[str, set[str]]:
    """Every action passed to audit.record in the code, with the detail keys written as a dict there."""
    actions: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = _constants(tree)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and _is_audit_record(node) and node.args):
                continue
            keys = set()
            for keyword in node.keywords:
                if keyword.arg == "details" and isinstance(keyword.value, ast.Dict):
                    keys |= {k.value for k in keyword.value.keys if isinstance(k, ast.Constant)}
            for action in _actions_of(node.args[0], constants):
                actions.setdefault(action, set()).update(keys)
    return actions


# Details built elsewhere and passed by name: a station's changed settings, and the exports' details.
BUILT_ELSEWHERE = {
    "station.update": set(StationSettings.__dataclass_fields__),
    "report.export": {"format", "full_numbers", "filter", "reason", "note", "rows", "report", "year"}
    | {"station_id", "via"},
}
EXPORT_FILTER_KEYS = set(LogFilter.__dataclass_fields__) | {"station_id", "from", "to"}


def _translated(language: str) -> dict[tuple[str | None, str], str]:
    with (CATALOGS / language / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh)
    return {
        (message.context, message.id): message.string
        for message in catalog
        if message.id and isinstance(message.id, str) and message.string and not message.fuzzy
    }


def _msgid(label: object) -> str | None:
    """The message id behind a lazy label (None for words that need no translation, like "CSV")."""
    return label._args[0] if isinstance(label, LazyString) else None


def _labels_of(detail: labels.Detail) -> list[object]:
    found = [detail.label, detail.empty]
    show = detail.show
    if isinstance(show, labels.Choice):
        found += list(show.labels.values())
    if isinstance(show, labels.Nested):
        for inner in show.details.values():
            found += _labels_of(inner)
    return [label for label in found if label is not None]


def test_the_walk_finds_the_actions():
    actions = recorded()
    assert {"booking.create", "walkin.call", "consultation.view", "matter.close", "report.export"} <= set(
        actions
    )
    assert {"outbox.resend", "roster.check_in", "station.update", "swap.refuse", "user.deactivate"} <= set(
        actions
    )
    assert {"channel", "date", "mobile"} <= actions["booking.create"]


def test_every_recorded_action_has_a_label_in_each_catalog():
    actions = recorded()
    unnamed = sorted(a for a in actions if a not in labels.ACTIONS)
    assert not unnamed, f"actions recorded without a label: {unnamed}"
    for language in LANGUAGES:
        catalog = _translated(language)
        missing = sorted(a for a in actions if (None, _msgid(labels.ACTIONS[a])) not in catalog)
        assert not missing, f"{language} lacks the labels of {missing}"


def test_every_detail_key_has_a_label():
    actions = recorded()
    for action, keys in BUILT_ELSEWHERE.items():
        actions[action] |= keys
    unnamed = sorted(
        (action, key)
        for action, keys in actions.items()
        for key in keys
        if key not in labels.ACTION_DETAILS.get(action, {}) and key not in labels.DETAILS
    )
    assert not unnamed, f"details recorded without a label: {unnamed}"
    export_filter = labels.ACTION_DETAILS["report.export"]["filter"].show
    assert isinstance(export_filter, labels.Nested)
    assert set(export_filter.details) >= EXPORT_FILTER_KEYS


def test_every_record_type_and_detail_label_is_in_each_catalog():
    targets = {
        "users",
        "stations",
        "lawyers",
        "law_firms",
        "duty_shifts",
        "swap_requests",
        "bookings",
        "walk_ins",
        "consultations",
        "matters",
        "monthly_reviews",
        "outbox_messages",
    }
    assert targets <= set(labels.TARGETS)
    words = [label for label, _endpoint, _arg in labels.TARGETS.values()]
    for detail in [
        *labels.DETAILS.values(),
        *(d for own in labels.ACTION_DETAILS.values() for d in own.values()),
    ]:
        words += _labels_of(detail)
    msgids = sorted({m for m in map(_msgid, words) if m})
    assert len(msgids) > 50
    for language in LANGUAGES:
        catalog = _translated(language)
        missing = [m for m in msgids if (None, m) not in catalog]
        assert not missing, f"{language} lacks {missing}"
        for context_and_id in (("swap", "From"), ("swap", "To")):
            assert context_and_id in catalog, f"{language} lacks {context_and_id}"


# -- the page, in three languages ---------------------------------------------------------------------


@pytest.fixture
def log(app, client, make_station, make_lawyer, make_user, make_booking):
    """A log of typical entries: bookings made at the kiosk and online, a number taken at the kiosk,
    a settings change, a correction, an export with its filter, a swap approval, a re-plan, a hand-over
    of a matter, a duty lawyer set by hand, a message sent again and a no-show marked by the system;
    `client` is the administrator's, signed in at READ_AT."""
    with time_machine.travel(SET_UP, tick=False):
        station = make_station("词语站")
        lawyer = make_lawyer(station, name="张明")
        roster.set_shift_lawyer(station, DAY, lawyer, "排班", today=date(2026, 3, 1))
        db.session.commit()
        planning.plan_slots(roster.shift_on(station, DAY))
        db.session.commit()
        chief = make_user("admin", username="chief", display_name="王局长")
        deputy = make_user("admin", username="deputy", display_name="李副局长")
        shift = roster.shift_on(station, DAY)
        make_booking(shift, name="赵建国", channel="kiosk", slot=0)
        online = make_booking(shift, name="钱卫国", channel="online", slot=1)
        settings = StationSettings.of(station)
        settings.places_per_slot, settings.swap_auto_approve = 2, True
        update_station(station, settings, by=chief)
        db.session.commit()
    with time_machine.travel(ON_THE_DAY, tick=False):
        start = client.get(f"/kiosk/?station={station.id}").get_data(as_text=True)
        assert client.post("/kiosk/walkin", data={"csrf_token": csrf_token(start)}).status_code == 302
        for action, target, details in (
            ("consultation.correct", None, {"same_day": True}),
            (
                "report.export",
                None,
                {
                    "format": "csv",
                    "full_numbers": False,
                    "filter": {
                        "start_on": "2026-01-01",
                        "category": "labour",
                        "sort": "date",
                        "descending": True,
                    },
                    "rows": 5,
                },
            ),
            ("swap.approve", None, {"date": "2026-03-10", "auto": False}),
            (
                "station.replan",
                station,
                {"days": ["2026-03-17", "2026-03-24"], "kept": {"2026-03-31": "有人预约"}},
            ),
            ("matter.reassign", None, {"from": chief.id, "to": deputy.id}),
            (
                "roster.set_lawyer",
                shift,
                {"date": "2026-03-10", "from": None, "to": lawyer.id, "reason": "排班"},
            ),
            ("outbox.resend", None, {"kind": "booking_confirmed"}),
        ):
            audit.record(action, target, details=details, actor=chief)
        bookings.mark_no_show(online)  # as the day's sweep does: nobody signed in, no visitor
        db.session.commit()
    with time_machine.travel(READ_AT, tick=False):
        login(client, "chief")
    return {"station": station}


def _rows(client, language: str) -> list[str]:
    """The log's rows as text (tags stripped), read in a language."""
    with time_machine.travel(READ_AT, tick=False):
        client.get(f"/language/{language}")
        page = client.get("/admin/audit/").get_data(as_text=True)
    body = re.search(r"<tbody>(.*?)</tbody>", page, re.S).group(1)
    cells = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [
        " ".join(unescape(re.sub(r"<[^>]+>", "", re.sub(r"</(td|div)>", " ", row))).split()) for row in cells
    ]


def _row(rows: list[str], words: str) -> str:
    found = [row for row in rows if words in row]
    assert found, f"no row says {words!r}"
    return found[0]


CODES = re.compile(r"[a-z_]+\.[a-z_]+|\{'|\['|True|False|None|\d{4}-\d{2}-\d{2}|visitor:|\bsystem\b")


def _no_codes(rows: list[str]) -> None:
    for row in rows:
        assert not CODES.search(row), row


def test_the_log_reads_in_simplified_chinese(client, log):
    rows = _rows(client, "zh_Hans_CN")
    _no_codes(rows)
    kiosk = _row(rows, "渠道：自助终端")
    assert "访客（自助机） 新建预约 预约 #" in kiosk and "日期：2026年3月10日 星期二" in kiosk
    assert "手机号码：138****" in kiosk  # masked, as recorded
    assert "访客（网上） 新建预约" in _row(rows, "渠道：网上预约")
    walkin = _row(rows, "排队号：A001")
    assert "访客（自助机） 领取现场排队号" in walkin  # taken at the kiosk: the visitor's own act
    assert "系统 登记未到" in _row(rows, "登记未到")
    settings = _row(rows, "修改站点设置")
    assert "每个预约时段的名额：1 → 2" in settings and "同事接受后自动批准调班：否 → 是" in settings
    assert "修改时间：咨询当天" in _row(rows, "修改咨询记录")
    export = _row(rows, "导出报表")
    assert "格式：CSV" in export and "手机和身份证号码：已隐去部分数字" in export and "行数：5" in export
    assert "开始日期：2026年1月1日 星期四；事项类别：劳动争议；排序依据：日期；排序：降序" in export
    assert "批准方式：管理员" in _row(rows, "批准调班")
    replan = _row(rows, "重新安排的日期")
    assert "2026年3月17日 星期二和2026年3月24日 星期二" in replan
    assert "保留原安排的日期：2026年3月31日 星期二（有人预约）" in replan
    reassign = _row(rows, "跟踪事项已改派")
    assert "原负责人：王局长（chief）" in reassign and "新负责人：李副局长（deputy）" in reassign
    by_hand = _row(rows, "chief 手工指定值班律师")
    assert "原值班律师：无" in by_hand and "现值班律师：张明" in by_hand and "原因：排班" in by_hand
    assert "消息：预约成功" in _row(rows, "消息已重发")


def test_the_log_reads_in_traditional_chinese(client, log):
    rows = _rows(client, "zh_Hant_TW")
    _no_codes(rows)
    assert "訪客" in _row(rows, "A001")
    assert re.search(r"[\u4e00-\u9fff]", _row(rows, "A001"))


def test_the_log_reads_in_english(client, log):
    rows = _rows(client, "en")
    _no_codes(rows)
    kiosk = _row(rows, "Channel: Kiosk")
    assert "Visitor (kiosk)" in kiosk and "Booking made" in kiosk and "Date: Tuesday 10 March 2026" in kiosk
    assert "Visitor (online)" in _row(rows, "Channel: Online")
    assert "Visitor (kiosk)" in _row(rows, "Queue number: A001")
    assert "System" in _row(rows, "Marked as not come")
    assert "Places per slot: 1 → 2" in _row(rows, "Station settings changed")
    assert "Sorted by: Date; Order: descending" in _row(rows, "Report exported")
    assert "Owner before: 王局长 (chief)" in _row(rows, "Follow-up matter reassigned")


def test_what_nobody_signed_in_does_on_the_public_pages_is_the_visitors(app):
    with app.test_request_context("/book/"):
        online = audit.record("test.visit")
    with app.test_request_context("/kiosk/"):
        kiosk = audit.record("test.visit")
    with app.test_request_context("/login"):
        elsewhere = audit.record("test.visit")
    assert (online.actor_name, kiosk.actor_name, elsewhere.actor_name) == (
        "visitor:online",
        "visitor:kiosk",
        "system",
    )
    assert online.actor_id is None and kiosk.actor_id is None
    db.session.rollback()


# -- the swap page ------------------------------------------------------------------------------------


@pytest.fixture
def swap_asked(app, make_station, make_lawyer, make_user):
    """Lawyer 甲 asks 乙 to take a March shift, with a note; 乙 accepts. An administrator exists."""
    with time_machine.travel(SET_UP, tick=False):
        station = make_station("调班词语站")
        a, b = make_lawyer(station, name="甲"), make_lawyer(station, name="乙")
        shift = roster.set_shift_lawyer(station, DAY, a, "排班", today=date(2026, 3, 1))
        make_user("admin", username="chief")
        swap = swaps.request_swap(shift, a, b, "家中有事", today=date(2026, 3, 1))
        db.session.commit()
    return a, b, swap


def test_the_swap_pages_name_the_two_lawyers(app_factory, swap_asked):
    a, b, swap = swap_asked
    colleague, chief = app_factory().test_client(), app_factory().test_client()
    with time_machine.travel(SET_UP, tick=False):
        login(colleague, b.user.username)
        mine = colleague.get("/me/swaps").get_data(as_text=True)
        assert "甲 请您接替这次值班：“家中有事”" in mine  # a Chinese colon before the note
        swaps.accept_swap(swap, b, today=date(2026, 3, 1))
        db.session.commit()
        login(chief, "chief")
        pending = chief.get("/admin/swaps").get_data(as_text=True)
        chief.get("/language/en")
        english = chief.get("/admin/swaps").get_data(as_text=True)
    header = re.search(r"<thead>(.*?)</thead>", pending, re.S).group(1)
    assert "<th>原值班律师</th><th>替班律师</th>" in header
    assert "开始" not in header and "结束" not in header and "起" not in header and "止" not in header
    assert "<th>From</th><th>To</th>" in english
