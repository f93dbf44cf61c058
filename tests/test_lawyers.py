"""Firms, lawyers, licence numbers, the all-or-nothing import, dates off, and what a lawyer sees."""

from __future__ import annotations

import io
from datetime import date

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from legalaid.errors import InvalidInput
from legalaid.extensions import db
from legalaid.lawyers import services
from legalaid.lawyers.models import Lawyer
from tests.conftest import csrf_token, login, post_form

HEADER = "name,firm,licence_no,mobile,email,contract_start,contract_end\n"


def _data(firm, **overrides) -> services.LawyerData:
    values = dict(
        name="周律师", firm_id=firm.id, licence_no="14108201910000001", contract_start=date(2026, 1, 1)
    )
    values.update(overrides)
    return services.LawyerData(**values)


@pytest.mark.parametrize("licence", ["1410820191000000", "141082019100000012", "1410820191000000X", ""])
def test_licence_numbers_have_exactly_17_digits(app, make_station, make_firm, licence):
    with pytest.raises(InvalidInput) as caught:
        services.create_lawyer(make_station(), _data(make_firm(), licence_no=licence))
    assert caught.value.field == "licence_no" and "17" in caught.value.message


def test_other_rules_of_a_lawyer(app, make_station, make_firm):
    station, firm = make_station(), make_firm()
    with pytest.raises(InvalidInput, match="手机"):
        services.create_lawyer(station, _data(firm, mobile="12345"))
    with pytest.raises(InvalidInput):
        services.create_lawyer(station, _data(firm, contract_end=date(2025, 12, 31)))
    with pytest.raises(InvalidInput):
        services.create_lawyer(station, _data(firm, specialties=["astrology"]))
    services.create_lawyer(station, _data(firm, specialties=["labour", "family"]))
    with pytest.raises(InvalidInput, match="14108201910000001"):
        services.create_lawyer(station, _data(firm, name="另一位"))


def test_csv_import_is_all_or_nothing_with_line_numbers(app, make_station):
    station = make_station()
    bad = (
        HEADER
        + "孙律师,新律所,14108201910000011,13903910011,sun@example.org,2026-01-01,2026-12-31\n"
        + "钱律师,新律所,1410820191,13903910012,,2026-01-01,\n"
        + "吴律师,新律所,14108201910000013,139,,2026/01/01,\n"
        + "郑律师,新律所,14108201910000014,,,not-a-date,\n"
    )
    count, problems = services.import_lawyers(station, services.read_rows("list.csv", bad.encode()))
    db.session.rollback()
    assert count == 0
    assert [p.line for p in problems] == [3, 4, 5]
    assert "17" in problems[0].message
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Lawyer)) == 0

    good = HEADER + "孙律师,新律所,14108201910000011,13903910011,sun@example.org,2026-01-01,2026-12-31\n"
    count, problems = services.import_lawyers(station, services.read_rows("list.csv", good.encode("gb18030")))
    db.session.commit()
    assert (count, problems) == (1, [])
    lawyer = db.session.scalar(sa.select(Lawyer))
    assert lawyer.firm.name == "新律所" and lawyer.contract_end == date(2026, 12, 31)


def test_xlsx_import(app, make_station):
    station = make_station()
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER.strip().split(","))
    sheet.append(["冯律师", "怀川律所", "14108201910000021", "13903910021", "", date(2026, 1, 1), None])
    sheet.append(["陈律师", "怀川律所", "14108201910000022", None, None, "2026-02-01", "2026-12-31"])
    buffer = io.BytesIO()
    book.save(buffer)
    count, problems = services.import_lawyers(station, services.read_rows("list.xlsx", buffer.getvalue()))
    assert (count, problems) == (2, [])
    db.session.rollback()


def test_xlsx_licence_stored_as_a_number_is_refused(app, make_station):
    # Excel keeps 15 significant digits; a 17-digit licence typed as a number is already wrong.
    book = Workbook()
    book.active.append(HEADER.strip().split(","))
    book.active.append(["陈律师", "怀川律所", 14108201910000022, None, None, "2026-02-01", None])
    buffer = io.BytesIO()
    book.save(buffer)
    count, problems = services.import_lawyers(
        make_station(), services.read_rows("list.xlsx", buffer.getvalue())
    )
    assert count == 0 and problems[0].line == 2


def test_import_rejects_files_it_cannot_read(app):
    for name, content in (
        ("x.txt", b"a"),
        ("x.csv", b""),
        ("x.xlsx", b"not a zip"),
        ("x.csv", b"name,firm\n"),
    ):
        with pytest.raises(InvalidInput):
            services.read_rows(name, content)


def test_cli_import(runner, make_station, tmp_path):
    station = make_station()
    path = tmp_path / "lawyers.csv"
    path.write_text(HEADER + "卫律师,怀川律所,14108201910000031,13903910031,,2026-01-01,\n", encoding="utf-8")
    result = runner.invoke(args=["lawyers", "import", str(path), "--station", str(station.id)])
    assert result.exit_code == 0 and "1" in result.output
    path.write_text(HEADER + "蒋律师,怀川律所,123,,,2026-01-01,\n", encoding="utf-8")
    result = runner.invoke(args=["lawyers", "import", str(path), "--station", str(station.id)])
    assert result.exit_code != 0 and "line 2" in result.output


