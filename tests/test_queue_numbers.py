"""The calling system (叫号): walk-in numbers (A001 …) and booking numbers given at check-in (B001 …),
"前面还有 N 人" counted in the order "call next" calls, the kiosk's hours for numbers, and the desk's
recall (重呼), pass (过号) and return to the queue."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from legalaid.audit.models import AuditEntry
from legalaid.bookings import calling
from legalaid.bookings import services as bookings
from legalaid.bookings.models import Booking, WalkIn
from legalaid.errors import NotAllowed
from legalaid.extensions import db
from legalaid.roster import services as roster
from tests.conftest import csrf_token, login

DAY = date(2026, 3, 10)  # a Tuesday; sessions 09:00–12:00 and 14:30–17:30 in Asia/Shanghai (UTC+8)
BEFORE = datetime(2026, 3, 5, 2, 0, tzinfo=UTC)
HALF_PAST_MIDNIGHT = datetime(2026, 3, 9, 16, 30, tzinfo=UTC)  # 00:30 on the day
JUST_BEFORE_OPENING = datetime(2026, 3, 9, 23, 59, tzinfo=UTC)  # 07:59: numbers open at 08:00
OPENING = datetime(2026, 3, 10, 0, 0, tzinfo=UTC)  # 08:00, an hour before the first session
MORNING = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)  # 09:00
LAST_MINUTE = datetime(2026, 3, 10, 9, 29, tzinfo=UTC)  # 17:29
CLOSING = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)  # 17:30: the last session ends
TAKE_A_NUMBER = "今日现场取号"


@pytest.fixture
def hall(app, make_station, make_lawyer, make_user):
    """A station with its duty lawyer on DAY, its desk account and another station's desk."""
    station = make_station("叫号大厅")
    roster.set_shift_lawyer(station, DAY, make_lawyer(station, name="李律师"), "排班", today=date(2026, 3, 1))
    db.session.commit()
    make_user("staff", username="desk", station_id=station.id)
    other = make_station("别的站")
    make_user("staff", username="otherdesk", station_id=other.id)
    return station


def _arrive(station, make_booking, slot: int, name: str, now=MORNING) -> Booking:
    shift = roster.shift_on(station, DAY)
    booking = make_booking(shift, name=name, slot=slot, now=BEFORE)
    bookings.check_in(booking, now=now)
    db.session.commit()
    return booking


def _audits(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action)))


# -- numbers ---------------------------------------------------------------------------------------------


def test_bookings_get_b_numbers_at_check_in_in_order_of_arrival(hall, make_booking):
    later = _arrive(hall, make_booking, 4, "赵一", now=MORNING)  # 11:00, but arrives first
    earlier = _arrive(hall, make_booking, 0, "钱二", now=MORNING + timedelta(minutes=5))  # 09:00
    assert (later.queue_label, earlier.queue_label) == ("B001", "B002")
    [entry, _] = _audits("booking.check_in")
    assert entry.target_id == later.id
    # A walk-in's numbers are their own series, on the same day's counter.
    assert calling.issue_walkin(hall, now=MORNING).label == "A001"
    db.session.commit()
    # The next day starts again from B001 (a counter per station and day).
    assert db.session.scalar(sa.select(sa.func.max(Booking.queue_number))) == 2


def test_ahead_counts_follow_the_order_of_calling(hall, make_booking):
    due = _arrive(hall, make_booking, 0, "孙三")  # 09:00: due now
    later = _arrive(hall, make_booking, 6, "周四")  # 12:00 … far later: after the walk-ins
    walkins = [calling.issue_walkin(hall, now=MORNING) for _ in range(3)]
    db.session.commit()
    ahead = calling.todays_queue(hall, MORNING).ahead(MORNING)
    assert ahead[("booking", due.id)] == 0
    assert [ahead[("walkin", w.id)] for w in walkins] == [1, 2, 3]
    assert ahead[("booking", later.id)] == 4
    assert calling.ahead_of(walkins[2], hall, MORNING) == 3
    # Whoever is said to have N ahead is the (N+1)th called.
    called = [calling.call_next(hall, now=MORNING).label for _ in range(5)]
    assert called == ["B001", "A001", "A002", "A003", "B002"]
    assert calling.ahead_of(walkins[0], hall, MORNING) is None  # called: no longer waiting


