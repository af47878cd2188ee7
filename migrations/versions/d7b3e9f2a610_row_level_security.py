"""row-level security: every tenant table keeps to the practice its transaction names

Revision ID: d7b3e9f2a610
Revises: c4e8a1f07d21
Create Date: 2026-12-02 04:40:00.000000

Each table with `practice_id` (and `practices`, by `id`) gets one policy, `tenant_isolation`,
and is forced, so that its owner is held to it as well. An unset `app.practice_id` means no
rows. The grants to the app's role are made after every upgrade (migrations/env.py). A later
migration that adds a tenant table gives it the same policy (tests/test_row_security.py).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd7b3e9f2a610'
down_revision = 'c4e8a1f07d21'
branch_labels = None
depends_on = None

SETTING = "NULLIF(current_setting('app.practice_id', true), '')::int"


def _tables(bind):
    inspector = sa.inspect(bind)
    return sorted(
        name
        for name in inspector.get_table_names()
        if name == "practices"
        or any(column["name"] == "practice_id" for column in inspector.get_columns(name))
    )


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for table in _tables(bind):
        key = "id" if table == "practices" else "practice_id"
        op.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
        op.execute(f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY')
        op.execute(f'CREATE POLICY tenant_isolation ON "{table}" USING ({key} = {SETTING})')


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for table in _tables(bind):
        op.execute(f'DROP POLICY IF EXISTS tenant_isolation ON "{table}"')
        op.execute(f'ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY')
        op.execute(f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY')
