"""Lists and jobs at province scale

Revision ID: 0019_perf_lists
Revises: 0018_perf_reports
Create Date: 2026-12-02 23:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019_perf_lists'
down_revision = '0018_perf_reports'
branch_labels = None
depends_on = None


def upgrade():
    # The audit log's and the outbox's filters, each with the time the page orders by, so the newest
    # matches come from an index; the single-column indexes they replace are their prefixes.
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_entries_action_at'), ['action', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entries_actor_name_at'), ['actor_name', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entries_station_at'), ['station_id', 'at'], unique=False)
        batch_op.drop_index(batch_op.f('ix_audit_entries_action'))
        batch_op.drop_index(batch_op.f('ix_audit_entries_station_id'))
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_messages_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_messages_kind_due'), ['kind', 'due_at'], unique=False)
        batch_op.drop_index(batch_op.f('ix_outbox_messages_kind'))
    # The ratings list's filters (poor; poor without a reply), newest first.
    with op.batch_alter_table('ratings', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_ratings_poor_at'), ['rated_at'], unique=False,
            postgresql_where=sa.text('level <= 2'), sqlite_where=sa.text('level <= 2'),
        )
        batch_op.create_index(
            batch_op.f('ix_ratings_unanswered_at'), ['rated_at'], unique=False,
            postgresql_where=sa.text('level <= 2 AND replied_at IS NULL'),
            sqlite_where=sa.text('level <= 2 AND replied_at IS NULL'),
        )


def downgrade():
    with op.batch_alter_table('ratings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ratings_unanswered_at'))
        batch_op.drop_index(batch_op.f('ix_ratings_poor_at'))
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_messages_kind'), ['kind'], unique=False)
        batch_op.drop_index(batch_op.f('ix_outbox_messages_kind_due'))
        batch_op.drop_index(batch_op.f('ix_outbox_messages_due_at'))
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_entries_station_id'), ['station_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entries_action'), ['action'], unique=False)
        batch_op.drop_index(batch_op.f('ix_audit_entries_station_at'))
        batch_op.drop_index(batch_op.f('ix_audit_entries_actor_name_at'))
        batch_op.drop_index(batch_op.f('ix_audit_entries_action_at'))