def test_admin_imports_on_the_page(signed_in, make_station):
    station = make_station()
    admin = signed_in("admin")
    page = admin.get("/admin/lawyers/import").get_data(as_text=True)
    content = HEADER + "韩律师,怀川律所,1410820,,,2026-01-01,\n"
    response = admin.post(
        "/admin/lawyers/import",
        data={
            "csrf_token": csrf_token(page),
            "station_id": str(station.id),
            "file": (io.BytesIO(content.encode()), "a.csv"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 200 and "第 2 行" in response.get_data(as_text=True)
    content = HEADER + "韩律师,怀川律所,14108201910000041,,,2026-01-01,\n"
    response = admin.post(
        "/admin/lawyers/import",
        data={
            "csrf_token": csrf_token(page),
            "station_id": str(station.id),
            "file": (io.BytesIO(content.encode()), "a.csv"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302


def test_admin_adds_a_lawyer_and_bad_input_is_kept(signed_in, make_station, make_firm):
    station, firm = make_station(), make_firm()
    admin = signed_in("admin")
    form = {
        "name": "褚律师",
        "firm_id": str(firm.id),
        "licence_no": "123",
        "mobile": "13903910051",
        "email": "",
        "contract_start": "2026-01-01",
        "contract_end": "",
        "user_id": "0",
    }
    url = f"/admin/lawyers/new?station={station.id}"
    response = post_form(admin, url, form)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'value="褚律师"' in html and "17" in html
    response = post_form(admin, url, {**form, "licence_no": "14108201910000051"})
    assert response.status_code == 302
    lawyer = db.session.scalar(sa.select(Lawyer))
    assert lawyer.station_id == station.id and lawyer.licence_no == "14108201910000051"
    listing = admin.get(f"/admin/lawyers?station={station.id}").get_data(as_text=True)
    assert "139****0051" in listing and "13903910051" not in listing  # masked by default


def test_deactivating_keeps_history(app, make_station, make_lawyer):
    from legalaid.roster import services as roster

    station = make_station()
    lawyer = make_lawyer(station)
    other = make_lawyer(station)
    roster.apply_rotation(station, date(2026, 3, 3), date(2026, 3, 31), today=date(2026, 3, 1))
    db.session.commit()
    before = len(roster.lawyer_shifts(lawyer))
    services.set_lawyer_active(lawyer, False)
    db.session.commit()
    assert len(roster.lawyer_shifts(lawyer)) == before > 0
    roster.apply_rotation(station, date(2026, 4, 7), date(2026, 4, 30), today=date(2026, 3, 1))
    assert all(
        s.lawyer_id == other.id for s in roster.shifts_between(station, date(2026, 4, 1), date(2026, 4, 30))
    )


def test_a_lawyer_sees_only_their_own_things(app_factory, make_station, make_lawyer):
    from legalaid.roster import services as roster

    station = make_station()
    mine, theirs = make_lawyer(station, name="我"), make_lawyer(station, name="他")
    roster.set_shift_lawyer(station, date(2030, 3, 5), theirs, "测试", today=date(2030, 1, 1))
    db.session.commit()
    client = app_factory().test_client()
    login(client, mine.user.username)
    page = client.get("/me/shifts").get_data(as_text=True)
    assert mine.calendar_token in page and theirs.calendar_token not in page
    shift = roster.shift_on(station, date(2030, 3, 5))
    assert client.get(f"/me/shifts/{shift.id}/swap").status_code == 404
    assert client.get("/admin/lawyers").status_code == 403
    leave = services.add_unavailability(theirs, date(2030, 5, 1), date(2030, 5, 2), "")
    db.session.commit()
    response = client.post(f"/me/leave/{leave.id}/delete", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 404


def test_a_lawyer_enters_dates_off(signed_in, app_factory, make_station, make_lawyer):
    station = make_station()
    lawyer = make_lawyer(station)
    client = app_factory().test_client()
    login(client, lawyer.user.username)
    page = client.get("/me/shifts").get_data(as_text=True)
    response = client.post(
        "/me/leave",
        data={"csrf_token": csrf_token(page), "start_on": "2030-05-02", "end_on": "2030-05-01", "reason": ""},
        follow_redirects=True,
    )
    assert "不能早于" in response.get_data(as_text=True)
    client.post(
        "/me/leave",
        data={
            "csrf_token": csrf_token(page),
            "start_on": "2030-05-01",
            "end_on": "2030-05-03",
            "reason": "开庭",
        },
    )
    db.session.expire_all()
    assert [(e.start_on, e.end_on) for e in db.session.get(Lawyer, lawyer.id).leaves] == [
        (date(2030, 5, 1), date(2030, 5, 3))
    ]


def test_my_shifts_show_how_many_are_booked(app_factory, make_station, make_lawyer):
    from datetime import UTC, datetime

    import time_machine

    from legalaid.bookings import planning
    from legalaid.bookings import services as bookings
    from legalaid.roster import services as roster

    station = make_station()
    lawyer = make_lawyer(station)
    shift = roster.set_shift_lawyer(station, date(2026, 3, 10), lawyer, "测试", today=date(2026, 3, 1))
    db.session.commit()
    slot = planning.ensure_slots(shift)[0]
    db.session.commit()
    bookings.place_booking(
        bookings.BookingRequest(
            slot_id=slot.id,
            name="王建国",
            mobile="13812345678",
            category="labour",
            channel="kiosk",
            idempotency_key="k" * 32,
            consent=True,
        ),
        now=datetime(2026, 3, 5, 2, 0, tzinfo=UTC),
    )
    db.session.commit()
    with time_machine.travel(datetime(2026, 3, 5, 2, 0, tzinfo=UTC), tick=True):
        client = app_factory().test_client()
        login(client, lawyer.user.username)
        assert "已预约 1 人" in client.get("/me/shifts").get_data(as_text=True)
