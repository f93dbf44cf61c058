"""bookings, slots, veterans, walk-ins

Revision ID: 0003_bookings
Revises: 0002_roster
Create Date: 2026-11-22 19:01:40.058904

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003_bookings'
down_revision = '0002_roster'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), server_default='login', nullable=False))

    op.create_table('veterans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=30), nullable=False),
    sa.Column('mobile', sa.String(length=11), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=True),
    sa.Column('veteran_card_no', sa.String(length=30), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_veterans')),
    sa.UniqueConstraint('mobile', name=op.f('uq_veterans_mobile'))
    )
    op.create_table('daily_counters',
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_daily_counters_station_id_stations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('station_id', 'day', name=op.f('pk_daily_counters'))
    )
    op.create_table('shift_quotas',
    sa.Column('shift_id', sa.Integer(), nullable=False),
    sa.Column('public_capacity', sa.Integer(), nullable=False),
    sa.Column('public_booked', sa.Integer(), nullable=False),
    sa.CheckConstraint('public_booked >= 0 AND public_booked <= public_capacity', name=op.f('ck_shift_quotas_within')),
    sa.ForeignKeyConstraint(['shift_id'], ['duty_shifts.id'], name=op.f('fk_shift_quotas_shift_id_duty_shifts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('shift_id', name=op.f('pk_shift_quotas'))
    )
    op.create_table('slots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shift_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('booked', sa.Integer(), nullable=False),
    sa.CheckConstraint('booked >= 0 AND booked <= capacity', name=op.f('ck_slots_booked_within_capacity')),
    sa.ForeignKeyConstraint(['shift_id'], ['duty_shifts.id'], name=op.f('fk_slots_shift_id_duty_shifts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_slots')),
    sa.UniqueConstraint('shift_id', 'starts_at', name=op.f('uq_slots_shift_id_starts_at'))
    )
    with op.batch_alter_table('slots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_slots_shift_id'), ['shift_id'], unique=False)

    op.create_table('walk_ins',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('shift_id', sa.Integer(), nullable=True),
    sa.Column('veteran_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=30), nullable=False),
    sa.Column('category', sa.String(length=30), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('called_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['shift_id'], ['duty_shifts.id'], name=op.f('fk_walk_ins_shift_id_duty_shifts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_walk_ins_station_id_stations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['veteran_id'], ['veterans.id'], name=op.f('fk_walk_ins_veteran_id_veterans'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_walk_ins')),
    sa.UniqueConstraint('station_id', 'day', 'number', name=op.f('uq_walk_ins_station_id_day_number'))
    )
    op.create_table('bookings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=6), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=False),
    sa.Column('slot_id', sa.Integer(), nullable=False),
    sa.Column('shift_id', sa.Integer(), nullable=False),
    sa.Column('veteran_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=30), nullable=False),
    sa.Column('category', sa.String(length=30), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('uses_public_quota', sa.Boolean(), nullable=False),
    sa.Column('consent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cancel_reason', sa.String(length=200), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('checked_in_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('called_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("channel IN ('kiosk', 'online', 'walkin', 'hotline', 'phone', 'staff')", name=op.f('ck_bookings_channel_known')),
    sa.CheckConstraint("status IN ('booked', 'checked_in', 'completed', 'cancelled', 'no_show')", name=op.f('ck_bookings_status_known')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_bookings_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['shift_id'], ['duty_shifts.id'], name=op.f('fk_bookings_shift_id_duty_shifts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['slot_id'], ['slots.id'], name=op.f('fk_bookings_slot_id_slots'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['veteran_id'], ['veterans.id'], name=op.f('fk_bookings_veteran_id_veterans'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bookings')),
    sa.UniqueConstraint('code', name=op.f('uq_bookings_code')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_bookings_idempotency_key'))
    )
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.create_index('ix_bookings_shift_status', ['shift_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_bookings_slot_id'), ['slot_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bookings_veteran_id'), ['veteran_id'], unique=False)
        batch_op.create_index('uq_bookings_active_veteran_shift', ['veteran_id', 'shift_id'], unique=True, sqlite_where=sa.text("status IN ('booked', 'checked_in')"), postgresql_where=sa.text("status IN ('booked', 'checked_in')"))



def downgrade():
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.drop_column('kind')

    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_index('uq_bookings_active_veteran_shift', sqlite_where=sa.text("status IN ('booked', 'checked_in')"), postgresql_where=sa.text("status IN ('booked', 'checked_in')"))
        batch_op.drop_index(batch_op.f('ix_bookings_veteran_id'))
        batch_op.drop_index(batch_op.f('ix_bookings_slot_id'))
        batch_op.drop_index('ix_bookings_shift_status')

    op.drop_table('bookings')
    op.drop_table('walk_ins')
    with op.batch_alter_table('slots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_slots_shift_id'))

    op.drop_table('slots')
    op.drop_table('shift_quotas')
    op.drop_table('daily_counters')
    op.drop_table('veterans')
