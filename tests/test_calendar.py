"""The lawyer's calendar feed: valid iCalendar with exactly that lawyer's shifts."""

from __future__ import annotations

from datetime import UTC, date, datetime

import time_machine
from icalendar import Calendar

from legalaid.extensions import db
from legalaid.lawyers import services as lawyers
from legalaid.roster import services as roster


def _feed(client, token):
    return client.get(f"/calendar/{token}.ics")


def test_feed_holds_exactly_the_lawyers_shifts(client, make_station, make_lawyer):
    station = make_station(address="焦作市解放区服务大厅")
    a, b = make_lawyer(station, name="甲"), make_lawyer(station, name="乙")
    with time_machine.travel(datetime(2026, 3, 1, 2, 0, tzinfo=UTC), tick=False):
        roster.apply_rotation(station, date(2026, 3, 3), date(2026, 4, 28))
        db.session.commit()
        response = _feed(client, a.calendar_token)
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    calendar = Calendar.from_ical(response.data)
    events = [c for c in calendar.walk("VEVENT")]
    expected = [s for s in roster.lawyer_shifts(a)]
    assert len(events) == len(expected) > 0
    assert {e.decoded("dtstart").date() for e in events} == {s.duty_on for s in expected}
    assert {str(e["uid"]) for e in events} == {f"duty-shift-{s.id}@legalaid" for s in expected}
    first = events[0]
    assert str(first["location"]) == "焦作市解放区服务大厅"
    assert first.decoded("dtstart").tzinfo.key == "Asia/Shanghai"
    assert first.decoded("dtstart").hour == 9 and first.decoded("dtend").hour == 17
    assert any(c.name == "VTIMEZONE" for c in calendar.walk())
    assert all(
        str(e["uid"]) not in {f"duty-shift-{s.id}@legalaid" for s in roster.lawyer_shifts(b)} for e in events
    )


def test_uids_are_stable_and_a_new_secret_kills_the_old_address(client, make_station, make_lawyer):
    station = make_station()
    lawyer = make_lawyer(station)
    roster.set_shift_lawyer(station, date(2030, 3, 5), lawyer, "测试", today=date(2030, 1, 1))
    db.session.commit()
    old = lawyer.calendar_token
    with time_machine.travel(datetime(2030, 1, 1, 2, 0, tzinfo=UTC), tick=False):
        first = Calendar.from_ical(_feed(client, old).data)
        second = Calendar.from_ical(_feed(client, old).data)
        assert [str(e["uid"]) for e in first.walk("VEVENT")] == [str(e["uid"]) for e in second.walk("VEVENT")]
        lawyers.regenerate_calendar_token(lawyer)
        db.session.commit()
        assert _feed(client, old).status_code == 404
        assert _feed(client, lawyer.calendar_token).status_code == 200
    assert _feed(client, "nonsense").status_code == 404
