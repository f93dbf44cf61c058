"""好差评: the veteran's rating of a consultation, flagged poor ratings and replies

Revision ID: 0017_ratings
Revises: 0016_calling
Create Date: 2026-12-02 17:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017_ratings'
down_revision = '0016_calling'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'ratings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('consultation_id', sa.Integer(), nullable=False),
        sa.Column('level', sa.SmallInteger(), nullable=False),
        sa.Column('reasons', sa.JSON(), nullable=False),
        sa.Column('comment', sa.Text(), nullable=False),
        sa.Column('channel', sa.String(length=8), nullable=False),
        sa.Column('rated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('reply', sa.Text(), nullable=False),
        sa.Column('replied_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('replied_by_id', sa.Integer(), nullable=True),
        sa.CheckConstraint('level BETWEEN 1 AND 5', name=op.f('ck_ratings_level_known')),
        sa.CheckConstraint("channel IN ('kiosk', 'phone')", name=op.f('ck_ratings_channel_known')),
        sa.CheckConstraint(
            'replied_at IS NOT NULL OR replied_by_id IS NULL', name=op.f('ck_ratings_reply_has_time')
        ),
        sa.ForeignKeyConstraint(
            ['consultation_id'],
            ['consultations.id'],
            name=op.f('fk_ratings_consultation_id_consultations'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['replied_by_id'],
            ['users.id'],
            name=op.f('fk_ratings_replied_by_id_users'),
            ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ratings')),
        sa.UniqueConstraint('consultation_id', name=op.f('uq_ratings_consultation_id')),
    )
    op.create_index(op.f('ix_ratings_level_replied_at'), 'ratings', ['level', 'replied_at'], unique=False)
    op.create_index(op.f('ix_ratings_rated_at'), 'ratings', ['rated_at'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_ratings_rated_at'), table_name='ratings')
    op.drop_index(op.f('ix_ratings_level_replied_at'), table_name='ratings')
    op.drop_table('ratings')
