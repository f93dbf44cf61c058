"""Small truths: a calendar event is the same whatever address served it; a year with no closures is
confirmed only when asked twice; a configuration error is one line, not a traceback; a veteran whose day
has no place left for booking ahead is told to come in person; what the veteran wrote reaches the lawyer.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
import time_machine
from cryptography.fernet import Fernet
from icalendar import Calendar

from legalaid.bookings import planning
from legalaid.bookings import services as bookings
from legalaid.bookings.models import Slot
from legalaid.extensions import db
from legalaid.roster import services as roster
from tests.conftest import csrf_token, login

ROOT = Path(__file__).resolve().parents[1]
DAY = date(2026, 3, 10)  # a Tuesday
AHEAD = datetime(2026, 3, 5, 2, 0, tzinfo=UTC)  # five days before, 10:00 in Beijing
ON_THE_DAY = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 on the day
ASK = "No closures entered for %d — confirm anyway?"


@pytest.fixture
def duty(app, make_station, make_lawyer):
    """A station with one duty day: one hour, two times of one place, one of them kept for walk-ins."""
    station = make_station("小站", sessions=[(time(9, 0), time(10, 0))], walkin_reserve=1)
    lawyer = make_lawyer(station, name="张律师")
    shift = roster.set_shift_lawyer(station, DAY, lawyer, "测试", today=date(2026, 3, 1))
    db.session.commit()
    return station, lawyer, shift


# -- (a) the calendar feed's UIDs ----------------------------------------------------------------------


def _uids(client, token: str, base_url: str) -> list[str]:
    response = client.get(f"/calendar/{token}.ics", base_url=base_url)
    assert response.status_code == 200
    return [str(e["uid"]) for e in Calendar.from_ical(response.data).walk("VEVENT")]


def test_a_shift_is_the_same_event_whatever_address_served_the_feed(app, client, duty):
    _station, lawyer, shift = duty
    with time_machine.travel(AHEAD, tick=False):
        inside = _uids(client, lawyer.calendar_token, "http://192.168.1.20:8080")
        outside = _uids(client, lawyer.calendar_token, "https://legal.example.org")
        app.config["CALENDAR_UID_DOMAIN"] = "jiaozuo.legalaid"
        configured = _uids(client, lawyer.calendar_token, "https://legal.example.org")
    assert inside == outside == [f"duty-shift-{shift.id}@legalaid"]
    assert configured == [f"duty-shift-{shift.id}@jiaozuo.legalaid"]


# -- (b) confirming a year with no closures asks once more ---------------------------------------------


@pytest.fixture
def uncovered_year(app) -> int:
    """A year the holiday data lacks (within the years the application works with)."""
    year = max(roster.holiday_years()) + 2
    assert year <= 2100
    return year


@pytest.fixture
def admin(client, make_station, make_user):
    """A station and its administrator, signed in, reading English."""
    station = make_station("站点甲")
    make_user("admin", username="boss", station_id=station.id)
    with time_machine.travel(AHEAD, tick=False):
        assert login(client, "boss").status_code == 302
    client.set_cookie("lang", "en")
    return client, station


def _confirm(client, station, year: int, **extra: str):
    closures = f"/admin/roster/closures?station={station.id}&year={year}"
    page = client.get(closures).get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), "year": str(year), "back": closures, **extra}
    return client.post(f"/admin/roster/confirm-year?station={station.id}", data=data)


def test_a_year_with_no_closures_is_confirmed_only_at_the_second_asking(admin, uncovered_year):
    client, station = admin
    year = uncovered_year
    with time_machine.travel(AHEAD, tick=False):
        asked = _confirm(client, station, year)
        assert asked.status_code == 200
        html = asked.get_data(as_text=True)
        assert ASK % year in html
        assert 'name="no_closures" value="1"' in html
        assert f"/admin/roster/closures?station={station.id}&amp;year={year}" in html  # enter them first
        assert year not in roster.confirmed_years(station)

        confirmed = _confirm(client, station, year, no_closures="1")
        assert confirmed.status_code == 302
        assert confirmed.headers["Location"].startswith("/admin/roster/closures")
        assert year in roster.confirmed_years(station)


def test_a_year_with_its_closures_entered_is_confirmed_at_once(admin, uncovered_year):
    client, station = admin
    year = uncovered_year
    roster.set_closure(station, date(year, 2, 9), True, "春节")
    db.session.commit()
    with time_machine.travel(AHEAD, tick=False):
        response = _confirm(client, station, year)
    assert response.status_code == 302
    assert year in roster.confirmed_years(station)


def test_the_second_asking_keeps_its_way_back_on_this_site(admin, uncovered_year):
    client, station = admin
    with time_machine.travel(AHEAD, tick=False):
        page = client.get(f"/admin/roster/closures?station={station.id}").get_data(as_text=True)
        asked = client.post(
            f"/admin/roster/confirm-year?station={station.id}",
            data={
                "csrf_token": csrf_token(page),
                "year": str(uncovered_year),
                "back": "https://evil.example/",
            },
        ).get_data(as_text=True)
    assert "evil.example" not in asked
    assert f'name="back" value="/admin/roster/closures?station={station.id}"' in asked


def test_the_cli_confirms_a_year_with_no_closures_only_with_no_closures(app, make_station, uncovered_year):
    station = make_station("站点乙")
    year = uncovered_year
    runner = app.test_cli_runner()
    args = ["roster", "confirm-year", "--station", str(station.id), "--year", str(year)]
    refused = runner.invoke(args=args)
    assert refused.exit_code == 1
    assert f"No closures are entered for {year}" in refused.output and "--no-closures" in refused.output
    assert "Traceback" not in refused.output
    db.session.expire_all()
    assert year not in roster.confirmed_years(station)

    done = runner.invoke(args=[*args, "--no-closures"])
    assert done.exit_code == 0, done.output
    assert f"{year} confirmed" in done.output
    db.session.expire_all()
    assert year in roster.confirmed_years(station)


def test_the_service_says_why_it_waits(app, make_station, uncovered_year):
    from legalaid.errors import InvalidInput

    station = make_station("站点丙")
    with pytest.raises(InvalidInput) as caught:
        roster.confirm_year(station, uncovered_year)
    assert caught.value.field == roster.NO_CLOSURES
    roster.confirm_year(station, uncovered_year, without_closures=True)
    db.session.commit()
    assert uncovered_year in roster.confirmed_years(station)


# -- (c) a configuration error on the command line -------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"LEGALAID_ENV": "production"}, "SECRET_KEY"),
        ({"LEGALAID_ENV": "production", "SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"LEGALAID_ENV": "prod"}, "LEGALAID_ENV"),
        ({"LEGALAID_ENV": "development", "PROXY_COUNT": "two"}, "PROXY_COUNT"),
        ({"LEGALAID_ENV": "development", "SCHEDULER_INTERVALS": "every minute"}, "SCHEDULER_INTERVALS"),
    ],
)
def test_a_configuration_error_is_one_line_not_a_traceback(tmp_path, settings, named):
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "LEGALAID_ENV", "FLASK_APP")}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}", LEGALAID_INSTANCE_PATH=str(tmp_path), **settings
    )
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "stations", "list"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("legalaid: configuration error: ") and named in lines[0]


def test_a_good_configuration_starts(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("FLASK_APP",)}
    env.update(
        LEGALAID_ENV="production",
        SECRET_KEY=secrets.token_hex(32),
        DATA_KEYS=Fernet.generate_key().decode(),
        DATA_HASH_KEY=secrets.token_hex(32),
        API_KEY_PEPPER=secrets.token_hex(32),
        DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}",
        LEGALAID_INSTANCE_PATH=str(tmp_path),
    )
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "roster", "--help"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "confirm-year" in result.stdout


# -- (d) no place left for booking ahead, but the time has one ---------------------------------------

QUOTA_GONE = "抱歉，当天可提前预约的名额已满。您可以直接到服务大厅现场排号，现场留有名额。"
TIME_FULL = "抱歉，该时段已约满，请选择其他时段。"


def test_the_veteran_is_told_to_come_in_person_when_booking_ahead_is_full(client, duty, make_booking):
    station, _lawyer, shift = duty
    with time_machine.travel(AHEAD, tick=False):
        make_booking(shift, slot=0)  # the one place for booking ahead; the other time is kept for walk-ins
        assert planning.public_places_left(shift) == 0
        assert [s.free for s in planning.open_slots(shift, "kiosk")] == [0, 1]
        for prefix in ("/kiosk", "/book"):
            times = client.get(f"{prefix}/day/{shift.id}?station={station.id}").get_data(as_text=True)
            assert QUOTA_GONE in times and TIME_FULL not in times
            # also when the booking itself found the quota gone (it sends the visitor back with ?full=1)
            again = client.get(f"{prefix}/day/{shift.id}?station={station.id}&full=1").get_data(as_text=True)
            assert QUOTA_GONE in again and TIME_FULL not in again
        client.set_cookie("lang", "en")
        english = client.get(f"/kiosk/day/{shift.id}?station={station.id}").get_data(as_text=True)
        days = client.get(f"/kiosk/days?station={station.id}").get_data(as_text=True)
    assert "Come in person: places are kept for walk-ins." in english
    assert english.count("Come in person</small>") == 1 and english.count("Full</small>") == 1
    assert "Booking ahead is full: come in person" in days


def test_a_time_that_is_really_full_still_says_so(client, app, make_station, make_lawyer, make_booking):
    station = make_station("大站", sessions=[(time(9, 0), time(10, 0))], walkin_reserve=0)
    lawyer = make_lawyer(station)
    shift = roster.set_shift_lawyer(station, DAY, lawyer, "测试", today=date(2026, 3, 1))
    db.session.commit()
    with time_machine.travel(AHEAD, tick=False):
        make_booking(shift, slot=0)
        times = client.get(f"/kiosk/day/{shift.id}?station={station.id}&full=1").get_data(as_text=True)
    assert TIME_FULL in times and QUOTA_GONE not in times


# -- 4 (part): what the veteran wrote reaches the lawyer ---------------------------------------------


def test_the_duty_console_shows_what_the_veteran_wrote(app, client, duty):
    station, lawyer, shift = duty
    slot = db.session.scalar(db.select(Slot).where(Slot.shift_id == shift.id).order_by(Slot.starts_at))
    words = "老板拖欠工资三个月，\n现在联系不上"
    with time_machine.travel(AHEAD, tick=False):
        bookings.place_booking(
            bookings.BookingRequest(
                slot_id=slot.id,
                name="李卫国",
                mobile="13812345678",
                category="labour",
                channel="online",
                idempotency_key=secrets.token_hex(16),
                consent=True,
                description=words,
            )
        )
        db.session.commit()
    with time_machine.travel(ON_THE_DAY, tick=False):
        assert login(client, lawyer.user.username).status_code == 302
        html = client.get("/console").get_data(as_text=True)
    assert "李卫国" in html
    assert f'<div class="small text-muted text-prewrap booking-description">{words}</div>' in html
