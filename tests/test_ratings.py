"""好差评: a consultation is rated once (kiosk or phone link), a second rating is refused (by the database
too), a poor one is flagged to the administrators and answered; the completion message carries the link
once; the ratings are counted per month and per lawyer in the statistics, lawyer performance and the
annual report (page, XLSX, JSON)."""

from __future__ import annotations

import secrets
import threading
from datetime import UTC, date, datetime, timedelta
from io import BytesIO

import pytest
import sqlalchemy as sa
import time_machine
from openpyxl import load_workbook

from legalaid.audit.models import VISITOR_PREFIX, AuditEntry
from legalaid.bookings import planning
from legalaid.bookings import services as bookings
from legalaid.consultations import services as consultations
from legalaid.consultations.models import Consultation
from legalaid.extensions import db
from legalaid.privacy.retention import erase_consultations
from legalaid.ratings import links, services
from legalaid.ratings.models import Rating
from legalaid.reminders.models import OutboxMessage
from legalaid.reports import exports
from legalaid.reports import services as reports
from legalaid.roster import services as roster
from tests.conftest import csrf_token, login

DAY = date(2026, 3, 10)  # a Tuesday
BOOKED_AT = datetime(2026, 3, 5, 2, 0, tzinfo=UTC)
ON_THE_DAY = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)  # 11:00 in Beijing
NEXT_DAY = datetime(2026, 3, 11, 2, 0, tzinfo=UTC)
MOBILE = "13812345678"
NAME = "王建国"


@pytest.fixture
def world(app, make_station, make_lawyer, make_user):
    """A station, its duty lawyer on DAY, an administrator, and a booking for that day."""
    with time_machine.travel(BOOKED_AT, tick=True):
        station = make_station("评价站")
        duty = make_lawyer(station, name="值班甲")
        roster.set_shift_lawyer(station, DAY, duty, "测试", today=date(2026, 3, 1))
        db.session.commit()
        shift = roster.shift_on(station, DAY)
        slots = planning.ensure_slots(shift)
        db.session.commit()
        booking = bookings.place_booking(
            bookings.BookingRequest(
                slot_id=slots[0].id,
                name=NAME,
                mobile=MOBILE,
                category="labour",
                channel="kiosk",
                idempotency_key=secrets.token_hex(16),
                consent=True,
            ),
            now=BOOKED_AT,
        )
        db.session.commit()
        admin = make_user("admin", username="chief")
    return {"station": station, "duty": duty, "booking": booking, "admin": admin, "slots": slots}


def _record(world, booking=None, walkin_name: str = ""):
    record = consultations.Record(category="labour", summary="欠薪", outcomes=["advice"])
    c = consultations.record_consultation(
        world["station"], world["duty"].user, record, booking=booking, name=walkin_name, today=DAY
    )
    db.session.commit()
    return c


@pytest.fixture
def held(world):
    """The booking's consultation, recorded on the day (the clock stays on the day)."""
    with time_machine.travel(ON_THE_DAY, tick=True):
        world["consultation"] = _record(world, world["booking"])
        yield world


def _messages(kind: str) -> list[OutboxMessage]:
    return list(db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == kind)))


# -- the completion message ---------------------------------------------------------------------------


def test_recording_queues_the_completion_message_with_a_link_once(held):
    c = held["consultation"]
    [message] = _messages("consultation_done")
    assert message.address == MOBILE and message.recipient_type == "veteran"
    link = message.params["link"]
    assert "/rate/" in link
    assert links.consultation_of_token(link.rsplit("/", 1)[1]).id == c.id
    assert NAME not in str(message.params)
    # A correction of the record does not send it again.
    record = consultations.Record(category="labour", summary="欠薪（更正）", outcomes=["advice"])
    consultations.correct_consultation(c, held["duty"].user, record, today=DAY)
    db.session.commit()
    assert len(_messages("consultation_done")) == 1


def test_a_walk_in_without_a_mobile_gets_no_message(world):
    with time_machine.travel(ON_THE_DAY, tick=True):
        _record(world, walkin_name="李四")
    assert _messages("consultation_done") == []


# -- once per consultation; poor ones flagged -----------------------------------------------------------


