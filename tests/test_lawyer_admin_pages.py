"""The administrator's lawyer pages not walked elsewhere: adding a firm, deactivating and reactivating a
lawyer, entering and removing their dates off, and an unreadable import file — each through the pages,
at a set clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from legalaid.auth.models import User
from legalaid.extensions import db
from legalaid.lawyers.models import LawFirm, Lawyer, Unavailability
from legalaid.roster import services as roster
from tests.conftest import csrf_token, field_errors, login, post_form

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in Beijing


@pytest.fixture
def admin_client(client, make_user):
    make_user("admin", username="chief")
    # Signed in a minute before the tests' clock starts again at NOW: the session cookie is signed with
    # the time it was made, and one made a second after NOW would be "from the future" to a request sent
    # at NOW (refused, signed out) whenever the sign-in took a second or more.
    with time_machine.travel(NOW - timedelta(minutes=1), tick=True):
        assert login(client, "chief").status_code == 302
    return client


def test_a_firm_is_added_and_a_nameless_one_is_refused_on_the_page(admin_client):
    with time_machine.travel(NOW, tick=True):
        added = post_form(
            admin_client,
            "/admin/firms",
            {"name": "河南怀川律师事务所（解放区）", "contact_person": "王主任", "phone": "0391-1234567"},
            follow_redirects=True,
        )
        refused = post_form(admin_client, "/admin/firms", {"name": "  ", "contact_person": "李"})
    assert "河南怀川律师事务所（解放区）" in added.get_data(as_text=True)
    assert db.session.scalar(sa.select(LawFirm.name)) == "河南怀川律师事务所（解放区）"  # as typed
    assert refused.status_code == 200 and field_errors(refused.get_data(as_text=True), "name")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LawFirm)) == 1


def test_deactivating_a_lawyer_closes_their_account_and_reactivating_opens_it(
    admin_client, make_station, make_lawyer
):
    station = make_station("解放区站")
    lawyer = make_lawyer(station, name="赵静")
    url = f"/admin/lawyers/{lawyer.id}"
    with time_machine.travel(NOW, tick=True):
        off = post_form(admin_client, f"{url}/active", {"active": "0"}, form_page=url, follow_redirects=True)
        assert "停用" in off.get_data(as_text=True)
        assert db.session.get(Lawyer, lawyer.id).active is False
        assert db.session.get(User, lawyer.user_id).active is False  # the account can no longer sign in
        on = post_form(admin_client, f"{url}/active", {"active": "1"}, form_page=url, follow_redirects=True)
    assert on.status_code == 200 and db.session.get(Lawyer, lawyer.id).active is True


def test_dates_off_over_a_shift_are_saved_with_the_conflict_said_then_removed(
    admin_client, make_station, make_lawyer
):
    station = make_station("解放区站")
    lawyer = make_lawyer(station, name="赵静")
    roster.set_shift_lawyer(station, date(2026, 3, 10), lawyer, "排班", today=date(2026, 3, 1))
    db.session.commit()
    url = f"/admin/lawyers/{lawyer.id}"
    with time_machine.travel(NOW, tick=True):
        wrong = post_form(
            admin_client,
            f"{url}/leave",
            {"start_on": "2026-03-12", "end_on": "2026-03-09", "reason": "外地开庭"},
            form_page=url,
        )
        assert wrong.status_code == 200 and db.session.scalar(sa.select(Unavailability)) is None
        saved = post_form(
            admin_client,
            f"{url}/leave",
            {"start_on": "2026-03-09", "end_on": "2026-03-13", "reason": "外地开庭（郑州）"},
            form_page=url,
            follow_redirects=True,
        )
        page = saved.get_data(as_text=True)
        entry = db.session.scalar(sa.select(Unavailability))
        assert entry is not None and entry.reason == "外地开庭（郑州）"
        assert "2026年3月10日" in page  # the shift it falls on is named
        removed = post_form(
            admin_client, f"/admin/leave/{entry.id}/delete", {}, form_page=url, follow_redirects=True
        )
    assert removed.status_code == 200 and db.session.scalar(sa.select(Unavailability)) is None


def test_an_unreadable_import_file_is_refused_on_the_page(admin_client, make_station):
    import io

    station = make_station("解放区站")
    with time_machine.travel(NOW, tick=True):
        page = admin_client.get("/admin/lawyers/import").get_data(as_text=True)
        response = admin_client.post(
            "/admin/lawyers/import",
            data={
                "csrf_token": csrf_token(page),
                "station_id": str(station.id),
                "file": (io.BytesIO(b"PK\x03\x04 not really a workbook"), "lawyers.xlsx"),
            },
            content_type="multipart/form-data",
        )
    assert response.status_code == 200
    assert field_errors(response.get_data(as_text=True), "file")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Lawyer)) == 0
