"""Reports and privacy: every figure equals a hand count on a small world built with the project's own
services; the log's filters; CSV and XLSX that parse back (Chinese intact, numbers masked unless asked,
formulas inert); an export of 100,000 rows in flat memory; reveal and export audited and refused to
roles that may not.

The world (all dates fixed; "today" is 15 January 2026 unless a test says otherwise):

Stations 东城站 (S1) and 西城站 (S2). Lawyers 甲律师 (A) and 乙律师 (B) at S1, 丙律师 (C) at S2.
People: P1 王建国 13812345678, P2 李秀英 13987654321, P3 赵六 13700001111, P4 孙七 13600002222,
P5 =HYPERLINK("http://x.cn","点") 13500003333, P6 周八 13400004444; two walk-ins leave no number.

Shifts: S1 2024-12-31 A (signed in) · 2025-03-04 A (in) · 03-11 A (in) · 04-08 B (in) ·
04-15 A, swapped to B (approved; B never signed in) · 12-30 A (in; a swap of it to B was rejected) ·
2026-01-06 A (in) · 2026-01-20 A (future). S2 2025-03-05 C (in) · 2025-05-07 C (not signed in).

Consultations (c#: day, station, lawyer, person, channel, category, outcomes, follow-up):
  c0  2024-12-31 S1 A P1 online  labour    advice                none
  c1  2025-03-04 S1 A P1 kiosk   labour    advice, mediation     closed 03-14 mediation_agreement ¥12000
  c2  2025-03-04 S1 A P2 staff   housing   drafting              closed 03-08 resolved ¥5000
  c11 2025-03-05 S2 C P1 hotline labour    advice, referral      closed 03-20 legal_aid_granted ¥0
  c12 2025-03-05 S2 C P4 kiosk   pensions  counselling           open, due 2026-03-01
  c3  2025-03-11 S1 A P1 online  labour    advice                none            (P1's repeat visit)
  c4  2025-03-11 S1 A walk-in 路人 (no number) labour advice      none
  c5  2025-03-11 S1 A walk-in, no name, no number labour counselling none
  c6  2025-04-08 S1 B P1 phone   family    legal_aid             in progress (submitted, accepted), due 04-22
  c7  2025-04-08 S1 B P2 walk-in housing   advice                none   (her kiosk booking was cancelled)
  c8  2025-04-08 S1 B P5 hotline contracts referral              closed 04-12 referred, no money
  c9  2025-12-30 S1 A P4 online  pensions  advice, legal_aid     in progress (concluded 01-10), due 2026-02-01
  c10 2026-01-06 S1 A P1 online  labour    advice                none
Bookings not consulted: P3 online 2025-03-11 S1 (no-show), P2 kiosk 2025-04-08 S1 (cancelled),
P6 online 2025-05-07 S2 (no-show). Walk-in numbers: two on 2025-03-11 and one on 2025-04-08 at S1.
Every matter is recorded and closed at 10:00, so days to close are whole: c1 10, c2 4, c8 4, c11 15.
"""

from __future__ import annotations

import csv
import ctypes
import gc
import html
import io
import json
import re
import secrets
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import time_machine
from openpyxl import load_workbook

from legalaid.audit.models import AuditEntry
from legalaid.bookings import calling, planning
from legalaid.bookings import services as bookings
from legalaid.bookings.models import Veteran
from legalaid.bookings.validation import id_check_digit
from legalaid.categories import category_label
from legalaid.consultations import services as consultations
from legalaid.consultations.forms import label as consultation_label
from legalaid.consultations.models import OUTCOMES, Consultation, ConsultationOutcome, Matter
from legalaid.errors import InvalidInput, NotAllowed
from legalaid.extensions import db
from legalaid.privacy import services as privacy
from legalaid.ratings.services import RatingCounts, RatingReport
from legalaid.reports import exports
from legalaid.reports import services as reports
from legalaid.reports.forms import label as report_label
from legalaid.reports.models import MonthlyReview
from legalaid.reports.services import LogFilter, Period
from legalaid.roster import services as roster
from legalaid.swaps import services as swaps
from tests.conftest import csrf_token, login

BEIJING = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 1, 15)
YEAR_2025 = Period(date(2025, 1, 1), date(2025, 12, 31))
FORMULA_NAME = '=HYPERLINK("http://x.cn","点")'
P1_MOBILE, P2_MOBILE, P5_MOBILE = "13812345678", "13987654321", "13500003333"
P2_ID = "41010219800101123" + id_check_digit("41010219800101123")  # given at the desk with booking b2


