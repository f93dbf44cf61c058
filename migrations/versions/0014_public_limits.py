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
    pass


def downgrade():
    pass
