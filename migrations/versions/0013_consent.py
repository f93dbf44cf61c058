"""consent recorded wherever data is collected (who, when, how)

Revision ID: 0013_consent
Revises: 0012_retention
Create Date: 2026-12-05 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_consent'
down_revision = '0012_retention'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
