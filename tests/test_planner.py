"""The rotation rule itself, checked over random lawyers, leave, contracts and closures."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from legalaid.roster.planner import Candidate, plan

START = date(2026, 1, 6)  # a Tuesday


@st.composite
def scenarios(draw):
    weeks = draw(st.integers(min_value=1, max_value=60))
    days = [START + timedelta(weeks=i) for i in range(weeks)]
    last = days[-1]
    closed = set(draw(st.lists(st.sampled_from(days), max_size=weeks // 3 + 1)))
    lawyers = []
    for lawyer_id in range(1, draw(st.integers(min_value=1, max_value=8)) + 1):
        full = draw(st.booleans())
        if full:
            contract_start, contract_end, leave = START - timedelta(days=400), None, ()
        else:
            contract_start = START + timedelta(days=draw(st.integers(-30, weeks * 7)))
            contract_end = draw(
                st.one_of(st.none(), st.just(contract_start + timedelta(days=draw(st.integers(0, 400)))))
            )
            leave = tuple(
                (s, s + timedelta(days=draw(st.integers(0, 30))))
                for s in draw(st.lists(st.sampled_from(days), max_size=3))
            )
        last_duty = draw(st.one_of(st.none(), st.just(START - timedelta(weeks=draw(st.integers(1, 20))))))
        lawyers.append(Candidate(lawyer_id, contract_start, contract_end, leave, last_duty))
    return days, closed, lawyers, last


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_rotation_rules_hold(scenario):
    days, closed, lawyers, _last = scenario
    result = plan(days, closed, lawyers)
    by_id = {c.id: c for c in lawyers}

    # No shift on a closed day; every open day is planned.
    assert not set(result) & closed
    assert set(result) == set(days) - closed
    for day, lawyer_id in result.items():
        available = [c for c in lawyers if c.available_on(day)]
        if lawyer_id is None:
            assert not available  # nobody was left out while available
        else:
            assert by_id[lawyer_id].available_on(day)  # never on leave or out of contract

    # Lawyers available on every open day take turns: their counts differ by at most one.
    open_days = [d for d in days if d not in closed]
    always = [c.id for c in lawyers if all(c.available_on(d) for d in open_days)]
    counts = {i: sum(1 for v in result.values() if v == i) for i in always}
    if counts:
        assert max(counts.values()) - min(counts.values()) <= 1

    # The same input gives the same roster (so regenerating changes nothing).
    assert plan(days, closed, lawyers) == result


@given(scenarios())
@settings(max_examples=100, deadline=None)
def test_fixed_days_are_kept_and_the_rest_recomputes_the_same(scenario):
    days, closed, lawyers, _last = scenario
    result = plan(days, closed, lawyers)
    # Freeze the first half as if it were past: the second half comes out the same.
    half = days[: len(days) // 2]
    fixed = {d: result[d] for d in half if d in result and result[d] is not None}
    again = plan(days, closed, lawyers, fixed)
    for day, lawyer_id in again.items():
        assert day not in fixed
        assert lawyer_id == result[day]


def test_least_recently_on_duty_goes_first():
    a = Candidate(1, date(2020, 1, 1), last_duty_on=date(2025, 12, 30))
    b = Candidate(2, date(2020, 1, 1), last_duty_on=date(2025, 12, 16))
    c = Candidate(3, date(2020, 1, 1), last_duty_on=None)  # never on duty: first of all
    days = [START + timedelta(weeks=i) for i in range(4)]
    assert list(plan(days, set(), [a, b, c]).values()) == [3, 2, 1, 3]


def test_a_closed_day_uses_nobodys_turn_and_leave_keeps_it():
    a = Candidate(1, date(2020, 1, 1), leave=((START, START),))
    b = Candidate(2, date(2020, 1, 1))
    c = Candidate(3, date(2020, 1, 1))
    days = [START + timedelta(weeks=i) for i in range(4)]
    result = plan(days, {days[1]}, [a, b, c])
    # a is on leave on day 0 (b takes it); day 1 is closed; a, kept first in line, takes day 2.
    assert result == {days[0]: 2, days[2]: 1, days[3]: 3}