def test_the_kiosk_ticket_says_how_many_are_ahead(client, hall, make_booking):
    _arrive(hall, make_booking, 0, "吴五")
    with time_machine.travel(MORNING, tick=False):
        start = client.get(f"/kiosk/?station={hall.id}").get_data(as_text=True)
        client.post("/kiosk/walkin", data={"csrf_token": csrf_token(start)})
        ticket = client.get("/kiosk/walkin").get_data(as_text=True)
    assert re.search(r'class="ticket-code ticket-number">\s*A001\s*<', ticket)
    assert 'data-ahead="1"' in ticket  # the booking due now is called first
    assert "css/ticket.css" in ticket  # the receipt printer's layout


# -- the kiosk's hours for numbers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "given"),
    [
        (HALF_PAST_MIDNIGHT, False),
        (JUST_BEFORE_OPENING, False),
        (OPENING, True),
        (LAST_MINUTE, True),
        (CLOSING, False),
    ],
)
def test_the_kiosk_gives_numbers_only_from_the_opening_time_to_the_end_of_reception(
    client, hall, instant, given
):
    with time_machine.travel(instant, tick=False):
        start = client.get(f"/kiosk/?station={hall.id}").get_data(as_text=True)
        assert calling.taking_walkins(hall) is given
        assert (TAKE_A_NUMBER in start) is given  # the button only while numbers are given
        if given:
            response = client.post("/kiosk/walkin", data={"csrf_token": csrf_token(start)})
            assert response.status_code == 302
        else:
            with pytest.raises(NotAllowed, match="08:00" if instant < OPENING else "."):
                calling.issue_walkin(hall, public=True)
            db.session.rollback()
            assert calling.walkin_notice(hall)
    assert len(db.session.scalars(sa.select(WalkIn)).all()) == (1 if given else 0)


def test_a_screen_left_open_past_the_end_gets_no_number(client, hall):
    with time_machine.travel(LAST_MINUTE, tick=False):
        start = client.get(f"/kiosk/?station={hall.id}").get_data(as_text=True)
    with time_machine.travel(CLOSING, tick=False):
        response = client.post("/kiosk/walkin", data={"csrf_token": csrf_token(start)})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "kiosk-alert" in page and TAKE_A_NUMBER not in page
    assert db.session.scalars(sa.select(WalkIn)).all() == []


def test_the_opening_time_is_a_station_setting(client, hall):
    hall.queue_opens_minutes = 30
    db.session.commit()
    assert not calling.taking_walkins(hall, OPENING)  # 08:00: not yet
    assert "08:30" in calling.walkin_notice(hall, OPENING)
    assert calling.taking_walkins(hall, OPENING + timedelta(minutes=30))
    with pytest.raises(NotAllowed):
        calling.issue_walkin(hall, now=OPENING, public=True)
    # The desk may still give a number to someone standing in front of it.
    assert calling.issue_walkin(hall, now=OPENING).label == "A001"


def test_the_station_form_shows_and_checks_the_opening_time(signed_in, hall):
    from legalaid.errors import InvalidInput
    from legalaid.stations import services as stations

    client = signed_in("admin")
    page = client.get(f"/admin/stations/{hall.id}").get_data(as_text=True)
    assert 'name="queue_opens_minutes"' in page and 'value="60"' in page
    settings = stations.StationSettings.of(hall)
    settings.queue_opens_minutes = 721
    with pytest.raises(InvalidInput) as refused:
        stations.update_station(hall, settings)
    assert refused.value.field == "queue_opens_minutes"


# -- recall, pass, back to the queue ---------------------------------------------------------------------


