"""notices, a comment history, agreement answers, calendar titles and opaque public ids

- notices: content-free notifications (recipient, kind, link, read at).
- homework_comments: every comment a therapist sent with a return, in order; the one
  overwritten column (homework_responses.therapist_comment) moves here and goes.
- agreement_acceptances.decision and .note: a partner accepts or asks to discuss, with a
  note only the therapist reads; agreements.merged_from marks the proposals used.
- partners.calendar_title: the partner's own title for processing-window events.
- public_id on homework_responses and agreements: the ids in portal URLs, random.

Revision ID: d4a8b6c2e9f1
Revises: c7d2e5f1a8b4
Create Date: 2026-12-01 18:05:00.000000

"""
import secrets

from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = 'd4a8b6c2e9f1'
down_revision = 'c7d2e5f1a8b4'
branch_labels = None
depends_on = None


def _fill_public_ids(table):
    connection = op.get_bind()
    rows = connection.execute(sa.text(f"SELECT id FROM {table} WHERE public_id IS NULL")).all()
    for (row_id,) in rows:
        connection.execute(
            sa.text(f"UPDATE {table} SET public_id = :public_id WHERE id = :id"),
            {"public_id": secrets.token_urlsafe(16), "id": row_id},
        )


def upgrade():
    op.create_table(
        'notices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('recipient_user_id', sa.Integer(), nullable=True),
        sa.Column('recipient_partner_id', sa.Integer(), nullable=True),
        sa.Column('couple_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('link', sa.String(length=300), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('practice_id', sa.Integer(), nullable=False),
        sa.CheckConstraint(
            '(recipient_user_id IS NULL) <> (recipient_partner_id IS NULL)',
            name=op.f('ck_notices_one_recipient'),
        ),
        sa.ForeignKeyConstraint(['practice_id', 'couple_id'], ['couples.practice_id', 'couples.id'], name=op.f('fk_notices_practice_id_couple_id_couples'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['practice_id', 'recipient_partner_id'], ['partners.practice_id', 'partners.id'], name=op.f('fk_notices_practice_id_recipient_partner_id_partners'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['practice_id', 'recipient_user_id'], ['users.practice_id', 'users.id'], name=op.f('fk_notices_practice_id_recipient_user_id_users'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['practice_id'], ['practices.id'], name=op.f('fk_notices_practice_id_practices'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notices')),
    )
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.create_index('ix_notices_recipient_partner_id_read_at', ['recipient_partner_id', 'read_at'], unique=False)
        batch_op.create_index('ix_notices_recipient_user_id_read_at', ['recipient_user_id', 'read_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notices_practice_id'), ['practice_id'], unique=False)

    op.create_table(
        'homework_comments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('response_id', sa.Integer(), nullable=False),
        sa.Column('author_user_id', sa.Integer(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('practice_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['practice_id', 'author_user_id'], ['users.practice_id', 'users.id'], name=op.f('fk_homework_comments_practice_id_author_user_id_users')),
        sa.ForeignKeyConstraint(['practice_id', 'response_id'], ['homework_responses.practice_id', 'homework_responses.id'], name=op.f('fk_homework_comments_practice_id_response_id_homework_responses'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['practice_id'], ['practices.id'], name=op.f('fk_homework_comments_practice_id_practices'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_homework_comments')),
    )
    with op.batch_alter_table('homework_comments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_homework_comments_practice_id'), ['practice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_homework_comments_response_id'), ['response_id'], unique=False)

    # The last comment of each returned piece becomes the first of its history, by whoever
    # last returned it (else whoever assigned it), at the time of that return.
    last_return = (
        "SELECT {column} FROM homework_transitions t WHERE t.response_id = r.id "
        "AND t.to_status = 'returned' AND t.actor_user_id IS NOT NULL ORDER BY t.at DESC, t.id DESC LIMIT 1"
    )
    op.execute(
        "INSERT INTO homework_comments (practice_id, response_id, author_user_id, body, created_at) "
        "SELECT r.practice_id, r.id, "
        f"COALESCE(({last_return.format(column='t.actor_user_id')}), a.created_by_id), "
        "r.therapist_comment, "
        f"COALESCE(({last_return.format(column='t.at')}), a.created_at) "
        "FROM homework_responses r JOIN assignments a ON a.id = r.assignment_id "
        "WHERE r.therapist_comment IS NOT NULL AND r.therapist_comment <> ''"
    )

    with op.batch_alter_table('homework_responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public_id', sa.String(length=32), nullable=True))
    _fill_public_ids('homework_responses')
    with op.batch_alter_table('homework_responses', schema=None) as batch_op:
        batch_op.alter_column('public_id', existing_type=sa.String(length=32), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_homework_responses_public_id'), ['public_id'])
        batch_op.drop_column('therapist_comment')

    with op.batch_alter_table('agreements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public_id', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('merged_from', sa.JSON(), nullable=True))
    _fill_public_ids('agreements')
    with op.batch_alter_table('agreements', schema=None) as batch_op:
        batch_op.alter_column('public_id', existing_type=sa.String(length=32), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_agreements_public_id'), ['public_id'])

    with op.batch_alter_table('agreement_acceptances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('decision', sa.String(length=8), nullable=False, server_default='accepted'))
        batch_op.add_column(sa.Column('note', sa.Text(), nullable=True))
        batch_op.create_check_constraint('decision', "decision IN ('accepted', 'discuss')")
    with op.batch_alter_table('agreement_acceptances', schema=None) as batch_op:
        batch_op.alter_column('decision', existing_type=sa.String(length=8), server_default=None)

    with op.batch_alter_table('partners', schema=None) as batch_op:
        batch_op.add_column(sa.Column('calendar_title', sa.String(length=80), nullable=True))


def downgrade():
    with op.batch_alter_table('partners', schema=None) as batch_op:
        batch_op.drop_column('calendar_title')

    # An answer to discuss was not an acceptance: it goes, with its note.
    op.execute("DELETE FROM agreement_acceptances WHERE decision <> 'accepted'")
    with op.batch_alter_table('agreement_acceptances', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_agreement_acceptances_decision'), type_='check')
        batch_op.drop_column('note')
        batch_op.drop_column('decision')

    with op.batch_alter_table('agreements', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_agreements_public_id'), type_='unique')
        batch_op.drop_column('merged_from')
        batch_op.drop_column('public_id')

    with op.batch_alter_table('homework_responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('therapist_comment', sa.Text(), nullable=True))
        batch_op.drop_constraint(batch_op.f('uq_homework_responses_public_id'), type_='unique')
        batch_op.drop_column('public_id')
    # The newest comment goes back into the one column; older ones are lost with the table.
    op.execute(
        "UPDATE homework_responses SET therapist_comment = ("
        "SELECT c.body FROM homework_comments c WHERE c.response_id = homework_responses.id "
        "ORDER BY c.id DESC LIMIT 1)"
    )

    with op.batch_alter_table('homework_comments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_homework_comments_response_id'))
        batch_op.drop_index(batch_op.f('ix_homework_comments_practice_id'))
    op.drop_table('homework_comments')

    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notices_practice_id'))
        batch_op.drop_index('ix_notices_recipient_user_id_read_at')
        batch_op.drop_index('ix_notices_recipient_partner_id_read_at')
    op.drop_table('notices')
