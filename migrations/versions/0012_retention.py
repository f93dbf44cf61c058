"""retention and a person's rights: what erasure leaves behind

An erased record keeps its row (the reports count it) with its personal fields blanked and the time
of erasure set. An erased person keeps no mobile number, so the column becomes nullable (several
erased people may share NULL under the unique constraint).
(SQLite rebuilds the tables; migrations/env.py turns foreign keys off meanwhile, so no row is lost.)

Revision ID: 0012_retention
Revises: 0011_sign_in
Create Date: 2026-12-05 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_retention'
down_revision = '0011_sign_in'
branch_labels = None
depends_on = None

ERASABLE = ('veterans', 'bookings', 'walk_ins', 'consultations')


def upgrade():
    with op.batch_alter_table('veterans', schema=None) as batch_op:
        batch_op.alter_column('mobile', existing_type=sa.String(length=11), nullable=True)
    for table in ERASABLE:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    for table in reversed(ERASABLE):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('erased_at')
    # Erased people have no number left; a placeholder that no mobile can be keeps the column NOT NULL.
    op.execute("UPDATE veterans SET mobile = 'x' || CAST(id AS VARCHAR(10)) WHERE mobile IS NULL")
    with op.batch_alter_table('veterans', schema=None) as batch_op:
        batch_op.alter_column('mobile', existing_type=sa.String(length=11), nullable=False)
