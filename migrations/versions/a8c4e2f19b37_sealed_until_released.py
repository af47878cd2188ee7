"""the audience "sealed until released": the truth conversation's two prepared parts

A homework response's audience may now be `sealed_until_released`: like `sealed`, and also
held until the therapist releases both parts (`practice.audience`). The column widens to fit.

Revision ID: a8c4e2f19b37
Revises: eb2cf5e17a51
Create Date: 2026-12-02 07:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a8c4e2f19b37'
down_revision = 'eb2cf5e17a51'
branch_labels = None
depends_on = None

OLD = "audience IN ('private', 'couple', 'sealed')"
NEW = "audience IN ('private', 'couple', 'sealed', 'sealed_until_released')"


def upgrade():
    with op.batch_alter_table('homework_responses', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_homework_responses_audience'), type_='check')
        batch_op.alter_column(
            'audience', existing_type=sa.String(length=8), type_=sa.String(length=24)
        )
        batch_op.create_check_constraint(op.f('ck_homework_responses_audience'), NEW)


def downgrade():
    op.execute(
        "UPDATE homework_responses SET audience = 'sealed'"
        " WHERE audience = 'sealed_until_released'"
    )
    with op.batch_alter_table('homework_responses', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_homework_responses_audience'), type_='check')
        batch_op.alter_column(
            'audience', existing_type=sa.String(length=24), type_=sa.String(length=8)
        )
        batch_op.create_check_constraint(op.f('ck_homework_responses_audience'), OLD)
