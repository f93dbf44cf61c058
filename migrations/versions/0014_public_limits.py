"""public pages: enrolled kiosk devices, limits per address and per mobile

Revision ID: 0014_public_limits
Revises: 0013_consent
Create Date: 2026-12-05 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014_public_limits'
down_revision = '0013_consent'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'kiosk_devices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('station_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('enrolled_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('enrolled_by_id', sa.Integer(), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ['station_id'],
            ['stations.id'],
            name=op.f('fk_kiosk_devices_station_id_stations'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['enrolled_by_id'],
            ['users.id'],
            name=op.f('fk_kiosk_devices_enrolled_by_id_users'),
            ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['revoked_by_id'],
            ['users.id'],
            name=op.f('fk_kiosk_devices_revoked_by_id_users'),
            ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_kiosk_devices')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_kiosk_devices_token_hash')),
    )
    op.create_index(op.f('ix_kiosk_devices_station_id'), 'kiosk_devices', ['station_id'], unique=False)
    op.create_table(
        'public_counters',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('scope', sa.String(length=24), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('period_on', sa.Date(), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('count >= 0', name=op.f('ck_public_counters_count_not_negative')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_public_counters')),
        sa.UniqueConstraint('scope', 'key', 'period_on', name=op.f('uq_public_counters_scope_key_period_on')),
    )
    op.create_index(op.f('ix_public_counters_period_on'), 'public_counters', ['period_on'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_public_counters_period_on'), table_name='public_counters')
    op.drop_table('public_counters')
    op.drop_index(op.f('ix_kiosk_devices_station_id'), table_name='kiosk_devices')
    op.drop_table('kiosk_devices')