def bj(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """A Beijing wall-clock time on a day, as the aware UTC instant."""
    return datetime.combine(day, time(hour, minute), tzinfo=BEIJING).astimezone(UTC)


@contextmanager
def clock(day: date, hour: int = 10) -> Iterator[None]:
    """Stop the clock at that Beijing time (created_at, closed_at and "today" all follow)."""
    with time_machine.travel(bj(day, hour), tick=False):
        yield


def no_outcomes(**counts: int) -> dict[str, int]:
    """Every outcome code with 0, except those given."""
    return {code: counts.get(code, 0) for code in OUTCOMES}


# -- the world ----------------------------------------------------------------------------------------


@pytest.fixture
def world(app, make_station, make_firm, make_lawyer, make_user):
    """The stations, lawyers, shifts, bookings, walk-ins, consultations and matters described above."""
    w = SimpleNamespace(c={}, b={}, m={})
    w.s1, w.s2 = make_station("东城站"), make_station("西城站")
    east, west = make_firm("东城律师事务所"), make_firm("西城律师事务所")
    w.a = make_lawyer(w.s1, name="甲律师", firm_id=east.id)
    w.b_ = make_lawyer(w.s1, name="乙律师", firm_id=east.id)
    w.c_ = make_lawyer(w.s2, name="丙律师", firm_id=west.id)
    w.admin = make_user("admin", username="chief")
    w.desk1 = make_user("staff", username="desk1", station_id=w.s1.id)
    w.desk2 = make_user("staff", username="desk2", station_id=w.s2.id)

    plan = {
        "D0": (w.s1, date(2024, 12, 31), w.a),
        "D1": (w.s1, date(2025, 3, 4), w.a),
        "D2": (w.s1, date(2025, 3, 11), w.a),
        "D3": (w.s1, date(2025, 4, 8), w.b_),
        "D4": (w.s1, date(2025, 4, 15), w.a),
        "D5": (w.s1, date(2025, 12, 30), w.a),
        "D6": (w.s1, date(2026, 1, 6), w.a),
        "D7": (w.s1, date(2026, 1, 20), w.a),
        "E1": (w.s2, date(2025, 3, 5), w.c_),
        "E2": (w.s2, date(2025, 5, 7), w.c_),
    }
    w.shift, slots = {}, {}
    with clock(date(2024, 12, 1)):
        for key, (station, day, lawyer) in plan.items():
            w.shift[key] = roster.set_shift_lawyer(station, day, lawyer, "排班", today=date(2024, 12, 1))
        db.session.commit()
        for key, shift in w.shift.items():
            slots[key] = [s.id for s in planning.ensure_slots(shift)]
        db.session.commit()

    def book(key, slot, name, mobile, category, channel, days_before=3, id_number=None):
        when = bj(w.shift[key].duty_on - timedelta(days=days_before))
        with time_machine.travel(when, tick=False):
            return bookings.place_booking(
                bookings.BookingRequest(
                    slot_id=slots[key][slot],
                    name=name,
                    mobile=mobile,
                    category=category,
                    channel=channel,
                    idempotency_key=secrets.token_hex(16),
                    consent=True,
                    id_number=id_number,
                ),
                now=when,
            )

    def sign_in(key):
        shift = w.shift[key]
        with clock(shift.duty_on, 9):
            roster.check_in(shift, today=shift.duty_on)
            db.session.commit()

    def walk_in(key, category, veteran=None, name=""):
        shift = w.shift[key]
        with clock(shift.duty_on, 9):
            walkin = calling.issue_walkin(
                shift.station, category, veteran=veteran, now=bj(shift.duty_on, 9), name=name
            )
            db.session.commit()
        return walkin

    def consult(n, key, lawyer, category, summary, outcomes, booking=None, walkin=None, due=None):
        shift = w.shift[key]
        with clock(shift.duty_on):
            c = consultations.record_consultation(
                shift.station,
                lawyer.user,
                consultations.Record(
                    category=category,
                    summary=summary,
                    advice="建议",
                    outcomes=outcomes,
                    follow_up=due is not None,
                    due_on=due,
                ),
                booking=booking,
                walkin=walkin,
                today=shift.duty_on,
            )
            db.session.commit()
        w.c[n] = c
        if due is not None:
            w.m[n] = c.matter

    def close(n, day, result, money=None):
        matter = w.m[n]
        with clock(day):
            consultations.close_matter(matter, matter.owner, result, money_saved=money)
            db.session.commit()

    def milestone(n, day, step):
        matter = w.m[n]
        with clock(day):
            consultations.add_note(matter, matter.owner, "", milestone=step, on=day)
            db.session.commit()

    # 2024: the last visit of the year before.
    w.b[0] = book("D0", 0, "王建国", P1_MOBILE, "labour", "online")
    sign_in("D0")
    consult(0, "D0", w.a, "labour", "欠薪 旧案", ["advice"], booking=w.b[0])
    # March 2025.
    w.b[1] = book("D1", 0, "王建国", P1_MOBILE, "labour", "kiosk")
    w.b[2] = book("D1", 1, "李秀英", P2_MOBILE, "housing", "staff", id_number=P2_ID)
    w.b[11] = book("E1", 0, "孙七", "13600002222", "pensions", "kiosk")
    w.b[10] = book("E1", 1, "王建国", P1_MOBILE, "labour", "hotline", days_before=1)
    sign_in("D1")
    consult(
        1, "D1", w.a, "labour", "欠薪三个月", ["advice", "mediation"], booking=w.b[1], due=date(2025, 3, 18)
    )
    consult(2, "D1", w.a, "housing", "房屋漏水 物业不修", ["drafting"], booking=w.b[2], due=date(2025, 3, 25))
    sign_in("E1")
    consult(
        11, "E1", w.c_, "labour", "欠薪 西城", ["advice", "referral"], booking=w.b[10], due=date(2025, 3, 19)
    )
    consult(12, "E1", w.c_, "pensions", "优抚待遇", ["counselling"], booking=w.b[11], due=date(2026, 3, 1))
    close(2, date(2025, 3, 8), "resolved", 5000)
    w.b[3] = book("D2", 0, "王建国", P1_MOBILE, "labour", "online")
    w.b[4] = book("D2", 1, "赵六", "13700001111", "family", "online")
    sign_in("D2")
    consult(3, "D2", w.a, "labour", "欠薪 再次咨询", ["advice"], booking=w.b[3])
    consult(4, "D2", w.a, "labour", "工资被扣", ["advice"], walkin=walk_in("D2", "labour", name="路人"))
    consult(5, "D2", w.a, "labour", "劳动合同解除", ["counselling"], walkin=walk_in("D2", "labour"))
    with clock(w.shift["D2"].duty_on, 18):
        bookings.mark_no_show(w.b[4])
        db.session.commit()
    close(1, date(2025, 3, 14), "mediation_agreement", 12000)
    close(11, date(2025, 3, 20), "legal_aid_granted", 0)
    # April 2025: A hands 15 April to B; P2 cancels her booking and walks in instead.
    w.b[5] = book("D3", 0, "王建国", P1_MOBILE, "family", "phone", days_before=7)
    w.b[6] = book("D3", 1, "李秀英", P2_MOBILE, "housing", "kiosk", days_before=7)
    with clock(date(2025, 4, 1)):
        swap = swaps.request_swap(w.shift["D4"], w.a, w.b_, today=date(2025, 4, 1))
        swaps.accept_swap(swap, w.b_, today=date(2025, 4, 1))
        swaps.approve_swap(swap, w.admin, today=date(2025, 4, 1))
        db.session.commit()
    with clock(date(2025, 4, 3)):
        bookings.cancel(w.b[6], "临时有事", now=bj(date(2025, 4, 3)))
        db.session.commit()
    w.b[7] = book("D3", 2, FORMULA_NAME, P5_MOBILE, "contracts", "hotline", days_before=1)
    sign_in("D3")
    consult(
        6, "D3", w.b_, "family", "离婚财产 100%_归属", ["legal_aid"], booking=w.b[5], due=date(2025, 4, 22)
    )
    p2 = db.session.scalar(sa.select(Veteran).where(Veteran.with_mobile(P2_MOBILE)))
    consult(
        7, "D3", w.b_, "housing", "房屋 再次咨询", ["advice"], walkin=walk_in("D3", "housing", veteran=p2)
    )
    consult(8, "D3", w.b_, "contracts", "借款合同纠纷", ["referral"], booking=w.b[7], due=date(2025, 4, 30))
    milestone(6, date(2025, 4, 9), "submitted")
    milestone(6, date(2025, 4, 10), "accepted")
    close(8, date(2025, 4, 12), "referred")
    # May 2025 at S2: C never signs in; the one booked person does not come.
    w.b[12] = book("E2", 0, "周八", "13400004444", "injury", "online")
    with clock(w.shift["E2"].duty_on, 18):
        bookings.mark_no_show(w.b[12])
        db.session.commit()
    # December 2025: a swap asked for and rejected (does not count).
    with clock(date(2025, 12, 1)):
        rejected = swaps.request_swap(w.shift["D5"], w.a, w.b_, today=date(2025, 12, 1))
        swaps.reject_swap(rejected, w.admin, "不批准")
        db.session.commit()
    w.b[8] = book("D5", 0, "孙七", "13600002222", "pensions", "online")
    sign_in("D5")
    consult(
        9, "D5", w.a, "pensions", "抚恤金待遇", ["advice", "legal_aid"], booking=w.b[8], due=date(2026, 2, 1)
    )
    # January 2026.
    w.b[9] = book("D6", 0, "王建国", P1_MOBILE, "labour", "online")
    sign_in("D6")
    consult(10, "D6", w.a, "labour", "欠薪 新年", ["advice"], booking=w.b[9])
    milestone(9, date(2026, 1, 10), "concluded")
    w.id = {n: c.id for n, c in w.c.items()}
    w.name_of = {c.id: n for n, c in w.c.items()}
    return w


def numbers(w, rows) -> list[int]:
    """The c-numbers of log rows, in their order."""
    return [w.name_of[r.id] for r in rows]


# -- the counting rule: statistics, people and matters ------------------------------------------------


def test_statistics_of_2025_equal_the_hand_count(world):
    s = reports.statistics(YEAR_2025, today=TODAY)
    # 2025: c1 c2 c3 c4 c5 c11 c12 in March, c6 c7 c8 in April, c9 in December (c0, c10 are not 2025).
    assert s.consultations == 11
    assert s.by_month == [(date(2025, m, 1), {3: 7, 4: 3, 12: 1}.get(m, 0)) for m in range(1, 13)]
    # labour c1 c3 c4 c5 c11 · housing c2 c7 · pensions c9 c12 · family c6 · contracts c8
    assert s.by_category == {"labour": 5, "housing": 2, "pensions": 2, "family": 1, "contracts": 1}
    # advice c1 c3 c4 c7 c9 c11 · legal_aid c6 c9 · mediation c1 · counselling c5 c12 · drafting c2 ·
    # referral c8 c11
    assert s.by_outcome == no_outcomes(
        advice=6, legal_aid=2, mediation=1, counselling=2, drafting=1, referral=2
    )
    assert s.by_lawyer == [("甲律师", 6), ("乙律师", 3), ("丙律师", 2)]
    # kiosk c1 c12 · staff c2 · online c3 c9 · walkin c4 c5 c7 · phone c6 · hotline c8 c11
    assert s.by_channel == {"kiosk": 2, "staff": 1, "online": 2, "walkin": 3, "phone": 1, "hotline": 2}
    v = s.visits
    # Bookings of 2025's duty days: 11 made, P2's cancelled one left out → 10; P3 and P6 did not come.
    assert (v.bookings, v.no_shows, v.due, v.walkins, v.no_show_rate) == (10, 2, 10, 3, 20.0)
    # kiosk b1 b11 · online b3 b4 b8 b12 · desk (phone b5, staff b2) · hotline b7 b10 · 3 walk-in numbers
    assert v.by_channel == {"kiosk": 2, "online": 4, "desk": 2, "hotline": 2, "walkin": 3}
    f = s.follow_ups
    # Matters of c1 c2 c6 c8 c9 c11 c12: open c6 c9 c12, overdue c6 (due 2025-04-22), closed c1 c2 c8 c11;
    # solved c1 (agreement) c2 (resolved) c11 (aid granted); money 12000 + 5000 + 0; days 4 4 10 15.
    assert (f.opened, f.open, f.overdue, f.closed, f.solved) == (7, 3, 1, 4, 3)
    assert (f.median_days_to_close, f.money_saved, f.mediation_agreements) == (7.0, 17000, 1)
    # Legal aid accepted: c6 (milestone accepted), c9 (concluded), c11 (closed as granted); concluded: c9.
    assert (f.legal_aid_accepted, f.legal_aid_concluded) == (3, 1)


def test_statistics_of_one_station_and_a_shorter_period(world):
    s = reports.statistics(Period(date(2025, 3, 1), date(2025, 4, 30), world.s1.id), today=TODAY)
    # S1 in March: c1 c2 c3 c4 c5; in April: c6 c7 c8.
    assert (s.consultations, s.by_month) == (8, [(date(2025, 3, 1), 5), (date(2025, 4, 1), 3)])
    assert s.by_category == {"labour": 4, "housing": 2, "family": 1, "contracts": 1}
    assert s.by_outcome == no_outcomes(
        advice=4, legal_aid=1, mediation=1, counselling=1, drafting=1, referral=1
    )
    assert s.by_lawyer == [("甲律师", 5), ("乙律师", 3)]
    assert s.by_channel == {"kiosk": 1, "staff": 1, "online": 1, "walkin": 3, "phone": 1, "hotline": 1}
    # b1 b2 b3 b4(no-show) b5 b7; b6 cancelled. 1 of 6 did not come.
    v = s.visits
    assert (v.bookings, v.no_shows, v.due, v.walkins, v.no_show_rate) == (6, 1, 6, 3, 16.7)
    assert v.by_channel == {"kiosk": 1, "online": 2, "desk": 2, "hotline": 1, "walkin": 3}
    f = s.follow_ups  # matters of c1 c2 c6 c8
    assert (f.opened, f.open, f.overdue, f.closed, f.solved, f.money_saved) == (4, 1, 1, 3, 2, 17000)
    assert (f.median_days_to_close, f.legal_aid_accepted, f.legal_aid_concluded) == (4.0, 1, 0)
    # Before c6's due date nothing is overdue yet.
    before_due = Period(date(2025, 3, 1), date(2025, 4, 30), world.s1.id)
    assert reports.statistics(before_due, today=date(2025, 4, 20)).follow_ups.overdue == 0
    # An empty period: zeros, no median, no rate.
    empty = reports.statistics(Period(date(2025, 6, 1), date(2025, 6, 30)), today=TODAY)
    assert (empty.consultations, empty.visits.bookings, empty.follow_ups.opened) == (0, 0, 0)
    assert empty.follow_ups.median_days_to_close is None and empty.visits.no_show_rate is None


def test_people_and_matters_follow_the_counting_rule(world):
    # All stations, 2025: P1 (c1 c3 c6 c11), P2 (c2 c7), P4 (c9 c12), P5 (c8) and the two walk-ins
    # without a number (c4, c5) → 6 people. Matters: P1 labour (c1, c3 and c11 at the other station),
    # P1 family, P2 housing (booked visit and walk-in), P4 pensions (both stations), P5 contracts, and
    # each walk-in without a number on its own → 7.
    assert reports.people_and_matters(YEAR_2025) == (6, 7)
    # S1 alone: P1 (c1 c3 c6) P2 P4 (c9) P5 + 2 walk-ins = 6; matters P1 labour, P1 family, P2 housing,
    # P4 pensions, P5 contracts + 2 = 7. S2 alone: P1 labour, P4 pensions.
    s1 = reports.people_and_matters(Period(date(2025, 1, 1), date(2025, 12, 31), world.s1.id))
    s2 = reports.people_and_matters(Period(date(2025, 1, 1), date(2025, 12, 31), world.s2.id))
    assert (s1, s2) == ((6, 7), (2, 2))
    # One person at two stations is one person over all stations, not two.
    assert s1[0] + s2[0] == 8
    # P1's repeat visit about labour in March (c1, c3) and the same at S2 (c11): one matter.
    # March: c1 c3 c11 (P1 labour), c2 (P2 housing), c12 (P4 pensions), c4, c5 → 5 people, 5 matters.
    assert reports.people_and_matters(Period(date(2025, 3, 1), date(2025, 3, 31))) == (5, 5)


# -- lawyer performance -------------------------------------------------------------------------------

# name: scheduled, attended, missed, swapped away, taken over, consultations,
#       advice, legal_aid, mediation, counselling, drafting, referral, petition, follow-ups closed, overdue
PERFORMANCE_2025 = {
    # A: 03-04 03-11 12-30 (15 April went to B); c1 c2 c3 c4 c5 c9; matters c1 c2 closed, c9 not yet due.
    "甲律师": ("东城律师事务所", 3, 3, 0, 1, 0, 6, 4, 1, 1, 1, 1, 0, 0, 2, 0),
    # B: 04-08 signed in, 04-15 (taken over) never signed in; c6 c7 c8; c8 closed, c6 overdue.
    "乙律师": ("东城律师事务所", 2, 1, 1, 0, 1, 3, 1, 1, 0, 0, 0, 1, 0, 1, 1),
    # C: 03-05 signed in, 05-07 not; c11 c12; c11 closed, c12 due 2026-03-01.
    "丙律师": ("西城律师事务所", 2, 1, 1, 0, 0, 2, 1, 0, 0, 1, 0, 1, 0, 1, 0),
}


def _performance(rows) -> dict[str, tuple]:
    return {
        r.name: (
            r.firm,
            r.scheduled,
            r.attended,
            r.missed,
            r.swapped_away,
            r.taken_over,
            r.consultations,
            *(r.outcomes[code] for code in OUTCOMES),
            r.follow_ups_closed,
            r.follow_ups_overdue,
        )
        for r in rows
    }


def test_lawyer_performance_equals_the_hand_count(world):
    rows = reports.lawyer_performance(YEAR_2025, today=TODAY)
    assert _performance(rows) == PERFORMANCE_2025
    assert [r.name for r in rows] == sorted(PERFORMANCE_2025)
    # One station: only C.
    s2 = reports.lawyer_performance(Period(date(2025, 1, 1), date(2025, 12, 31), world.s2.id), today=TODAY)
    assert _performance(s2) == {"丙律师": PERFORMANCE_2025["丙律师"]}
    # January 2026 on the 15th: A has 01-06 (signed in) and 01-20 (still to come: not missed); c10.
    january = reports.lawyer_performance(Period(date(2026, 1, 1), date(2026, 1, 31)), today=TODAY)
    assert _performance(january) == {
        "甲律师": ("东城律师事务所", 2, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0)
    }
    # On 2025-05-07 itself C's shift is not yet missed.
    may = reports.lawyer_performance(Period(date(2025, 5, 1), date(2025, 5, 31)), today=date(2025, 5, 7))
    assert _performance(may)["丙律师"][1:4] == (1, 0, 0)


# -- the annual report --------------------------------------------------------------------------------

# Nobody rated a consultation in 2025 (the ratings are counted in tests/test_ratings.py).
NO_RATINGS_2025 = RatingReport(
    RatingCounts(), [(date(2025, m, 1), RatingCounts()) for m in range(1, 13)], []
).as_dict()
ANNUAL_2025 = {
    "year": 2025,
    "station": None,
    "station_id": None,
    "as_of": "2026-01-15",
    "duty_days_held": 7,  # D1 D2 D3 D4 D5 E1 E2
    "duty_days_attended": 5,  # all but D4 (B) and E2 (C)
    "lawyers_on_roster": 3,
    "consultations": 11,
    "persons": 6,
    "matters": 7,
    "outcomes": no_outcomes(advice=6, legal_aid=2, mediation=1, counselling=2, drafting=1, referral=2),
    "legal_aid_accepted": 3,  # c6 accepted, c9 concluded, c11 granted
    "legal_aid_concluded": 1,  # c9
    "mediation_agreements": 1,  # c1
    "follow_ups_opened": 7,
    "problems_solved": 3,  # c1 c2 c11
    "closed_otherwise": 1,  # c8 referred
    "still_open": 3,  # c6 c9 c12
    "overdue": 1,  # c6
    "money_saved": 17000,
    "bookings": 10,
    "no_shows": 2,
    "by_channel": {"kiosk": 2, "online": 4, "desk": 2, "hotline": 2, "walkin": 3},
    "ratings": NO_RATINGS_2025,
}


def _annual_s2(station_id: int) -> dict:
    # S2 in 2025: E1 (signed in), E2 (missed); c11 c12; P1 and P4; b10 hotline, b11 kiosk, b12 no-show.
    return {
        **ANNUAL_2025,
        "station": "西城站",
        "station_id": station_id,
        "duty_days_held": 2,
        "duty_days_attended": 1,
        "lawyers_on_roster": 1,
        "consultations": 2,
        "persons": 2,
        "matters": 2,
        "outcomes": no_outcomes(advice=1, counselling=1, referral=1),
        "legal_aid_accepted": 1,
        "legal_aid_concluded": 0,
        "mediation_agreements": 0,
        "follow_ups_opened": 2,
        "problems_solved": 1,
        "closed_otherwise": 0,
        "still_open": 1,
        "overdue": 0,
        "money_saved": 0,
        "bookings": 3,
        "no_shows": 1,
        "by_channel": {"kiosk": 1, "online": 1, "desk": 0, "hotline": 1, "walkin": 0},
    }


def test_annual_report_equals_the_hand_count(world):
    assert reports.annual_report(2025, today=TODAY) == ANNUAL_2025
    assert reports.annual_report(2025, world.s2.id, today=TODAY) == _annual_s2(world.s2.id)
    # 2026 on 15 January: D6 held and signed in, D7 still to come; c10 (P1, online booking).
    year_2026 = reports.annual_report(2026, today=TODAY)
    held = (year_2026["duty_days_held"], year_2026["duty_days_attended"], year_2026["lawyers_on_roster"])
    assert held == (1, 1, 1)
    assert (year_2026["consultations"], year_2026["persons"], year_2026["matters"]) == (1, 1, 1)
    assert (year_2026["bookings"], year_2026["by_channel"], year_2026["follow_ups_opened"]) == (
        1,
        {"kiosk": 0, "online": 1, "desk": 0, "hotline": 0, "walkin": 0},
        0,
    )
    # 2024: D0 and c0 only.
    year_2024 = reports.annual_report(2024, today=TODAY)
    assert (year_2024["duty_days_held"], year_2024["consultations"], year_2024["persons"]) == (1, 1, 1)


def _pairs(page: str) -> list[tuple[str, str]]:
    return [
        (html.unescape(text), value)
        for text, value in re.findall(
            r'<tr><td(?: class="[^"]*")?>([^<]*)</td><td class="text-end fw-bold">([^<]*)</td></tr>', page
        )
    ]


def test_annual_page_xlsx_and_cli_show_the_same_figures(world, app_factory, runner, tmp_path):
    expected = [(text, str(value)) for _s, items in exports.annual_rows(ANNUAL_2025) for text, value in items]
    client = app_factory().test_client()
    with time_machine.travel(bj(TODAY), tick=True):
        login(client, "chief")
        page = client.get("/admin/reports/annual/2025")
        xlsx = client.get("/admin/reports/annual/2025?format=xlsx")
        s2_page = client.get(f"/admin/reports/annual/2025?station={world.s2.id}")
        assert client.get("/admin/reports/annual/1999").status_code == 404
        assert client.get("/admin/reports/annual/2025?station=999999").status_code == 404
        cli = runner.invoke(args=["report", "annual", "2025"])
        cli_s2 = runner.invoke(args=["report", "annual", "2025", "--station", str(world.s2.id)])
        cli_xlsx = runner.invoke(
            args=["report", "annual", "2025", "--format", "xlsx", "--output", str(tmp_path / "r.xlsx")]
        )
        unknown = runner.invoke(args=["report", "annual", "2025", "--station", "999999"])
    assert page.status_code == 200
    assert _pairs(page.get_data(as_text=True)) == expected
    assert "2026-01-15" in page.get_data(as_text=True)
    s2_expected = [
        (t, str(v)) for _s, items in exports.annual_rows(_annual_s2(world.s2.id)) for t, v in items
    ]
    s2_text = s2_page.get_data(as_text=True)
    assert _pairs(s2_text) == s2_expected and "西城站" in s2_text
    # The XLSX: a title row, then section, item, figure — the same figures as the page.
    assert xlsx.status_code == 200 and xlsx.mimetype == exports.XLSX_MIMETYPE
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[1][2] == "2026-01-15"
    assert [(item, str(value)) for _section, item, value in rows[2:]] == expected
    assert all(isinstance(value, int) for _section, _item, value in rows[2:])
    # The command line prints the very same figures.
    assert cli.exit_code == 0, cli.output
    assert json.loads(cli.output) == ANNUAL_2025
    assert json.loads(cli_s2.output) == _annual_s2(world.s2.id)
    assert cli_xlsx.exit_code == 0, cli_xlsx.output
    cli_rows = [list(r) for r in load_workbook(tmp_path / "r.xlsx").active.iter_rows(values_only=True)]
    assert cli_rows == rows
    assert unknown.exit_code != 0
    entries = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "report.export").order_by(AuditEntry.id)
    ).all()
    assert [(e.actor_name, e.details.get("via"), e.details["station_id"]) for e in entries] == [
        ("chief", None, None),
        ("system", "cli", None),
        ("system", "cli", world.s2.id),
        ("system", "cli", None),
    ]


