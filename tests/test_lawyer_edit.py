"""The administrator edits a lawyer's record and a law firm: the page shows what is stored, a good
change is saved and logged, a wrong one is told beside its field with what was typed kept and nothing
saved; a contract cut short over a coming shift says which day needs another lawyer."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from html import unescape

import pytest
import sqlalchemy as sa
import time_machine

from legalaid.audit.models import AuditEntry
from legalaid.extensions import db
from legalaid.lawyers.models import LawFirm, Lawyer
from legalaid.roster import services as roster
from tests.conftest import csrf_token, field_errors, field_tag, login

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 2 March 2026, 10:00 in Beijing
DUTY_DAY = date(2026, 3, 10)  # the lawyer's coming Tuesday


@pytest.fixture
def office(app, client, make_station, make_firm, make_lawyer, make_user):
    """Two firms, two lawyers of a station (the first on duty on DUTY_DAY), a spare lawyer account;
    `client` is the administrator "chief", signed in at NOW."""
    station = make_station("律师管理站")
    firm, other_firm = make_firm("明理律师事务所"), make_firm("正义律师事务所")
    lawyer = make_lawyer(station, name="王芳", firm_id=firm.id, email="wangfang@example.org")
    colleague = make_lawyer(station, name="李强", firm_id=firm.id)
    roster.set_shift_lawyer(station, DUTY_DAY, lawyer, "排班", today=date(2026, 3, 1))
    db.session.commit()
    spare = make_user("lawyer", username="spare", station_id=station.id)
    make_user("staff", username="desk", station_id=station.id)
    make_user("admin", username="chief")
    with time_machine.travel(NOW, tick=False):
        login(client, "chief")
    return {
        "station": station,
        "firm": firm,
        "other_firm": other_firm,
        "lawyer": lawyer,
        "colleague": colleague,
        "spare": spare,
    }


def _lawyer_form(lawyer: Lawyer, **changes: object) -> dict:
    """The edit form as the page fills it for this lawyer, with some fields changed."""
    form = {
        "name": lawyer.name,
        "firm_id": str(lawyer.firm_id),
        "licence_no": lawyer.licence_no,
        "mobile": lawyer.mobile,
        "email": lawyer.email,
        "specialties": list(lawyer.specialties),
        "contract_start": lawyer.contract_start.isoformat(),
        "contract_end": lawyer.contract_end.isoformat() if lawyer.contract_end else "",
        "user_id": str(lawyer.user_id or 0),
    }
    form.update(changes)
    return form


def _submit(client, url: str, data: dict):
    with time_machine.travel(NOW, tick=False):
        page = client.get(url)
        assert page.status_code == 200
        return client.post(url, data={**data, "csrf_token": csrf_token(page.get_data(as_text=True))})


def _stored(lawyer_id: int) -> Lawyer:
    db.session.expire_all()
    return db.session.get(Lawyer, lawyer_id)


def _entries(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action)))


def _error(page: str, field: str) -> str | None:
    """The first message beside a field, if any."""
    return next(iter(field_errors(page, field)), None)


def _value(page: str, field: str) -> str | None:
    value = re.search(r'value="([^"]*)"', field_tag(page, field))
    return unescape(value.group(1)) if value else None


# -- a lawyer --------------------------------------------------------------------------------------


def test_the_page_shows_the_lawyers_record(client, office):
    lawyer = office["lawyer"]
    with time_machine.travel(NOW, tick=False):
        page = client.get(f"/admin/lawyers/{lawyer.id}").get_data(as_text=True)
    assert "<h1" in page and "王芳" in page
    assert _value(page, "name") == "王芳" and _value(page, "licence_no") == lawyer.licence_no
    assert _value(page, "email") == "wangfang@example.org" and _value(page, "contract_start") == "2020-01-01"
    firm = re.search(r'<select[^>]*id="firm_id".*?</select>', page, re.S).group(0)
    assert re.search(rf'<option selected value="{office["firm"].id}">', firm)
    account = re.search(r'<select[^>]*id="user_id".*?</select>', page, re.S).group(0)
    assert re.search(rf'<option selected value="{lawyer.user_id}">', account)
    assert f'value="{office["spare"].id}"' in account  # a free lawyer account may be linked
    assert f'value="{office["colleague"].user_id}"' not in account  # one already linked may not


def test_the_administrator_changes_a_lawyer(client, office):
    lawyer, other_firm, spare = office["lawyer"], office["other_firm"], office["spare"]
    url = f"/admin/lawyers/{lawyer.id}"
    data = _lawyer_form(
        lawyer,
        name="王芳（调入）",
        firm_id=str(other_firm.id),
        mobile="13903919999",
        email="",
        specialties=["labour", "family"],
        contract_end="2027-12-31",
        user_id=str(spare.id),
    )
    response = _submit(client, url, data)
    assert response.status_code == 302 and response.headers["Location"] == url
    with time_machine.travel(NOW, tick=False):
        page = client.get(url).get_data(as_text=True)
    assert "已保存。" in page and "无法承担" not in page  # the shift on the 10th is still hers
    stored = _stored(lawyer.id)
    assert (stored.name, stored.firm_id, stored.mobile, stored.email) == (
        "王芳（调入）",
        other_firm.id,
        "13903919999",
        "",
    )
    assert stored.specialties == ["labour", "family"] and stored.contract_end == date(2027, 12, 31)
    assert stored.user_id == spare.id
    [entry] = _entries("lawyer.update")
    assert entry.actor_name == "chief" and entry.target_id == lawyer.id
    assert entry.details == {"name": "王芳（调入）"}


def test_a_contract_cut_short_over_a_coming_shift_names_the_day(client, office):
    lawyer = office["lawyer"]
    url = f"/admin/lawyers/{lawyer.id}"
    response = _submit(client, url, _lawyer_form(lawyer, contract_end="2026-03-05"))
    assert response.status_code == 302
    with time_machine.travel(NOW, tick=False):
        page = client.get(url).get_data(as_text=True)
    assert "已保存。" in page
    warning = re.search(r"alert-warning[^>]*>(.*?)</div>", page, re.S)
    assert warning and "王芳 无法承担" in warning.group(1) and "3月10日" in warning.group(1)
    assert _stored(lawyer.id).contract_end == date(2026, 3, 5)


@pytest.mark.parametrize(
    ("field", "typed", "words"),
    [
        ("licence_no", "1410820000000", "17 位数字"),
        ("mobile", "0391-1234567", "11 位手机号码"),
        ("email", "not-an-address", "邮箱"),
        ("contract_end", "2019-12-31", "不能早于开始日期"),
        ("name", "   ", None),
    ],
)
def test_a_wrong_value_is_told_and_nothing_is_saved(client, office, field, typed, words):
    lawyer = office["lawyer"]
    before = (lawyer.name, lawyer.licence_no, lawyer.mobile, lawyer.email, lawyer.contract_end)
    data = _lawyer_form(lawyer, **{"name": "改了名字", field: typed})
    response = _submit(client, f"/admin/lawyers/{lawyer.id}", data)
    page = response.get_data(as_text=True)
    assert response.status_code == 200  # the same page, with the message
    message = _error(page, field)
    assert message, f"no message beside {field}"
    if words:
        assert words in message
    if field not in ("name", "contract_end"):
        assert _value(page, field) == typed  # what was typed stays
    assert _value(page, "name") == data["name"].strip() or _value(page, "name") == data["name"]
    stored = _stored(lawyer.id)
    assert (stored.name, stored.licence_no, stored.mobile, stored.email, stored.contract_end) == before
    assert _entries("lawyer.update") == []


def test_another_lawyers_licence_or_account_is_refused(client, office):
    lawyer, colleague = office["lawyer"], office["colleague"]
    url = f"/admin/lawyers/{lawyer.id}"
    page = _submit(client, url, _lawyer_form(lawyer, licence_no=colleague.licence_no)).get_data(as_text=True)
    assert colleague.licence_no in (_error(page, "licence_no") or "")
    page = _submit(client, url, _lawyer_form(lawyer, user_id=str(colleague.user_id))).get_data(as_text=True)
    assert _error(page, "user_id")  # not offered, and refused if sent anyway
    desk = db.session.scalar(sa.text("SELECT id FROM users WHERE username = 'desk'"))
    page = _submit(client, url, _lawyer_form(lawyer, user_id=str(desk))).get_data(as_text=True)
    assert _error(page, "user_id")
    stored = _stored(lawyer.id)
    assert stored.licence_no != colleague.licence_no and stored.user_id == lawyer.user_id
    assert _entries("lawyer.update") == []


def test_every_wrong_field_is_told_at_once(client, office):
    lawyer = office["lawyer"]
    data = _lawyer_form(lawyer, licence_no="123", mobile="12345", email="nope")
    page = _submit(client, f"/admin/lawyers/{lawyer.id}", data).get_data(as_text=True)
    assert _error(page, "licence_no") and _error(page, "mobile") and _error(page, "email")


def test_only_an_administrator_edits_lawyers(app, client, office):
    lawyer = office["lawyer"]
    with time_machine.travel(NOW, tick=False):
        assert client.get("/admin/lawyers/999999").status_code == 404
        for username in ("desk", lawyer.user.username):
            other = app.test_client()
            login(other, username)
            assert other.get(f"/admin/lawyers/{lawyer.id}").status_code == 403
            token = csrf_token(other.get("/").get_data(as_text=True))
            response = other.post(
                f"/admin/lawyers/{lawyer.id}", data={**_lawyer_form(lawyer, name="篡改"), "csrf_token": token}
            )
            assert response.status_code == 403
    assert _stored(lawyer.id).name == "王芳" and _entries("lawyer.update") == []


# -- a firm ----------------------------------------------------------------------------------------


def _firm(firm_id: int) -> LawFirm:
    db.session.expire_all()
    return db.session.get(LawFirm, firm_id)


def test_the_administrator_changes_a_firm(client, office):
    firm = office["firm"]
    url = f"/admin/firms/{firm.id}"
    with time_machine.travel(NOW, tick=False):
        page = client.get(url).get_data(as_text=True)
    assert _value(page, "name") == "明理律师事务所" and _value(page, "phone") == "0391-1234567"
    response = _submit(
        client,
        url,
        {"name": "  明理（焦作）律师事务所 ", "contact_person": "赵主任", "phone": "0391-7654321"},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/admin/firms"
    with time_machine.travel(NOW, tick=False):
        listing = client.get("/admin/firms").get_data(as_text=True)
    assert "已保存。" in listing and "明理（焦作）律师事务所" in listing
    stored = _firm(firm.id)
    assert (stored.name, stored.contact_person, stored.phone) == (
        "明理（焦作）律师事务所",
        "赵主任",
        "0391-7654321",
    )
    [entry] = _entries("firm.update")
    assert entry.actor_name == "chief" and entry.target_id == firm.id
    assert entry.details == {"name": "明理（焦作）律师事务所"}
    assert _stored(office["lawyer"].id).firm.name == "明理（焦作）律师事务所"  # its lawyers follow


def test_a_firm_keeps_its_own_name(client, office):
    firm = office["firm"]
    response = _submit(
        client, f"/admin/firms/{firm.id}", {"name": firm.name, "contact_person": "钱", "phone": ""}
    )
    assert response.status_code == 302
    assert _firm(firm.id).contact_person == "钱"


@pytest.mark.parametrize(
    ("name", "words"), [("正义律师事务所", "已有名为“正义律师事务所”的律师事务所。"), ("", None)]
)
def test_a_firms_name_must_be_given_and_new(client, office, name, words):
    firm = office["firm"]
    response = _submit(client, f"/admin/firms/{firm.id}", {"name": name, "contact_person": "孙", "phone": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    message = _error(page, "name")
    assert message and (words is None or message == words)
    assert _value(page, "name") == name and _value(page, "contact_person") == "孙"  # kept as typed
    stored = _firm(firm.id)
    assert (stored.name, stored.contact_person) == ("明理律师事务所", "联系人")
    assert _entries("firm.update") == []


def test_only_an_administrator_edits_firms(app, client, office):
    firm = office["firm"]
    with time_machine.travel(NOW, tick=False):
        assert client.get("/admin/firms/999999").status_code == 404
        desk = app.test_client()
        login(desk, "desk")
        assert desk.get(f"/admin/firms/{firm.id}").status_code == 403
        token = csrf_token(desk.get("/").get_data(as_text=True))
        response = desk.post(f"/admin/firms/{firm.id}", data={"name": "篡改", "csrf_token": token})
        assert response.status_code == 403
    assert _firm(firm.id).name == "明理律师事务所" and _entries("firm.update") == []
