"""The JSON API: keys an administrator gives to other systems, their calls per minute, and the
bookings they make (the key, and the caller's own reference such as a work-order number)

Revision ID: 0020_api
Revises: 0019_perf_lists
Create Date: 2026-12-03 04:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020_api'
down_revision = '0019_perf_lists'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'api_keys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('prefix', sa.String(length=16), nullable=False),
        sa.Column('secret_hash', sa.String(length=64), nullable=False),
        sa.Column('scopes', sa.String(length=100), nullable=False),
        sa.Column('station_id', sa.Integer(), nullable=True),
        sa.Column('channel', sa.String(length=20), nullable=False),
        sa.Column('rate_per_minute', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_by_id', sa.Integer(), nullable=True),
        sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("scopes <> ''", name=op.f('ck_api_keys_scopes_given')),
        sa.CheckConstraint('rate_per_minute > 0', name=op.f('ck_api_keys_rate_positive')),
        sa.CheckConstraint(
            'revoked_at IS NOT NULL OR revoked_by_id IS NULL', name=op.f('ck_api_keys_revoke_has_time')
        ),
        sa.CheckConstraint("channel IN ('hotline', 'online')", name=op.f('ck_api_keys_channel_known')),
        sa.ForeignKeyConstraint(
            ['station_id'], ['stations.id'], name=op.f('fk_api_keys_station_id_stations'), ondelete='CASCADE'
        ),
        sa.ForeignKeyConstraint(
            ['created_by_id'], ['users.id'], name=op.f('fk_api_keys_created_by_id_users'), ondelete='SET NULL'
        ),
        sa.ForeignKeyConstraint(
            ['revoked_by_id'], ['users.id'], name=op.f('fk_api_keys_revoked_by_id_users'), ondelete='SET NULL'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
        sa.UniqueConstraint('name', name=op.f('uq_api_keys_name')),
        sa.UniqueConstraint('prefix', name=op.f('uq_api_keys_prefix')),
        sa.UniqueConstraint('secret_hash', name=op.f('uq_api_keys_secret_hash')),
    )
    op.create_index(op.f('ix_api_keys_station_id'), 'api_keys', ['station_id'], unique=False)
    op.create_table(
        'api_rate_windows',
        sa.Column('key_id', sa.Integer(), nullable=False),
        sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
        sa.Column('calls', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['key_id'], ['api_keys.id'], name=op.f('fk_api_rate_windows_key_id_api_keys'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('key_id', name=op.f('pk_api_rate_windows')),
    )
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('api_key_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('external_ref', sa.String(length=64), nullable=True))
        batch_op.create_foreign_key(
            op.f('fk_bookings_api_key_id_api_keys'), 'api_keys', ['api_key_id'], ['id'], ondelete='SET NULL'
        )
        batch_op.create_index('ix_bookings_external_ref', ['external_ref'], unique=False)


def downgrade():
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_index('ix_bookings_external_ref')
        batch_op.drop_constraint(op.f('fk_bookings_api_key_id_api_keys'), type_='foreignkey')
        batch_op.drop_column('external_ref')
        batch_op.drop_column('api_key_id')
    op.drop_table('api_rate_windows')
    op.drop_index(op.f('ix_api_keys_station_id'), table_name='api_keys')
    op.drop_table('api_keys')
