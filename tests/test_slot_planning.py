"""A duty day's slots are made with its shift, never by a page; a settings change re-plans the coming days
nobody is booked on, and re-plans booked days only when every booking keeps its time and place."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from legalaid.audit.models import AuditEntry
from legalaid.bookings import planning
from legalaid.bookings import services as bookings
from legalaid.bookings.models import CANCELLED, Booking, ShiftQuota, Slot
from legalaid.dates import to_local
from legalaid.errors import SlotFull
from legalaid.extensions import db
from legalaid.roster import services as roster
from legalaid.stations import services as stations
from legalaid.stations.services import StationSettings
from tests.conftest import post_form

TZ = "Asia/Shanghai"
PAST, TODAY, BOOKED_A, BOOKED_B, EMPTY = (date(2026, 3, d) for d in (3, 10, 17, 24, 31))  # Tuesdays
NOW = datetime(2026, 3, 10, 0, 30, tzinfo=UTC)  # 08:30 on a duty day, before the first slot


@pytest.fixture
def clock():
    """The station's morning of 10 March 2026."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def station(app, clock, make_station, make_lawyer):
    """Tuesdays 09:00–12:00 and 14:30–17:30 in 30-minute single places, 2 kept for walk-ins; a past
    day, today, and three coming days, each made by hand."""
    station = make_station("规划站")
    lawyer = make_lawyer(station)
    for day in (PAST, TODAY, BOOKED_A, BOOKED_B, EMPTY):
        roster.set_shift_lawyer(station, day, lawyer, "测试", today=PAST)
    db.session.commit()
    return station


def shift(station, day):
    return roster.shift_on(station, day)


def times(shift) -> list[str]:
    """The local start times of a shift's slots: ['09:00', …]."""
    return [f"{to_local(s.starts_at, TZ):%H:%M}" for s in planning.slots_of(shift)]


def book(station, day, at: str, mobile: str, channel: str = "kiosk") -> Booking:
    slot = next(
        s for s in planning.slots_of(shift(station, day)) if f"{to_local(s.starts_at, TZ):%H:%M}" == at
    )
    return bookings.place_booking(
        bookings.BookingRequest(
            slot_id=slot.id,
            name="王建国",
            mobile=mobile,
            category="labour",
            channel=channel,
            idempotency_key=secrets.token_hex(16),
            consent=True,
        )
    )


def at(booking: Booking) -> str:
    """The local time of a booking's slot, read afresh; and the slot is offered (not dropped)."""
    slot = db.session.get(Booking, booking.id).slot
    return f"{to_local(slot.starts_at, TZ):%H:%M}" + ("" if slot.capacity else " (dropped)")


def counts_match_the_bookings(shift) -> None:
    """Every slot's counter is the number of bookings holding a place in it; the quota's the same."""
    held = dict(
        db.session.execute(
            sa.select(Booking.slot_id, sa.func.count())
            .where(Booking.shift_id == shift.id, Booking.status != CANCELLED)
            .group_by(Booking.slot_id)
        ).all()
    )
    for slot in db.session.scalars(sa.select(Slot).where(Slot.shift_id == shift.id)):
        assert slot.booked == held.get(slot.id, 0), f"{slot.starts_at}"
        assert slot.booked <= slot.capacity
    public = db.session.scalar(
        sa.select(sa.func.count()).where(
            Booking.shift_id == shift.id, Booking.status != CANCELLED, Booking.uses_public_quota
        )
    )
    quota = db.session.get(ShiftQuota, shift.id)
    assert quota.public_booked == public <= quota.public_capacity


def change(station, **values) -> dict:
    settings = StationSettings.of(station)
    for name, value in values.items():
        setattr(settings, name, value)
    changed = stations.update_station(station, settings)
    db.session.commit()
    db.session.expire_all()
    return changed


HOURS = {"slot_minutes": 60, "places_per_slot": 2, "walkin_reserve": 1}
HOURLY = ["09:00", "10:00", "11:00", "14:30", "15:30", "16:30"]
HALF_HOURLY = ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"] + [
    "14:30",
    "15:00",
    "15:30",
    "16:00",
    "16:30",
    "17:00",
]


def test_every_shift_the_roster_makes_is_planned_at_once(app, clock, make_station, make_lawyer):
    station = make_station("排班站")
    lawyers = [make_lawyer(station) for _ in range(2)]
    roster.apply_rotation(station, date(2026, 3, 11), date(2026, 4, 30), today=TODAY)
    db.session.commit()
    made = roster.shifts_between(station, date(2026, 3, 11), date(2026, 4, 30))
    assert len(made) >= 6
    for one in made:
        assert times(one) == HALF_HOURLY
        assert planning.public_places_left(one) == 10
    # A day closed and open again comes back with the plan of today's settings.
    day = made[0].duty_on
    roster.set_closure(station, day, True, "大厅活动")
    db.session.commit()
    change(station, **HOURS)
    roster.remove_closure(station, day)
    db.session.commit()
    assert times(shift(station, day)) == HOURLY
    # Set by hand on a new day: planned too; the hook is registered once however many apps are built.
    extra = roster.set_shift_lawyer(station, date(2026, 5, 12), lawyers[0], "加班", today=TODAY)
    assert times(extra) == HOURLY
    assert roster.on_shifts_made.count(planning.plan_shifts) == 1


