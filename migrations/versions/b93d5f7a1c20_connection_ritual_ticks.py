"""the connection ritual's weekly tick: what happened of the plan, per partner and week

One row per partner per week: the repair check-in, the date, the days of the act of care
and an optional note. Private to the partner who ticked and the therapists. Like every
tenant table, it keeps to the practice its transaction names on PostgreSQL (row-level
security, forced).

Revision ID: b93d5f7a1c20
Revises: a8c4e2f19b37
Create Date: 2026-12-02 08:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b93d5f7a1c20'
down_revision = 'a8c4e2f19b37'
branch_labels = None
depends_on = None

SETTING = "NULLIF(current_setting('app.practice_id', true), '')::int"


def upgrade():
    op.create_table('ritual_ticks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('couple_id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('week_of', sa.Date(), nullable=False),
    sa.Column('repair_checkin', sa.String(length=8), nullable=False),
    sa.Column('fun_date', sa.String(length=8), nullable=False),
    sa.Column('care_days', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('practice_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("fun_date IN ('yes', 'planned', 'no')", name=op.f('ck_ritual_ticks_fun_date')),
    sa.CheckConstraint("repair_checkin IN ('yes', 'moved', 'no')", name=op.f('ck_ritual_ticks_repair_checkin')),
    sa.CheckConstraint('care_days BETWEEN 0 AND 7', name=op.f('ck_ritual_ticks_care_days')),
    sa.ForeignKeyConstraint(['practice_id', 'couple_id'], ['couples.practice_id', 'couples.id'], name=op.f('fk_ritual_ticks_practice_id_couple_id_couples'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['practice_id', 'partner_id'], ['partners.practice_id', 'partners.id'], name=op.f('fk_ritual_ticks_practice_id_partner_id_partners'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['practice_id'], ['practices.id'], name=op.f('fk_ritual_ticks_practice_id_practices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ritual_ticks')),
    sa.UniqueConstraint('practice_id', 'id', name=op.f('uq_ritual_ticks_practice_id_id')),
    sa.UniqueConstraint('practice_id', 'partner_id', 'week_of', name=op.f('uq_ritual_ticks_practice_id_partner_id_week_of'))
    )
    with op.batch_alter_table('ritual_ticks', schema=None) as batch_op:
        batch_op.create_index('ix_ritual_ticks_practice_id_couple_id_week_of', ['practice_id', 'couple_id', 'week_of'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        op.execute('ALTER TABLE "ritual_ticks" ENABLE ROW LEVEL SECURITY')
        op.execute('ALTER TABLE "ritual_ticks" FORCE ROW LEVEL SECURITY')
        op.execute(
            f'CREATE POLICY tenant_isolation ON "ritual_ticks" USING (practice_id = {SETTING})'
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute('DROP POLICY IF EXISTS tenant_isolation ON "ritual_ticks"')
    with op.batch_alter_table('ritual_ticks', schema=None) as batch_op:
        batch_op.drop_index('ix_ritual_ticks_practice_id_couple_id_week_of')

    op.drop_table('ritual_ticks')
