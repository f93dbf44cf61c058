"""Retention (PIPL): with the clock moved past a station's retention, personal data is gone from every
table of the raw database, while every figure of the reports for past years stays the same; a dry run
changes nothing; a second run erases nothing; each run is audited with its counts; sent messages lose
their address and parameters after a few weeks.

The world is the reports' (tests/test_reports.py): consultations from 31 December 2024 to 6 January
2026; matters c6 (王建国) and c9, c12 (孙七) are still open, so they and their people are kept. Added
here: a counselling note and an earlier version on c2 (李秀英), a note on c1's matter, a description
and a veteran card on a booking of 赵六, and a sent SMS to 李秀英.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from legalaid import crypto
from legalaid.audit.models import AuditEntry
from legalaid.bookings.models import Booking, Veteran, WalkIn
from legalaid.consultations import services as consultations
from legalaid.consultations.models import Consultation, ConsultationVersion, Matter
from legalaid.extensions import db
from legalaid.privacy import retention
from legalaid.reminders.models import EXPIRED, PENDING, SENT, OutboxMessage
from legalaid.reports import services as reports
from legalaid.scheduler import JobRun, run_job
from legalaid.stations.models import Station
from tests.test_reports import P1_MOBILE, P2_ID, P2_MOBILE, TODAY, YEAR_2025, bj, clock, world  # noqa: F401

LATER = date(2029, 6, 1)  # three years after 1 June 2026: every record before then is past retention
CARD = "JR20240077"
GONE = [
    "李秀英",
    P2_MOBILE,
    P2_ID,  # P2: all her records are past retention
    "赵六",
    "13700001111",
    CARD,
    "家里漏雨三年",  # P3: one booking, with a description and a card
    "周八",
    "13400004444",  # P6
    "HYPERLINK",
    "13500003333",  # P5 (the formula name)
    "临时有事",  # P2's cancel reason, typed by her
    "房屋漏水",
    "心理疏导记录甲",
    "旧的建议",
    "调解笔记乙",  # c2's texts, its counselling, version, c1's note
    "欠薪三个月",
    "路人",  # c1's summary; a walk-in's name
]
KEPT = ["王建国", P1_MOBILE, "离婚财产", "孙七", "抚恤金待遇", "优抚待遇"]  # behind the open matters


TEXT_TYPES = (sa.String, sa.Text, sa.JSON, sa.Unicode, crypto.Encrypted, crypto.EncryptedJSON)


def raw_text(exclude: tuple[str, ...] = ()) -> str:
    """Every text and JSON value of every table, read straight from the database, as one string (the
    encrypted columns decrypted: erased data must be gone, not merely unreadable without the keys)."""
    parts: list[str] = []
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            if table.name in exclude:
                continue
            columns = [
                c for c in table.columns if isinstance(c.type, TEXT_TYPES)
            ]
            if not columns:
                continue
            for row in conn.execute(sa.select(*columns)):
                parts.extend(json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v for v in row)
    return "\n".join(p for p in parts if p)


def raw_rows() -> dict[str, list]:
    """Every row of every table, for comparing the whole database before and after."""
    with db.engine.connect() as conn:
        return {
            t.name: sorted(
                (tuple(str(v) for v in row) for row in conn.execute(sa.select(t))),
            )
            for t in db.metadata.sorted_tables
        }


@pytest.fixture
def full_world(world):  # noqa: F811
    """The reports' world, with the extra personal data listed in the module's docstring."""
    w = world
    c2 = w.c[2]
    with clock(date(2025, 3, 4), 15):
        consultations.correct_consultation(
            c2,
            w.a.user,
            consultations.Record(
                category="housing",
                summary="房屋漏水 物业不修",
                advice="旧的建议",
                outcomes=["drafting"],
                counselling_notes="心理疏导记录甲",
            ),
            today=date(2025, 3, 4),
        )
        consultations.correct_consultation(
            c2,
            w.a.user,
            consultations.Record(
                category="housing",
                summary="房屋漏水 物业不修",
                advice="建议",
                outcomes=["drafting"],
                counselling_notes="心理疏导记录甲",
            ),
            today=date(2025, 3, 4),
        )
        db.session.commit()
    b4 = w.b[4]
    db.session.execute(sa.update(Booking).where(Booking.id == b4.id).values(description="家里漏雨三年"))
    db.session.execute(sa.update(Veteran).where(Veteran.id == b4.veteran_id).values(veteran_card_no=CARD))
    # A note written on c1's matter before it closed (written straight: the matter is closed now).
    from legalaid.consultations.models import MatterNote

    db.session.add(MatterNote(matter_id=w.m[1].id, text="调解笔记乙", at=bj(date(2025, 3, 10))))
    p2 = db.session.scalar(sa.select(Veteran).where(Veteran.with_mobile(P2_MOBILE)))
    for n, (status, sent_at) in enumerate([(SENT, bj(date(2025, 3, 1))), (PENDING, None)]):
        db.session.add(
            OutboxMessage(
                kind="booking_confirmed",
                channel="sms",
                recipient_type="veteran",
                recipient_id=p2.id,
                address=P2_MOBILE,
                template="booking_confirmed",
                params={"name": "李秀英", "code": "ABC123"},
                due_at=sent_at or bj(LATER + timedelta(days=30)),
                status=status,
                sent_at=sent_at,
                dedupe_key=f"test:{n}",
            )
        )
    db.session.commit()
    w.p2 = p2.id
    return w


def figures() -> dict:
    """Every figure of the reports for 2024 and 2025, as of the reports' "today"."""
    return {
        "annual_2024": reports.annual_report(2024, today=TODAY),
        "annual_2025": reports.annual_report(2025, today=TODAY),
        "annual_2025_s1": reports.annual_report(2025, station_id=1, today=TODAY),
        "statistics": reports.statistics(YEAR_2025, today=TODAY),
        "performance": reports.lawyer_performance(YEAR_2025, today=TODAY),
        "people": reports.people_and_matters(YEAR_2025),
    }


