"""a couple's record: exports built in a job, deletion after the practice's retention period

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
    pass


def downgrade():
    pass
