"""the calling system: queue numbers for bookings, recall and pass

Revision ID: 0016_calling
Revises: 0015_encryption
Create Date: 2026-12-02 17:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016_calling'
down_revision = '0015_encryption'
branch_labels = None
depends_on = None

# Recall, pass and return to the queue, on both kinds of queue entry.
CALL_COLUMNS = ('announced_at', 'passed_at', 'requeued_at')


def upgrade():
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('queue_number', sa.Integer(), nullable=True))
        for column in CALL_COLUMNS:
            batch_op.add_column(sa.Column(column, sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        'uq_bookings_shift_queue_number', 'bookings', ['shift_id', 'queue_number'], unique=True
    )
    with op.batch_alter_table('walk_ins', schema=None) as batch_op:
        for column in CALL_COLUMNS:
            batch_op.add_column(sa.Column(column, sa.DateTime(timezone=True), nullable=True))
    # Who was called before this version was last heard when they were called.
    op.execute("UPDATE bookings SET announced_at = called_at WHERE called_at IS NOT NULL")
    op.execute("UPDATE walk_ins SET announced_at = called_at WHERE called_at IS NOT NULL")
    with op.batch_alter_table('daily_counters', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('last_booking_number', sa.Integer(), server_default=sa.text('0'), nullable=False)
        )
    with op.batch_alter_table('stations', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('queue_opens_minutes', sa.Integer(), server_default=sa.text('60'), nullable=False)
        )
        batch_op.create_check_constraint(
            op.f('ck_stations_queue_opens_range'), 'queue_opens_minutes BETWEEN 0 AND 720'
        )


def downgrade():
    with op.batch_alter_table('stations', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_stations_queue_opens_range'), type_='check')
        batch_op.drop_column('queue_opens_minutes')
    with op.batch_alter_table('daily_counters', schema=None) as batch_op:
        batch_op.drop_column('last_booking_number')
    with op.batch_alter_table('walk_ins', schema=None) as batch_op:
        for column in reversed(CALL_COLUMNS):
            batch_op.drop_column(column)
    op.drop_index('uq_bookings_shift_queue_number', table_name='bookings')
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        for column in reversed(CALL_COLUMNS):
            batch_op.drop_column(column)
        batch_op.drop_column('queue_number')
