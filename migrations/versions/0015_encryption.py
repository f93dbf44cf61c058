"""encryption at rest: mobiles, ID and card numbers, counselling notes, edit histories, TOTP secrets and message payloads as tokens

Revision ID: 0015_encryption
Revises: 0014_public_limits
Create Date: 2026-12-05 12:00:00

The values already stored are encrypted here, with the keys of the app running the upgrade
(legalaid/crypto.py); a mobile gets its keyed hash, which replaces the mobile as the unique key.
"""
from alembic import op
import sqlalchemy as sa

from legalaid import crypto


# revision identifiers, used by Alembic.
revision = '0015_encryption'
down_revision = '0014_public_limits'
branch_labels = None
depends_on = None


def _each(table, columns):
    bind = op.get_bind()
    names = ", ".join(columns)
    return bind.execute(sa.text(f"SELECT id, {names} FROM {table}")).mappings().all()


def _update(table, row_id, values):
    sets = ", ".join(f"{name} = :{name}" for name in values)
    op.get_bind().execute(sa.text(f"UPDATE {table} SET {sets} WHERE id = :id"), {"id": row_id, **values})


def _encrypted(value):
    return crypto.encrypt(value) if value and not crypto.is_encrypted(value) else value


def _plain(value):
    return crypto.decrypt(value) if value else value


def upgrade():
    with op.batch_alter_table('veterans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mobile_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('id_number_hash', sa.String(length=64), nullable=True))
        batch_op.drop_constraint('uq_veterans_mobile', type_='unique')
        batch_op.alter_column('mobile', existing_type=sa.String(length=11), type_=sa.Text(), existing_nullable=True)
        batch_op.alter_column('id_number', existing_type=sa.String(length=18), type_=sa.Text())
        batch_op.alter_column('veteran_card_no', existing_type=sa.String(length=30), type_=sa.Text())
    for row in _each('veterans', ('mobile', 'id_number', 'veteran_card_no')):
        _update('veterans', row['id'], {
            'mobile_hash': crypto.blind_index(_plain(row['mobile'])),
            'id_number_hash': crypto.blind_index(_plain(row['id_number'])),
            'mobile': _encrypted(row['mobile']),
            'id_number': _encrypted(row['id_number']),
            'veteran_card_no': _encrypted(row['veteran_card_no']),
        })
    with op.batch_alter_table('veterans', schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_veterans_mobile_hash'), ['mobile_hash'])
        batch_op.create_index(batch_op.f('ix_veterans_id_number_hash'), ['id_number_hash'], unique=False)

    with op.batch_alter_table('lawyers', schema=None) as batch_op:
        batch_op.alter_column('mobile', existing_type=sa.String(length=20), type_=sa.Text())
    for row in _each('lawyers', ('mobile',)):
        _update('lawyers', row['id'], {'mobile': _encrypted(row['mobile'])})

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('totp_secret', existing_type=sa.String(length=255), type_=sa.Text())
    for row in _each('users', ('totp_secret',)):
        if row['totp_secret']:
            _update('users', row['id'], {'totp_secret': _encrypted(row['totp_secret'])})

    for row in _each('consultations', ('counselling_notes',)):
        if row['counselling_notes']:
            _update('consultations', row['id'], {'counselling_notes': _encrypted(row['counselling_notes'])})

    with op.batch_alter_table('consultation_versions', schema=None) as batch_op:
        batch_op.alter_column(
            'data', existing_type=sa.JSON(), type_=sa.Text(), postgresql_using='data::text'
        )
    for row in _each('consultation_versions', ('data',)):
        _update('consultation_versions', row['id'], {'data': _encrypted(row['data'])})

    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.alter_column('address', existing_type=sa.String(length=200), type_=sa.Text())
        batch_op.alter_column(
            'params', existing_type=sa.JSON(), type_=sa.Text(), postgresql_using='params::text'
        )
    for row in _each('outbox_messages', ('address', 'params')):
        _update('outbox_messages', row['id'], {
            'address': _encrypted(row['address']), 'params': _encrypted(row['params']),
        })


def downgrade():
    for row in _each('outbox_messages', ('address', 'params')):
        _update('outbox_messages', row['id'], {
            'address': _plain(row['address']), 'params': _plain(row['params']),
        })
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.alter_column(
            'params', existing_type=sa.Text(), type_=sa.JSON(), postgresql_using='params::json'
        )
        batch_op.alter_column('address', existing_type=sa.Text(), type_=sa.String(length=200))
    for row in _each('consultation_versions', ('data',)):
        _update('consultation_versions', row['id'], {'data': _plain(row['data'])})
    with op.batch_alter_table('consultation_versions', schema=None) as batch_op:
        batch_op.alter_column(
            'data', existing_type=sa.Text(), type_=sa.JSON(), postgresql_using='data::json'
        )
    for row in _each('consultations', ('counselling_notes',)):
        _update('consultations', row['id'], {'counselling_notes': _plain(row['counselling_notes'])})
    for row in _each('lawyers', ('mobile',)):
        _update('lawyers', row['id'], {'mobile': _plain(row['mobile'])})
    for row in _each('users', ('totp_secret',)):
        _update('users', row['id'], {'totp_secret': _plain(row['totp_secret'])})
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('totp_secret', existing_type=sa.Text(), type_=sa.String(length=255))
    with op.batch_alter_table('lawyers', schema=None) as batch_op:
        batch_op.alter_column('mobile', existing_type=sa.Text(), type_=sa.String(length=20))
    for row in _each('veterans', ('mobile', 'id_number', 'veteran_card_no')):
        _update('veterans', row['id'], {
            'mobile': _plain(row['mobile']),
            'id_number': _plain(row['id_number']),
            'veteran_card_no': _plain(row['veteran_card_no']),
        })
    with op.batch_alter_table('veterans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_veterans_id_number_hash'))
        batch_op.drop_constraint(batch_op.f('uq_veterans_mobile_hash'), type_='unique')
        batch_op.alter_column('veteran_card_no', existing_type=sa.Text(), type_=sa.String(length=30))
        batch_op.alter_column('id_number', existing_type=sa.Text(), type_=sa.String(length=18))
        batch_op.alter_column('mobile', existing_type=sa.Text(), type_=sa.String(length=11), existing_nullable=True)
        batch_op.create_unique_constraint('uq_veterans_mobile', ['mobile'])
        batch_op.drop_column('id_number_hash')
        batch_op.drop_column('mobile_hash')
