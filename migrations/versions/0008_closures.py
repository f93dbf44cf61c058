"""closures: a shift on a day closed after it was made is released, not deleted

Revision ID: 0008_closures
Revises: 0007_reports
Create Date: 2026-12-02 03:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_closures'
down_revision = '0007_reports'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('duty_shifts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('released_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('duty_shifts', schema=None) as batch_op:
        batch_op.drop_column('released_at')