def test_a_year_of_rotation_is_planned_in_bulk_as_each_day_alone(app, clock, make_station, make_lawyer):
    """Two stations with different settings: every generated day's slots and quota are those `plan_slots`
    gives one day, and a year costs the same statements on slots and quotas as four weeks."""
    hourly = make_station("整点站", sessions=[(time(9), time(12))], slot_minutes=60, places_per_slot=2)
    halves = make_station("半点站")
    for one in (hourly, halves):
        make_lawyer(one)
        make_lawyer(one)
    by_hand = roster.set_shift_lawyer(hourly, date(2026, 3, 17), roster.station_lawyers(hourly)[0], "测试")
    db.session.commit()
    expected_hourly = times(by_hand)  # planned on its own, through the same hook
    assert expected_hourly == ["09:00", "10:00", "11:00"]

    def planning_statements(station, weeks: int) -> int:
        """The statements that read or write slots and quotas while a rotation of `weeks` is made."""
        seen: list[str] = []

        def note(_conn, _cursor, statement, *_args) -> None:
            if "slots" in statement or "shift_quotas" in statement:
                seen.append(statement)

        start = date(2026, 3, 18)
        sa.event.listen(db.engine, "before_cursor_execute", note)
        try:
            roster.apply_rotation(station, start, start + timedelta(weeks=weeks), today=TODAY)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", note)
        return len(seen)

    few = planning_statements(halves, 4)
    many = planning_statements(hourly, 40)
    db.session.commit()
    assert many == few, (few, many)  # read the plans, insert the quotas, insert the slots
    for station, wanted, places, public in ((hourly, expected_hourly, 2, 4), (halves, HALF_HOURLY, 1, 10)):
        made = roster.shifts_between(station, date(2026, 3, 18), date(2026, 12, 31))
        assert len(made) >= 4
        for one in made:
            assert times(one) == wanted
            assert {s.capacity for s in planning.slots_of(one)} == {places}
            assert planning.public_places_left(one) == public


def test_a_page_never_plans_a_day_and_the_command_does(app, station, runner):
    """A shift made before slots were made with the shift shows no places until it is planned."""
    old = shift(station, EMPTY)
    db.session.execute(sa.delete(Slot).where(Slot.shift_id == old.id))
    db.session.execute(sa.delete(ShiftQuota).where(ShiftQuota.shift_id == old.id))
    db.session.commit()
    day = next(d for d in planning.bookable_days(station, "kiosk") if d.shift.id == old.id)
    assert day.slots == [] and day.left == 0
    assert planning.open_slots(old, "staff") == [] and planning.public_places_left(old) == 0
    db.session.rollback()
    assert not db.session.scalar(sa.select(sa.func.count()).where(Slot.shift_id == old.id))
    result = runner.invoke(args=["bookings", "plan-slots"])
    assert result.exit_code == 0 and "planned 1" in result.output, result.output
    assert times(old) == HALF_HOURLY
    assert "planned 0" in runner.invoke(args=["bookings", "plan-slots"]).output


def test_a_settings_change_re_plans_the_coming_days_nobody_is_booked_on(app, station):
    kept = book(station, BOOKED_A, "10:00", "13812345678")
    cancelled = book(station, BOOKED_B, "09:30", "13812345679")
    bookings.cancel(cancelled, "改期")
    db.session.commit()
    past_slots, today_slots = times(shift(station, PAST)), times(shift(station, TODAY))

    assert set(change(station, **HOURS)) == set(HOURS)

    # Days with nobody booked follow the new settings: hourly, two places, eleven for booking ahead.
    for day in (BOOKED_B, EMPTY):
        assert times(shift(station, day)) == HOURLY
        assert all(
            s.capacity == 2 and s.ends_at - s.starts_at == timedelta(hours=1)
            for s in planning.slots_of(shift(station, day))
        )
        assert planning.public_places_left(shift(station, day)) == 6 * 2 - 1
        counts_match_the_bookings(shift(station, day))
    # The cancelled booking still shows the time it had; its slot is out of every list.
    assert at(cancelled) == "09:30 (dropped)"
    # The booked day keeps its plan and its booking; the past and today are not touched.
    assert times(shift(station, BOOKED_A)) == HALF_HOURLY
    assert at(kept) == "10:00"
    counts_match_the_bookings(shift(station, BOOKED_A))
    assert times(shift(station, PAST)) == past_slots and times(shift(station, TODAY)) == today_slots
    # The station page will list it, and it can be re-planned with its booking kept.
    old = planning.days_on_old_plan(station)
    assert [(o.shift.duty_on, o.booked, o.reason) for o in old] == [(BOOKED_A, 1, "")]
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "station.replan"))
    assert entry.details["days"] == [BOOKED_B.isoformat(), EMPTY.isoformat()]
    assert list(entry.details["kept"]) == [BOOKED_A.isoformat()]
    # A change of other settings re-plans nothing.
    change(station, booking_window_days=30)
    assert db.session.scalar(sa.select(sa.func.count()).where(AuditEntry.action == "station.replan")) == 1


