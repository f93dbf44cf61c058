"""The audit log page's filters: each of who, what, record type, record id, from and to narrows the list
to exactly the entries it names (days are the station's days, not UTC's), they combine, paging keeps
them, and a wrong value is told next to its field with what was typed kept, never a 500."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
import time_machine

from legalaid import audit
from legalaid.audit.models import AuditEntry
from legalaid.extensions import db
from tests.conftest import field_errors, field_tag, login

SET_UP = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)  # the accounts, station, firm and lawyers are made
NOW = datetime(2026, 3, 12, 2, 0, tzinfo=UTC)  # when the administrator reads the log (10:00 Beijing)


@pytest.fixture
def log(app, client, make_user, make_station, make_firm, make_lawyer):
    """A log with entries on each side of the station's midnight, by two administrators, of two
    actions on two record types; `client` is signed in as "chief" at NOW."""
    with time_machine.travel(SET_UP, tick=False):
        chief, deputy = make_user("admin", username="chief"), make_user("admin", username="deputy")
        station = make_station("审计站")
        firm = make_firm("明理律师事务所")
        first, second = make_lawyer(station, account=False), make_lawyer(station, account=False)
    entries = {
        # 23:30 on 8 March in Beijing (15:30 UTC)
        "e1": (datetime(2026, 3, 8, 15, 30, tzinfo=UTC), "firm.update", firm, chief),
        # 00:10 on 9 March in Beijing, still 8 March in UTC
        "e2": (datetime(2026, 3, 8, 16, 10, tzinfo=UTC), "lawyer.update", first, chief),
        "e3": (datetime(2026, 3, 9, 2, 0, tzinfo=UTC), "lawyer.update", second, deputy),
        "e4": (datetime(2026, 3, 10, 1, 0, tzinfo=UTC), "firm.update", firm, deputy),
    }
    ids = {}
    for key, (at, action, target, actor) in entries.items():
        with time_machine.travel(at, tick=False):
            ids[key] = audit.record(action, target, actor=actor, details={"name": key}).id
    db.session.commit()
    with time_machine.travel(NOW, tick=False):
        login(client, "chief")  # itself an entry: chief, auth.login, today
    return {"ids": ids, "firm": firm, "first": first, "second": second}


def _read(client, query: str) -> tuple[int, str]:
    """The count the page states and its HTML, read at NOW."""
    with time_machine.travel(NOW, tick=False):
        response = client.get(f"/admin/audit/?{query}")
    assert response.status_code == 200, query
    page = response.get_data(as_text=True)
    return int(re.search(r"共 (\d+) 条记录", page).group(1)), page


def _rows(page: str) -> list[str]:
    body = re.search(r"<tbody>(.*?)</tbody>", page, re.S).group(1)
    return [row for row in re.findall(r"<tr>(.*?)</tr>", body, re.S) if "<td colspan" not in row]


def _shown(page: str) -> set[str]:
    """Which of the test's own entries (e1 … e4) the page lists."""
    return set(re.findall(r"\be[1-4]\b", " ".join(_rows(page))))


def _expected(**where) -> int:
    query = sa.select(sa.func.count()).select_from(AuditEntry)
    for column, value in where.items():
        query = query.where(getattr(AuditEntry, column) == value)
    return db.session.scalar(query)


def test_unfiltered_the_whole_log_shows_newest_first(client, log):
    total, page = _read(client, "")
    assert total == _expected() and len(_rows(page)) == total
    assert "<td>登录</td>" in _rows(page)[0]  # the sign-in just now comes first, in words
    order = [key for row in _rows(page) for key in re.findall(r"\be[1-4]\b", row)]
    assert order == ["e4", "e3", "e2", "e1"]


@pytest.mark.parametrize(
    ("typed", "actor"), [("chief", "chief"), ("  CHIEF ", "chief"), ("deputy", "deputy")]
)
def test_the_user_filter(client, log, typed, actor):
    total, page = _read(client, f"actor={typed}")
    assert total == _expected(actor_name=actor) and len(_rows(page)) == total
    assert all(f"<td>{actor}</td>" in row for row in _rows(page))
    assert _shown(page) == ({"e1", "e2"} if actor == "chief" else {"e3", "e4"})


def test_the_action_filter(client, log):
    total, page = _read(client, "action=firm.update")
    assert total == 2 and _shown(page) == {"e1", "e4"}
    assert all("修改律师事务所信息" in row for row in _rows(page))
    total, page = _read(client, "action=lawyer.update")
    assert total == 2 and _shown(page) == {"e2", "e3"}


