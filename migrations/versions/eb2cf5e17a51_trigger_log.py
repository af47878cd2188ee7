"""the trigger log: a partner's entry each time something set off the hurt

Private to the partner who logged it and the therapists. Like every tenant table, it keeps
to the practice its transaction names on PostgreSQL (row-level security, forced).

Revision ID: eb2cf5e17a51
Revises: d7b3e9f2a610
Create Date: 2026-12-02 04:57:52.377151

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'eb2cf5e17a51'
down_revision = 'd7b3e9f2a610'
branch_labels = None
depends_on = None

SETTING = "NULLIF(current_setting('app.practice_id', true), '')::int"


def upgrade():
    op.create_table('trigger_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('couple_id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('what_set_it_off', sa.Text(), nullable=False),
    sa.Column('intensity', sa.Integer(), nullable=False),
    sa.Column('helped', sa.JSON(), nullable=False),
    sa.Column('minutes_to_steady', sa.Integer(), nullable=True),
    sa.Column('reassurance', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('practice_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("reassurance IN ('not_asked', 'asked_given', 'asked_not_given')", name=op.f('ck_trigger_entries_reassurance')),
    sa.CheckConstraint('intensity BETWEEN 0 AND 10', name=op.f('ck_trigger_entries_intensity')),
    sa.CheckConstraint('minutes_to_steady IS NULL OR minutes_to_steady BETWEEN 0 AND 1440', name=op.f('ck_trigger_entries_minutes_to_steady')),
    sa.ForeignKeyConstraint(['practice_id', 'couple_id'], ['couples.practice_id', 'couples.id'], name=op.f('fk_trigger_entries_practice_id_couple_id_couples'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['practice_id', 'partner_id'], ['partners.practice_id', 'partners.id'], name=op.f('fk_trigger_entries_practice_id_partner_id_partners'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['practice_id'], ['practices.id'], name=op.f('fk_trigger_entries_practice_id_practices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trigger_entries')),
    sa.UniqueConstraint('practice_id', 'id', name=op.f('uq_trigger_entries_practice_id_id')),
    sa.UniqueConstraint('public_id', name=op.f('uq_trigger_entries_public_id'))
    )
    with op.batch_alter_table('trigger_entries', schema=None) as batch_op:
        batch_op.create_index('ix_trigger_entries_practice_id_couple_id_occurred_at', ['practice_id', 'couple_id', 'occurred_at'], unique=False)
        batch_op.create_index('ix_trigger_entries_practice_id_partner_id_occurred_at', ['practice_id', 'partner_id', 'occurred_at'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        op.execute('ALTER TABLE "trigger_entries" ENABLE ROW LEVEL SECURITY')
        op.execute('ALTER TABLE "trigger_entries" FORCE ROW LEVEL SECURITY')
        op.execute(
            f'CREATE POLICY tenant_isolation ON "trigger_entries" USING (practice_id = {SETTING})'
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute('DROP POLICY IF EXISTS tenant_isolation ON "trigger_entries"')
    with op.batch_alter_table('trigger_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_trigger_entries_practice_id_partner_id_occurred_at')
        batch_op.drop_index('ix_trigger_entries_practice_id_couple_id_occurred_at')

    op.drop_table('trigger_entries')