def test_a_rating_once_per_consultation_and_a_second_refused(held):
    c = held["consultation"]
    rating = services.rate(c, 5, ["warm", "expert", "long_wait"], "很好", "phone")
    db.session.commit()
    assert rating.level == 5 and rating.reasons == ["warm", "expert"]  # a poor reason left out
    assert not rating.poor and services.flagged_count() == 0
    with pytest.raises(services.AlreadyRated):
        services.rate(c, 1, [], "", "kiosk")
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Rating)) == 1
    assert services.why_not(c) is not None


def test_the_database_refuses_a_second_rating_that_passed_the_check(held, monkeypatch):
    """Two submits arriving together both pass the check; the unique constraint decides."""
    c = held["consultation"]
    services.rate(c, 4, [], "", "phone")
    db.session.commit()
    monkeypatch.setattr(services, "why_not", lambda *a, **k: None)
    with pytest.raises(services.AlreadyRated):
        services.rate(c, 2, [], "", "kiosk")
    db.session.rollback()
    assert [r.level for r in db.session.scalars(sa.select(Rating))] == [4]


def test_two_ratings_sent_at_once_make_one(held, app_factory):
    """Two workers (a double tap on two devices) rate the same consultation at the same moment."""
    consultation_id = held["consultation"].id
    barrier = threading.Barrier(2)
    results: list[str] = []
    # Each worker's app is built before the threads start, as gunicorn does: building two apps in two
    # threads at once compiles their URL rules at once, which CPython 3.11.7's compiler does not survive
    # ("AST constructor recursion depth mismatch", seen once in CI).
    apps = {level: app_factory() for level in (5, 1)}

    def worker(level: int) -> None:
        with apps[level].app_context():
            c = db.session.get(Consultation, consultation_id)
            barrier.wait()
            try:
                services.rate(c, level, [], "", "phone")
                db.session.commit()
                results.append("rated")
            except services.AlreadyRated:
                db.session.rollback()
                results.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(level,)) for level in (5, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results) == ["rated", "refused"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Rating)) == 1


def test_a_poor_rating_is_flagged_and_the_administrators_told(held):
    rating = services.rate(held["consultation"], 2, ["long_wait", "warm"], "等了很久 13812345678", "kiosk")
    db.session.commit()
    assert rating.poor and rating.reasons == ["long_wait"]
    assert services.flagged_count() == 1
    assert [r.id for r in services.search(services.UNANSWERED)] == [rating.id]
    [notice] = _messages("rating_poor")
    assert notice.recipient_id == held["admin"].id
    assert notice.params["link"].endswith(f"/admin/ratings/{rating.id}")
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "rating.give"))
    assert entry.details["level"] == 2 and entry.target_id == rating.id


def test_only_a_recorded_consultation_in_its_window_can_be_rated(held):
    c = held["consultation"]
    assert not services.booking_can_be_rated(None)
    with time_machine.travel(ON_THE_DAY + timedelta(days=links.RATING_DAYS + 1), tick=True):
        assert services.why_not(c) is not None
        with pytest.raises(services.NotAllowed):
            services.rate(c, 5)
    with pytest.raises(services.InvalidInput):
        services.rate(c, 7)


def test_a_booking_not_yet_seen_cannot_be_rated(world):
    with time_machine.travel(ON_THE_DAY, tick=True):
        assert not services.booking_can_be_rated(world["booking"])


# -- the phone page ---------------------------------------------------------------------------------------


def _link_path(held) -> str:
    return f"/rate/{links.link_token(held['consultation'])}"


def test_the_phone_page_rates_once_and_shows_nothing_personal(held, client):
    path = _link_path(held)
    page = client.get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "值班甲" in html and "评价站" in html
    assert NAME not in html and "5678" not in html
    answer = client.post(
        path,
        data={"csrf_token": csrf_token(html), "level": "1", "reasons": ["unsolved"], "comment": "没解决"},
    )
    assert answer.status_code == 303 and answer.headers["Location"].endswith(path)
    after = client.get(path).get_data(as_text=True)
    assert 'id="rate-message"' in after and 'name="level"' not in after
    [rating] = db.session.scalars(sa.select(Rating)).all()
    assert (rating.level, rating.channel, rating.reasons, rating.comment) == (
        1,
        "phone",
        ["unsolved"],
        "没解决",
    )
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "rating.give"))
    assert entry.actor_name == VISITOR_PREFIX + "online"  # 访客（网上）
    # The same form sent again adds nothing.
    again = client.post(path, data={"csrf_token": csrf_token(html), "level": "5"})
    assert again.status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Rating)) == 1


