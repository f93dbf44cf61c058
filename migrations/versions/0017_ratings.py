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
    pass


def downgrade():
    pass