# -- statistics and lawyer pages show the service's numbers -------------------------------------------


def _tiles(page: str) -> list[str]:
    return re.findall(r'<div class="fs-3 fw-bold">([^<]*)</div>', page)


def _charts(page: str) -> dict[str, list[tuple[str, int]]]:
    return {
        key: [
            (html.unescape(t), int(n))
            for t, n in re.findall(r'<tr><td>([^<]*)</td><td class="text-end fw-bold">(\d+)</td></tr>', body)
        ]
        for key, body in re.findall(r'id="chart-(\w+)">(.*?)</section>', page, re.DOTALL)
    }


def test_statistics_page_shows_the_hand_count(world, app_factory):
    client = app_factory().test_client()
    with time_machine.travel(bj(TODAY), tick=True):
        login(client, "chief")
        response = client.get("/admin/statistics?start_on=2025-01-01&end_on=2025-12-31")
        default = client.get("/admin/statistics")  # this year: 2026 so far
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    # consultations, bookings, no-show rate, walk-in numbers, followed up, open, overdue, closed,
    # median days to close, money
    assert _tiles(page) == ["11", "10", "20.0%", "3", "7", "3", "1", "4", "7.0", "17000"]
    charts = _charts(page)
    assert charts["month"] == [(f"2025-{m:02d}", {3: 7, 4: 3, 12: 1}.get(m, 0)) for m in range(1, 13)]
    assert dict(charts["category"]) == {
        category_label(code): n
        for code, n in {"labour": 5, "housing": 2, "pensions": 2, "family": 1, "contracts": 1}.items()
    }
    assert charts["category"][0] == (category_label("labour"), 5)
    outcomes = no_outcomes(advice=6, legal_aid=2, mediation=1, counselling=2, drafting=1, referral=2)
    assert charts["outcome"] == [(consultation_label("outcome", code), n) for code, n in outcomes.items()]
    assert charts["lawyer"] == [("甲律师", 6), ("乙律师", 3), ("丙律师", 2)]
    channels = {"kiosk": 2, "staff": 1, "online": 2, "walkin": 3, "phone": 1, "hotline": 2}
    assert dict(charts["channel"]) == {report_label("channel", c): n for c, n in channels.items()}
    # Without dates: this year (2026) so far — c10 only.
    assert default.status_code == 200 and _tiles(default.get_data(as_text=True))[:2] == ["1", "1"]


