"""consultations, versions, matters, notes

Revision ID: 0004_consultations
Revises: 0003_bookings
Create Date: 2026-11-22 19:54:04.877899

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004_consultations'
down_revision = '0003_bookings'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('consultations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('shift_id', sa.Integer(), nullable=True),
    sa.Column('lawyer_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=True),
    sa.Column('walkin_id', sa.Integer(), nullable=True),
    sa.Column('veteran_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=30), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('category', sa.String(length=30), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('advice', sa.Text(), nullable=False),
    sa.Column('outcomes', sa.JSON(), nullable=False),
    sa.Column('counselling_notes', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_consultations_author_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], name=op.f('fk_consultations_booking_id_bookings'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['lawyer_id'], ['lawyers.id'], name=op.f('fk_consultations_lawyer_id_lawyers'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['shift_id'], ['duty_shifts.id'], name=op.f('fk_consultations_shift_id_duty_shifts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_consultations_station_id_stations'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['veteran_id'], ['veterans.id'], name=op.f('fk_consultations_veteran_id_veterans'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['walkin_id'], ['walk_ins.id'], name=op.f('fk_consultations_walkin_id_walk_ins'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consultations')),
    sa.UniqueConstraint('booking_id', name=op.f('uq_consultations_booking_id'))
    )
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consultations_lawyer_id'), ['lawyer_id'], unique=False)
        batch_op.create_index('ix_consultations_station_on', ['station_id', 'held_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_consultations_veteran_id'), ['veteran_id'], unique=False)

    op.create_table('consultation_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('saved_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('saved_by_id', sa.Integer(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'], name=op.f('fk_consultation_versions_consultation_id_consultations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['saved_by_id'], ['users.id'], name=op.f('fk_consultation_versions_saved_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consultation_versions'))
    )
    with op.batch_alter_table('consultation_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consultation_versions_consultation_id'), ['consultation_id'], unique=False)

    op.create_table('matters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('result', sa.String(length=24), nullable=True),
    sa.Column('money_saved', sa.Integer(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status <> 'closed' OR result IS NOT NULL", name=op.f('ck_matters_closed_has_result')),
    sa.CheckConstraint("status IN ('open', 'in_progress', 'closed')", name=op.f('ck_matters_status_known')),
    sa.CheckConstraint('money_saved IS NULL OR money_saved >= 0', name=op.f('ck_matters_money_not_negative')),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'], name=op.f('fk_matters_consultation_id_consultations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_matters_owner_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_matters_station_id_stations'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_matters')),
    sa.UniqueConstraint('consultation_id', name=op.f('uq_matters_consultation_id'))
    )
    with op.batch_alter_table('matters', schema=None) as batch_op:
        batch_op.create_index('ix_matters_owner_status', ['owner_id', 'status'], unique=False)
        batch_op.create_index('ix_matters_station_status_due', ['station_id', 'status', 'due_on'], unique=False)

    op.create_table('matter_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('matter_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('milestone', sa.String(length=20), nullable=True),
    sa.Column('milestone_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_matter_notes_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['matter_id'], ['matters.id'], name=op.f('fk_matter_notes_matter_id_matters'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_matter_notes'))
    )
    with op.batch_alter_table('matter_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_matter_notes_matter_id'), ['matter_id'], unique=False)



def downgrade():
    with op.batch_alter_table('matter_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_matter_notes_matter_id'))

    op.drop_table('matter_notes')
    with op.batch_alter_table('matters', schema=None) as batch_op:
        batch_op.drop_index('ix_matters_station_status_due')
        batch_op.drop_index('ix_matters_owner_status')

    op.drop_table('matters')
    with op.batch_alter_table('consultation_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consultation_versions_consultation_id'))

    op.drop_table('consultation_versions')
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consultations_veteran_id'))
        batch_op.drop_index('ix_consultations_station_on')
        batch_op.drop_index(batch_op.f('ix_consultations_lawyer_id'))

    op.drop_table('consultations')
