"""Personal data encrypted at rest: the raw database holds no plain mobile, ID or card number, counselling
note or edit history; the application reads them as typed; keys rotate; production needs its keys."""

from __future__ import annotations

import os
import stat
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
import time_machine
from flask_migrate import upgrade

from legalaid import crypto
from legalaid.bookings.models import Veteran
from legalaid.extensions import db
from legalaid.reminders.models import OutboxMessage
from tests.conftest import make_app

ID_NUMBER = "11010519491231002X"
CARD = "JR2019-00731"
MOBILE = "13912345678"
NOTES = "当事人夜间难以入睡，建议转介心理咨询师"


def raw_text(engine: sa.Engine) -> str:
    """Every value of every table as stored, as one text (what a copy of the database file shows)."""
    chunks = []
    with engine.connect() as conn:
        for table in sa.inspect(engine).get_table_names():
            for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):  # noqa: S608 (our table names)
                chunks.extend(str(value) for value in row)
    return "\n".join(chunks)


def test_the_raw_database_holds_no_plain_numbers_or_notes(app, make_station, make_lawyer, make_booking):
    from legalaid.bookings import services as bookings

    station = make_station()
    lawyer = make_lawyer(station)
    veteran = bookings.veteran_for("张卫国", MOBILE)
    veteran.id_number, veteran.veteran_card_no = ID_NUMBER, CARD
    from legalaid.consultations.models import Consultation, ConsultationVersion

    consultation = Consultation(
        station_id=station.id,
        lawyer_id=lawyer.id,
        author_id=lawyer.user_id,
        veteran_id=veteran.id,
        name="张卫国",
        held_on=date(2026, 12, 1),
        category="labour",
        counselling_notes=NOTES,
    )
    db.session.add(consultation)
    db.session.flush()
    db.session.add(ConsultationVersion(consultation_id=consultation.id, data={"counselling_notes": NOTES}))
    db.session.add(
        OutboxMessage(
            kind="booking_confirmed",
            channel="sms",
            recipient_type="veteran",
            recipient_id=veteran.id,
            address=MOBILE,
            template="booking_confirmed",
            params={"name": "张卫国", "code": "Q7RK2M"},
            due_at=datetime(2026, 12, 1, tzinfo=UTC),
            dedupe_key="test-confirmed",
        )
    )
    db.session.commit()

    stored = raw_text(db.engine)
    for secret in (ID_NUMBER, CARD, MOBILE, NOTES, lawyer.mobile, "难以入睡", "Q7RK2M"):
        assert secret not in stored
    assert "张卫国" in stored  # names stay readable to the database (the log searches them)

    db.session.expire_all()
    again = db.session.get_one(Veteran, veteran.id)
    assert (again.mobile, again.id_number, again.veteran_card_no) == (MOBILE, ID_NUMBER, CARD)
    assert db.session.get_one(Consultation, consultation.id).counselling_notes == NOTES
    message = db.session.scalars(sa.select(OutboxMessage)).one()
    assert (message.address, message.params["code"]) == (MOBILE, "Q7RK2M")  # the sweep reads them as typed
    version = db.session.scalars(sa.select(ConsultationVersion)).one()
    assert version.data == {"counselling_notes": NOTES}
    # The same person is found again by the mobile's keyed hash, not by decrypting every row.
    assert bookings.veteran_for("张卫国", MOBILE).id == veteran.id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Veteran)) == 1
    by_id_number = sa.select(Veteran).where(Veteran.with_id_number(ID_NUMBER))
    assert db.session.scalars(by_id_number).one().id == veteran.id


def test_a_booking_finds_its_person_by_mobile(app, make_station, make_lawyer, make_booking):
    from legalaid.roster import services as roster

    station = make_station()
    lawyer = make_lawyer(station)
    shifts = [
        roster.set_shift_lawyer(station, day, lawyer, "测试", today=date(2026, 3, 1))
        for day in (date(2026, 3, 10), date(2026, 3, 17))
    ]
    db.session.commit()
    with time_machine.travel(date(2026, 3, 5), tick=False):
        first = make_booking(shifts[0], mobile=MOBILE)
        second = make_booking(shifts[1], mobile=MOBILE)
    assert first.veteran_id == second.veteran_id
    assert first.veteran.mobile == MOBILE