def test_lawyer_page_and_its_xlsx_show_the_hand_count(world, app_factory):
    client = app_factory().test_client()
    with time_machine.travel(bj(TODAY), tick=True):
        login(client, "chief")
        page = client.get("/admin/statistics/lawyers?start_on=2025-01-01&end_on=2025-12-31")
        xlsx = client.get("/admin/statistics/lawyers?start_on=2025-01-01&end_on=2025-12-31&format=xlsx")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for name, figures in PERFORMANCE_2025.items():
        row = re.search(rf"<strong>{name}</strong>(.*?)</tr>", text, re.DOTALL)
        assert row, name
        cells = [int(n) for n in re.findall(r'<td class="text-end[^"]*">(\d+)</td>', row.group(1))]
        assert cells == [*figures[1:], 0, 0], name  # then no rating, no poor one (the share is "—")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    header, *body = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert len(header) == 20 and header[8] == consultation_label("outcome", "advice")
    assert {r[0]: tuple(r[1:-3]) for r in body} == PERFORMANCE_2025
    assert {tuple(r[-3:]) for r in body} == {(0, None, 0)}  # ratings, share satisfied, poor
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "report.export"))
    assert entry.actor_name == "chief"
    assert entry.details == {
        "report": "lawyers",
        "format": "xlsx",
        "rows": 3,
        "filter": {"station_id": None, "from": "2025-01-01", "to": "2025-12-31"},
    }


# -- the monthly review -------------------------------------------------------------------------------


