"""scored measures: the practice's choices, schedules sent to couples, partners' answers

Each partner's answers are private to them and the therapists. Like every tenant table, each
keeps to the practice its transaction names on PostgreSQL (row-level security, forced).

Revision ID: c6f0d2b4e8a1
Revises: b93d5f7a1c20
Create Date: 2026-12-02 07:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c6f0d2b4e8a1'
down_revision = 'b93d5f7a1c20'
branch_labels = None
depends_on = None

SETTING = "NULLIF(current_setting('app.practice_id', true), '')::int"
TABLES = ('measure_settings', 'measure_schedules', 'measure_responses')


def upgrade():
    op.create_table('measure_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instrument', sa.String(length=40), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('every_weeks', sa.Integer(), nullable=False),
    sa.Column('for_weeks', sa.Integer(), nullable=False),
    sa.Column('practice_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('every_weeks BETWEEN 1 AND 52', name=op.f('ck_measure_settings_every_weeks')),
    sa.CheckConstraint('for_weeks BETWEEN 1 AND 104', name=op.f('ck_measure_settings_for_weeks')),
    sa.ForeignKeyConstraint(['practice_id'], ['practices.id'], name=op.f('fk_measure_settings_practice_id_practices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_measure_settings')),
    sa.UniqueConstraint('practice_id', 'instrument', name=op.f('uq_measure_settings_practice_id_instrument'))
    )
    op.create_table('measure_schedules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('couple_id', sa.Integer(), nullable=False),
    sa.Column('instrument', sa.String(length=40), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('every_weeks', sa.Integer(), nullable=True),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('practice_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('ends_on >= starts_on', name=op.f('ck_measure_schedules_ends_after_start')),
    sa.CheckConstraint('every_weeks IS NULL OR every_weeks BETWEEN 1 AND 52', name=op.f('ck_measure_schedules_every_weeks')),
    sa.ForeignKeyConstraint(['practice_id', 'couple_id'], ['couples.practice_id', 'couples.id'], name=op.f('fk_measure_schedules_practice_id_couple_id_couples'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['practice_id', 'created_by_id'], ['users.practice_id', 'users.id'], name=op.f('fk_measure_schedules_practice_id_created_by_id_users')),
    sa.ForeignKeyConstraint(['practice_id'], ['practices.id'], name=op.f('fk_measure_schedules_practice_id_practices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_measure_schedules')),
    sa.UniqueConstraint('practice_id', 'id', name=op.f('uq_measure_schedules_practice_id_id'))
    )
    with op.batch_alter_table('measure_schedules', schema=None) as batch_op:
        batch_op.create_index('ix_measure_schedules_practice_id_couple_id', ['practice_id', 'couple_id'], unique=False)
        batch_op.create_index('ix_measure_schedules_practice_id_created_by_id', ['practice_id', 'created_by_id'], unique=False)

    op.create_table('measure_responses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('couple_id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('schedule_id', sa.Integer(), nullable=False),
    sa.Column('instrument', sa.String(length=40), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_saved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('past_cutoff', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('practice_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['practice_id', 'couple_id'], ['couples.practice_id', 'couples.id'], name=op.f('fk_measure_responses_practice_id_couple_id_couples'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['practice_id', 'partner_id'], ['partners.practice_id', 'partners.id'], name=op.f('fk_measure_responses_practice_id_partner_id_partners'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['practice_id', 'schedule_id'], ['measure_schedules.practice_id', 'measure_schedules.id'], name=op.f('fk_measure_responses_practice_id_schedule_id_measure_schedules'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['practice_id'], ['practices.id'], name=op.f('fk_measure_responses_practice_id_practices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_measure_responses')),
    sa.UniqueConstraint('practice_id', 'id', name=op.f('uq_measure_responses_practice_id_id')),
    sa.UniqueConstraint('public_id', name=op.f('uq_measure_responses_public_id')),
    sa.UniqueConstraint('schedule_id', 'partner_id', 'due_on', name=op.f('uq_measure_responses_schedule_id_partner_id_due_on'))
    )
    with op.batch_alter_table('measure_responses', schema=None) as batch_op:
        batch_op.create_index('ix_measure_responses_practice_id_couple_id_due_on', ['practice_id', 'couple_id', 'due_on'], unique=False)
        batch_op.create_index('ix_measure_responses_practice_id_partner_id_due_on', ['practice_id', 'partner_id', 'due_on'], unique=False)
        batch_op.create_index('ix_measure_responses_practice_id_schedule_id', ['practice_id', 'schedule_id'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
            op.execute(f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY')
            op.execute(
                f'CREATE POLICY tenant_isolation ON "{table}" USING (practice_id = {SETTING})'
            )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f'DROP POLICY IF EXISTS tenant_isolation ON "{table}"')
    with op.batch_alter_table('measure_responses', schema=None) as batch_op:
        batch_op.drop_index('ix_measure_responses_practice_id_schedule_id')
        batch_op.drop_index('ix_measure_responses_practice_id_partner_id_due_on')
        batch_op.drop_index('ix_measure_responses_practice_id_couple_id_due_on')

    op.drop_table('measure_responses')
    with op.batch_alter_table('measure_schedules', schema=None) as batch_op:
        batch_op.drop_index('ix_measure_schedules_practice_id_created_by_id')
        batch_op.drop_index('ix_measure_schedules_practice_id_couple_id')

    op.drop_table('measure_schedules')
    op.drop_table('measure_settings')