def test_recall_announces_the_same_number_again(hall):
    walkin = calling.issue_walkin(hall, now=MORNING)
    calling.call_next(hall, now=MORNING)
    db.session.commit()
    first = calling.now_calling(hall, MORNING + timedelta(seconds=1))
    assert first.label == "A001"
    # A second press at once (another desk, a double tap) is the same press.
    with pytest.raises(NotAllowed):
        calling.queue_action(hall, "walkin", walkin.id, calling.RECALL, now=MORNING + timedelta(seconds=3))
    later = MORNING + timedelta(seconds=30)
    again = calling.queue_action(hall, "walkin", walkin.id, calling.RECALL, now=later)
    db.session.commit()
    assert again.label == "A001" and again.key != first.key  # the hall display notices and plays it
    assert calling.now_calling(hall, MORNING + timedelta(seconds=31)).key == again.key
    [entry] = _audits("walkin.recall")
    assert entry.details == {"number": "A001"} and entry.station_id == hall.id


def test_pass_and_return_to_the_queue_after_the_next_person(hall, make_booking):
    booking = _arrive(hall, make_booking, 0, "郑六")  # B001
    walkins = [calling.issue_walkin(hall, now=MORNING) for _ in range(3)]  # A001 … A003
    db.session.commit()
    at = MORNING + timedelta(minutes=1)
    assert calling.call_next(hall, now=at).label == "B001"
    calling.queue_action(hall, "booking", booking.id, calling.PASS, now=at + timedelta(minutes=2))
    db.session.commit()
    assert calling.now_calling(hall, at) is None  # passed: off the calling line and the hall
    with pytest.raises(NotAllowed):  # two desks pressing "pass" at once: it happens once
        calling.queue_action(hall, "booking", booking.id, calling.PASS, now=at + timedelta(minutes=2))
    # The person comes back: after the one who is next now (A001), before A002.
    calling.queue_action(hall, "booking", booking.id, calling.REQUEUE, now=at + timedelta(minutes=3))
    db.session.commit()
    now = at + timedelta(minutes=4)
    line = [entry.label for entry in calling.todays_queue(hall, now).line(now)]
    assert line == ["A001", "B001", "A002", "A003"]
    assert calling.ahead_of(booking, hall, now) == 1
    called = [calling.call_next(hall, now=now + timedelta(seconds=n)).label for n in range(4)]
    assert called == line
    assert [len(_audits(f"booking.{a}")) for a in ("call", "pass", "requeue")] == [2, 1, 1]
    assert _audits("booking.pass")[0].details == {"number": "B001"}
    assert {w.status for w in db.session.scalars(sa.select(WalkIn))} == {"called"}
    assert walkins[0].label == "A001"


def test_a_passed_walk_in_returns_and_is_called_again(hall):
    walkin = calling.issue_walkin(hall, now=MORNING)
    calling.call_next(hall, now=MORNING)
    calling.queue_action(hall, "walkin", walkin.id, calling.PASS, now=MORNING + timedelta(minutes=1))
    db.session.commit()
    assert calling.call_next(hall, now=MORNING + timedelta(minutes=2)) is None  # nobody waiting
    calling.queue_action(hall, "walkin", walkin.id, calling.REQUEUE, now=MORNING + timedelta(minutes=3))
    db.session.commit()
    # Nobody else is waiting: it is the next one.
    assert calling.call_next(hall, now=MORNING + timedelta(minutes=4)).label == "A001"


def test_only_the_days_people_may_recall_or_pass(hall, make_user, make_lawyer):
    walkin = calling.issue_walkin(hall, now=MORNING)
    calling.call_next(hall, now=MORNING)
    db.session.commit()
    outsider = make_lawyer(hall, name="不值班律师")
    with pytest.raises(NotAllowed):
        calling.queue_action(hall, "walkin", walkin.id, calling.PASS, now=MORNING, by=outsider.user)
    duty = roster.shift_on(hall, DAY).lawyer.user
    calling.queue_action(hall, "walkin", walkin.id, calling.PASS, now=MORNING, by=duty)


# -- the desk and the hall -------------------------------------------------------------------------------


def _desk(app, username: str = "desk"):
    desk = app.test_client()
    login(desk, username)
    return desk