def test_month_figures_equal_the_hand_count(world):
    f = reports.month_figures(world.s1.id, date(2025, 4, 17), today=TODAY)
    # S1 April: c6 c7 c8, new matters c6 c8; March: c1..c5, new matters c1 c2.
    assert f.month == date(2025, 4, 1)
    assert (f.consultations, f.previous_consultations, f.new_matters, f.previous_new_matters) == (3, 5, 2, 2)
    assert f.outcomes == no_outcomes(advice=1, legal_aid=1, referral=1)
    assert f.previous_outcomes == no_outcomes(advice=3, mediation=1, counselling=1, drafting=1)
    # Open at S1 now: c6 and c9; overdue on 15 January 2026: c6, due 2025-04-22, 268 days ago.
    assert f.still_open == 2
    assert [(o.id, o.category, o.due_on, o.days_overdue) for o in f.overdue] == [
        (world.m[6].id, "family", date(2025, 4, 22), 268)
    ]
    assert f.overdue[0].name == "王建国" and f.overdue[0].owner == world.b_.user.display_name
    s2 = reports.month_figures(world.s2.id, date(2025, 3, 1), today=TODAY)
    assert (s2.consultations, s2.previous_consultations, s2.new_matters, s2.still_open) == (2, 0, 2, 1)
    assert s2.overdue == []


def test_review_record_is_checked_saved_once_and_audited(world, app_factory):
    record = reports.ReviewRecord(
        held_on=date(2025, 3, 31), attendees="站长、甲律师", conclusions="劳动争议增多"
    )
    with pytest.raises(InvalidInput):
        reports.save_review(world.s1, date(2025, 4, 1), record, world.admin)  # before the month
    with pytest.raises(InvalidInput):
        reports.save_review(
            world.s1, date(2025, 4, 1), reports.ReviewRecord(date(2025, 5, 6), " ", "结论"), world.admin
        )
    with pytest.raises(InvalidInput):
        reports.save_review(
            world.s1, date(2025, 4, 1), reports.ReviewRecord(date(2025, 5, 6), "站长", ""), world.admin
        )
    db.session.rollback()
    client = app_factory().test_client()
    with time_machine.travel(bj(date(2025, 5, 6)), tick=True):
        login(client, "chief")
        url = f"/admin/reports/monthly/2025-04?station={world.s1.id}"
        page = client.get(url)
        assert page.status_code == 200 and "东城站" in page.get_data(as_text=True)
        for conclusions in ("劳动争议增多", "劳动争议增多，加派律师"):
            saved = client.post(
                url,
                data={
                    "csrf_token": csrf_token(page.get_data(as_text=True)),
                    "held_on": "2025-05-06",
                    "attendees": "站长、甲律师",
                    "conclusions": conclusions,
                    "actions": "",
                },
            )
            assert saved.status_code == 302
        assert client.get("/admin/reports/monthly/2025-13").status_code == 404
    reviews = db.session.scalars(sa.select(MonthlyReview)).all()
    assert len(reviews) == 1
    assert (reviews[0].month_on, reviews[0].conclusions) == (date(2025, 4, 1), "劳动争议增多，加派律师")
    saves = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "review.save")).all()
    assert [e.details for e in saves] == [{"month": "2025-04"}] * 2


# -- the consultation log -----------------------------------------------------------------------------


def _log(w, today=TODAY, **criteria) -> set[int]:
    return set(numbers(w, reports.search_log(LogFilter(**criteria), per_page=100, today=today).items))


