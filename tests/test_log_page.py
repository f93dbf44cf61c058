"""The consultation log's page as a province administrator uses it: the lawyer filter lists the chosen
station's lawyers (a lawyer works at one station), a lawyer added or renamed is offered at once, a
lawyer of another station is refused beside the field with the rest still filtering; each row's masked
number and its "show full number" control are exactly what the shared `reveal` macro writes."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
import time_machine
from flask import get_template_attribute, url_for

from legalaid.consultations.models import Consultation
from legalaid.extensions import db
from legalaid.lawyers import services as lawyers
from legalaid.paging import id_url
from legalaid.privacy.routes import masked_box
from tests.conftest import field_errors, login


@pytest.fixture
def on_a_day():
    """10:00 in Beijing on 15 January 2026, the clock running (sign-in sessions need time to pass)."""
    with time_machine.travel(datetime(2026, 1, 15, 2, tzinfo=UTC), tick=True):
        yield


@pytest.fixture
def two_stations(make_station, make_lawyer, make_user):
    """Two stations, two lawyers each, one consultation by each lawyer; an administrator signed in."""
    stations = [make_station("东城站"), make_station("西城站")]
    people = {s.id: [make_lawyer(s, name=f"{s.name[:2]}律师{k}") for k in range(2)] for s in stations}
    author = make_user("lawyer", username="author")
    for i, lawyer in enumerate(lw for group in people.values() for lw in group):
        db.session.add(
            Consultation(
                station_id=lawyer.station_id,
                lawyer_id=lawyer.id,
                author_id=author.id,
                name=f"来访{i}",
                held_on=date(2026, 1, 5 + i),
                channel="kiosk",
                category="labour",
            )
        )
    db.session.commit()
    make_user("admin", username="chief")
    return stations, people


def _lawyer_options(html: str) -> list[str]:
    select = re.search(r'<select[^>]*id="lawyer"[^>]*>(.*?)</select>', html, re.S)
    assert select, "no lawyer filter on the page"
    return re.findall(r"<option [^>]*>([^<]*)</option>", select.group(1))


def test_the_lawyer_filter_lists_the_chosen_stations_lawyers(on_a_day, client, two_stations):
    (east, west), people = two_stations
    login(client, "chief")
    everyone = _lawyer_options(client.get("/admin/consultations").get_data(as_text=True))
    assert sorted(everyone[1:]) == sorted(lw.name for group in people.values() for lw in group)
    page = client.get(f"/admin/consultations?station={east.id}").get_data(as_text=True)
    assert _lawyer_options(page) == ["—", *sorted(lw.name for lw in people[east.id])]


def test_a_lawyer_of_another_station_is_refused_beside_the_field(on_a_day, client, two_stations):
    (east, west), people = two_stations
    login(client, "chief")
    other = people[west.id][0]
    response = client.get(f"/admin/consultations?station={east.id}&lawyer={other.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert field_errors(page, "lawyer") == ["不是有效的选择。"]
    # The station still filters: its two consultations, not the other station's.
    assert "共 2 条咨询记录" in page
    assert all(lw.name in page for lw in people[east.id])
    assert other.name not in re.sub(r'<select[^>]*id="lawyer".*?</select>', "", page, flags=re.S)


@pytest.mark.parametrize(
    "query",
    ["page=1", "station=&lawyer=&category=&outcome=&stage=&channel=&sort=", "sort=-date&q=&start_on="],
)
def test_filters_left_empty_or_out_filter_nothing_and_show_no_message(on_a_day, client, two_stations, query):
    login(client, "chief")
    page = client.get(f"/admin/consultations?{query}").get_data(as_text=True)
    assert "invalid-feedback" not in page and "is-invalid" not in page
    assert "共 4 条咨询记录" in page


def test_a_filter_value_that_is_no_option_is_refused_beside_its_field(on_a_day, client, two_stations):
    login(client, "chief")
    response = client.get("/admin/consultations?station=99999&category=nothing&channel=fax&sort=age")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for field in ("station", "category", "channel", "sort"):
        assert field_errors(page, field) == ["不是有效的选择。"], field
    assert "共 4 条咨询记录" in page  # the wrong filters are left out; the log still shows


def test_a_lawyer_added_or_renamed_is_offered_at_once(on_a_day, client, two_stations, make_lawyer):
    (east, _west), people = two_stations
    login(client, "chief")
    path = f"/admin/consultations?station={east.id}"
    assert "新来的律师" not in _lawyer_options(client.get(path).get_data(as_text=True))
    assert "新来的律师" not in _lawyer_options(client.get("/admin/consultations").get_data(as_text=True))
    make_lawyer(east, name="新来的律师")
    assert "新来的律师" in _lawyer_options(client.get(path).get_data(as_text=True))
    assert "新来的律师" in _lawyer_options(client.get("/admin/consultations").get_data(as_text=True))
    first = people[east.id][0]
    data = lawyers.LawyerData(
        name="改过名的律师",
        firm_id=first.firm_id,
        licence_no=first.licence_no,
        contract_start=first.contract_start,
        contract_end=first.contract_end,
        mobile=first.mobile,
        user_id=first.user_id,
    )
    lawyers.update_lawyer(db.session.get(type(first), first.id), data)
    db.session.commit()
    assert "改过名的律师" in _lawyer_options(client.get(path).get_data(as_text=True))
    assert "改过名的律师" in _lawyer_options(client.get("/admin/consultations").get_data(as_text=True))


@pytest.mark.parametrize("masked", ["138****0139", "a<b>&\"'", ""])
@pytest.mark.parametrize(
    "kind, field", [("consultation", "mobile"), ("booking", "mobile"), ("matter", "id_number")]
)
@pytest.mark.parametrize(
    "address",
    [
        "/admin/consultations?page=2&station=1",
        # what stands in for the id, the number and the controls, typed into the address: kept as typed
        "/admin/consultations?q=987654321098765&x=masked-number-goes-here&y=reveal-controls-go-here",
    ],
)
def test_a_rows_masked_number_is_what_the_reveal_macro_writes(app, kind, field, masked, address):
    with app.test_request_context(address):
        macro = get_template_attribute("macros/reveal.html", "reveal")
        for record_id in (7, 123_456, 7):  # the second time from the request's pattern
            assert str(masked_box(kind, record_id, masked, field=field)) == str(
                macro(kind, record_id, masked, field=field)
            )


@pytest.mark.parametrize("base", ["http://localhost/", "https://legal.example.cn/station-app/"])
def test_a_rows_links_are_what_url_for_writes(app, base):
    """The log's row links are made once and given each id: the same addresses url_for writes, also
    for an app served under a path prefix."""
    with app.test_request_context("/", base_url=base):
        links = (("consultations.view", "consultation_id"), ("consultations.matter", "matter_id"))
        for endpoint, key in links:
            make = id_url(endpoint, key)
            for record_id in (1, 42, 987_654_321, 10**12):
                assert make(record_id) == url_for(endpoint, **{key: record_id})


def test_the_forms_own_messages_follow_each_visitors_language(on_a_day, client, two_stations):
    # WTForms' catalogue is read once per process and language: switching back and forth must still
    # give each request its own language.
    login(client, "chief")
    for code, words in [
        ("en", "Not a valid choice."),
        ("zh_Hans_CN", "不是有效的选择。"),
        ("zh_Hant_TW", "不是有效的選擇。"),
        ("en", "Not a valid choice."),
        ("zh_Hans_CN", "不是有效的选择。"),
    ]:
        client.get(f"/language/{code}?next=/")
        page = client.get("/admin/consultations?channel=fax").get_data(as_text=True)
        assert field_errors(page, "channel") == [words], code
