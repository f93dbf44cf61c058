"""The Alembic history builds exactly the models' schema, and upgrade/downgrade round-trip."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from legalaid.db import include_object_for
from legalaid.extensions import db
from tests.conftest import make_app


def test_alembic_head_matches_the_models(app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "compare_server_default": False,
                "include_object": include_object_for(conn.dialect.name),
            },
        )
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models and migrations differ; run `flask db migrate`: {diff}"


def test_upgrade_and_downgrade_round_trip(databases):
    url = databases.new()
    app = make_app(url)
    with app.app_context():
        upgrade()
        tables = set(sa.inspect(db.engine).get_table_names())
        assert {"stations", "users", "audit_entries", "user_sessions", "throttle_counts"} <= tables
        downgrade(revision="base")
        assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert set(sa.inspect(db.engine).get_table_names()) == tables
        db.engine.dispose()


def test_migrating_down_and_up_keeps_every_record(databases):
    """SQLite rebuilds a table to change it; with foreign keys enforced, dropping the old table would
    empty its children through ON DELETE CASCADE. Every row must survive 0006 → head and back."""
    from datetime import date

    import time_machine

    from legalaid import demo
    from legalaid.consultations.models import Consultation, ConsultationOutcome, Matter, MatterNote

    url = databases.new()
    app = make_app(url)
    counted = (Consultation, ConsultationOutcome, Matter, MatterNote)
    with app.app_context(), time_machine.travel(date(2026, 12, 2), tick=False):
        upgrade()
        demo.load(today=date(2026, 12, 2))
        db.session.commit()
        before = {
            m.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in counted
        }
        assert all(before.values())
        db.session.remove()
        downgrade(revision="0006_reminders")
        with db.engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT count(*) FROM matter_notes")) == before["matter_notes"]
            assert conn.scalar(sa.text("SELECT count(*) FROM matters")) == before["matters"]
        upgrade()
        after = {
            m.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in counted
        }
        assert after == before
        db.session.remove()
        db.engine.dispose()