def test_each_log_filter_returns_exactly_the_expected_rows(world):
    w = world
    assert _log(w) == {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
    assert _log(w, station_id=w.s2.id) == {11, 12}
    assert _log(w, station_id=w.s1.id) == {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
    # Both ends of the range are included.
    assert _log(w, start_on=date(2025, 3, 5), end_on=date(2025, 3, 11)) == {11, 12, 3, 4, 5}
    assert _log(w, end_on=date(2024, 12, 31)) == {0}
    assert _log(w, start_on=date(2026, 1, 6)) == {10}
    assert _log(w, lawyer_id=w.b_.id) == {6, 7, 8}
    assert _log(w, lawyer_id=w.c_.id) == {11, 12}
    assert _log(w, category="labour") == {0, 1, 3, 4, 5, 10, 11}
    assert _log(w, category="housing") == {2, 7}
    assert _log(w, outcome="advice") == {0, 1, 3, 4, 7, 9, 10, 11}
    assert _log(w, outcome="referral") == {8, 11}
    assert _log(w, outcome="legal_aid") == {6, 9}
    assert _log(w, outcome="petition") == set()
    assert _log(w, stage="none") == {0, 3, 4, 5, 7, 10}
    assert _log(w, stage="closed") == {1, 2, 8, 11}
    assert _log(w, stage="overdue") == {6}
    assert _log(w, stage="in_progress") == {9}
    assert _log(w, stage="open") == {12}
    # Later, c9 (due 1 February) and then c12 (due 1 March) fall overdue.
    assert _log(w, today=date(2026, 2, 2), stage="overdue") == {6, 9}
    assert _log(w, today=date(2026, 2, 2), stage="in_progress") == set()
    assert _log(w, today=date(2026, 3, 2), stage="overdue") == {6, 9, 12}
    assert _log(w, today=date(2026, 3, 2), stage="open") == set()
    assert _log(w, channel="walkin") == {4, 5, 7}
    assert _log(w, channel="hotline") == {8, 11}
    assert _log(w, channel="online") == {0, 3, 9, 10}
    assert _log(w, channel="phone") == {6}
    assert _log(w, channel="staff") == {2}
    assert _log(w, text="欠薪") == {0, 1, 3, 10, 11}
    assert _log(w, text="再次") == {3, 7}
    # % and _ are letters here, not wildcards.
    assert _log(w, text="100%") == {6}
    assert _log(w, text="%") == {6}
    assert _log(w, text="_") == {6}
    assert _log(w, text="没有这句话") == set()
    # Filters combine.
    assert _log(w, station_id=w.s1.id, category="labour", outcome="advice") == {0, 1, 3, 4, 10}
    assert _log(
        w,
        station_id=w.s1.id,
        category="labour",
        outcome="advice",
        start_on=date(2025, 1, 1),
        end_on=date(2025, 12, 31),
    ) == {1, 3, 4}
    assert _log(w, lawyer_id=w.a.id, stage="closed") == {1, 2}


def test_log_rows_carry_what_the_log_shows(world):
    rows = {r.id: r for r in reports.search_log(LogFilter(), per_page=100, today=TODAY).items}
    c1, c5, c6, c8 = (rows[world.id[n]] for n in (1, 5, 6, 8))
    assert (c1.held_on, c1.station, c1.lawyer, c1.name, c1.mobile) == (
        date(2025, 3, 4),
        "东城站",
        "甲律师",
        "王建国",
        P1_MOBILE,
    )
    assert (c1.channel, c1.category, c1.outcomes, c1.stage) == (
        "kiosk",
        "labour",
        ("advice", "mediation"),
        "closed",
    )
    assert (c1.result, c1.money_saved, c1.matter_id, c1.due_on) == (
        "mediation_agreement",
        12000,
        world.m[1].id,
        date(2025, 3, 18),
    )
    assert (c5.name, c5.mobile, c5.stage, c5.matter_id, c5.outcomes) == (
        "",
        None,
        "none",
        None,
        ("counselling",),
    )
    assert (c6.stage, c6.due_on, c6.result) == ("overdue", date(2025, 4, 22), None)
    assert (c8.name, c8.mobile, c8.result, c8.money_saved) == (FORMULA_NAME, P5_MOBILE, "referred", None)


def test_log_sorts_and_pages_without_overlap(world):
    ascending = [0, 1, 2, 11, 12, 3, 4, 5, 6, 7, 8, 9, 10]  # by date, ties by the order recorded
    pages = [
        reports.search_log(LogFilter(sort="date", descending=False), page=p, per_page=5, today=TODAY)
        for p in (1, 2, 3)
    ]
    assert [numbers(world, p.items) for p in pages] == [ascending[:5], ascending[5:10], ascending[10:]]
    assert (pages[0].total, pages[0].pages) == (13, 3)
    beyond = reports.search_log(LogFilter(sort="date", descending=False), page=99, per_page=5, today=TODAY)
    assert beyond.page == 3 and numbers(world, beyond.items) == ascending[10:]
    newest = reports.search_log(LogFilter(), per_page=100, today=TODAY)
    assert numbers(world, newest.items) == ascending[::-1]
    by_category = reports.search_log(LogFilter(sort="category", descending=False), per_page=100, today=TODAY)
    assert numbers(world, by_category.items) == [8, 6, 2, 7, 0, 1, 11, 3, 4, 5, 10, 12, 9]
    # The export streams the same rows in the same order.
    streamed = reports.iter_log(LogFilter(sort="category", descending=False), today=TODAY, batch=4)
    assert numbers(world, streamed) == [8, 6, 2, 7, 0, 1, 11, 3, 4, 5, 10, 12, 9]
    filtered = reports.search_log(LogFilter(category="labour"), page=1, per_page=5, today=TODAY)
    assert (filtered.total, filtered.pages) == (7, 2)


def _ids_on_page(w, page: str) -> set[int]:
    return {w.name_of[int(i)] for i in re.findall(r'href="/consultations/(\d+)"', page)}


def test_log_page_filters_and_masks(world, app_factory):
    client = app_factory().test_client()
    with time_machine.travel(bj(TODAY), tick=True):
        login(client, "chief")
        combined = client.get(f"/admin/consultations?station={world.s1.id}&category=labour&outcome=advice")
        overdue = client.get("/admin/consultations?stage=overdue")
        lawyer = client.get(f"/admin/consultations?lawyer={world.b_.id}")
        text = client.get("/admin/consultations?q=100%25")
        dates = client.get("/admin/consultations?start_on=2025-03-05&end_on=2025-03-11&channel=walkin")
        everything = client.get("/admin/consultations")
    assert combined.status_code == 200
    page = combined.get_data(as_text=True)
    assert _ids_on_page(world, page) == {0, 1, 3, 4, 10}
    assert "王**" in page and "138****5678" in page and P1_MOBILE not in page
    assert _ids_on_page(world, overdue.get_data(as_text=True)) == {6}
    assert _ids_on_page(world, lawyer.get_data(as_text=True)) == {6, 7, 8}
    assert _ids_on_page(world, text.get_data(as_text=True)) == {6}
    assert _ids_on_page(world, dates.get_data(as_text=True)) == {4, 5}
    listing = everything.get_data(as_text=True)
    assert _ids_on_page(world, listing) == set(range(13))
    assert P1_MOBILE not in listing and P2_MOBILE not in listing and "HYPERLINK" not in listing


# -- exports: CSV and XLSX ----------------------------------------------------------------------------


def test_inert_defuses_every_formula_start():
    for text in ("=1+2", "+86", "-3", "@SUM(A1)", "\tx", "\rx", FORMULA_NAME):
        assert exports.inert(text) == "'" + text
    for value in ("王建国", "138****5678", 12000, None, ""):
        assert exports.inert(value) == value


def _csv(data: bytes) -> list[list[str]]:
    assert data.startswith("\ufeff".encode())  # the BOM Excel needs to read Chinese
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_csv_export_parses_back_masked_and_audited(world, app_factory):
    client = app_factory().test_client()
    with time_machine.travel(bj(TODAY), tick=True):
        login(client, "chief")
        response = client.get(
            "/admin/consultations/export.csv?category=labour&start_on=2025-01-01&end_on=2025-12-31&sort=date"
        )
        # Words searched for may hold a name: the audit entry says only that there were some.
        worded = client.get(f"/admin/consultations/export.csv?q=欠薪&lawyer={world.c_.id}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    header, *rows = _csv(response.data)
    assert len(header) == 13 and all(header)
    # Labour in 2025, oldest first: c1 (03-04), c11 (03-05), c3 c4 c5 (03-11).
    assert [int(r[0]) for r in rows] == [world.id[n] for n in (1, 11, 3, 4, 5)]
    by_id = {int(r[0]): r for r in rows}
    c1 = by_id[world.id[1]]
    assert c1[1:6] == ["2025-03-04", "东城站", "甲律师", "王**", "138****5678"]
    assert c1[6] == report_label("channel", "kiosk")
    assert c1[7] == category_label("labour") == "劳动争议"
    assert c1[8] == "、".join(consultation_label("outcome", o) for o in ("advice", "mediation"))
    assert c1[9] == report_label("stage", "closed")
    assert c1[10:] == ["2025-03-18", consultation_label("result", "mediation_agreement"), "12000"]
    c11 = by_id[world.id[11]]
    assert c11[2:6] == ["西城站", "丙律师", "王**", "138****5678"] and c11[12] == "0"
    assert by_id[world.id[4]][4:6] == ["路*", ""]  # a walk-in without a number
    assert by_id[world.id[5]][4:6] == ["", ""]
    assert by_id[world.id[3]][9:] == [report_label("stage", "none"), "", "", ""]
    assert P1_MOBILE not in response.data.decode("utf-8-sig")
    assert [int(r[0]) for r in _csv(worded.data)[1:]] == [world.id[11]]
    entries = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "report.export").order_by(AuditEntry.id)
    ).all()
    assert len(entries) == 2 and {e.actor_name for e in entries} == {"chief"}
    assert entries[1].details == {
        "format": "csv",
        "full_numbers": False,
        "filter": {"lawyer_id": world.c_.id, "text": True, "sort": "date", "descending": True},
        "rows": 1,
    }
    assert "欠薪" not in json.dumps(entries[1].details, ensure_ascii=False)
    assert entries[0].details == {
        "format": "csv",
        "full_numbers": False,
        "filter": {
            "start_on": "2025-01-01",
            "end_on": "2025-12-31",
            "category": "labour",
            "sort": "date",
            "descending": False,
        },
        "rows": 5,
    }


def test_exports_write_a_formula_name_inert_and_show_full_numbers_only_when_asked(world, app_factory):
    client = app_factory().test_client()
    with time_machine.travel(bj(TODAY), tick=True):
        login(client, "chief")
        masked_csv = client.get("/admin/consultations/export.csv?category=contracts")
        masked_xlsx = client.get("/admin/consultations/export.xlsx?category=contracts")
        token = csrf_token(client.get("/admin/consultations").get_data(as_text=True))
        full_csv = client.post(
            "/admin/consultations/export-full?category=contracts",
            data={"csrf_token": token, "format": "csv", "reason": "legal_aid", "note": ""},
        )
        full_xlsx = client.post(
            "/admin/consultations/export-full?category=contracts",
            data={"csrf_token": token, "format": "xlsx", "reason": "other", "note": "回电 13812345678"},
        )
    # CSV, masked: the masked name still starts with "=" and is written inert; the number is masked.
    (_h, masked_row) = _csv(masked_csv.data)
    assert masked_row[0] == str(world.id[8])
    assert masked_row[4] == "'=" + "*" * (len(FORMULA_NAME) - 1)
    assert masked_row[5] == "135****3333"
    # CSV, full: the whole name, inert, and the whole number.
    assert full_csv.status_code == 200 and full_csv.mimetype == "text/csv"
    (_h, full_row) = _csv(full_csv.data)
    assert full_row[4] == "'" + FORMULA_NAME and full_row[5] == P5_MOBILE
    # XLSX: the name is text, never a formula, in the cell and in the sheet's XML.
    for response, name, mobile in (
        (masked_xlsx, "=" + "*" * (len(FORMULA_NAME) - 1), "135****3333"),
        (full_xlsx, FORMULA_NAME, P5_MOBILE),
    ):
        assert response.status_code == 200 and response.mimetype == exports.XLSX_MIMETYPE
        sheet = load_workbook(io.BytesIO(response.data)).active
        row = list(sheet.iter_rows(min_row=2, max_row=2))[0]
        assert row[0].value == world.id[8]
        assert (row[4].value, row[4].data_type) == (name, "s")
        assert row[5].value == mobile and row[2].value == "东城站" and row[3].value == "乙律师"
        assert row[7].value == category_label("contracts")
        with zipfile.ZipFile(io.BytesIO(response.data)) as book:
            sheet_xml = b"".join(book.read(n) for n in book.namelist() if n.startswith("xl/worksheets/"))
        assert b"<f>" not in sheet_xml and b"<f " not in sheet_xml
    entries = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "report.export").order_by(AuditEntry.id)
    ).all()
    assert [(e.details["format"], e.details["full_numbers"], e.details["rows"]) for e in entries] == [
        ("csv", False, 1),
        ("xlsx", False, 1),
        ("csv", True, 1),
        ("xlsx", True, 1),
    ]
    assert all(
        e.details["filter"] == {"category": "contracts", "sort": "date", "descending": True} for e in entries
    )
    assert (entries[2].details["reason"], entries[3].details["reason"]) == ("legal_aid", "other")
    # The note is kept, its number masked: no full number anywhere in the log.
    assert entries[3].details["note"] == "回电 138****5678"
    for e in entries:
        dumped = json.dumps(e.details, ensure_ascii=False)
        assert P1_MOBILE not in dumped and P5_MOBILE not in dumped


