"""booking events: a booking announces made / moved / cancelled as rows the reminders read later

Revision ID: 0010_booking_events
Revises: 0009_matter_leaders
Create Date: 2026-12-04 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_booking_events'
down_revision = '0009_matter_leaders'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'booking_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('booking_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('cause', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.String(length=200), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('made', 'moved', 'cancelled')", name=op.f('ck_booking_events_kind_known')),
        sa.ForeignKeyConstraint(
            ['booking_id'], ['bookings.id'], name=op.f('fk_booking_events_booking_id_bookings'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_booking_events')),
    )
    op.create_index('ix_booking_events_pending', 'booking_events', ['processed_at', 'id'], unique=False)
    op.create_index(op.f('ix_booking_events_booking_id'), 'booking_events', ['booking_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_booking_events_booking_id'), table_name='booking_events')
    op.drop_index('ix_booking_events_pending', table_name='booking_events')
    op.drop_table('booking_events')
