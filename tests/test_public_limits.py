"""Anti-automation on the public pages: one client address and one mobile number get a few bookings,
cancellations, moves and walk-in numbers; a refusal says so on the same page, keeps what was typed and
answers 429; a burst over two workers never gets more than the limit."""

from __future__ import annotations

import re
import secrets
import threading
from datetime import UTC, date, datetime, timedelta
from html import unescape

import pytest
import sqlalchemy as sa
import time_machine
from flask_babel import force_locale

from legalaid.bookings import services as bookings
from legalaid.bookings.models import Booking, WalkIn
from legalaid.extensions import db
from legalaid.kiosk import limits
from legalaid.kiosk.models import PublicCounter
from legalaid.roster import services as roster
from legalaid.transaction import unit_of_work
from tests.conftest import csrf_token

DAY = date(2026, 3, 10)  # a Tuesday
AHEAD = datetime(2026, 3, 5, 2, 0, tzinfo=UTC)  # Thursday before, 10:00 in Beijing
ON_THE_DAY = datetime(2026, 3, 10, 1, 30, tzinfo=UTC)  # 09:30 on the duty day


def refusal(app, reason: str) -> str:
    """What a refused visitor reads (in Simplified Chinese, the pages' default), as the page shows it."""
    with app.test_request_context(), force_locale("zh_Hans_CN"):
        return str(limits.REFUSALS[reason])


def shown(response) -> str:
    """A page's text, with HTML entities read as characters."""
    return unescape(response.get_data(as_text=True))


def addr(ip: str) -> dict:
    """Requests from this client address."""
    return {"environ_base": {"REMOTE_ADDR": ip}}


@pytest.fixture
def shift(app, make_station, make_lawyer):
    station = make_station("限流站", places_per_slot=4)
    lawyer = make_lawyer(station, name="张律师")
    shift = roster.set_shift_lawyer(station, DAY, lawyer, "测试", today=date(2026, 3, 1))
    db.session.commit()
    return shift


def _hidden(html: str) -> dict[str, str]:
    fields = {}
    for tag in re.findall(r"<input[^>]*>", html):
        if 'type="hidden"' in tag:
            name = re.search(r'name="([^"]+)"', tag)
            value = re.search(r'value="([^"]*)"', tag)
            if name:
                fields[name.group(1)] = unescape(value.group(1)) if value else ""
    return fields


def _confirm_page(client, prefix: str, shift, mobile: str, name: str = "李卫国", ip: str = "10.0.0.1") -> str:
    """Walk the steps up to the confirm page."""
    times = client.get(f"{prefix}/day/{shift.id}", **addr(ip)).get_data(as_text=True)
    slot_id = int(re.search(rf'{prefix}/slot/(\d+)"', times).group(1))
    page = client.get(f"{prefix}/slot/{slot_id}/labour", **addr(ip)).get_data(as_text=True)
    data = {**_hidden(page), "name": name, "mobile": mobile, "id_number": "", "veteran_card_no": ""}
    # Each step answers with a redirect to its own address (POST → redirect → GET).
    about = client.post(f"{prefix}/visit", data=data, follow_redirects=True, **addr(ip)).get_data(
        as_text=True
    )
    consent = client.post(
        f"{prefix}/visit", data={**_hidden(about), "description": "欠薪"}, follow_redirects=True, **addr(ip)
    )
    confirm = client.post(
        f"{prefix}/visit",
        data={**_hidden(consent.get_data(as_text=True)), "consent": "y"},
        follow_redirects=True,
        **addr(ip),
    )
    return confirm.get_data(as_text=True)


def _book(client, prefix: str, shift, mobile: str, name: str = "李卫国", ip: str = "10.0.0.1"):
    confirm = _confirm_page(client, prefix, shift, mobile, name, ip)
    return client.post(f"{prefix}/visit", data=_hidden(confirm), **addr(ip))


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# -- bookings -------------------------------------------------------------------------------------------


def test_one_address_makes_three_bookings_a_day_then_is_told_on_the_same_page(app, client, shift):
    with time_machine.travel(AHEAD, tick=True):
        for n in range(3):
            assert _book(client, "/book", shift, f"1391111000{n}").status_code == 302
        refused = _book(client, "/book", shift, "13911110009", name="赵小明")
        page = refused.get_data(as_text=True)
        assert refused.status_code == 429
        assert refusal(app, "address") in unescape(page) and 'name="step" value="confirm"' in page
        assert _hidden(page)["name"] == "赵小明" and _hidden(page)["mobile"] == "13911110009"  # … as typed
        assert _count(Booking) == 3
        # Another client is not held back by this one.
        assert _book(client, "/book", shift, "13911110009", ip="10.0.0.2").status_code == 302
    assert _count(Booking) == 4
    # The counters hold no address and no number, only keyed hashes.
    keys = db.session.scalars(sa.select(PublicCounter.key)).all()
    assert all(re.fullmatch(r"[0-9a-f]{64}", key) for key in keys)
    assert not any("10.0.0" in key or "1391111" in key for key in keys)