def test_the_desk_recalls_passes_and_returns_a_number(app, hall, make_booking):
    booking = _arrive(hall, make_booking, 0, "王小明")
    with time_machine.travel(MORNING + timedelta(minutes=1), tick=False):
        desk = _desk(app)
        page = desk.get("/desk").get_data(as_text=True)
        assert re.search(r'class="fw-bold queue-number">B001<', page) and 'data-ahead="0"' in page
        desk.post("/desk/call-next", data={"csrf_token": csrf_token(page)})
        page = desk.get("/desk").get_data(as_text=True)
        assert 'data-number="B001"' in page and "queue-recall" in page and "queue-pass" in page
        panel = desk.get(f"/duty/calling?station={hall.id}").get_data(as_text=True)
    assert re.search(r'id="call-number">B001<', panel) and "王**" in panel and "王小明" not in panel
    assert "/duty/calling/voice/B001.wav" in panel
    token = csrf_token(page)
    base = f"/desk/queue/booking/{booking.id}"
    with time_machine.travel(MORNING + timedelta(minutes=2), tick=False):
        assert desk.post(f"{base}/recall", data={"csrf_token": token}).status_code == 302
        again = desk.get(f"/duty/calling?station={hall.id}").get_data(as_text=True)
        key = re.search(r'data-call-key="([^"]+)"', again).group(1)
        assert key != re.search(r'data-call-key="([^"]+)"', panel).group(1)
        assert desk.post(f"{base}/pass", data={"csrf_token": token}).status_code == 302
        page = desk.get("/desk").get_data(as_text=True)
        assert "queue-requeue" in page and 'data-number="B001"' not in page
        assert desk.post(f"{base}/requeue", data={"csrf_token": token}).status_code == 302
        page = desk.get("/desk").get_data(as_text=True)
        assert 'data-ahead="0"' in page
        assert desk.post(f"{base}/shout", data={"csrf_token": token}).status_code == 404
    assert [len(_audits(f"booking.{a}")) for a in ("recall", "pass", "requeue")] == [1, 1, 1]
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).requeued_at is not None


def test_another_stations_desk_cannot_touch_the_queue(app, hall):
    walkin = calling.issue_walkin(hall, now=MORNING)
    calling.call_next(hall, now=MORNING)
    db.session.commit()
    with time_machine.travel(MORNING + timedelta(minutes=1), tick=False):
        desk = _desk(app, "otherdesk")
        token = csrf_token(desk.get("/desk").get_data(as_text=True))
        response = desk.post(f"/desk/queue/walkin/{walkin.id}/pass", data={"csrf_token": token})
    assert response.status_code == 404
    assert _audits("walkin.pass") == []


def test_the_hall_lists_the_calls_before_and_leaves_passed_numbers_out(client, hall):
    numbers = [calling.issue_walkin(hall, now=MORNING) for _ in range(4)]
    for n in range(4):
        calling.call_next(hall, now=MORNING + timedelta(minutes=n))
    calling.queue_action(hall, "walkin", numbers[1].id, calling.PASS, now=MORNING + timedelta(minutes=5))
    db.session.commit()
    with time_machine.travel(MORNING + timedelta(minutes=6), tick=False):
        panel = client.get(f"/duty/calling?station={hall.id}").get_data(as_text=True)
        board = client.get(f"/duty/today?station={hall.id}").get_data(as_text=True)
    assert re.search(r'id="call-number">A004<', panel)
    assert re.findall(r"<li>(A\d+)</li>", panel) == ["A003", "A001"]  # A002 passed over
    assert "no-store" in client.get(f"/duty/calling?station={hall.id}").headers["Cache-Control"]
    assert "js/hall.js" in board and "李律师" in board and 'id="now-calling"' in board


def test_the_desk_prints_a_checked_in_bookings_number(app, hall, make_booking):
    first = _arrive(hall, make_booking, 0, "冯七")
    second = _arrive(hall, make_booking, 1, "陈八")
    with time_machine.travel(MORNING + timedelta(minutes=1), tick=False):
        desk = _desk(app)
        page = desk.get("/desk").get_data(as_text=True)
        assert f"/desk/queue/booking/{second.id}/ticket" in page
        slip = desk.get(f"/desk/queue/booking/{second.id}/ticket").get_data(as_text=True)
        other = _desk(app, "otherdesk").get(f"/desk/queue/booking/{first.id}/ticket")
    assert re.search(r'class="ticket-code ticket-number">B002<', slip) and 'data-ahead="1"' in slip
    assert "css/ticket.css" in slip and second.code in slip and "陈八" not in slip
    assert other.status_code == 404
