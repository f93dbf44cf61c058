"""lawyers, firms, leave, duty roster, closures, swaps

Revision ID: 0002_roster
Revises: 0001_foundation
Create Date: 2026-11-22 18:39:01.190977

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002_roster'
down_revision = '0001_foundation'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('law_firms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('contact_person', sa.String(length=60), nullable=False),
    sa.Column('phone', sa.String(length=30), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_law_firms')),
    sa.UniqueConstraint('name', name=op.f('uq_law_firms_name'))
    )
    op.create_table('closures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('closed_on', sa.Date(), nullable=False),
    sa.Column('closed', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_closures_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_closures_station_id_stations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_closures')),
    sa.UniqueConstraint('station_id', 'closed_on', name=op.f('uq_closures_station_id_closed_on'))
    )
    op.create_table('holiday_years',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('confirmed_by_id', sa.Integer(), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['confirmed_by_id'], ['users.id'], name=op.f('fk_holiday_years_confirmed_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_holiday_years_station_id_stations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_holiday_years')),
    sa.UniqueConstraint('station_id', 'year', name=op.f('uq_holiday_years_station_id_year'))
    )
    op.create_table('lawyers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('firm_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('licence_no', sa.String(length=17), nullable=False),
    sa.Column('mobile', sa.String(length=20), nullable=False),
    sa.Column('email', sa.String(length=120), nullable=False),
    sa.Column('specialties', sa.JSON(), nullable=False),
    sa.Column('contract_start', sa.Date(), nullable=False),
    sa.Column('contract_end', sa.Date(), nullable=True),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('calendar_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('contract_end IS NULL OR contract_end >= contract_start', name=op.f('ck_lawyers_contract_order')),
    sa.CheckConstraint('length(licence_no) = 17', name=op.f('ck_lawyers_licence_no_17_digits')),
    sa.ForeignKeyConstraint(['firm_id'], ['law_firms.id'], name=op.f('fk_lawyers_firm_id_law_firms'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_lawyers_station_id_stations'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_lawyers_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lawyers')),
    sa.UniqueConstraint('calendar_token', name=op.f('uq_lawyers_calendar_token')),
    sa.UniqueConstraint('station_id', 'licence_no', name=op.f('uq_lawyers_station_id_licence_no')),
    sa.UniqueConstraint('user_id', name=op.f('uq_lawyers_user_id'))
    )
    with op.batch_alter_table('lawyers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lawyers_firm_id'), ['firm_id'], unique=False)
        batch_op.create_index('ix_lawyers_station_active', ['station_id', 'active'], unique=False)

    op.create_table('duty_shifts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('duty_on', sa.Date(), nullable=False),
    sa.Column('lawyer_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('checked_in_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('checked_in_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("source IN ('generated', 'manual')", name=op.f('ck_duty_shifts_source_known')),
    sa.ForeignKeyConstraint(['checked_in_by_id'], ['users.id'], name=op.f('fk_duty_shifts_checked_in_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['lawyer_id'], ['lawyers.id'], name=op.f('fk_duty_shifts_lawyer_id_lawyers'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_duty_shifts_station_id_stations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_shifts')),
    sa.UniqueConstraint('station_id', 'duty_on', name=op.f('uq_duty_shifts_station_id_duty_on'))
    )
    with op.batch_alter_table('duty_shifts', schema=None) as batch_op:
        batch_op.create_index('ix_duty_shifts_lawyer_on', ['lawyer_id', 'duty_on'], unique=False)

    op.create_table('unavailabilities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lawyer_id', sa.Integer(), nullable=False),
    sa.Column('start_on', sa.Date(), nullable=False),
    sa.Column('end_on', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('end_on >= start_on', name=op.f('ck_unavailabilities_end_not_before_start')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_unavailabilities_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['lawyer_id'], ['lawyers.id'], name=op.f('fk_unavailabilities_lawyer_id_lawyers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unavailabilities'))
    )
    with op.batch_alter_table('unavailabilities', schema=None) as batch_op:
        batch_op.create_index('ix_unavailabilities_lawyer_dates', ['lawyer_id', 'start_on', 'end_on'], unique=False)

    op.create_table('shift_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shift_id', sa.Integer(), nullable=True),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('duty_on', sa.Date(), nullable=False),
    sa.Column('old_lawyer_id', sa.Integer(), nullable=True),
    sa.Column('new_lawyer_id', sa.Integer(), nullable=True),
    sa.Column('cause', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['new_lawyer_id'], ['lawyers.id'], name=op.f('fk_shift_changes_new_lawyer_id_lawyers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['old_lawyer_id'], ['lawyers.id'], name=op.f('fk_shift_changes_old_lawyer_id_lawyers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['shift_id'], ['duty_shifts.id'], name=op.f('fk_shift_changes_shift_id_duty_shifts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_shift_changes_station_id_stations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shift_changes'))
    )
    with op.batch_alter_table('shift_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shift_changes_processed_at'), ['processed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_shift_changes_shift_id'), ['shift_id'], unique=False)

    op.create_table('swap_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shift_id', sa.Integer(), nullable=False),
    sa.Column('from_lawyer_id', sa.Integer(), nullable=False),
    sa.Column('to_lawyer_id', sa.Integer(), nullable=True),
    sa.Column('accepted_by_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('requested', 'accepted', 'approved', 'declined', 'rejected', 'cancelled')", name=op.f('ck_swap_requests_status_known')),
    sa.CheckConstraint('to_lawyer_id IS NULL OR to_lawyer_id <> from_lawyer_id', name=op.f('ck_swap_requests_not_to_self')),
    sa.ForeignKeyConstraint(['accepted_by_id'], ['lawyers.id'], name=op.f('fk_swap_requests_accepted_by_id_lawyers'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_swap_requests_decided_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['from_lawyer_id'], ['lawyers.id'], name=op.f('fk_swap_requests_from_lawyer_id_lawyers'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['shift_id'], ['duty_shifts.id'], name=op.f('fk_swap_requests_shift_id_duty_shifts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['to_lawyer_id'], ['lawyers.id'], name=op.f('fk_swap_requests_to_lawyer_id_lawyers'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_swap_requests'))
    )
    with op.batch_alter_table('swap_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_swap_requests_shift_id'), ['shift_id'], unique=False)
        batch_op.create_index('ix_swap_requests_status', ['status'], unique=False)
        batch_op.create_index('uq_swap_requests_open_shift', ['shift_id'], unique=True, sqlite_where=sa.text("status IN ('requested', 'accepted')"), postgresql_where=sa.text("status IN ('requested', 'accepted')"))

    with op.batch_alter_table('stations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('swap_auto_approve', sa.Boolean(), server_default=sa.false(), nullable=False))



def downgrade():
    with op.batch_alter_table('stations', schema=None) as batch_op:
        batch_op.drop_column('swap_auto_approve')

    with op.batch_alter_table('swap_requests', schema=None) as batch_op:
        batch_op.drop_index('uq_swap_requests_open_shift', sqlite_where=sa.text("status IN ('requested', 'accepted')"), postgresql_where=sa.text("status IN ('requested', 'accepted')"))
        batch_op.drop_index('ix_swap_requests_status')
        batch_op.drop_index(batch_op.f('ix_swap_requests_shift_id'))

    op.drop_table('swap_requests')
    with op.batch_alter_table('shift_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shift_changes_shift_id'))
        batch_op.drop_index(batch_op.f('ix_shift_changes_processed_at'))

    op.drop_table('shift_changes')
    with op.batch_alter_table('unavailabilities', schema=None) as batch_op:
        batch_op.drop_index('ix_unavailabilities_lawyer_dates')

    op.drop_table('unavailabilities')
    with op.batch_alter_table('duty_shifts', schema=None) as batch_op:
        batch_op.drop_index('ix_duty_shifts_lawyer_on')

    op.drop_table('duty_shifts')
    with op.batch_alter_table('lawyers', schema=None) as batch_op:
        batch_op.drop_index('ix_lawyers_station_active')
        batch_op.drop_index(batch_op.f('ix_lawyers_firm_id'))

    op.drop_table('lawyers')
    op.drop_table('holiday_years')
    op.drop_table('closures')
    op.drop_table('law_firms')
