"""a couple's record: exports built in a job, deletion after the practice's retention period

The practice chooses how long a closed couple's record is kept; a closed couple can be
scheduled for deletion; an export of the whole record is a row of its own. The audit trail
keeps its rows when a couple is deleted: its references to the couple and to the partner who
acted become single-column keys that are set to NULL, where they were composite keys that
deleted the trail with the couple.

Revision ID: c4e8a1f07d21
Revises: 1af5255833b0
Create Date: 2026-12-02 04:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4e8a1f07d21'
down_revision = '1af5255833b0'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('practices', schema=None) as batch_op:
        # Existing practices keep every closed record until someone deletes it by hand.
        batch_op.add_column(sa.Column('closed_record_retention_days', sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            op.f('ck_practices_closed_record_retention_days'),
            'closed_record_retention_days BETWEEN 1 AND 36600',
        )

    with op.batch_alter_table('couples', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deletion_due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_check_constraint(
            op.f('ck_couples_deletion_closed'), "deletion_due_at IS NULL OR status = 'closed'"
        )
        batch_op.create_index(
            'ix_couples_practice_id_deletion_due_at', ['practice_id', 'deletion_due_at'], unique=False
        )

    op.create_table('couple_exports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('couple_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=10), nullable=False),
    sa.Column('job_run_id', sa.Integer(), nullable=True),
    sa.Column('file_name', sa.String(length=200), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('size', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('practice_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("stage IN ('waiting', 'gathering', 'rendering', 'packing', 'saving', 'done')", name=op.f('ck_couple_exports_stage')),
    sa.ForeignKeyConstraint(['practice_id', 'couple_id'], ['couples.practice_id', 'couples.id'], name=op.f('fk_couple_exports_practice_id_couple_id_couples'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['practice_id', 'job_run_id'], ['job_runs.practice_id', 'job_runs.id'], name=op.f('fk_couple_exports_practice_id_job_run_id_job_runs')),
    sa.ForeignKeyConstraint(['practice_id', 'requested_by_id'], ['users.practice_id', 'users.id'], name=op.f('fk_couple_exports_practice_id_requested_by_id_users')),
    sa.ForeignKeyConstraint(['practice_id'], ['practices.id'], name=op.f('fk_couple_exports_practice_id_practices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_couple_exports')),
    sa.UniqueConstraint('public_id', name=op.f('uq_couple_exports_public_id'))
    )
    with op.batch_alter_table('couple_exports', schema=None) as batch_op:
        batch_op.create_index('ix_couple_exports_practice_id_couple_id_created_at', ['practice_id', 'couple_id', 'created_at'], unique=False)
        batch_op.create_index('ix_couple_exports_practice_id_job_run_id', ['practice_id', 'job_run_id'], unique=False)
        batch_op.create_index('ix_couple_exports_practice_id_requested_by_id', ['practice_id', 'requested_by_id'], unique=False)

    # The trail outlives the couple: its references are emptied, not its rows deleted.
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('fk_audit_events_practice_id_couple_id_couples'), type_='foreignkey')
        batch_op.drop_constraint(op.f('fk_audit_events_practice_id_actor_partner_id_partners'), type_='foreignkey')
        batch_op.create_foreign_key(op.f('fk_audit_events_couple_id_couples'), 'couples', ['couple_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(op.f('fk_audit_events_actor_partner_id_partners'), 'partners', ['actor_partner_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('fk_audit_events_actor_partner_id_partners'), type_='foreignkey')
        batch_op.drop_constraint(op.f('fk_audit_events_couple_id_couples'), type_='foreignkey')
        batch_op.create_foreign_key(op.f('fk_audit_events_practice_id_actor_partner_id_partners'), 'partners', ['practice_id', 'actor_partner_id'], ['practice_id', 'id'], ondelete='CASCADE')
        batch_op.create_foreign_key(op.f('fk_audit_events_practice_id_couple_id_couples'), 'couples', ['practice_id', 'couple_id'], ['practice_id', 'id'], ondelete='CASCADE')

    with op.batch_alter_table('couple_exports', schema=None) as batch_op:
        batch_op.drop_index('ix_couple_exports_practice_id_requested_by_id')
        batch_op.drop_index('ix_couple_exports_practice_id_job_run_id')
        batch_op.drop_index('ix_couple_exports_practice_id_couple_id_created_at')

    op.drop_table('couple_exports')

    with op.batch_alter_table('couples', schema=None) as batch_op:
        batch_op.drop_index('ix_couples_practice_id_deletion_due_at')
        batch_op.drop_constraint(op.f('ck_couples_deletion_closed'), type_='check')
        batch_op.drop_column('deletion_due_at')

    with op.batch_alter_table('practices', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_practices_closed_record_retention_days'), type_='check')
        batch_op.drop_column('closed_record_retention_days')