def test_full_export_needs_a_reason(world, app_factory):
    client = app_factory().test_client()
    url = "/admin/consultations/export-full"
    with time_machine.travel(bj(TODAY), tick=True):
        login(client, "chief")
        token = csrf_token(client.get("/admin/consultations").get_data(as_text=True))
        refused = {
            "no reason": client.post(url, data={"csrf_token": token, "format": "csv", "reason": ""}),
            # "Other" needs a few words, as the export form says and as revealing one number demands.
            "other, no note": client.post(
                url, data={"csrf_token": token, "format": "csv", "reason": "other", "note": ""}
            ),
            "no form token": client.post(url, data={"format": "csv", "reason": "callback"}),
        }
    for case, response in refused.items():
        assert response.status_code == 400, case
        assert response.mimetype == "text/html", case
        assert P1_MOBILE not in response.get_data(as_text=True), case
    count = sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.action == "report.export")
    assert db.session.scalar(count) == 0


def test_csv_and_xlsx_writers_keep_chinese_and_parse_back(world):
    header, body = exports.log_table(reports.iter_log(LogFilter(station_id=world.s2.id), today=TODAY))
    data = "".join(exports.csv_stream(header, body)).encode("utf-8")
    rows = _csv(data)[1:]
    assert [r[2:5] for r in rows] == [["西城站", "丙律师", "孙*"], ["西城站", "丙律师", "王**"]]
    assert [r[7] for r in rows] == [category_label("pensions"), category_label("labour")]
    header, body = exports.log_table(
        reports.iter_log(LogFilter(station_id=world.s2.id), today=TODAY), full=True
    )
    book = load_workbook(exports.xlsx_file([("咨询记录", header, body)]))
    assert book.sheetnames == ["咨询记录"]
    cells = [list(r) for r in book.active.iter_rows(min_row=2, values_only=True)]
    assert [r[4:6] for r in cells] == [["孙七", "13600002222"], ["王建国", P1_MOBILE]]
    assert [r[1] for r in cells] == ["2025-03-05", "2025-03-05"]


def test_xlsx_cells_repeated_across_rows_read_back_the_same(monkeypatch):
    """The writer keeps each text's cell across rows (and forgets them past a bound): every row still
    reads back with its own values, kinds and positions."""
    monkeypatch.setattr(exports, "_KEPT_TEXTS", 3)  # forgotten and made again within the sheet
    header = ["文本", "日期", "数", "空", "公式样", "空格"]
    rows = [
        ["东城站 <1> & “甲”", date(2025, 3, 5), 7, None, "=SUM(A1)", " 前后有空格 "],
        ["东城站 <1> & “甲”", date(2025, 3, 5), 2.5, "", "=SUM(A1)", "控制\x07字符"],
        ["西城站", date(2025, 3, 6), True, None, "+1", " 前后有空格 "],
        ["东城站 <1> & “甲”", date(2025, 3, 5), 0, None, "-2", "西城站"],
    ]
    book = load_workbook(exports.xlsx_file([("表", header, iter(rows))]))
    cells = [list(r) for r in book.active.iter_rows(values_only=True)]
    assert cells[0] == header
    assert cells[1:] == [
        ["东城站 <1> & “甲”", "2025-03-05", 7, None, "=SUM(A1)", " 前后有空格 "],
        ["东城站 <1> & “甲”", "2025-03-05", 2.5, None, "=SUM(A1)", "控制字符"],
        ["西城站", "2025-03-06", True, None, "+1", " 前后有空格 "],
        ["东城站 <1> & “甲”", "2025-03-05", 0, None, "-2", "西城站"],
    ]
    # Text that looks like a formula is stored as text, never as a formula.
    assert all(book.active.cell(row=r, column=5).data_type == "s" for r in range(2, 6))


# -- 100,000 rows in flat memory ----------------------------------------------------------------------

BIG = 100_000
MB = 1 << 20


def _trim() -> None:
    """Give freed heap back to the system, so the start line is where live data ends (glibc only)."""
    with suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class PeakRSS:
    """The process's peak resident memory over a stretch of work, above where it started."""

    def __init__(self) -> None:
        gc.collect()
        _trim()
        self.hwm = self._reset_hwm()
        self.base = self._rss()
        self.peak = self.base

    @staticmethod
    def _status(key: str) -> int:
        with open("/proc/self/status") as f:
            return int(re.search(rf"^{key}:\s+(\d+) kB", f.read(), re.MULTILINE).group(1)) * 1024

    def _rss(self) -> int:
        return self._status("VmRSS")

    def _reset_hwm(self) -> bool:
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")  # reset the high-water mark to the current RSS
        except OSError:
            return False
        return True

    def sample(self) -> None:
        self.peak = max(self.peak, self._rss())

    @property
    def growth(self) -> int:
        peak = max(self.peak, self._status("VmHWM")) if self.hwm else self.peak
        return peak - self.base


def _sampled(rows: Iterator, meter: PeakRSS, every: int = 1000) -> Iterator:
    for i, row in enumerate(rows, 1):
        if i % every == 0:
            meter.sample()
        yield row


@pytest.fixture
def big_log(app, make_station, make_lawyer, make_user):
    """100,000 consultations of one station, lawyer and person, inserted in bulk (a tenth with a matter)."""
    station = make_station("东城站")
    lawyer = make_lawyer(station, name="甲律师")
    veteran = bookings.veteran_for("王建国", P1_MOBILE)
    db.session.commit()
    channels, categories = (
        ("kiosk", "online", "walkin", "hotline"),
        ("labour", "family", "housing", "pensions"),
    )
    first = date(2025, 1, 1)
    for start in range(0, BIG, 5_000):
        db.session.execute(
            sa.insert(Consultation),
            [
                {
                    "station_id": station.id,
                    "lawyer_id": lawyer.id,
                    "author_id": lawyer.user_id,
                    "veteran_id": veteran.id,
                    "name": "王建国",
                    "held_on": first + timedelta(days=i % 365),
                    "channel": channels[i % 4],
                    "category": categories[i % 4],
                    "summary": "欠薪 劳动争议 需要法律援助",
                    "advice": "建议申请劳动仲裁",
                    "counselling_notes": "",
                }
                for i in range(start, start + 5_000)
            ],
        )
    db.session.execute(
        sa.insert(ConsultationOutcome).from_select(
            ["consultation_id", "outcome", "position"],
            sa.select(Consultation.id, sa.literal("advice"), sa.literal(0)),
        )
    )
    db.session.execute(
        sa.insert(ConsultationOutcome).from_select(
            ["consultation_id", "outcome", "position"],
            sa.select(Consultation.id, sa.literal("referral"), sa.literal(1)).where(Consultation.id % 3 == 0),
        )
    )
    db.session.execute(
        sa.insert(Matter).from_select(
            ["consultation_id", "station_id", "owner_id", "status", "due_on", "created_at"],
            sa.select(
                Consultation.id,
                Consultation.station_id,
                Consultation.author_id,
                sa.literal("open"),
                sa.literal(date(2025, 6, 1)),
                sa.literal(datetime(2025, 1, 1, tzinfo=UTC)),
            ).where(Consultation.id % 10 == 0),
        )
    )
    db.session.commit()
    db.session.expunge_all()
    return station


def test_an_export_of_100000_rows_keeps_memory_flat(big_log):
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Consultation)) == BIG
    # CSV, masked, newest first: every row parses back; memory grows by less than 50 MB.
    meter = PeakRSS()
    header, body = exports.log_table(reports.iter_log(LogFilter(), today=TODAY))
    count, last = 0, None
    pieces = _sampled(exports.csv_stream(header, body), meter)  # each piece holds many lines
    for row in csv.reader(line for piece in pieces for line in io.StringIO(piece)):
        count += 1
        last = row
    assert meter.growth < 50 * MB, f"CSV export grew memory by {meter.growth / MB:.1f} MB"
    assert count == BIG + 1
    assert last[1] == "2025-01-01" and last[4:6] == ["王**", "138****5678"]
    # XLSX, full numbers, oldest first.
    meter = PeakRSS()
    header, body = exports.log_table(reports.iter_log(LogFilter(descending=False), today=TODAY), full=True)
    file = exports.xlsx_file([("咨询记录", header, _sampled(body, meter))])
    assert meter.growth < 50 * MB, f"XLSX export grew memory by {meter.growth / MB:.1f} MB"
    with zipfile.ZipFile(file) as book:
        name = next(n for n in book.namelist() if n.startswith("xl/worksheets/sheet"))
        rows, tail = 0, b""
        with book.open(name) as sheet:
            while chunk := sheet.read(1 << 20):
                rows += (tail + chunk).count(b"</row>")
                tail = chunk[-5:]  # "</row>" split over two chunks is counted once, here
                rows -= tail.count(b"</row>")
        rows += tail.count(b"</row>")
    assert rows == BIG + 1
    file.close()


# -- revealing a number -------------------------------------------------------------------------------


