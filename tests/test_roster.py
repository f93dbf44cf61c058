"""The roster in the database: holidays, uncovered years, regeneration, hand changes, attendance."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
import time_machine

from legalaid.audit.models import AuditEntry
from legalaid.errors import InvalidInput, NotAllowed, YearNotCovered
from legalaid.extensions import db
from legalaid.lawyers import services as lawyers
from legalaid.roster import services as roster
from legalaid.roster.models import GENERATED, MANUAL, DutyShift, ShiftChange

HOLIDAY_TUESDAYS = [date(2026, 2, 17), date(2026, 5, 5), date(2026, 10, 6)]


@pytest.fixture
def six(app, make_station, make_lawyer):
    """A station with six lawyers, as in the seed report."""
    station = make_station("解放区站")
    return station, [make_lawyer(station, name=f"律师{i}") for i in range(1, 7)]


def test_a_year_of_tuesdays_skips_the_holidays(six, runner):
    station, _ = six
    with time_machine.travel(datetime(2025, 12, 1, 2, 0, tzinfo=UTC), tick=False):
        result = runner.invoke(
            args=[
                "roster",
                "generate",
                "--station",
                str(station.id),
                "--start",
                "2026-01-06",
                "--weeks",
                "52",
            ]
        )
        assert result.exit_code == 0, result.output
        csv_out = runner.invoke(
            args=[
                "roster",
                "show",
                "--station",
                str(station.id),
                "--start",
                "2026-01-01",
                "--end",
                "2026-12-31",
            ]
        ).output
    lines = csv_out.strip().splitlines()
    assert lines[0] == "date,lawyer_id,lawyer_name,source"
    dates = {line.split(",")[0] for line in lines[1:]}
    for holiday in HOLIDAY_TUESDAYS:
        assert holiday.isoformat() not in dates
    assert len(dates) == 52 - len(HOLIDAY_TUESDAYS)
    assert all(line.endswith(",generated") for line in lines[1:])
    counts = Counter(line.split(",")[1] for line in lines[1:])
    assert len(counts) == 6 and max(counts.values()) - min(counts.values()) <= 1


def test_an_uncovered_year_is_refused_until_confirmed(six):
    station, _ = six
    today = date(2026, 11, 23)
    with pytest.raises(YearNotCovered) as caught:
        roster.preview_rotation(station, date(2026, 11, 24), date(2027, 5, 24), today=today)
    assert caught.value.years == [2027]
    assert "2027" in caught.value.message
    assert roster.shifts_between(station, date(2026, 1, 1), date(2027, 12, 31)) == []

    roster.set_closure(station, date(2027, 2, 9), True, "春节")
    roster.confirm_year(station, 2027)
    db.session.commit()
    preview = roster.apply_rotation(station, date(2026, 11, 24), date(2027, 5, 24), today=today)
    db.session.commit()
    days = {s.duty_on for s in roster.shifts_between(station, date(2026, 11, 24), date(2027, 5, 24))}
    assert date(2027, 2, 9) not in days and date(2027, 2, 16) in days
    counts = preview.counts.values()
    assert max(counts) - min(counts) <= 1
    with pytest.raises(InvalidInput):
        roster.confirm_year(station, 2026)  # covered years need no confirmation


def test_regenerating_changes_nothing_and_keeps_past_and_hand_set_shifts(six):
    station, six_lawyers = six
    today = date(2026, 3, 1)
    roster.apply_rotation(station, date(2026, 1, 6), date(2026, 6, 30), today=date(2026, 1, 1))
    db.session.commit()
    before = {
        s.duty_on: s.lawyer_id for s in roster.shifts_between(station, date(2026, 1, 1), date(2026, 6, 30))
    }

    hand_day = date(2026, 4, 7)
    other = next(lw for lw in six_lawyers if lw.id != before[hand_day])
    roster.set_shift_lawyer(station, hand_day, other, "律师所调整", today=today)
    db.session.commit()
    # A lawyer's leave now changes the future, but not the past nor the hand-set day.
    lawyers.add_unavailability(six_lawyers[0], date(2026, 1, 1), date(2026, 12, 31), "长期外派")
    db.session.commit()
    preview = roster.apply_rotation(station, date(2026, 1, 6), date(2026, 6, 30), today=today)
    db.session.commit()
    after = {s.duty_on: s for s in roster.shifts_between(station, date(2026, 1, 1), date(2026, 6, 30))}
    for day, lawyer_id in before.items():
        if day <= today:
            assert after[day].lawyer_id == lawyer_id  # the past is untouched
    assert after[hand_day].lawyer_id == other.id and after[hand_day].source == MANUAL
    assert all(
        s.lawyer_id != six_lawyers[0].id for d, s in after.items() if d > today and s.source == GENERATED
    )
    assert preview.changes

    again = roster.preview_rotation(station, date(2026, 1, 6), date(2026, 6, 30), today=today)
    assert again.is_empty
    assert roster.apply_rotation(station, date(2026, 1, 6), date(2026, 6, 30), today=today).is_empty


def test_a_closure_removes_a_generated_future_shift(six):
    station, _ = six
    roster.apply_rotation(station, date(2026, 3, 3), date(2026, 3, 31), today=date(2026, 3, 1))
    db.session.commit()
    roster.set_closure(station, date(2026, 3, 17), True, "大厅活动")
    preview = roster.apply_rotation(station, date(2026, 3, 3), date(2026, 3, 31), today=date(2026, 3, 1))
    db.session.commit()
    assert [(c.day, c.kind) for c in preview.changes if c.kind == "remove"] == [(date(2026, 3, 17), "remove")]
    assert roster.shift_on(station, date(2026, 3, 17)) is None
    # Re-opening a holiday puts duty back on it.
    roster.set_closure(station, date(2026, 5, 5), False, "照常开放")
    roster.apply_rotation(station, date(2026, 5, 5), date(2026, 5, 5), today=date(2026, 3, 1))
    db.session.commit()
    assert roster.shift_on(station, date(2026, 5, 5)) is not None


def test_contracts_and_leave_are_respected(app, make_station, make_lawyer):
    station = make_station()
    early = make_lawyer(station, contract_end=date(2026, 2, 28))
    late = make_lawyer(station, contract_start=date(2026, 3, 1))
    steady = make_lawyer(station)
    lawyers.add_unavailability(steady, date(2026, 4, 1), date(2026, 4, 30), "休假")
    db.session.commit()
    roster.apply_rotation(station, date(2026, 1, 6), date(2026, 6, 30), today=date(2026, 1, 1))
    db.session.commit()
    for shift in roster.shifts_between(station, date(2026, 1, 1), date(2026, 6, 30)):
        assert shift.lawyer.under_contract_on(shift.duty_on)
        assert not (shift.lawyer_id == steady.id and date(2026, 4, 1) <= shift.duty_on <= date(2026, 4, 30))
    assert {s.lawyer_id for s in roster.shifts_between(station, date(2026, 1, 1), date(2026, 2, 28))} <= {
        early.id,
        steady.id,
    }
    assert late.id in {
        s.lawyer_id for s in roster.shifts_between(station, date(2026, 3, 1), date(2026, 6, 30))
    }


def test_hand_change_needs_a_reason_is_audited_and_noted_for_reminders(six):
    station, six_lawyers = six
    roster.apply_rotation(station, date(2026, 3, 3), date(2026, 3, 31), today=date(2026, 3, 1))
    db.session.commit()
    shift = roster.shift_on(station, date(2026, 3, 10))
    old = shift.lawyer_id
    new = next(lw for lw in six_lawyers if lw.id != old)
    with pytest.raises(InvalidInput):
        roster.set_shift_lawyer(station, shift.duty_on, new, "  ", today=date(2026, 3, 1))
    with pytest.raises(NotAllowed):
        roster.set_shift_lawyer(station, date(2026, 2, 24), new, "太晚了", today=date(2026, 3, 1))
    roster.set_shift_lawyer(station, shift.duty_on, new, "原律师出差", today=date(2026, 3, 1))
    db.session.commit()
    change = db.session.scalar(sa.select(ShiftChange))
    assert (change.old_lawyer_id, change.new_lawyer_id, change.cause, change.processed_at) == (
        old,
        new.id,
        "manual",
        None,
    )
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "roster.set_lawyer"))
    assert entry.details["reason"] == "原律师出差"


def test_check_in_only_on_the_day_and_missed_ones_show(six):
    station, _ = six
    roster.apply_rotation(station, date(2026, 3, 3), date(2026, 3, 17), today=date(2026, 3, 1))
    db.session.commit()
    first, second, third = roster.shifts_between(station, date(2026, 3, 1), date(2026, 3, 31))
    with pytest.raises(NotAllowed):
        roster.check_in(second, today=date(2026, 3, 3))
    with time_machine.travel(datetime(2026, 3, 10, 1, 5, tzinfo=UTC), tick=False):
        roster.check_in(second)
        db.session.commit()
    assert second.checked_in_at == datetime(2026, 3, 10, 1, 5, tzinfo=UTC)
    assert roster.missed_check_ins(station, today=date(2026, 3, 18)) == [third, first]


def test_month_page_and_print(signed_in, six):
    station, _ = six
    roster.apply_rotation(station, date(2026, 3, 3), date(2026, 3, 31), today=date(2026, 3, 1))
    db.session.commit()
    admin = signed_in("admin")
    html = admin.get(f"/admin/roster?station={station.id}&month=2026-03").get_data(as_text=True)
    assert "2026年3月" in html and "2026年3月10日 星期二" in html
    shift = roster.shift_on(station, date(2026, 3, 10))
    assert shift.lawyer.name in html
    printed = admin.get(f"/roster/print?station={station.id}&month=2026-03").get_data(as_text=True)
    assert "print.css" in printed and shift.lawyer.name in printed
    assert admin.get(f"/admin/roster?station={station.id}&month=garbage").status_code == 200


def test_generate_page_previews_then_saves(signed_in, six):
    from tests.conftest import post_form

    station, _ = six
    with time_machine.travel(datetime(2026, 2, 1, 2, 0, tzinfo=UTC), tick=True):
        admin = signed_in("admin")  # signed session cookies carry their time: sign in "then"
        form = {"station_id": str(station.id), "start": "2026-02-03", "weeks": "8"}
        preview = post_form(admin, f"/admin/roster/generate?station={station.id}", {**form, "preview": "1"})
        assert preview.status_code == 200
        html = preview.get_data(as_text=True)
        assert "2026年2月24日 星期二" in html  # listed as a new shift
        assert "2026年2月17日 星期二" not in html  # Spring Festival: no line at all
        assert db.session.scalar(sa.select(sa.func.count()).select_from(DutyShift)) == 0  # nothing saved yet
        saved = post_form(admin, f"/admin/roster/generate?station={station.id}", {**form, "save": "1"})
        assert saved.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DutyShift)) == 7  # 8 Tuesdays less 2-17


def test_generate_page_explains_an_uncovered_year(signed_in, six):
    from tests.conftest import post_form

    station, _ = six
    with time_machine.travel(datetime(2026, 11, 22, 2, 0, tzinfo=UTC), tick=True):
        admin = signed_in("admin")
        page = post_form(
            admin,
            f"/admin/roster/generate?station={station.id}",
            {"station_id": str(station.id), "start": "2026-11-24", "weeks": "26", "preview": "1"},
        )
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "2027" in html and "confirm-year" in html


def test_hall_display_shows_today_and_no_personal_data(client, six):
    station, six_lawyers = six
    roster.apply_rotation(station, date(2026, 3, 3), date(2026, 3, 17), today=date(2026, 3, 1))
    db.session.commit()
    on_duty = roster.shift_on(station, date(2026, 3, 10)).lawyer
    with time_machine.travel(datetime(2026, 3, 10, 1, 0, tzinfo=UTC), tick=False):
        html = client.get(f"/duty/today?station={station.id}").get_data(as_text=True)
    assert on_duty.name in html and on_duty.firm.name in html and "09:00–12:00" in html
    assert on_duty.mobile not in html and on_duty.licence_no not in html
    with time_machine.travel(datetime(2026, 3, 11, 1, 0, tzinfo=UTC), tick=False):
        html = client.get(f"/duty/today?station={station.id}").get_data(as_text=True)
    upcoming = roster.shift_on(station, date(2026, 3, 17)).lawyer
    assert "2026年3月17日 星期二" in html and upcoming.name in html
