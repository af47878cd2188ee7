"""The audience rule in SQL (`homework.partner_may_see`, which loads a partner's piece of
homework) says exactly what `practice.audience.can_see` says, for every combination of author,
audience, status, release and the other pieces of the assignment.

Rows are written straight to the tables here: what is tested is a rule over columns, for
combinations no form would reach in one afternoon (the forms' own round trips are elsewhere).
"""

from __future__ import annotations

import itertools

from sqlalchemy import select

from practice.extensions import db
from practice.homework.workflow import WRITABLE, Status
from practice.models import Assignment, Couple, HomeworkResponse, Partner, Practice, User
from practice.models.base import utcnow
from practice.services import homework
from practice.tenancy import practice_context, unscoped
from tests.couple_factories import CoupleFactory, CoupleIds
from tests.factories import OwnerFactory

AUDIENCES = ("private", "couple", "sealed", "sealed_until_released")


def test_the_sql_rule_and_can_see_agree_on_every_combination(app):
    owner = OwnerFactory()
    with unscoped():
        home = db.session.get(Practice, owner.practice_id)
    ids = CoupleIds.of(CoupleFactory(practice=home, therapist=owner))
    owner_id = owner.id
    db.session.commit()
    viewer_id, other_id = ids.partner_ids
    handed_in = next(status for status in Status if status not in WRITABLE)
    writable = next(iter(WRITABLE))
    with practice_context(ids.practice_id):
        made = []
        for author, audience, status, sibling_writable, released in itertools.product(
            (viewer_id, other_id, None), AUDIENCES, list(Status), (False, True), (False, True)
        ):
            assignment = Assignment(
                couple_id=ids.id, kind="apology", mode="each", created_by_id=owner_id
            )
            db.session.add(assignment)
            db.session.flush()
            piece = HomeworkResponse(
                assignment_id=assignment.id,
                couple_id=ids.id,
                partner_id=author,
                kind="apology",
                status=status.value,
                audience=audience,
                content={},
                released_at=utcnow() if released else None,
            )
            sibling = HomeworkResponse(
                assignment_id=assignment.id,
                couple_id=ids.id,
                partner_id=other_id if author == viewer_id else viewer_id,
                kind="apology",
                status=(writable if sibling_writable else handed_in).value,
                audience=audience,
                content={},
            )
            db.session.add_all([piece, sibling])
            made.append(piece)
        db.session.flush()
        viewer = db.session.get(Partner, viewer_id)
        by_sql = set(
            db.session.scalars(
                select(HomeworkResponse.id).where(
                    HomeworkResponse.couple_id == ids.id, homework.partner_may_see(viewer)
                )
            )
        )
        db.session.expire_all()
        couple = db.session.get(Couple, ids.id)
        assert couple.partners  # loaded for the rule below
        wrong = []
        for piece in made:
            piece = db.session.get(HomeworkResponse, piece.id)
            expected = homework.partner_can_see(viewer, piece)
            if (piece.id in by_sql) != expected:
                wrong.append(
                    (piece.partner_id, piece.audience, piece.status, piece.released_at, expected)
                )
        assert not wrong, wrong
        # Both answers occur: the comparison is not between two empty sets.
        assert 0 < len([p for p in made if p.id in by_sql]) < len(made)
        db.session.rollback()
    with unscoped():
        assert db.session.get(User, owner_id) is not None