def test_the_phone_page_keeps_what_was_typed_when_no_level_is_chosen(held, client):
    path = _link_path(held)
    html = client.get(path).get_data(as_text=True)
    answer = client.post(path, data={"csrf_token": csrf_token(html), "comment": "我的意见"})
    body = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert 'id="level-error"' in body and "我的意见" in body
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Rating)) == 0


def test_a_forged_or_expired_link_is_refused_with_a_page(held, client):
    path = _link_path(held)
    assert client.get(path[:-3] + "xyz").status_code == 404
    assert client.get("/rate/nonsense").status_code == 404
    with time_machine.travel(ON_THE_DAY + timedelta(days=links.RATING_DAYS + 2), tick=True):
        expired = client.get(path)
    assert expired.status_code == 404 and 'id="rate-message"' in expired.get_data(as_text=True)


# -- the kiosk ---------------------------------------------------------------------------------------------


def test_the_kiosk_rates_the_looked_up_booking(held, client):
    with client.session_transaction() as session:
        session["kiosk_booking"] = held["booking"].id
    page = client.get("/kiosk/rate")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'name="comment"' not in html  # no typing at the kiosk
    assert "data-idle-seconds" in html
    answer = client.post(
        "/kiosk/rate", data={"csrf_token": csrf_token(html), "level": "3", "reasons": ["warm"]}
    )
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/kiosk/rated")
    assert client.get("/kiosk/rated").status_code == 200
    [rating] = db.session.scalars(sa.select(Rating)).all()
    assert (rating.level, rating.channel, rating.reasons) == (3, "kiosk", ["warm"])
    # Back to the rating page: it says it is rated, and offers no form.
    again = client.get("/kiosk/rate").get_data(as_text=True)
    assert 'name="level"' not in again


def test_the_kiosk_rating_page_needs_a_looked_up_booking_and_is_not_on_the_phone_site(held, client):
    assert client.get("/kiosk/rate").status_code == 302
    with client.session_transaction() as session:
        session["kiosk_booking"] = held["booking"].id
    assert client.get("/book/rate").status_code == 404
    assert client.get("/book/rated").status_code == 404


def test_the_rate_link_partial_shows_only_when_the_booking_can_be_rated(held, app):
    from flask import render_template_string

    template = '{% set mode = "kiosk" %}{% set url = url_fn %}{% include "kiosk/_rate_link.html" %}'
    with app.test_request_context("/kiosk/"):
        shown = render_template_string(template, booking=held["booking"], url_fn=lambda e: f"/kiosk/{e}")
        assert 'id="rate-link"' in shown
        services.rate(held["consultation"], 5)
        hidden = render_template_string(template, booking=held["booking"], url_fn=lambda e: f"/kiosk/{e}")
        assert 'id="rate-link"' not in hidden


# -- the administrators --------------------------------------------------------------------------------


def test_an_administrator_sees_the_flag_and_records_the_reply(held, client):
    rating = services.rate(held["consultation"], 1, ["attitude"], "态度差，电话13812345678", "phone")
    db.session.commit()
    login(client, "chief")
    listing = client.get("/admin/ratings").get_data(as_text=True)
    assert f'id="rating-{rating.id}"' in listing and 'id="nav-ratings-flagged"' in listing
    assert "13812345678" not in listing  # the comment's numbers masked
    page = client.get(f"/admin/ratings/{rating.id}")
    html = page.get_data(as_text=True)
    empty = client.post(f"/admin/ratings/{rating.id}", data={"csrf_token": csrf_token(html), "reply": "  "})
    assert empty.status_code == 200 and "invalid-feedback" in empty.get_data(as_text=True)
    answer = client.post(
        f"/admin/ratings/{rating.id}",
        data={"csrf_token": csrf_token(html), "reply": "已电话回访，向当事人致歉。"},
    )
    assert answer.status_code == 302
    db.session.refresh(rating)
    assert rating.reply == "已电话回访，向当事人致歉。" and rating.replied_by_id == held["admin"].id
    assert rating.replied_at is not None and services.flagged_count() == 0
    assert db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "rating.reply")) is not None
    shown = client.get(f"/admin/ratings/{rating.id}").get_data(as_text=True)
    assert 'id="rating-reply"' in shown and 'id="nav-ratings-flagged"' not in shown
    with pytest.raises(services.NotAllowed):
        services.reply(rating, held["admin"], "再答一次")


