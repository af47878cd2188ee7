"""homework statuses by workflow: final, signed and confirmed say what happened

A final repair contract was stored as 'submitted' and a signed one as 'reviewed'; a
processing window both partners confirmed was 'submitted'. Each now has its own status, and
the recorded history of those kinds says the same.

Revision ID: c7d2e5f1a8b4
Revises: 5a6d5619bd97
Create Date: 2026-12-01 16:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c7d2e5f1a8b4'
down_revision = '5a6d5619bd97'
branch_labels = None
depends_on = None

OLD = ('assigned', 'draft', 'submitted', 'returned', 'reviewed', 'completed')
NEW = ('assigned', 'draft', 'returned', 'submitted', 'reviewed', 'completed', 'final', 'signed', 'confirmed')
# (kind, old status, new status)
MOVES = (
    ('repair_contract', 'submitted', 'final'),
    ('repair_contract', 'reviewed', 'signed'),
    ('processing_window', 'submitted', 'confirmed'),
    ('processing_window', 'reviewed', 'confirmed'),
)


def _check(statuses):
    return "status IN (" + ", ".join(f"'{s}'" for s in statuses) + ")"


def _move(kind, old, new):
    of_kind = f"(SELECT id FROM homework_responses WHERE kind = '{kind}')"
    op.execute(f"UPDATE homework_responses SET status = '{new}' WHERE kind = '{kind}' AND status = '{old}'")
    for column in ('from_status', 'to_status'):
        op.execute(
            f"UPDATE homework_transitions SET {column} = '{new}' "
            f"WHERE {column} = '{old}' AND response_id IN {of_kind}"
        )


def upgrade():
    with op.batch_alter_table('homework_responses', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_homework_responses_status'), type_='check')
        batch_op.create_check_constraint('status', _check(NEW))
    for kind, old, new in MOVES:
        _move(kind, old, new)


def downgrade():
    # 'confirmed' came from both 'submitted' and 'reviewed': it goes back as 'submitted'.
    for kind, old, new in MOVES[:3]:
        _move(kind, new, old)
    with op.batch_alter_table('homework_responses', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_homework_responses_status'), type_='check')
        batch_op.create_check_constraint('status', _check(OLD))