def test_the_address_allowance_comes_back_the_next_day(app, client, shift):
    app.config["PUBLIC_BOOKINGS_PER_ADDRESS_DAY"] = 1
    with time_machine.travel(AHEAD, tick=True):
        assert _book(client, "/book", shift, "13911112001").status_code == 302
        assert _book(client, "/book", shift, "13911112002").status_code == 429
    with time_machine.travel(AHEAD + timedelta(days=1), tick=True):
        assert _book(client, "/book", shift, "13911112002").status_code == 302


def test_a_replayed_confirm_is_not_counted_again(app, client, shift):
    app.config["PUBLIC_BOOKINGS_PER_ADDRESS_DAY"] = 1
    with time_machine.travel(AHEAD, tick=True):
        confirm = _confirm_page(client, "/book", shift, "13911113001")
        assert client.post("/book/visit", data=_hidden(confirm), **addr("10.0.0.1")).status_code == 302
        again = client.post("/book/visit", data=_hidden(confirm), **addr("10.0.0.1"))
        assert again.status_code == 302 and again.headers["Location"].endswith("/book/ticket")
    assert _count(Booking) == 1


def test_one_mobile_makes_a_few_bookings_a_week_from_any_address(app, client, shift):
    app.config["PUBLIC_BOOKINGS_PER_MOBILE_WEEK"] = 1
    with time_machine.travel(AHEAD, tick=True):
        assert _book(client, "/book", shift, "13922220000", ip="10.1.0.1").status_code == 302
        booking = db.session.scalar(sa.select(Booking))
        bookings.cancel(booking, "有事")
        db.session.commit()
        refused = _book(client, "/book", shift, "13922220000", ip="10.1.0.2")
        assert refused.status_code == 429 and refusal(app, "mobile") in shown(refused)
        assert _count(Booking) == 1
    # Monday starts a new week (in the station's time zone).
    with time_machine.travel(datetime(2026, 3, 8, 16, 5, tzinfo=UTC), tick=True):  # Mon 00:05 in Beijing
        assert _book(client, "/book", shift, "13922220000", ip="10.1.0.2").status_code == 302
    assert _count(Booking) == 2


def test_a_booking_refused_by_the_day_rule_does_not_use_the_allowance(app, client, shift):
    app.config["PUBLIC_BOOKINGS_PER_ADDRESS_DAY"] = 2
    with time_machine.travel(AHEAD, tick=True):
        assert _book(client, "/book", shift, "13933330000").status_code == 302
        already = _book(client, "/book", shift, "13933330000")  # one booking per mobile per day
        assert already.status_code == 200 and _count(Booking) == 1
        assert _book(client, "/book", shift, "13933330001").status_code == 302
    assert _count(Booking) == 2


def test_a_day_that_filled_meanwhile_does_not_use_the_allowance(app, client, shift):
    app.config["PUBLIC_BOOKINGS_PER_ADDRESS_DAY"] = 1
    quota = sa.text("UPDATE shift_quotas SET public_booked = :n WHERE shift_id = :s")
    with time_machine.travel(AHEAD, tick=True):
        confirm = _confirm_page(client, "/book", shift, "13933331000")
        # Everybody else took the day's last places while this visitor read the confirm page.
        capacity = db.session.scalar(
            sa.text("SELECT public_capacity FROM shift_quotas WHERE shift_id = :s"), {"s": shift.id}
        )
        db.session.execute(quota, {"n": capacity, "s": shift.id})
        db.session.commit()
        full = client.post("/book/visit", data=_hidden(confirm), **addr("10.0.0.1"))
        assert full.status_code == 302 and "full=1" in full.headers["Location"]
        assert _count(Booking) == 0 and _count(PublicCounter) == 0
        db.session.execute(quota, {"n": 0, "s": shift.id})  # a place came back (a cancellation)
        db.session.commit()
        assert _book(client, "/book", shift, "13933331000").status_code == 302
    assert _count(Booking) == 1


# -- cancellations and moves ----------------------------------------------------------------------------


def _look_up(client, booking, ip: str) -> None:
    page = client.get("/booking/lookup", **addr(ip)).get_data(as_text=True)
    found = client.post(
        "/booking/lookup",
        data={"csrf_token": csrf_token(page), "code": booking.code, "last4": booking.veteran.mobile[-4:]},
        **addr(ip),
    )
    assert found.status_code == 302


