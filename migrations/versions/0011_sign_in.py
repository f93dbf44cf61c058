"""sign-in: TOTP second factor, recovery codes, throttling by account and address

Revision ID: 0011_sign_in
Revises: 0010_booking_events
Create Date: 2026-12-05 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_sign_in'
down_revision = '0010_booking_events'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
