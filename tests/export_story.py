"""A couple with something in every table that hangs off it, for the export and deletion
tests: homework written through the services (a draft, a hand-in returned with a comment),
a check-in with a safety answer and its flag, an agreement, a session, a portal session, a
notice, a calendar feed, a made summary.

Everything is written through the services, as a therapist and the partners would; ids come
back (safe across commits). Each distinctive word is one the tests look for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta

from sqlalchemy import select

from practice.extensions import db
from practice.models import Couple, Partner, PortalSession, Practice, User
from practice.models.base import utcnow
from practice.models.checkin import SafetyFlag
from practice.services import (
    agreements,
    appointments,
    calendar,
    checkins,
    homework,
    notices,
    safety,
)
from practice.services import reports as report_service
from practice.services.appointments import AppointmentDetails
from practice.tenancy import practice_context, unscoped
from tests.couple_factories import CoupleFactory
from tests.factories import OwnerFactory, UserFactory

APOLOGY_WORDS = "Tamarisk I hid the second phone"  # a homework answer typed by a partner
DRAFT_WORDS = "Periwinkle draft of amends"  # a private draft, saved as typed
COMMENT_WORDS = "Saltmarsh please name one concrete change"  # the therapist's comment
CHECKIN_WORDS = "Foxglove facts of the week"  # a weekly check-in
AGREEMENT_WORDS = "Juniper phones stay open at dinner"  # an agreement in force
SESSION_NOTES = "Wrenfield private observations"  # the therapist's session notes
COUPLE_NOTES = "Thistledown referral"  # the therapist's notes on the couple


@dataclass(frozen=True)
class Story:
    practice_id: int
    owner_id: int
    therapist_id: int
    couple_id: int
    partner_ids: tuple[int, int]
    response_id: int
    feed_token: str


def write_story(practice: Practice | None = None, *, owner_id: int | None = None) -> Story:
    """A practice (new, or `practice` with its owner) and one couple with a full record."""
    if practice is None:
        owner = OwnerFactory()
        practice = owner.practice
    else:
        with unscoped():
            owner = db.session.get(User, owner_id)
    therapist = UserFactory(practice=practice)
    couple = CoupleFactory(
        therapist=therapist,
        therapist_notes=COUPLE_NOTES,
        start_date=utcnow().date() - timedelta(days=40),
    )
    ids = (couple.id, couple.partners[0].id, couple.partners[1].id)
    practice_id, owner_id, therapist_id = practice.id, owner.id, therapist.id
    db.session.commit()
    with practice_context(practice_id):
        user = db.session.get(User, therapist_id)
        couple = db.session.get(Couple, ids[0])
        hurt = db.session.get(Partner, ids[1])
        broke = db.session.get(Partner, ids[2])

        (answer,) = homework.assign(
            user,
            couple,
            kind_key="apology",
            mode="one",
            instructions="",
            due_date=None,
            partner_id=broke.id,
        ).responses
        homework.submit(
            broke,
            answer,
            content={
                "what_i_did": APOLOGY_WORDS,
                "how_it_hurt": "It left you alone with it.",
                "responsibility": "That is mine.",
                "amends": "I will tell you first, every Sunday at six.",
            },
            base_version=answer.version,
        )
        homework.return_for_revision(user, answer, COMMENT_WORDS)
        (draft,) = homework.assign(
            user,
            couple,
            kind_key="apology",
            mode="one",
            instructions="",
            due_date=None,
            partner_id=hurt.id,
        ).responses
        homework.save_draft(
            hurt, draft, content={"what_i_did": DRAFT_WORDS}, base_version=draft.version
        )

        opened = checkins.current(hurt)
        submitted = checkins.submit(
            hurt,
            opened,
            form={
                "checkin-facts": CHECKIN_WORDS,
                "checkin-reflection": "A calmer week",
                "marker-recovery": "4",
                "triggers-count": "2",
            },
            base_version=opened.version,
            share=False,
        )
        safety.record_checkin_items(
            hurt, submitted, {"safe_at_home": "no", "feel_heard": "yes"}, link="/couples"
        )
        db.session.flush()
        assert db.session.scalars(select(SafetyFlag)).all()

        agreements.add_agreement(
            user,
            couple,
            domain="communication",
            text=AGREEMENT_WORDS,
            time_frame="three months",
            review_date=None,
        )
        appointments.record(
            user,
            couple,
            AppointmentDetails(
                day=utcnow().date() - timedelta(days=3),
                start=time(10),
                notes=SESSION_NOTES,
                next_steps="Walk every evening",
            ),
        )
        db.session.add(PortalSession(partner_id=hurt.id, started_via="invite", device="Phone"))
        notices.notify_partner(hurt, "homework.returned", "/portal")
        token = calendar.create_feed(hurt)
        end = utcnow().date()
        report_service.request_summary(
            user, couple, "therapist", start=end - timedelta(days=13), end=end
        )
        response_id = answer.id
    db.session.commit()  # the summary is made now (jobs run inline)
    return Story(
        practice_id=practice_id,
        owner_id=owner_id,
        therapist_id=therapist_id,
        couple_id=ids[0],
        partner_ids=(ids[1], ids[2]),
        response_id=response_id,
        feed_token=token,
    )