def test_rotation_moves_every_value_to_the_new_key(app, make_station, make_lawyer, runner):
    from legalaid.audit.models import AuditEntry
    from legalaid.bookings import services as bookings

    make_lawyer(make_station())
    veteran = bookings.veteran_for("李红", MOBILE)
    veteran.id_number = ID_NUMBER
    db.session.commit()
    old = app.config["DATA_KEYS"]
    new = crypto.new_key()

    dry = runner.invoke(args=["keys", "rotate", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "3 values would be re-encrypted" in dry.output  # the veteran's mobile and ID, the lawyer's mobile

    app.config["DATA_KEYS"] = f"{new},{old}"
    app.config["DATA_HASH_KEY"] = "a-new-hash-key-of-enough-length-0123456789"
    done = runner.invoke(args=["keys", "rotate"])
    assert done.exit_code == 0, done.output
    assert "3 values were re-encrypted; 1 people were re-indexed." in done.output

    app.config["DATA_KEYS"] = new  # the old key is gone: every value still reads
    db.session.expire_all()
    again = db.session.get_one(Veteran, veteran.id)
    assert (again.mobile, again.id_number) == (MOBILE, ID_NUMBER)
    assert bookings.veteran_for("李红", MOBILE).id == veteran.id  # found under the new hash key
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "privacy.keys_rotated")).one()
    assert entry.details == {"values": 3, "reindexed": 1}

    app.config["DATA_KEYS"] = old  # a value under a key no longer configured cannot be read
    db.session.expire_all()
    with pytest.raises(crypto.DataKeyError):
        db.session.get_one(Veteran, veteran.id).mobile  # noqa: B018


def test_the_migration_encrypts_what_was_stored_plain(databases):
    from flask_migrate import downgrade

    url = databases.new()
    app = make_app(url)
    with app.app_context():
        upgrade(revision="0014_public_limits")
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO veterans (name, mobile, id_number, created_at, updated_at) "
                    "VALUES ('王建国', :mobile, :id, '2026-01-05 01:00:00', '2026-01-05 01:00:00')"
                ),
                {"mobile": MOBILE, "id": ID_NUMBER},
            )
        upgrade()
        stored = raw_text(db.engine)
        assert MOBILE not in stored and ID_NUMBER not in stored
        veteran = db.session.scalars(sa.select(Veteran).where(Veteran.with_mobile(MOBILE))).one()
        assert (veteran.name, veteran.mobile, veteran.id_number) == ("王建国", MOBILE, ID_NUMBER)
        db.session.rollback()
        downgrade(revision="0014_public_limits")
        assert MOBILE in raw_text(db.engine)  # and back, readable by the older code
        db.engine.dispose()


def test_keys_are_checked_and_development_keys_are_private(tmp_path):
    assert crypto.check_keys({}) is not None
    assert "Fernet" in crypto.check_keys({"DATA_KEYS": "not-a-key", "DATA_HASH_KEY": "x" * 40})
    assert crypto.check_keys({"DATA_KEYS": crypto.new_key(), "DATA_HASH_KEY": "short"}) is not None
    assert crypto.check_keys({"DATA_KEYS": crypto.new_key(), "DATA_HASH_KEY": crypto.new_key()}) is None

    config: dict = {"ENV_NAME": "development"}
    crypto.configure(config, tmp_path)
    made = tmp_path / "data-keys.json"
    assert stat.S_IMODE(os.stat(made).st_mode) == 0o600
    again: dict = {"ENV_NAME": "development"}
    crypto.configure(again, tmp_path)
    assert again["DATA_KEYS"] == config["DATA_KEYS"]  # made once, kept across restarts
    production: dict = {"ENV_NAME": "production", "DATA_KEYS": ""}
    crypto.configure(production, tmp_path)
    assert not production["DATA_KEYS"]  # production is never given a key it did not set


def test_sql_cannot_compare_an_encrypted_column(app):
    """A comparison would match nothing (every encryption differs): it is refused, the hash is the way."""
    with pytest.raises(TypeError, match="keyed hash"):
        sa.select(Veteran).where(Veteran.mobile == MOBILE)
    assert str(sa.select(Veteran.id).where(Veteran.mobile.is_(None)))  # IS NULL still works