def later() -> datetime:
    return bj(LATER, 3)


def test_the_personal_data_placed_in_the_world_is_in_the_raw_database_at_first(full_world):
    text = raw_text()
    missing = [value for value in GONE + KEPT if value not in text]
    assert missing == []


def test_retention_erases_personal_data_everywhere_and_keeps_every_figure(full_world):
    before = figures()
    with time_machine.travel(later(), tick=False):
        result = retention.run()
        db.session.commit()
    text = raw_text()
    assert [value for value in GONE if value in text] == []
    # The open matters (c6, c9, c12) keep their consultations and people: 王建国 and 孙七 stay.
    assert [value for value in KEPT if value not in text] == []
    assert figures() == before
    # The same rows are still there: only fields were blanked.
    p2 = db.session.get(Veteran, full_world.p2)
    assert (p2.name, p2.mobile, p2.id_number, p2.erased_at is not None) == ("", None, None, True)
    c2 = db.session.get(Consultation, full_world.id[2])
    assert (c2.summary, c2.counselling_notes, c2.category, c2.outcomes) == ("", "", "housing", ["drafting"])
    assert all(v.data == {} for v in db.session.scalars(sa.select(ConsultationVersion)))
    c6 = db.session.get(Consultation, full_world.id[6])
    assert c6.erased_at is None and c6.summary.startswith("离婚财产")
    matter1 = db.session.get(Matter, full_world.m[1].id)
    assert (matter1.status, matter1.money_saved, [n.text for n in matter1.notes]) == ("closed", 12000, [""])
    # Per station: at S1 every consultation but c6 and c9 (open matters); at S2 c11 but not c12 (open).
    s1, s2 = result.stations
    assert s1.before == date(2026, 6, 1) and s2.before == date(2026, 6, 1)
    assert sorted(s1.erased.consultations) == sorted(full_world.id[n] for n in (0, 1, 2, 3, 4, 5, 7, 8, 10))
    assert sorted(s2.erased.consultations) == [full_world.id[11]]
    assert s1.erased.counts()["walk_ins"] == 3 and s1.erased.versions == 2 and s1.erased.notes == 1
    # The messages to 李秀英: the sent one lost its address and parameters; the waiting one lapsed too.
    sent, pending = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()[-2:]
    assert (sent.address, sent.params, sent.status) == ("", {}, SENT)
    assert (pending.address, pending.params, pending.status) == ("", {}, EXPIRED)
    # Those two, and the three thank-you messages with a rating link sent after the erased people's
    # consultations (legalaid.ratings.notices).
    assert s1.erased.messages == 5
    # The world's other messages (swap notices of 2025) done long ago were emptied by the outbox rule;
    # those still waiting to go to the lawyers keep what they need.
    messages = db.session.scalars(sa.select(OutboxMessage)).all()
    assert result.messages and all(
        m.address == "" and m.params == {} for m in messages if m.status != PENDING
    )
    assert all(m.address for m in messages if m.status == PENDING)


def test_each_run_is_audited_per_station_with_counts_only(full_world):
    with time_machine.travel(later(), tick=False):
        result = retention.run()
        db.session.commit()
    entries = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "privacy.retention").order_by(AuditEntry.id)
    ).all()
    assert [(e.station_id, e.actor_name) for e in entries] == [
        (s.station_id, "system") for s in result.stations
    ]
    first = entries[0].details
    assert first["consultations"] == 9 and first["years"] == 3 and first["before"] == "2026-06-01"
    assert set(first) == {
        "years",
        "before",
        "consultations",
        "bookings",
        "walk_ins",
        "people",
        "versions",
        "notes",
        "messages",
    }
    outbox = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "privacy.outbox_emptied")
    ).one()
    assert outbox.details == {"messages": len(result.messages)}


