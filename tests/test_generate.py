"""The province-scale generator (`flask demo generate`): its small size writes consistent data, the app's
own pages read it, the same seed gives the same data, and a second run is refused."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from legalaid import generate
from legalaid.bookings.models import Booking, DailyCounter, ShiftQuota, Slot, WalkIn
from legalaid.consultations.models import Consultation, Matter
from legalaid.extensions import db
from legalaid.roster.models import DutyShift
from legalaid.stations.models import Station
from tests.conftest import login

# A Wednesday morning in Beijing (02:30 UTC): yesterday was a duty day, the next is six days ahead.
NOW = datetime(2026, 11, 18, 2, 30, tzinfo=UTC)
TODAY = date(2026, 11, 18)
SMALL = generate.Sizes(stations=2, years=1, per_station_year=120, seed=7)


def _count(model: type, *where: object) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0


@pytest.fixture
def generated(app):
    """The small size, generated at NOW and committed."""
    with time_machine.travel(NOW, tick=False):
        result = generate.generate(SMALL, say=lambda _line: None)
        db.session.commit()
    return result


def test_small_size_is_consistent(generated):
    assert _count(Station) == 2
    consultations = _count(Consultation)
    assert 150 <= consultations <= 300  # 2 stations × 120 a year, give or take the days' variation
    problems = {rule: n for rule, n in generate.check(TODAY).items() if n}
    assert problems == {}

    # Every consultation's booking exists and belongs to a shift of the same station, on its day.
    rows = db.session.execute(
        sa.select(Consultation.station_id, Consultation.held_on, DutyShift.station_id, DutyShift.duty_on)
        .join(Booking, Booking.id == Consultation.booking_id)
        .join(DutyShift, DutyShift.id == Booking.shift_id)
    ).all()
    assert rows and all(c_station == s_station and held == on for c_station, held, s_station, on in rows)
    # No slot over capacity, and every counter equals its rows.
    for slot in db.session.scalars(sa.select(Slot)):
        holding = _count(Booking, Booking.slot_id == slot.id, Booking.status != "cancelled")
        assert slot.booked == holding <= slot.capacity
    for quota in db.session.scalars(sa.select(ShiftQuota)):
        public = _count(
            Booking,
            Booking.shift_id == quota.shift_id,
            Booking.status != "cancelled",
            Booking.uses_public_quota,
        )
        assert quota.public_booked == public <= quota.public_capacity
    for counter in db.session.scalars(sa.select(DailyCounter)):
        numbers = db.session.scalars(
            sa.select(WalkIn.number).where(WalkIn.station_id == counter.station_id, WalkIn.day == counter.day)
        ).all()
        assert counter.last_number == max(numbers, default=0)
        assert sorted(numbers) == list(range(1, len(numbers) + 1))

    # Every state and channel appears; the future holds only booked (or cancelled) bookings.
    states = set(db.session.scalars(sa.select(Booking.status).distinct()))
    assert states == {"booked", "checked_in", "completed", "no_show", "cancelled"}
    channels = set(db.session.scalars(sa.select(Consultation.channel).distinct()))
    assert {"kiosk", "online", "hotline", "phone", "staff", "walkin"} <= channels
    assert set(db.session.scalars(sa.select(Matter.status).distinct())) >= {"closed"}


def test_encrypted_values_read_back_as_the_app_wrote_them(generated):
    from legalaid.bookings.models import Veteran
    from legalaid.reminders.models import OutboxMessage

    veteran = db.session.scalars(sa.select(Veteran).limit(1)).one()
    assert (
        len(veteran.mobile) == 11
        and db.session.scalar(sa.select(Veteran.id).where(Veteran.with_mobile(veteran.mobile))) == veteran.id
    )
    stored = db.session.scalar(sa.text("SELECT mobile FROM veterans WHERE id = :id"), {"id": veteran.id})
    assert stored.startswith("enc1:")
    confirmations = sa.select(OutboxMessage).where(OutboxMessage.kind == "booking_confirmed")
    recent = db.session.scalars(confirmations.order_by(OutboxMessage.id.desc()).limit(1)).one()
    booking = db.session.get(Booking, int(recent.dedupe_key.split(":")[1]))
    assert recent.params["code"] == booking.code and recent.address == booking.veteran.mobile
    # Messages done with before the outbox's keeping time (30 days) are emptied, as retention does.
    oldest = db.session.scalars(confirmations.order_by(OutboxMessage.id).limit(1)).one()
    assert oldest.params == {} and oldest.address == "" and oldest.status in ("sent", "failed")


def test_the_apps_pages_work_on_generated_data(generated, client, make_user):
    station = db.session.scalars(sa.select(Station).order_by(Station.id)).first()
    with time_machine.travel(NOW, tick=False):
        admin = make_user("admin")
        assert login(client, admin.username).status_code == 302
        for url in (
            "/admin/consultations",
            f"/admin/consultations?station={station.id}&outcome=mediation",
            "/admin/statistics",
            "/admin/statistics/lawyers",
            "/admin/reports/annual/2026",
            f"/admin/reports/annual/2026?station={station.id}",
            "/admin/reports/monthly/2026-10",
            f"/desk?station={station.id}",
        ):
            assert client.get(url).status_code == 200, url
        kiosk = client.application.test_client()
        days = kiosk.get(f"/kiosk/days?station={station.id}")
        assert days.status_code == 200
        coming = db.session.scalar(
            sa.select(DutyShift.id)
            .where(DutyShift.station_id == station.id, DutyShift.duty_on > TODAY)
            .limit(1)
        )
        assert kiosk.get(f"/kiosk/day/{coming}").status_code == 200


def test_a_second_run_is_refused_and_changes_nothing(generated, runner):
    before = {table: _count(model) for table, model in (("c", Consultation), ("b", Booking), ("s", Station))}
    with time_machine.travel(NOW, tick=False):
        again = runner.invoke(args=["demo", "generate", "--stations", "1", "--years", "1"])
    assert again.exit_code != 0 and "already holds generated data" in again.output
    assert before == {
        table: _count(model) for table, model in (("c", Consultation), ("b", Booking), ("s", Station))
    }
    codes = db.session.scalars(sa.select(Booking.code)).all()
    assert len(set(codes)) == len(codes) and all(len(code) == 6 for code in codes)


def test_the_same_seed_makes_the_same_data(app, monkeypatch):
    """Two runs with one seed and one clock write the same rows (tokens aside: each encryption differs)."""
    written: list[dict[str, list[tuple]]] = []

    def capture(writer, table, columns, rows):
        plain = [
            tuple(v for v in row if not (isinstance(v, str) and v.startswith(("enc1:", "pbkdf2"))))
            for row in rows
        ]
        written[-1].setdefault(table, []).extend(plain)

    monkeypatch.setattr(generate.Writer, "write", capture)
    for _run in range(2):
        written.append({})
        with time_machine.travel(NOW, tick=False):
            generate.generate(
                generate.Sizes(stations=1, years=1, per_station_year=60, seed=11), say=lambda _l: None
            )
        db.session.rollback()
    first, second = written
    assert first["consultations"] and first == second


def test_command_prints_progress_and_a_summary(runner, app):
    with time_machine.travel(NOW, tick=False):
        result = runner.invoke(
            args=[
                "demo",
                "generate",
                "--stations",
                "1",
                "--years",
                "1",
                "--per-station-year",
                "50",
                "--seed",
                "3",
            ]
        )
    assert result.exit_code == 0, result.output
    assert "station 1/1" in result.output and "consultations" in result.output and "rows/s" in result.output
    assert _count(Consultation) > 0 and generate.check(TODAY) == dict.fromkeys(generate.CHECKS, 0)


def test_generates_beside_other_data_and_the_app_adds_rows_after_it(runner, app):
    """Next to the demo: ids go on after the demo's, the demo's rows stay, and the app's own next rows
    (PostgreSQL's sequences moved past the generated ids) insert without a clash."""
    from legalaid import audit

    with time_machine.travel(NOW, tick=False):
        assert runner.invoke(args=["demo", "load"]).exit_code == 0
        demo_consultations = _count(Consultation)
        result = runner.invoke(args=["demo", "generate", "--stations", "1", "--per-station-year", "40"])
        assert result.exit_code == 0, result.output
        assert _count(Consultation) > demo_consultations and _count(Station) == 2
        assert generate.check(TODAY) == dict.fromkeys(generate.CHECKS, 0)
        entry = audit.record("station.update", details={"after": "generate"})
        db.session.commit()
    assert entry.id > db.session.scalar(
        sa.text("SELECT max(id) FROM audit_entries WHERE actor_name LIKE 'gen-%'")
    )


def test_on_a_duty_afternoon_the_day_is_booked_before_each_cutoff_and_the_desk_lists_it(
    app, client, make_user
):
    tuesday_afternoon = datetime(2026, 11, 17, 7, 0, tzinfo=UTC)  # 15:00 in Beijing, a duty Tuesday
    with time_machine.travel(tuesday_afternoon, tick=False):
        generate.generate(
            generate.Sizes(stations=1, years=1, per_station_year=150, seed=5), say=lambda _l: None
        )
        db.session.commit()
        assert generate.check(date(2026, 11, 17)) == dict.fromkeys(generate.CHECKS, 0)
        shift = db.session.scalars(sa.select(DutyShift).where(DutyShift.duty_on == date(2026, 11, 17))).one()
        booked = db.session.execute(
            sa.select(Booking.created_at, Slot.starts_at)
            .join(Slot, Slot.id == Booking.slot_id)
            .where(Booking.shift_id == shift.id)
        ).all()
        assert booked and all(made <= starts - timedelta(hours=2) for made, starts in booked)
        staff = make_user("staff", station_id=shift.station_id)
        assert login(client, staff.username).status_code == 302
        desk = client.get("/desk")
        assert desk.status_code == 200 and shift.lawyer.name in desk.get_data(as_text=True)
