"""matter leaders: an administrator may lead a matter (领导包案) beside the lawyer who handles it

(SQLite rebuilds the table; migrations/env.py turns foreign keys off meanwhile, so no note is lost.)

Revision ID: 0009_matter_leaders
Revises: 0008_closures
Create Date: 2026-12-03 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_matter_leaders'
down_revision = '0008_closures'
branch_labels = None
depends_on = None

FK = 'fk_matters_leader_id_users'
INDEX = 'ix_matters_leader_status'


def upgrade():
    with op.batch_alter_table('matters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('leader_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(FK, 'users', ['leader_id'], ['id'], ondelete='SET NULL')
        batch_op.create_index(INDEX, ['leader_id', 'status'], unique=False)


def downgrade():
    with op.batch_alter_table('matters', schema=None) as batch_op:
        batch_op.drop_index(INDEX)
        batch_op.drop_constraint(FK, type_='foreignkey')
        batch_op.drop_column('leader_id')
