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


def upgrade():
    pass


def downgrade():
    pass
