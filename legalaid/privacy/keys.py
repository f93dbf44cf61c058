"""Key rotation: every encrypted value moved to the first of DATA_KEYS, every keyed hash recomputed.

Run after putting a new key first in DATA_KEYS (the old ones still listed, so they can read); when it
reports every value rotated, the old keys can be removed. Safe to run twice: a value already under the
first key is simply encrypted again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from legalaid import audit, crypto
from legalaid.extensions import db

_BATCH = 500


@dataclass
class Rotation:
    """What a rotation changed: values per table.column, and mobiles re-indexed."""

    values: dict[str, int] = field(default_factory=dict)
    reindexed: int = 0  # people whose keyed hashes changed

    @property
    def total(self) -> int:
        """Values rotated in all."""
        return sum(self.values.values())


def encrypted_columns() -> list[tuple[str, str]]:
    """(table, column) of every column stored encrypted, from the models."""
    return [
        (table.name, column.name)
        for table in db.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, crypto.Encrypted | crypto.EncryptedJSON)
    ]


def _raw(table: str, column: str) -> sa.TableClause:
    """The table seen as plain text, so values are read and written as stored (no decryption)."""
    return sa.table(table, sa.column("id", sa.Integer), sa.column(column, sa.Text))


def rotate_all(*, dry_run: bool = False) -> Rotation:
    """Re-encrypt every stored value under the current key and recompute the mobiles' keyed hashes;
    audited with the counts (nothing personal). With dry_run, count only."""
    from legalaid.bookings.models import Veteran

    done = Rotation()
    for table_name, column_name in encrypted_columns():
        table = _raw(table_name, column_name)
        column = table.c[column_name]
        rows = db.session.execute(
            sa.select(table.c.id, column).where(column.is_not(None), column != "").order_by(table.c.id)
        ).all()
        done.values[f"{table_name}.{column_name}"] = len(rows)
        if dry_run:
            continue
        update = sa.update(table).where(table.c.id == sa.bindparam("row_id"))
        for start in range(0, len(rows), _BATCH):
            batch = rows[start : start + _BATCH]
            db.session.execute(update, [{"row_id": i, column_name: crypto.rotate(v)} for i, v in batch])
    columns = (Veteran.id, Veteran.mobile, Veteran.id_number, Veteran.mobile_hash, Veteran.id_number_hash)
    changed = []
    for vid, mobile, id_number, *old in db.session.execute(sa.select(*columns)).all():
        new = [crypto.blind_index(mobile), crypto.blind_index(id_number)]
        if new != old:
            changed.append({"vid": vid, "mobile_hash": new[0], "id_number_hash": new[1]})
    done.reindexed = len(changed)
    if not dry_run:
        for values in changed:
            db.session.execute(sa.update(Veteran).where(Veteran.id == values.pop("vid")).values(**values))
        audit.record("privacy.keys_rotated", details={"values": done.total, "reindexed": done.reindexed})
    db.session.flush()
    return done
