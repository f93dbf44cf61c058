"""Each station's summary version: raised whenever its summary rows change, so figures read from the
summaries can be kept in memory under it and never be one change behind

Revision ID: 0023_report_versions
Revises: 0022_report_indexes
Create Date: 2026-12-03 11:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0023_report_versions'
down_revision = '0022_report_indexes'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'report_versions',
        sa.Column('station_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ['station_id'], ['stations.id'],
            name=op.f('fk_report_versions_station_id_stations'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('station_id', name=op.f('pk_report_versions')),
    )


def downgrade():
    op.drop_table('report_versions')
