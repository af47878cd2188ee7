"""privacy notice digest: a change to the notice's words asks every partner again

Revision ID: b1c4e2a9d7f3
Revises: fa3ecd055752
Create Date: 2026-12-01 14:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b1c4e2a9d7f3'
down_revision = 'fa3ecd055752'
branch_labels = None
depends_on = None


def upgrade():
    # Partners who acknowledged before digests existed read the notice again: its words changed.
    with op.batch_alter_table('partners', schema=None) as batch_op:
        batch_op.add_column(sa.Column('privacy_acknowledged_digest', sa.String(length=64), nullable=True))

    with op.batch_alter_table('privacy_acknowledgements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notice_digest', sa.String(length=64), nullable=True))
        batch_op.drop_constraint('uq_privacy_acknowledgements_partner_id_notice_version', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_privacy_acknowledgements_partner_id_notice_digest'), ['partner_id', 'notice_digest'])


def downgrade():
    with op.batch_alter_table('privacy_acknowledgements', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_privacy_acknowledgements_partner_id_notice_digest'), type_='unique')
        batch_op.drop_column('notice_digest')
    # Keep one acknowledgement a version so the old unique constraint can come back.
    op.execute(
        "DELETE FROM privacy_acknowledgements WHERE id NOT IN ("
        "SELECT MIN(id) FROM privacy_acknowledgements GROUP BY partner_id, notice_version)"
    )
    with op.batch_alter_table('privacy_acknowledgements', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_privacy_acknowledgements_partner_id_notice_version', ['partner_id', 'notice_version'])

    with op.batch_alter_table('partners', schema=None) as batch_op:
        batch_op.drop_column('privacy_acknowledged_digest')
