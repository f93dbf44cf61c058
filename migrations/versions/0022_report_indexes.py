"""The summary tables' month indexes of categories and days-to-close cover what the reports read of
them, so a year of every station is summed from the index alone (PostgreSQL; SQLite gets the columns);
duty shifts get an index by date, for a year of every station's shifts

Revision ID: 0022_report_indexes
Revises: 0021_webhooks
Create Date: 2026-12-03 11:30:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0022_report_indexes'
down_revision = '0021_webhooks'
branch_labels = None
depends_on = None

INDEXES = {
    # table: (index, covered columns, included columns)
    'report_category_months': (
        'ix_report_category_months_month_on', ['month_on', 'category'], ['consultations']
    ),
    'report_close_days': ('ix_report_close_days_month_on', ['month_on', 'tenths'], ['matters']),
}


def upgrade():
    for table, (name, columns, included) in INDEXES.items():
        op.drop_index(name, table_name=table)
        op.create_index(name, table, columns, postgresql_include=included)
    op.create_index('ix_duty_shifts_duty_on', 'duty_shifts', ['duty_on'])


def downgrade():
    op.drop_index('ix_duty_shifts_duty_on', table_name='duty_shifts')
    for table, (name, _columns, _included) in INDEXES.items():
        op.drop_index(name, table_name=table)
        op.create_index(name, table, ['month_on'])