def _free_slot_ids(client, ip: str) -> list[int]:
    page = client.get("/booking/mine", **addr(ip)).get_data(as_text=True)
    return [int(v) for v in re.findall(r'<option value="(\d+)"', page)]


def _move(client, ip: str):
    page = client.get("/booking/mine", **addr(ip)).get_data(as_text=True)
    slot_id = re.findall(r'<option value="(\d+)"', page)[0]
    return client.post(
        "/booking/mine/move", data={"csrf_token": csrf_token(page), "slot_id": slot_id}, **addr(ip)
    )


def _cancel(client, ip: str, reason: str = "临时有事"):
    page = client.get("/booking/mine", **addr(ip)).get_data(as_text=True)
    return client.post(
        "/booking/mine/cancel", data={"csrf_token": csrf_token(page), "reason": reason}, **addr(ip)
    )


def test_one_address_cancels_or_moves_a_few_times_a_day(app, client, shift, make_booking):
    app.config["PUBLIC_CHANGES_PER_ADDRESS_DAY"] = 2
    with time_machine.travel(AHEAD, tick=True):
        first, second = make_booking(shift), make_booking(shift)
        _look_up(client, first, "10.2.0.1")
        assert _move(client, "10.2.0.1").status_code == 302
        assert _move(client, "10.2.0.1").status_code == 302
        refused = _move(client, "10.2.0.1")
        assert refused.status_code == 429 and refusal(app, "address") in shown(refused)
        _look_up(client, second, "10.2.0.1")
        refused = _cancel(client, "10.2.0.1", reason="家里有事")
        page = refused.get_data(as_text=True)
        assert refused.status_code == 429 and refusal(app, "address") in unescape(page)
        assert "家里有事" in page  # the reason typed is kept
        db.session.expire_all()
        assert db.session.get(Booking, second.id).status == "booked"
        # The owner on another connection can still cancel.
        _look_up(client, second, "10.2.0.2")
        assert _cancel(client, "10.2.0.2").status_code == 302
        assert db.session.get(Booking, second.id).status == "cancelled"


def test_one_booking_is_changed_a_few_times_a_day_from_any_address(app, client, shift, make_booking):
    app.config["PUBLIC_CHANGES_PER_MOBILE_DAY"] = 1
    with time_machine.travel(AHEAD, tick=True):
        booking = make_booking(shift, mobile="13944440000")
        _look_up(client, booking, "10.3.0.1")
        assert _move(client, "10.3.0.1").status_code == 302
        _look_up(client, booking, "10.3.0.2")
        refused = _move(client, "10.3.0.2")
        assert refused.status_code == 429 and refusal(app, "change") in shown(refused)
        refused = _cancel(client, "10.3.0.3")
        assert refused.status_code == 429
        db.session.expire_all()
        assert db.session.get(Booking, booking.id).status == "booked"


def test_a_refused_change_does_not_use_the_allowance(app, client, shift, make_booking):
    app.config["PUBLIC_CHANGES_PER_ADDRESS_DAY"] = 1
    with time_machine.travel(AHEAD, tick=True):
        booking = make_booking(shift)
        _look_up(client, booking, "10.4.0.1")
        page = client.get("/booking/mine", **addr("10.4.0.1")).get_data(as_text=True)
        # A time that is not offered: refused by the service, rolled back with its count.
        missing = client.post(
            "/booking/mine/move",
            data={"csrf_token": csrf_token(page), "slot_id": "999999"},
            **addr("10.4.0.1"),
        )
        assert missing.status_code == 302
        assert _cancel(client, "10.4.0.1").status_code == 302


# -- walk-in numbers ------------------------------------------------------------------------------------


def _take_a_number(client, station_id: int, ip: str = "10.5.0.1"):
    start = client.get(f"/kiosk/?station={station_id}", **addr(ip)).get_data(as_text=True)
    return client.post("/kiosk/walkin", data={"csrf_token": csrf_token(start)}, **addr(ip))


def test_an_unenrolled_client_takes_three_walkin_numbers_a_day(app, client, shift):
    with time_machine.travel(ON_THE_DAY, tick=False):
        for _n in range(3):
            assert _take_a_number(client, shift.station_id).status_code == 302
        refused = _take_a_number(client, shift.station_id)
        assert refused.status_code == 429 and refusal(app, "address") in shown(refused)
        assert _take_a_number(client, shift.station_id, ip="10.5.0.2").status_code == 302
    assert _count(WalkIn) == 4


# -- a burst over two workers ---------------------------------------------------------------------------