def test_booked_days_are_re_planned_keeping_every_booking_at_its_time(app, station):
    morning = book(station, BOOKED_A, "09:00", "13812345678")
    afternoon = book(station, BOOKED_A, "14:30", "13812345679", channel="hotline")
    misfit = book(station, BOOKED_B, "09:30", "13812345670")
    db.session.commit()
    change(station, **HOURS)

    result = planning.replan_coming_days(station, keep_bookings=True)
    db.session.commit()
    db.session.expire_all()

    assert result.days == [BOOKED_A]
    a = shift(station, BOOKED_A)
    assert times(a) == HOURLY
    assert (at(morning), at(afternoon)) == ("09:00", "14:30")
    assert [s.booked for s in planning.slots_of(a)] == [1, 0, 0, 1, 0, 0]
    counts_match_the_bookings(a)
    assert planning.public_places_left(a) == 11 - 1  # the hotline booking took no public place
    # The day whose booking is at 09:30 keeps its old plan, and says why.
    [kept] = result.kept
    assert kept.shift.duty_on == BOOKED_B and "09:30" in kept.reason
    assert times(shift(station, BOOKED_B)) == HALF_HOURLY
    assert at(misfit) == "09:30"
    counts_match_the_bookings(shift(station, BOOKED_B))
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "station.replan_booked"))
    assert (
        entry.details["days"] == [BOOKED_A.isoformat()]
        and "09:30" in entry.details["kept"][BOOKED_B.isoformat()]
    )
    # The new plan takes bookings at once: the second place at 09:00, then it is full.
    book(station, BOOKED_A, "09:00", "13900000001")
    with pytest.raises(SlotFull):
        book(station, BOOKED_A, "09:00", "13900000002")
    counts_match_the_bookings(shift(station, BOOKED_A))


def test_fewer_places_than_bookings_keeps_the_old_plan(app, station):
    change(station, places_per_slot=2, walkin_reserve=2)
    for n in range(2):
        book(station, BOOKED_A, "10:00", f"1381234567{n}")
    change(station, places_per_slot=1)
    result = planning.replan_coming_days(station, keep_bookings=True)
    assert result.days == [] and "10:00" in result.kept[0].reason
    assert [s.capacity for s in planning.slots_of(shift(station, BOOKED_A))] == [2] * 12
    counts_match_the_bookings(shift(station, BOOKED_A))


def test_the_station_page_lists_the_days_on_their_old_plan_and_re_plans_them(app, station, signed_in):
    book(station, BOOKED_A, "09:00", "13812345678")
    book(station, BOOKED_B, "09:30", "13812345679")
    db.session.commit()
    admin = signed_in("admin")
    url = f"/admin/stations/{station.id}"
    data = {
        "name": station.name,
        "address": "",
        "timezone": TZ,
        "duty_weekdays": ["2"],
        "sessions-0-start": "09:00",
        "sessions-0-end": "12:00",
        "sessions-1-start": "14:30",
        "sessions-1-end": "17:30",
        "sessions-2-start": "",
        "sessions-2-end": "",
        "slot_minutes": "60",
        "places_per_slot": "2",
        "walkin_reserve": "1",
        "booking_window_days": "28",
        "booking_cutoff_hours": "2",
        "retention_years": "3",
        "queue_opens_minutes": "60",
    }
    before = admin.get(url).get_data(as_text=True)
    assert 'id="plan-note"' in before and 'id="old-plan"' not in before
    assert post_form(admin, url, data).status_code == 302
    page = admin.get(url).get_data(as_text=True)
    assert 'id="old-plan"' in page and "09:30" in page  # the day that cannot keep its booking says why
    assert times(shift(station, EMPTY)) == HOURLY
    response = post_form(admin, url, {"replan-submit": "1"})
    assert response.status_code == 302
    db.session.expire_all()
    assert times(shift(station, BOOKED_A)) == HOURLY
    assert times(shift(station, BOOKED_B)) == HALF_HOURLY
    page = admin.get(url).get_data(as_text=True)
    assert 'id="old-plan"' in page and 'name="replan-submit"' not in page  # only the misfit is left
    # Settings the slots do not depend on leave the old plan list as it is, and the page still saves.
    assert post_form(admin, url, {**data, "booking_window_days": "30"}).status_code == 302
    assert 'value="30"' in admin.get(url).get_data(as_text=True)


def test_sessions_and_time_changes_follow_too(app, station):
    change(station, sessions=[(time(8, 30), time(11, 30))])
    assert times(shift(station, EMPTY)) == ["08:30", "09:00", "09:30", "10:00", "10:30", "11:00"]
    assert planning.public_places_left(shift(station, EMPTY)) == 4
