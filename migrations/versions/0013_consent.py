"""consent recorded wherever data is collected (who, when, how)

Bookings get how (kiosk, online, read aloud, by telephone) and who read the notice out, filled in for
existing rows from the channel; walk-in numbers and consultations without a booking get when, how, who.

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


WAYS = "('kiosk', 'online', 'read_aloud', 'phone')"
# Where consent is optional (a walk-in's name alone, a consultation of a booking) the columns are nullable.
OPTIONAL = ('walk_ins', 'consultations')


def upgrade():
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent_how', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('consent_by_id', sa.Integer(), nullable=True))
    # Existing bookings: how follows from the channel; who read the notice is the staff who booked.
    op.execute(
        "UPDATE bookings SET consent_how = CASE channel"
        " WHEN 'kiosk' THEN 'kiosk' WHEN 'online' THEN 'online'"
        " WHEN 'hotline' THEN 'phone' WHEN 'phone' THEN 'phone' ELSE 'read_aloud' END"
    )
    op.execute("UPDATE bookings SET consent_by_id = created_by_id WHERE channel NOT IN ('kiosk', 'online')")
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.alter_column('consent_how', existing_type=sa.String(length=10), nullable=False)
        batch_op.create_foreign_key(
            op.f('fk_bookings_consent_by_id_users'), 'users', ['consent_by_id'], ['id'], ondelete='SET NULL'
        )
        batch_op.create_check_constraint(op.f('ck_bookings_consent_how_known'), f"consent_how IN {WAYS}")
    for table in OPTIONAL:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('consent_at', sa.DateTime(timezone=True), nullable=True))
            batch_op.add_column(sa.Column('consent_how', sa.String(length=10), nullable=True))
            batch_op.add_column(sa.Column('consent_by_id', sa.Integer(), nullable=True))
            fk = op.f(f'fk_{table}_consent_by_id_users')
            batch_op.create_foreign_key(fk, 'users', ['consent_by_id'], ['id'], ondelete='SET NULL')
            batch_op.create_check_constraint(
                op.f(f'ck_{table}_consent_how_known'), f"consent_how IS NULL OR consent_how IN {WAYS}"
            )


def downgrade():
    for table in reversed(OPTIONAL):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f'ck_{table}_consent_how_known'), type_='check')
            batch_op.drop_constraint(op.f(f'fk_{table}_consent_by_id_users'), type_='foreignkey')
            batch_op.drop_column('consent_by_id')
            batch_op.drop_column('consent_how')
            batch_op.drop_column('consent_at')
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_bookings_consent_how_known'), type_='check')
        batch_op.drop_constraint(op.f('fk_bookings_consent_by_id_users'), type_='foreignkey')
        batch_op.drop_column('consent_by_id')
        batch_op.drop_column('consent_how')
