"""each partner's check-in summary: the latest week handed in, and falling markers

"Needs you today" asks which partners stopped checking in and whose progress markers went
down three weeks running. Kept on the partner with each handed-in check-in, so the dashboard
and the caseload read one indexed range instead of every partner's check-ins.

Revision ID: e5c1d7a9b3f2
Revises: 99be5e9250b9
Create Date: 2026-12-01 21:40:00

"""
import json

from alembic import op
import sqlalchemy as sa


revision = 'e5c1d7a9b3f2'
down_revision = '99be5e9250b9'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('partners', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_checkin_on', sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column('declining_markers', sa.Integer(), server_default='0', nullable=False)
        )

    from practice.checkins.questions import declining

    connection = op.get_bind()
    partners = connection.execute(sa.text("SELECT id, created_at FROM partners")).all()
    for partner_id, created_at in partners:
        rows = connection.execute(
            sa.text(
                "SELECT week_of, content FROM checkins WHERE partner_id = :id "
                "AND status IN ('submitted', 'reviewed') ORDER BY week_of"
            ),
            {"id": partner_id},
        ).all()
        if rows:
            last = rows[-1][0]
        elif isinstance(created_at, str):
            last = created_at[:10]
        else:
            last = created_at.date()
        contents = [json.loads(c) if isinstance(c, str) else (c or {}) for _, c in rows]
        connection.execute(
            sa.text(
                "UPDATE partners SET last_checkin_on = :last, declining_markers = :falling "
                "WHERE id = :id"
            ),
            {"last": last, "falling": declining(contents), "id": partner_id},
        )

    with op.batch_alter_table('partners', schema=None) as batch_op:
        batch_op.alter_column('last_checkin_on', existing_type=sa.Date(), nullable=False)
        batch_op.create_index(
            'ix_partners_practice_id_last_checkin_on', ['practice_id', 'last_checkin_on'], unique=False
        )
        batch_op.create_index(
            'ix_partners_practice_id_declining_markers_last_checkin_on',
            ['practice_id', 'declining_markers', 'last_checkin_on'],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table('partners', schema=None) as batch_op:
        batch_op.drop_index('ix_partners_practice_id_declining_markers_last_checkin_on')
        batch_op.drop_index('ix_partners_practice_id_last_checkin_on')
        batch_op.drop_column('declining_markers')
        batch_op.drop_column('last_checkin_on')
