"""The schema's own walls: composite foreign keys keep children inside their practice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from practice.extensions import db
from practice.models import PasswordReset
from practice.models.base import utcnow
from practice.tenancy import unscoped
from tests.factories import UserFactory

pytestmark = pytest.mark.usefixtures("app")


def _reset(practice_id: int, user_id: int) -> PasswordReset:
    return PasswordReset(
        practice_id=practice_id,
        user_id=user_id,
        token_hash="0" * 64,
        expires_at=utcnow() + timedelta(hours=1),
    )


def test_a_child_cannot_point_at_a_user_of_another_practice():
    mine, theirs = UserFactory(), UserFactory()
    with unscoped():  # past the ORM guard on purpose: the database must refuse it alone
        db.session.add(_reset(mine.practice_id, theirs.id))
        with pytest.raises(IntegrityError):
            db.session.flush()


def test_a_child_pointing_inside_its_practice_is_accepted():
    mine = UserFactory()
    with unscoped():
        db.session.add(_reset(mine.practice_id, mine.id))
        db.session.flush()
        assert db.session.query(PasswordReset).count() == 1