def test_a_burst_from_one_address_never_gets_more_than_the_limit(app, app_factory, shift):
    """Twenty requests at once from one address over two workers: three bookings, no more (run on
    PostgreSQL too: TEST_DATABASE_URL=postgresql+psycopg://…)."""
    from legalaid.bookings import planning

    slot_ids = [slot.id for slot in planning.slots_of(shift)]
    tz = shift.station.timezone
    apps = [app_factory(), app_factory()]
    barrier = threading.Barrier(20, timeout=60)
    outcomes: list[str] = []
    lock = threading.Lock()

    def contend(n: int) -> None:
        application = apps[n % 2]
        with application.test_request_context(
            "/book/visit", method="POST", environ_base={"REMOTE_ADDR": "10.9.9.9"}
        ):
            req = bookings.BookingRequest(
                slot_id=slot_ids[n % len(slot_ids)],
                name="并发测试",
                mobile=f"1370000{n:04d}",
                category="other",
                channel="online",
                idempotency_key=secrets.token_hex(16),
                consent=True,
            )
            barrier.wait()
            try:
                with unit_of_work():
                    limits.allow_booking(req.mobile, tz, enrolled=False, now=AHEAD)
                    bookings.place_booking(req, now=AHEAD)
                result = "booked"
            except limits.OverLimit:
                result = "limited"
            except Exception as error:  # anything else fails the test
                result = f"error: {type(error).__name__}: {error}"
            finally:
                db.session.remove()
        with lock:
            outcomes.append(result)

    workers = [threading.Thread(target=contend, args=(n,)) for n in range(20)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(90)
    assert sorted(outcomes) == ["booked"] * 3 + ["limited"] * 17, outcomes
    db.session.expire_all()
    assert _count(Booking) == 3
    assert (
        db.session.scalar(sa.select(PublicCounter.count).where(PublicCounter.scope == "booking:address")) == 3
    )


def test_old_counters_are_forgotten_and_none_outside_a_request(app):
    with app.test_request_context(environ_base={"REMOTE_ADDR": "10.8.0.1"}):
        limits.allow_walkin("Asia/Shanghai", enrolled=False, now=AHEAD)
        limits.allow_booking("13900000000", "Asia/Shanghai", enrolled=True, now=AHEAD)
    assert limits.client_address() == "unknown"  # a job or command has no client
    assert limits.forget_old(AHEAD) == 0
    assert limits.forget_old(AHEAD + timedelta(days=7)) == 1  # the week of Monday 2 March is over
    assert limits.forget_old(AHEAD + timedelta(days=9)) == 1  # and so is the day
    assert _count(PublicCounter) == 0


def test_an_ipv6_client_is_its_64_network(app):
    with app.test_request_context(environ_base={"REMOTE_ADDR": "2001:db8:1:2:aaaa::1"}):
        first = limits.client_address()
    with app.test_request_context(environ_base={"REMOTE_ADDR": "2001:db8:1:2:bbbb::9"}):
        assert limits.client_address() == first == "2001:db8:1:2::/64"
    with app.test_request_context(environ_base={"REMOTE_ADDR": "10.0.0.7"}):
        assert limits.client_address() == "10.0.0.7"


def test_both_allowances_are_counted_at_once_and_the_mobiles_refusal_is_told_first(app):
    # One statement counts the mobile's week and the address's day; when both are used up the visitor
    # reads the mobile's words (the same as when they were counted one after the other).
    tz = "Asia/Shanghai"
    with app.test_request_context(environ_base={"REMOTE_ADDR": "10.7.0.1"}):
        for _ in range(3):
            limits.allow_booking("13911112222", tz, enrolled=False, now=AHEAD)
        db.session.commit()
        counts = dict(db.session.execute(sa.select(PublicCounter.scope, PublicCounter.count)).all())
        assert counts == {"booking:mobile": 3, "booking:address": 3}
        with pytest.raises(limits.OverLimit) as refused:
            limits.allow_booking("13911112222", tz, enrolled=False, now=AHEAD)
        assert "手机号码本周" in refused.value.message
        db.session.rollback()
        with pytest.raises(limits.OverLimit) as refused:  # another mobile, the same address
            limits.allow_booking("13933334444", tz, enrolled=False, now=AHEAD)
        assert "今天从这个网络发出的请求太多了" in refused.value.message
        db.session.rollback()  # the new mobile's count goes with the refusal
        limits.allow_booking("13933334444", tz, enrolled=True, now=AHEAD)  # the hall's kiosk: not counted
        db.session.commit()
        counts = dict(
            db.session.execute(sa.select(PublicCounter.key, PublicCounter.count).where(
                PublicCounter.scope == "booking:mobile"
            )).all()
        )
        assert sorted(counts.values()) == [1, 3]
