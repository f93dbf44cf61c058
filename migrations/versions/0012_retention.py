"""retention and a person's rights: what erasure leaves behind

Revision ID: 0012_retention
Revises: 0011_sign_in
Create Date: 2026-12-05 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_retention'
down_revision = '0011_sign_in'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
