"""Issue 13 point 8: a mobile or ID number typed into free text (a booking's description, a consultation's
summary and advice, counselling notes, a matter's note, a correction) is masked wherever the person's
mobile is shown masked: the desk, the duty console, the record form and the record, the matter, the log's
export. Only the author correcting their own record sees their text as typed."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime

import pytest
import time_machine

from legalaid.bookings import planning
from legalaid.bookings import services as bookings
from legalaid.consultations import services
from legalaid.extensions import db
from legalaid.privacy import mask_text
from legalaid.roster import services as roster
from tests.conftest import login

DAY = date(2026, 3, 10)
ON_THE_DAY = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
MOBILE = "13998765432"
ID_NUMBER = "11010519491231002X"
TYPED = f"请打{MOBILE}找我，身份证{ID_NUMBER}"
MASKED_MOBILE, MASKED_ID = "139****5432", "110105********002X"


def _shows_masked(page: str) -> None:
    assert MOBILE not in page and ID_NUMBER not in page
    assert MASKED_MOBILE in page and MASKED_ID in page


@pytest.fixture
def day(app, make_station, make_lawyer, make_user):
    """Today's booking whose description holds a mobile and an ID number, recorded by the duty lawyer
    with the numbers in every text, and a follow-up matter with a note."""
    station = make_station("咨询站")
    duty = make_lawyer(station, name="值班甲")
    roster.set_shift_lawyer(station, DAY, duty, "排班", today=date(2026, 3, 1))
    db.session.commit()
    shift = roster.shift_on(station, DAY)
    slot = planning.ensure_slots(shift)[1]
    db.session.commit()
    booking = bookings.place_booking(
        bookings.BookingRequest(
            slot_id=slot.id,
            name="王建国",
            mobile="13812345678",
            category="labour",
            channel="online",
            idempotency_key=secrets.token_hex(16),
            consent=True,
            description=TYPED,
        ),
        now=datetime(2026, 3, 5, 2, 0, tzinfo=UTC),
    )
    db.session.commit()
    make_user("staff", username="desk", station_id=station.id)
    make_user("admin", username="chief")
    return {"station": station, "duty": duty, "booking": booking}


def _record(day) -> int:
    with time_machine.travel(ON_THE_DAY, tick=False):
        c = services.record_consultation(
            day["station"],
            day["duty"].user,
            services.Record(
                "labour",
                TYPED,
                advice=TYPED,
                outcomes=["advice"],
                counselling_notes=TYPED,
                follow_up=True,
                due_on=date(2026, 3, 20),
            ),
            booking=day["booking"],
        )
        db.session.refresh(c)
        assert c.matter is not None
        services.add_note(c.matter, day["duty"].user, TYPED)
        db.session.commit()
        return c.id


def test_the_desk_and_the_console_mask_numbers_in_a_description(app, day):
    with time_machine.travel(ON_THE_DAY, tick=False):
        desk = app.test_client()
        login(desk, "desk")
        _shows_masked(desk.get("/desk").get_data(as_text=True))
        for who in (day["duty"].user.username, "chief"):
            console = app.test_client()
            login(console, who)
            _shows_masked(console.get(f"/console?station={day['station'].id}").get_data(as_text=True))
            form = console.get(f"/consultations/new?booking={day['booking'].id}").get_data(as_text=True)
            _shows_masked(form)  # the summary starts from the description, numbers masked


def test_the_record_and_the_matter_mask_numbers_for_every_reader(app, day):
    consultation_id = _record(day)
    matter_id = services.get(consultation_id).matter.id
    with time_machine.travel(ON_THE_DAY, tick=False):
        for who in (day["duty"].user.username, "chief"):
            reader = app.test_client()
            login(reader, who)
            view = reader.get(f"/consultations/{consultation_id}").get_data(as_text=True)
            _shows_masked(view)
            assert view.count(MASKED_MOBILE) >= 4  # described, summary, advice, counselling notes
            _shows_masked(reader.get(f"/matters/{matter_id}").get_data(as_text=True))


def test_a_correction_in_the_history_is_masked_but_the_author_edits_the_text_as_typed(app, day):
    consultation_id = _record(day)
    c = services.get(consultation_id)
    with time_machine.travel(ON_THE_DAY, tick=False):
        services.correct_consultation(
            c, day["duty"].user, services.Record("labour", "工资问题", outcomes=["advice"]), today=DAY
        )
        db.session.commit()
        author = app.test_client()
        login(author, day["duty"].user.username)
        view = author.get(f"/consultations/{consultation_id}").get_data(as_text=True)
        _shows_masked(view)  # the history quotes the earlier text, masked
        services.correct_consultation(
            c, day["duty"].user, services.Record("labour", TYPED, outcomes=["advice"]), today=DAY
        )
        db.session.commit()
        edit = author.get(f"/consultations/{consultation_id}/edit").get_data(as_text=True)
    assert MOBILE in edit and ID_NUMBER in edit  # their own words, to correct


def test_the_log_export_holds_no_full_number_from_free_text(app, day):
    _record(day)
    with time_machine.travel(ON_THE_DAY, tick=False):
        admin = app.test_client()
        login(admin, "chief")
        exported = admin.get("/admin/consultations/export.csv").get_data(as_text=True)
    assert "王*" in exported
    assert MOBILE not in exported and ID_NUMBER not in exported


def test_mask_text_masks_the_numbers_and_keeps_the_words():
    assert mask_text(TYPED) == f"请打{MASKED_MOBILE}找我，身份证{MASKED_ID}"
