"""The database helpers the races rely on tell the truth on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from legalaid.db import insert_if_absent
from legalaid.extensions import db
from legalaid.kiosk.models import PublicCounter


def test_insert_if_absent_says_whether_it_inserted(app):
    values = {"scope": "booking:address", "key": "k" * 64, "period_on": date(2026, 12, 10), "count": 0}
    assert insert_if_absent(PublicCounter, values) is True
    # A second request with the same natural key inserts nothing and says so (PostgreSQL's driver reports
    # a row count of -1 for both when the table has a generated key).
    assert insert_if_absent(PublicCounter, values) is False
    assert insert_if_absent(PublicCounter, {**values, "period_on": date(2026, 12, 11)}) is True
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PublicCounter)) == 2