def _reveal(
    client, kind: str, record_id: int, reason: str = "callback", note: str = "", field: str = "mobile"
):
    token = csrf_token(client.get("/").get_data(as_text=True))
    return client.post(
        f"/reveal/{kind}/{record_id}",
        data={"csrf_token": token, "field": field, "reason": reason, "note": note, "next": "/"},
    )


def _reveals() -> list[AuditEntry]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "privacy.reveal").order_by(AuditEntry.id)
        )
    )


def test_may_reveal_follows_role_station_and_day(world):
    w = world

    def may(user, kind, record):
        return privacy.may_reveal(user, privacy.subject(kind, record.id))

    with clock(date(2025, 4, 8)):  # the day of D3
        assert may(w.admin, "booking", w.b[1]) and may(w.admin, "consultation", w.c[11])
        assert may(w.admin, "matter", w.m[6])
        # Staff: bookings of their own station, today or ahead.
        assert may(w.desk1, "booking", w.b[5])  # today
        assert may(w.desk1, "booking", w.b[8])  # December
        assert not may(w.desk1, "booking", w.b[1])  # 4 March: past
        assert not may(w.desk1, "booking", w.b[12])  # the other station
        assert not may(w.desk2, "booking", w.b[5])
        assert not may(w.desk1, "consultation", w.c[6]) and not may(w.desk1, "matter", w.m[6])
        # Lawyers: the consultations they recorded, the matters they hold; never a booking.
        assert may(w.a.user, "consultation", w.c[1]) and not may(w.a.user, "consultation", w.c[6])
        assert may(w.b_.user, "consultation", w.c[6]) and may(w.b_.user, "matter", w.m[6])
        assert not may(w.a.user, "matter", w.m[6]) and not may(w.c_.user, "consultation", w.c[1])
        assert not may(w.a.user, "booking", w.b[1])
    with clock(date(2025, 4, 9)):  # the day after: D3's bookings are past for the desk
        assert not may(w.desk1, "booking", w.b[5])
    with clock(date(2025, 4, 8)), pytest.raises(NotAllowed):
        privacy.reveal(w.a.user, privacy.subject("consultation", w.c[6].id), "mobile", "callback")
    assert privacy.subject("booking", 999_999) is None and privacy.subject("nothing", w.b[1].id) is None


def test_reveal_shows_the_number_and_is_audited(world, app_factory):
    w = world
    results = {}
    with time_machine.travel(bj(date(2025, 4, 8)), tick=True):
        for who, username in (
            ("admin", "chief"),
            ("desk1", "desk1"),
            ("a", w.a.user.username),
            ("b", w.b_.user.username),
        ):
            client = app_factory().test_client()
            login(client, username)
            results[who] = client
        answers = {
            ("admin", "booking", 10): _reveal(results["admin"], "booking", w.b[10].id),
            ("desk1", "booking", 5): _reveal(results["desk1"], "booking", w.b[5].id, reason="identity"),
            ("a", "consultation", 1): _reveal(results["a"], "consultation", w.c[1].id, reason="follow_up"),
            ("b", "matter", 6): _reveal(
                results["b"], "matter", w.m[6].id, reason="other", note="法援中心要 13812345678"
            ),
            ("admin", "consultation", 2): _reveal(
                results["admin"], "consultation", w.c[2].id, reason="legal_aid", field="id_number"
            ),
        }
        refused = {
            ("desk1", "booking", 1): _reveal(results["desk1"], "booking", w.b[1].id),
            ("desk1", "booking", 12): _reveal(results["desk1"], "booking", w.b[12].id),
            ("desk1", "consultation", 6): _reveal(results["desk1"], "consultation", w.c[6].id),
            ("a", "consultation", 6): _reveal(results["a"], "consultation", w.c[6].id),
            ("a", "matter", 6): _reveal(results["a"], "matter", w.m[6].id),
            ("a", "booking", 1): _reveal(results["a"], "booking", w.b[1].id),
        }
        missing = _reveal(results["admin"], "booking", 999_999)
        no_reason = _reveal(results["admin"], "consultation", w.c[1].id, reason="")
        other_no_note = _reveal(results["admin"], "consultation", w.c[1].id, reason="other", note="")
        no_number = _reveal(results["admin"], "consultation", w.c[5].id)  # a walk-in without one
        no_id_number = _reveal(results["admin"], "consultation", w.c[1].id, field="id_number")
        anonymous = (
            app_factory().test_client().post(f"/reveal/booking/{w.b[5].id}", data={"reason": "callback"})
        )
    for key, response in answers.items():
        assert response.status_code == 200, key
    assert P1_MOBILE in answers[("admin", "booking", 10)].get_data(as_text=True)
    assert P1_MOBILE in answers[("desk1", "booking", 5)].get_data(as_text=True)
    assert P1_MOBILE in answers[("a", "consultation", 1)].get_data(as_text=True)
    assert P1_MOBILE in answers[("b", "matter", 6)].get_data(as_text=True)
    assert P2_ID in answers[("admin", "consultation", 2)].get_data(as_text=True)
    for key, response in refused.items():
        assert response.status_code == 403, key
        assert P1_MOBILE not in response.get_data(as_text=True), key
    assert missing.status_code == 404
    for response in (no_reason, other_no_note, no_number, no_id_number):
        assert response.status_code == 400
        assert P1_MOBILE not in response.get_data(as_text=True)
    assert anonymous.status_code in (302, 400)
    entries = _reveals()
    p1 = w.b[1].veteran_id
    assert [(e.actor_name, e.target_type, e.target_id, e.details["reason"]) for e in entries] == [
        ("chief", "bookings", w.b[10].id, "callback"),
        ("desk1", "bookings", w.b[5].id, "identity"),
        (w.a.user.username, "consultations", w.c[1].id, "follow_up"),
        (w.b_.user.username, "matters", w.m[6].id, "other"),
        ("chief", "consultations", w.c[2].id, "legal_aid"),
    ]
    assert [e.station_id for e in entries] == [w.s2.id, w.s1.id, w.s1.id, w.s1.id, w.s1.id]
    assert [(e.details["field"], e.details["person"]) for e in entries] == [("mobile", p1)] * 4 + [
        ("id_number", w.b[2].veteran_id)
    ]
    assert entries[3].details["note"] == "法援中心要 138****5678"
    for e in entries:
        dumped = json.dumps(e.details, ensure_ascii=False)
        assert P1_MOBILE not in dumped and P2_ID not in dumped


# -- who may use the report pages ---------------------------------------------------------------------

REPORT_URLS = [
    "/admin/consultations",
    "/admin/consultations/export.csv",
    "/admin/consultations/export.xlsx",
    "/admin/statistics",
    "/admin/statistics/lawyers",
    "/admin/statistics/lawyers?format=xlsx",
    "/admin/reports/annual",
    "/admin/reports/annual/2025",
    "/admin/reports/annual/2025?format=xlsx",
    "/admin/reports/monthly",
    "/admin/reports/monthly/2025-04",
]


@pytest.mark.parametrize("who", ["anonymous", "staff", "lawyer", "admin"])
def test_report_pages_and_exports_are_for_administrators_only(world, app_factory, who):
    client = app_factory().test_client()
    with time_machine.travel(bj(TODAY), tick=True):
        if who != "anonymous":
            login(client, {"staff": "desk1", "lawyer": world.a.user.username, "admin": "chief"}[who])
            token = csrf_token(client.get("/").get_data(as_text=True))
        else:
            token = ""
        answers = [client.get(url).status_code for url in REPORT_URLS]
        full = client.post(
            "/admin/consultations/export-full",
            data={"csrf_token": token, "format": "csv", "reason": "callback"},
        )
        review = client.post(
            f"/admin/reports/monthly/2025-04?station={world.s1.id}",
            data={"csrf_token": token, "held_on": "2026-01-15", "attendees": "某人", "conclusions": "结论"},
        )
    if who == "admin":
        assert answers == [200, 200, 200, 200, 200, 200, 302, 200, 200, 302, 200]
        assert (full.status_code, review.status_code) == (200, 302)
        assert P1_MOBILE in full.data.decode("utf-8-sig")
        exports_logged = 5  # two log exports, the lawyer and annual XLSX, the full export
    else:
        expected = 302 if who == "anonymous" else 403
        assert answers == [expected] * len(REPORT_URLS)
        assert full.status_code in ({302, 400} if who == "anonymous" else {403})
        assert review.status_code in ({302, 400} if who == "anonymous" else {403})
        assert P1_MOBILE not in full.get_data(as_text=True)
        exports_logged = 0
    count = sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.action == "report.export")
    assert db.session.scalar(count) == exports_logged
    saved = db.session.scalar(sa.select(sa.func.count()).select_from(MonthlyReview))
    assert saved == (1 if who == "admin" else 0)