def test_the_record_type_and_record_id_filters(client, log):
    lawyers = _expected(target_type="lawyers")
    total, page = _read(client, "target_type=lawyers")
    assert total == lawyers == 4  # two added at the set-up, two changed
    assert _shown(page) == {"e2", "e3"}
    first = log["first"].id
    total, page = _read(client, f"target_type=lawyers&target_id={first}")
    assert total == 2 and _shown(page) == {"e2"}  # e2 and the lawyer's creation
    assert all(f"#{first}<" in row for row in _rows(page))
    total, page = _read(client, f"target_id={first}")  # any record type with that id
    assert total == _expected(target_id=first) and all(f"#{first}<" in row for row in _rows(page))


def test_the_date_filters_are_the_stations_days(client, log):
    total, page = _read(client, "start_on=2026-03-09&end_on=2026-03-09")
    assert total == 2 and _shown(page) == {"e2", "e3"}  # 00:10 in Beijing is the 9th, though UTC's 8th
    total, page = _read(client, "end_on=2026-03-08")
    assert _shown(page) == {"e1"} and total == _expected() - 4  # all but e2 … e4 and today's sign-in
    total, page = _read(client, "start_on=2026-03-10")
    assert total == 2 and _shown(page) == {"e4"}  # e4 and today's sign-in
    total, page = _read(client, "start_on=2026-03-10&end_on=2026-03-09")
    assert total == 0 and "没有符合条件的记录。请清除某个筛选条件或放宽日期范围。" in page


def test_filters_combine(client, log):
    total, page = _read(client, "actor=chief&action=lawyer.update&start_on=2026-03-09&end_on=2026-03-09")
    assert total == 1 and _shown(page) == {"e2"}
    total, page = _read(client, "actor=deputy&target_type=lawyers&end_on=2026-03-08")
    assert total == 0 and "没有符合条件的记录" in page


def test_paging_keeps_the_filter(client, log):
    deputy = db.session.scalar(sa.select(AuditEntry.actor_id).where(AuditEntry.actor_name == "deputy"))
    with time_machine.travel(datetime(2026, 3, 11, 2, 0, tzinfo=UTC), tick=False):
        for n in range(55):
            db.session.add(
                AuditEntry(actor_id=deputy, actor_name="deputy", action="report.export", details={"n": n})
            )
    db.session.commit()
    total, page = _read(client, "action=report.export")
    assert total == 55 and len(_rows(page)) == 50 and "1 / 2" in page
    older = re.search(r'href="(/admin/audit/\?[^"]+)">[^<]*</a>', page).group(1).replace("&amp;", "&")
    assert "action=report.export" in older and "page=2" in older and "submit" not in older
    total, page = _read(client, older.split("?", 1)[1])
    assert total == 55 and len(_rows(page)) == 5 and "2 / 2" in page


@pytest.mark.parametrize(
    ("query", "field", "words", "kept"),
    [
        ("target_id=abc", "target_id", "整数", 'value="abc"'),
        ("target_id=0", "target_id", "1 到 2147483647", 'value="0"'),
        ("target_id=99999999999", "target_id", "1 到 2147483647", 'value="99999999999"'),
        ("start_on=2026-13-01", "start_on", "日期", 'value="2026-13-01"'),
        ("end_on=yesterday", "end_on", "日期", 'value="yesterday"'),
        ("start_on=1999-12-31", "start_on", "2000-01-01 至 2100-12-31", 'value="1999-12-31"'),
        ("action=no.such.thing", "action", "选择", None),
        ("target_type=nope", "target_type", "选择", None),
        ("actor=" + "x" * 65, "actor", "64", 'value="' + "x" * 65 + '"'),
    ],
    ids=[
        "id-not-a-number",
        "id-zero",
        "id-too-big",
        "bad-date",
        "not-a-date",
        "date-too-early",
        "unknown-action",
        "unknown-type",
        "user-too-long",
    ],
)
def test_a_wrong_value_is_told_beside_its_field(client, log, query, field, words, kept):
    _total, page = _read(client, query)
    messages = field_errors(page, field)
    assert messages, f"no message beside {field}"
    assert words in messages[0] and not re.search(r"[A-Za-z]{3}", messages[0])  # said in Chinese
    tag = field_tag(page, field)
    assert "is-invalid" in tag
    if kept:
        assert kept in tag  # what was typed stays in the box


def test_every_wrong_field_is_told_at_once(client, log):
    _total, page = _read(client, "target_id=abc&start_on=2026-13-01&action=no.such.thing")
    told = {
        name
        for name in ("actor", "action", "target_type", "target_id", "start_on", "end_on")
        if field_errors(page, name)
    }
    assert told == {"target_id", "start_on", "action"}


def test_odd_page_numbers_are_harmless(client, log):
    for query in ("page=0", "page=-3", "page=abc", "page=999"):
        total, _page = _read(client, query)
        assert total == _expected()