def test_a_dry_run_lists_what_it_would_do_and_changes_nothing(full_world, runner):
    before = raw_rows()
    with time_machine.travel(later(), tick=False):
        planned = retention.run(dry_run=True)
        db.session.commit()
        out = runner.invoke(args=["privacy", "retention", "--dry-run"])
    assert out.exit_code == 0, out.output
    assert raw_rows() == before
    s1 = planned.stations[0]
    assert len(s1.erased.consultations) == 9
    assert f"consultations      9  ids {', '.join(map(str, s1.erased.consultations))}" in out.output
    assert "would erase" in out.output and "messages emptied" in out.output
    assert "李秀英" not in out.output and P2_MOBILE not in out.output


def test_a_second_run_erases_nothing(full_world):
    with time_machine.travel(later(), tick=False):
        retention.run()
        db.session.commit()
        after_first = raw_rows()
        again = retention.run()
        db.session.commit()
    assert all(part.erased.empty for part in again.stations) and again.messages == []
    second = raw_rows()
    assert {k: v for k, v in second.items() if k != "audit_entries"} == {
        k: v for k, v in after_first.items() if k != "audit_entries"
    }


def test_nothing_is_due_before_the_retention_has_passed(full_world):
    before = raw_rows()
    with time_machine.travel(bj(date(2027, 12, 30)), tick=False):
        result = retention.run(station_id=full_world.s1.id)
        db.session.commit()
    assert all(part.erased.empty for part in result.stations)
    rows = raw_rows()
    assert {k: v for k, v in rows.items() if k != "audit_entries"} == {
        k: v for k, v in before.items() if k != "audit_entries"
    }


def test_a_station_with_a_shorter_retention_erases_sooner(full_world):
    db.session.execute(sa.update(Station).where(Station.id == full_world.s2.id).values(retention_years=1))
    db.session.commit()
    with time_machine.travel(bj(date(2026, 4, 1)), tick=False):
        result = retention.run()
        db.session.commit()
    s1, s2 = result.stations
    assert s1.erased.counts()["consultations"] == 0  # three years at S1: nothing yet
    # S2, one year: c11 (closed 20 Mar 2025) is due; c12's matter is open; the no-show of May is not due.
    assert s2.before == date(2025, 4, 1)
    assert s2.erased.consultations == [full_world.id[11]]
    assert sorted(s2.erased.bookings) == sorted([full_world.b[10].id, full_world.b[11].id])
    # 王建国 still has records at S1, 孙七 an open matter: nobody is erased.
    assert s2.erased.people == []


def test_the_station_option_and_the_job(full_world, runner, app):
    out = runner.invoke(args=["privacy", "retention", "--station", "999"])
    assert out.exit_code != 0 and "No station with id 999" in out.output
    with time_machine.travel(later(), tick=False):
        out = runner.invoke(args=["privacy", "retention", "--station", str(full_world.s2.id)])
        assert out.exit_code == 0, out.output
        assert f"station {full_world.s2.id}" in out.output and "messages emptied" not in out.output
        db.session.expire_all()
        assert db.session.get(Consultation, full_world.id[11]).erased_at is not None
        assert db.session.get(Consultation, full_world.id[1]).erased_at is None
        result = run_job(app, "retention")
    assert result["consultations"] == 9 and result["people"] == 3
    assert db.session.get(JobRun, "retention").ok


def test_messages_are_emptied_only_when_done_and_old_enough(app, full_world):
    sent = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.status == SENT)).one()
    app.config["OUTBOX_PAYLOAD_KEEP_DAYS"] = 10
    with time_machine.travel(sent.sent_at + timedelta(days=9), tick=False):
        assert retention.run().messages == []
    with time_machine.travel(sent.sent_at + timedelta(days=11), tick=False):
        assert retention.run().messages == [sent.id]


@pytest.mark.parametrize(
    ("today", "years", "first_kept"),
    [(date(2028, 2, 29), 3, date(2025, 2, 28)), (date(2029, 6, 1), 3, date(2026, 6, 1))],
)
def test_the_first_day_kept(today, years, first_kept):
    assert retention.cutoff(Station(retention_years=years), today) == first_kept


def test_erased_rows_say_so(full_world):
    with time_machine.travel(later(), tick=False):
        retention.run()
        db.session.commit()
    walk_ins = db.session.scalars(sa.select(WalkIn)).all()
    assert walk_ins and all(w.erased_at is not None and w.name == "" for w in walk_ins)
