"""The consultation log's order (date, then id) gets its own index: the log's pages and an export's
batches walk it and stop, where the index of dates alone left each id order to a sort, and PostgreSQL
started two parallel workers for every batch of an export (6 of its 16 ms)

Revision ID: 0024_log_order_index
Revises: 0023_report_versions
Create Date: 2026-12-03 15:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0024_log_order_index'
down_revision = '0023_report_versions'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_consultations_held_on_id', 'consultations', ['held_on', 'id'])
    op.drop_index('ix_consultations_held_on', table_name='consultations')


def downgrade():
    op.create_index('ix_consultations_held_on', 'consultations', ['held_on'])
    op.drop_index('ix_consultations_held_on_id', table_name='consultations')
