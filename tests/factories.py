"""factory_boy factories, each rooted in a practice."""

from __future__ import annotations

import factory
from factory.alchemy import SQLAlchemyModelFactory

from practice.extensions import db
from practice.models import Practice, TherapistInvitation, User
from practice.security import hash_password
from practice.tenancy import unscoped

PASSWORD = "correct horse battery"


class BaseFactory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # Test set-up builds rows for several practices on purpose.
        with unscoped():
            return super()._create(model_class, *args, **kwargs)


class PracticeFactory(BaseFactory):
    class Meta:
        model = Practice

    name = factory.Sequence(lambda n: f"Practice {n}")
    slug = factory.Sequence(lambda n: f"practice-{n}")
    time_zone = "Europe/London"
    secrets_policy = "limited_secrets"
    secrets_policy_text = "What you tell your therapist privately stays private."


class UserFactory(BaseFactory):
    class Meta:
        model = User

    practice = factory.SubFactory(PracticeFactory)
    name = factory.Sequence(lambda n: f"Therapist {n}")
    email = factory.Sequence(lambda n: f"therapist{n}@example.com")
    role = "therapist"
    active = True
    # With the app's parameters (the cheapest argon2 profile under testing): a hash made
    # with others would be rehashed, at full cost, on every sign-in.
    password_hash = factory.LazyFunction(lambda: hash_password(PASSWORD))


class OwnerFactory(UserFactory):
    role = "owner"
    name = factory.Sequence(lambda n: f"Owner {n}")
    email = factory.Sequence(lambda n: f"owner{n}@example.com")


class TherapistInvitationFactory(BaseFactory):
    class Meta:
        model = TherapistInvitation

    email = factory.Sequence(lambda n: f"invitee{n}@example.com")
    name = factory.Sequence(lambda n: f"Invitee {n}")

    class Params:
        inviter = factory.SubFactory(OwnerFactory)

    practice_id = factory.SelfAttribute("inviter.practice_id")
    invited_by_id = factory.SelfAttribute("inviter.id")