def test_staff_and_lawyers_do_not_reach_the_ratings(held, client, make_user):
    make_user("staff", username="desk")
    login(client, "desk")
    assert client.get("/admin/ratings").status_code == 403


# -- the reports -------------------------------------------------------------------------------------------


def _second_consultation(world):
    """A walk-in seen by the same lawyer the same day, rated poorly."""
    c = _record(world, walkin_name="李四")
    services.rate(c, 2, ["long_wait"], "", "kiosk")
    db.session.commit()
    return c


def test_ratings_counted_in_statistics_lawyers_and_annual_report(held):
    services.rate(held["consultation"], 5, ["warm"], "", "phone")
    _second_consultation(held)
    period = reports.Period(date(2026, 1, 1), date(2026, 12, 31))
    stats = reports.statistics(period, today=DAY)
    assert stats.ratings is not None
    assert stats.ratings.overall.total == 2 and stats.ratings.overall.poor == 1
    assert stats.ratings.overall.satisfied_share == 50.0
    march = dict(stats.ratings.by_month)[date(2026, 3, 1)]
    assert march.levels[5] == 1 and march.levels[2] == 1
    [(lawyer_id, name, counts)] = stats.ratings.by_lawyer
    assert name == "值班甲" and counts.total == 2
    [row] = [r for r in reports.lawyer_performance(period, today=DAY) if r.name == "值班甲"]
    assert (row.ratings.total, row.ratings.poor) == (2, 1)
    header, body = exports.performance_table([row])
    assert body[0][-3:] == [2, 50.0, 1]
    annual = reports.annual_report(2026, today=DAY)
    assert annual["ratings"]["total"] == 2 and annual["ratings"]["levels"]["5"] == 1
    assert annual["ratings"]["poor"] == 1 and annual["ratings"]["poor_answered"] == 0
    sections = dict(exports.annual_rows(annual))
    assert any(value == 2 for _label, value in next(v for k, v in sections.items() if "好差评" in k))
    sheets = exports.annual_sheets(annual)
    assert len(sheets) == 2 and ["2026-03", 1, 0, 0, 1, 0, 2, 50.0, 1] in sheets[1][2]
    # Another year counts none.
    assert reports.annual_report(2025, today=DAY)["ratings"]["total"] == 0


def test_report_pages_show_the_ratings(held, client):
    services.rate(held["consultation"], 5, [], "", "phone")
    db.session.commit()
    login(client, "chief")
    stats = client.get("/admin/statistics?start_on=2026-01-01&end_on=2026-12-31").get_data(as_text=True)
    assert 'id="ratings-report"' in stats and 'id="ratings-by-lawyer"' in stats
    annual = client.get("/admin/reports/annual/2026").get_data(as_text=True)
    assert 'id="ratings-report"' in annual
    xlsx = client.get("/admin/reports/annual/2026?format=xlsx")
    book = load_workbook(BytesIO(xlsx.data))
    assert len(book.sheetnames) == 2
    lawyers = client.get("/admin/statistics/lawyers?start_on=2026-01-01&end_on=2026-12-31")
    assert lawyers.status_code == 200


# -- erasure ------------------------------------------------------------------------------------------------


def test_erasing_the_consultation_erases_the_comment_and_keeps_the_level(held):
    rating = services.rate(held["consultation"], 1, [], "我叫王建国", "phone")
    services.reply(rating, held["admin"], "已回访王建国")
    db.session.commit()
    erase_consultations([held["consultation"].id], NEXT_DAY)
    db.session.commit()
    db.session.refresh(rating)
    assert (rating.comment, rating.reply, rating.level) == ("", "", 1)


def test_the_lawyer_sees_their_own_counts_but_no_comment(held, client):
    services.rate(held["consultation"], 1, ["attitude"], "律师态度差", "phone")
    db.session.commit()
    login(client, held["duty"].user.username)
    page = client.get("/me/ratings?year=2026")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="ratings-by-lawyer"' in html
    assert "律师态度差" not in html
    assert client.get("/admin/ratings").status_code == 403
