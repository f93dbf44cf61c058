"""Webhooks: the URLs other systems registered to be told of bookings and closed matters, each with its
secret (stored encrypted), delivered through the outbox on its own channel

Revision ID: 0021_webhooks
Revises: 0020_api
Create Date: 2026-12-03 08:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0021_webhooks'
down_revision = '0020_api'
branch_labels = None
depends_on = None

OLD_CHANNELS = "channel IN ('log', 'email', 'sms')"
NEW_CHANNELS = "channel IN ('log', 'email', 'sms', 'webhook')"


def upgrade():
    op.create_table(
        'webhook_endpoints',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('url', sa.String(length=500), nullable=False),
        sa.Column('secret', sa.Text(), nullable=False),
        sa.Column('events', sa.String(length=100), nullable=False),
        sa.Column('station_id', sa.Integer(), nullable=True),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_by_id', sa.Integer(), nullable=True),
        sa.CheckConstraint("events <> ''", name=op.f('ck_webhook_endpoints_events_given')),
        sa.CheckConstraint("url <> ''", name=op.f('ck_webhook_endpoints_url_given')),
        sa.CheckConstraint(
            '(active AND revoked_at IS NULL) OR (NOT active AND revoked_at IS NOT NULL)',
            name=op.f('ck_webhook_endpoints_revoked_when_inactive'),
        ),
        sa.CheckConstraint(
            'revoked_at IS NOT NULL OR revoked_by_id IS NULL',
            name=op.f('ck_webhook_endpoints_revoke_has_time'),
        ),
        sa.ForeignKeyConstraint(
            ['station_id'], ['stations.id'], name=op.f('fk_webhook_endpoints_station_id_stations'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['created_by_id'], ['users.id'], name=op.f('fk_webhook_endpoints_created_by_id_users'),
            ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['revoked_by_id'], ['users.id'], name=op.f('fk_webhook_endpoints_revoked_by_id_users'),
            ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoints')),
        sa.UniqueConstraint('name', name=op.f('uq_webhook_endpoints_name')),
    )
    op.create_index(
        op.f('ix_webhook_endpoints_station_id'), 'webhook_endpoints', ['station_id'], unique=False
    )
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_outbox_messages_channel_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_outbox_messages_channel_known'), NEW_CHANNELS)


def downgrade():
    # Deliveries to endpoints that will no longer exist cannot be kept under the old channels.
    # (Their history first: SQLite migrates with foreign keys off, so no cascade would remove it.)
    op.execute(
        "DELETE FROM outbox_events WHERE message_id IN "
        "(SELECT id FROM outbox_messages WHERE channel = 'webhook')"
    )
    op.execute("DELETE FROM outbox_messages WHERE channel = 'webhook'")
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_outbox_messages_channel_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_outbox_messages_channel_known'), OLD_CHANNELS)
    op.drop_index(op.f('ix_webhook_endpoints_station_id'), table_name='webhook_endpoints')
    op.drop_table('webhook_endpoints')
