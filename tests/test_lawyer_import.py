"""The lawyers' import: a bureau's spreadsheet with Chinese headers loads, the template downloads and
loads again once filled, every problem of every row is told, and numbers take the digits 0–9 only."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
import time_machine
from openpyxl import Workbook, load_workbook

from legalaid.errors import FieldErrors, InvalidInput
from legalaid.extensions import db
from legalaid.lawyers import services
from legalaid.lawyers.models import LawFirm, Lawyer
from tests.conftest import csrf_token, login

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in Beijing
CHINESE = [
    "姓名",
    "律师事务所",
    "执业证号",
    "手机号码",
    "电子邮箱",
    "服务协议开始日期",
    "服务协议结束日期",
    "擅长领域",
]


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def _xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _lawyers() -> list[Lawyer]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Lawyer).order_by(Lawyer.licence_no)))


def test_a_bureaus_sheet_with_chinese_headers_loads(app, make_station):
    station = make_station()
    content = _xlsx(
        [
            CHINESE,
            [
                "周敏",
                "明理律师事务所",
                "14108201910000001",
                "139 0391 0001",
                "zhou@example.org",
                date(2026, 1, 1),
                date(2026, 12, 31),
                "劳动争议、婚姻家庭",
            ],
            [
                "吴刚（兼职）",
                "明理律师事务所",
                "14108201910000002",
                None,
                None,
                "2026年1月1日",
                None,
                "labour",
            ],
        ]
    )
    count, problems = services.import_lawyers(station, services.read_rows("名单.xlsx", content))
    db.session.commit()
    assert (count, problems) == (2, [])
    first, second = _lawyers()
    assert (first.name, first.mobile, first.email) == ("周敏", "13903910001", "zhou@example.org")
    assert first.specialties == ["labour", "family"] and first.contract_end == date(2026, 12, 31)
    assert second.name == "吴刚（兼职）" and second.contract_start == date(2026, 1, 1)
    assert (
        first.firm.name == "明理律师事务所" and db.session.scalar(sa.select(sa.func.count(LawFirm.id))) == 1
    )


def test_a_csv_with_chinese_headers_saved_on_chinese_windows_loads(app, make_station):
    station = make_station()
    text = ",".join(CHINESE[:6]) + "\n" + "郑律师,怀川律所,14108201910000003,13903910003,,2026/3/1\n"
    count, problems = services.import_lawyers(station, services.read_rows("名单.csv", text.encode("gb18030")))
    assert (count, problems) == (1, [])


def test_every_problem_of_every_row_is_told(app, make_station, make_lawyer):
    station = make_station()
    taken = make_lawyer(station, name="已在册")
    content = _xlsx(
        [
            CHINESE,
            ["", "", "１４１０８２０１９１０００００１１", "١٣٩٠٣٩١٠٠١١", "nope", "not-a-date", None, "天文"],
            ["孙律师", "新律所", taken.licence_no, "139", None, "2026-03-01", "2026-02-01", None],
            ["钱律师", "新律所", "14108201910000013", None, None, "2026-03-01", None, None],
            ["李律师", "新律所", "14108201910000013", None, None, "2026-03-01", None, None],
        ]
    )
    count, problems = services.import_lawyers(station, services.read_rows("名单.xlsx", content))
    db.session.rollback()
    assert count == 0 and [p.line for p in problems] == [2, 3, 5]
    first = dict(problems[0].problems)
    assert set(first) == {"name", "firm", "licence_no", "mobile", "email", "contract_start", "specialties"}
    assert "0–9" in first["licence_no"] and "0–9" in first["mobile"] and "天文" in first["specialties"]
    second = dict(problems[1].problems)
    assert (
        set(second) == {"licence_no", "mobile", "contract_end"} and taken.licence_no in second["licence_no"]
    )
    assert "重复" in problems[2].message
    assert problems[0].messages[0].startswith("姓名")  # each message names its column
    assert _lawyers() == [taken]


def test_english_headers_still_load_and_missing_columns_are_named(app, make_station):
    station = make_station()
    header = "name,firm,licence_no,mobile,email,contract_start,contract_end\n"
    rows = services.read_rows(
        "list.csv", (header + "冯律师,怀川律所,14108201910000021,,,2026-01-01,\n").encode()
    )
    assert services.import_lawyers(station, rows) == (1, [])
    with pytest.raises(InvalidInput) as caught:
        services.read_rows("list.csv", "姓名,手机号码\n张三,13800000000\n".encode())
    assert "律师事务所" in caught.value.message and "执业证号" in caught.value.message


def test_the_template_downloads_and_loads_once_filled(app, client, make_station, make_user):
    station = make_station()
    make_user("admin", username="chief")
    make_user("staff", username="desk", station_id=station.id)
    desk = app.test_client()
    login(desk, "desk")
    assert desk.get("/admin/lawyers/import/template.xlsx").status_code == 403
    login(client, "chief")
    page = client.get("/admin/lawyers/import").get_data(as_text=True)
    assert "/admin/lawyers/import/template.xlsx" in page and "执业证号" in page and "licence_no" in page
    response = client.get("/admin/lawyers/import/template.xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(response.data))
    sheet, notes = book.worksheets
    assert [c.value for c in sheet[1]] == CHINESE
    explained = {row[0]: row[1] for row in notes.iter_rows(min_row=2, values_only=True) if row[0]}
    assert explained["执业证号"] == "licence_no" and explained["服务协议开始日期"] == "contract_start"
    assert sheet["C2"].number_format == "@"  # the licence column is text: no digits lost
    book.active = 1  # saved with the explanations in front: the lawyers' sheet is found all the same
    sheet.append(
        ["王芳", "明理律师事务所", "14108201910000031", "13903910031", "", date(2026, 3, 1), None, "劳动争议"]
    )
    buffer = io.BytesIO()
    book.save(buffer)
    response = client.post(
        "/admin/lawyers/import",
        data={
            "csrf_token": csrf_token(page),
            "station_id": str(station.id),
            "file": (io.BytesIO(buffer.getvalue()), "模板.xlsx"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    [lawyer] = _lawyers()
    assert (lawyer.name, lawyer.licence_no, lawyer.specialties) == ("王芳", "14108201910000031", ["labour"])


def test_the_page_lists_every_problem(app, client, make_station, make_user):
    station = make_station()
    make_user("admin", username="chief")
    login(client, "chief")
    page = client.get("/admin/lawyers/import").get_data(as_text=True)
    content = ",".join(CHINESE) + "\n" + ",明理律师事务所,123,１３９０３９１００３１,,,,\n"
    response = client.post(
        "/admin/lawyers/import",
        data={
            "csrf_token": csrf_token(page),
            "station_id": str(station.id),
            "file": (io.BytesIO(content.encode()), "a.csv"),
        },
        content_type="multipart/form-data",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "第 2 行" in html
    for column in ("姓名", "手机号码", "服务协议开始日期"):
        assert f"{column}: " in html, column
    assert _lawyers() == []


def test_the_command_line_import_reads_chinese_headers(runner, make_station, tmp_path):
    station = make_station()
    path = tmp_path / "名单.csv"
    path.write_text(
        ",".join(CHINESE[:6]) + "\n卫律师,怀川律所,14108201910000041,,,2026-01-01\n", encoding="utf-8"
    )
    result = runner.invoke(args=["lawyers", "import", str(path), "--station", str(station.id)])
    assert result.exit_code == 0 and "1" in result.output


# -- digits ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "typed"),
    [
        ("licence_no", "١٤١٠٨٢٠١٩١٠٠٠٠٠٥١"),
        ("licence_no", "１４１０８２０１９１０００００５１"),
        ("mobile", "١٣٩٠٣٩١٠٠٥١"),
        ("mobile", "１３９０３９１００５１"),
    ],
)
def test_a_lawyers_numbers_take_the_digits_0_to_9_only(app, make_station, make_firm, field, typed):
    values = {"licence_no": "14108201910000051", "mobile": "13903910051", field: typed}
    data = services.LawyerData(
        name="周律师", firm_id=make_firm().id, contract_start=date(2026, 1, 1), **values
    )
    with pytest.raises(FieldErrors) as caught:
        services.create_lawyer(make_station(), data)
    [(where, message)] = caught.value.errors
    assert where == field and "0–9" in message
