"""Report figures at province scale: summary tables per station and month (and persons per year),
recomputed from the raw rows by legalaid.reports.summaries, and the log's indexes

Revision ID: 0018_perf_reports
Revises: 0017_ratings
Create Date: 2026-12-02 23:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018_perf_reports'
down_revision = '0017_ratings'
branch_labels = None
depends_on = None

OUTCOMES = ('advice', 'legal_aid', 'mediation', 'counselling', 'drafting', 'referral', 'petition')
CHANNELS = ('kiosk', 'online', 'walkin', 'hotline', 'phone', 'staff')
LEVELS = (1, 2, 3, 4, 5)


def _counts(*names):
    return [sa.Column(name, sa.Integer(), nullable=False) for name in names]


def _station_month(table):
    return [
        sa.Column('station_id', sa.Integer(), nullable=False),
        sa.Column('month_on', sa.Date(), nullable=False),
    ], sa.ForeignKeyConstraint(
        ['station_id'], ['stations.id'], name=op.f(f'fk_{table}_station_id_stations'), ondelete='CASCADE'
    )


def upgrade():
    columns, fk = _station_month('report_months')
    op.create_table(
        'report_months',
        *columns,
        *_counts('consultations'),
        *_counts(*(f'ch_{c}' for c in CHANNELS)),
        *_counts(*(f'out_{c}' for c in OUTCOMES)),
        *_counts(*(f'rated_{c}' for c in LEVELS)),
        *_counts('poor_answered', 'matters_opened', 'matters_closed', 'matters_solved'),
        *_counts('mediation_agreements'),
        sa.Column('money_saved', sa.BigInteger(), nullable=False),
        *_counts('legal_aid_accepted', 'legal_aid_concluded'),
        fk,
        sa.PrimaryKeyConstraint('station_id', 'month_on', name=op.f('pk_report_months')),
    )
    columns, fk = _station_month('report_lawyer_months')
    op.create_table(
        'report_lawyer_months',
        *columns,
        sa.Column('lawyer_id', sa.Integer(), nullable=False),
        *_counts('consultations'),
        *_counts(*(f'out_{c}' for c in OUTCOMES)),
        *_counts(*(f'rated_{c}' for c in LEVELS)),
        *_counts('poor_answered', 'matters_closed'),
        fk,
        sa.ForeignKeyConstraint(
            ['lawyer_id'], ['lawyers.id'], name=op.f('fk_report_lawyer_months_lawyer_id_lawyers'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('station_id', 'month_on', 'lawyer_id', name=op.f('pk_report_lawyer_months')),
    )
    op.create_index(op.f('ix_report_lawyer_months_month_on'), 'report_lawyer_months', ['month_on'])
    columns, fk = _station_month('report_category_months')
    op.create_table(
        'report_category_months',
        *columns,
        sa.Column('category', sa.String(length=30), nullable=False),
        *_counts('consultations'),
        fk,
        sa.PrimaryKeyConstraint('station_id', 'month_on', 'category', name=op.f('pk_report_category_months')),
    )
    op.create_index(op.f('ix_report_category_months_month_on'), 'report_category_months', ['month_on'])
    columns, fk = _station_month('report_close_days')
    op.create_table(
        'report_close_days',
        *columns,
        sa.Column('tenths', sa.Integer(), nullable=False),
        *_counts('matters'),
        fk,
        sa.PrimaryKeyConstraint('station_id', 'month_on', 'tenths', name=op.f('pk_report_close_days')),
    )
    op.create_index(op.f('ix_report_close_days_month_on'), 'report_close_days', ['month_on'])
    columns, fk = _station_month('report_open_matters')
    op.create_table(
        'report_open_matters',
        *columns,
        sa.Column('lawyer_id', sa.Integer(), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        *_counts('matters'),
        fk,
        sa.ForeignKeyConstraint(
            ['lawyer_id'], ['lawyers.id'], name=op.f('fk_report_open_matters_lawyer_id_lawyers'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint(
            'station_id', 'month_on', 'lawyer_id', 'due_on', name=op.f('pk_report_open_matters')
        ),
    )
    op.create_index(op.f('ix_report_open_matters_month_on'), 'report_open_matters', ['month_on'])
    columns, fk = _station_month('report_visit_months')
    op.create_table(
        'report_visit_months',
        *columns,
        *_counts(*(f'bk_{c}' for c in CHANNELS)),
        *_counts('no_shows', 'due', 'walkins'),
        fk,
        sa.PrimaryKeyConstraint('station_id', 'month_on', name=op.f('pk_report_visit_months')),
    )
    op.create_table(
        'report_years',
        sa.Column('scope', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
        *_counts('persons', 'matters'),
        sa.PrimaryKeyConstraint('scope', 'year', name=op.f('pk_report_years')),
    )
    op.create_index(
        op.f('ix_consultations_held_on_veteran_id_category'),
        'consultations',
        ['held_on', 'veteran_id', 'category'],
    )
    # The figures of every month already recorded (an existing installation upgrades with its data).
    from legalaid.reports import summaries

    summaries.rebuild_all(op.get_bind(), versions=False)  # their table comes in 0023


def downgrade():
    op.drop_index(op.f('ix_consultations_held_on_veteran_id_category'), table_name='consultations')
    op.drop_table('report_years')
    op.drop_table('report_visit_months')
    op.drop_index(op.f('ix_report_open_matters_month_on'), table_name='report_open_matters')
    op.drop_table('report_open_matters')
    op.drop_index(op.f('ix_report_close_days_month_on'), table_name='report_close_days')
    op.drop_table('report_close_days')
    op.drop_index(op.f('ix_report_category_months_month_on'), table_name='report_category_months')
    op.drop_table('report_category_months')
    op.drop_index(op.f('ix_report_lawyer_months_month_on'), table_name='report_lawyer_months')
    op.drop_table('report_lawyer_months')
    op.drop_table('report_months')
