"""practice.services.portal_access, called directly: personal links, emailed sign-in links,
portal sessions and the privacy acknowledgement.

Real database, real SMTP server (jobs run inline when the transaction commits); nothing of
ours is mocked. Like the portal's views, partner-side calls run with no practice set.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

from practice.extensions import db
from practice.models import (
    AuditEvent,
    Couple,
    JobRun,
    Partner,
    PartnerInvite,
    PartnerSignInLink,
    PortalSession,
    Practice,
    PrivacyAcknowledgement,
    User,
)
from practice.models.base import utcnow
from practice.security import hash_token
from practice.services import DomainError, NotFound, accounts, calendar, couples, portal_access
from practice.services.portal_access import LinkNotUsable
from practice.tenancy import practice_context, unscoped
from tests.conftest import BASE_URL
from tests.couple_factories import CoupleFactory, CoupleIds
from tests.factories import OwnerFactory, UserFactory
from tests.services.conftest import token_from

pytestmark = pytest.mark.usefixtures("app")

INVITE_PREFIX = "/p/"
SIGN_IN_PREFIX = "/s/"


# --- helpers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A practice's owner and therapist, and a couple assigned to the therapist, as ids."""

    practice_id: int
    owner_id: int
    therapist_id: int
    couple: CoupleIds

    @property
    def ann_id(self) -> int:
        return self.couple.partner_ids[0]

    @property
    def ben_id(self) -> int:
        return self.couple.partner_ids[1]


def build_case(ann_email: str = "ann@example.com", ben_email: str = "ben@example.com") -> Case:
    owner = OwnerFactory()
    therapist = UserFactory(practice=owner.practice)
    couple = CoupleFactory(
        therapist=therapist,
        partner1_name="Ann",
        partner1_email=ann_email,
        partner2_name="Ben",
        partner2_email=ben_email,
    )
    case = Case(owner.practice_id, owner.id, therapist.id, CoupleIds.of(couple))
    db.session.commit()
    return case


@pytest.fixture
def case() -> Case:
    return build_case()


def commit() -> None:
    db.session.commit()


@contextmanager
def therapist_of(case: Case) -> Iterator[User]:
    with practice_context(case.practice_id):
        yield db.session.get(User, case.therapist_id)


def partner(partner_id: int) -> Partner:
    """Load a partner (inside its practice, as a therapist's request would)."""
    return db.session.get(Partner, partner_id)


def invite(case: Case, partner_id: int, *, email_it: bool = False) -> tuple[int, str]:
    """Create a personal link as the couple's therapist; commit; return (invite id, token)."""
    with therapist_of(case) as therapist:
        created, token = portal_access.create_invite(
            therapist, partner(partner_id), email_it=email_it
        )
        invite_id = created.id
        commit()
    return invite_id, token


def start(token: str, device: str | None = "Phone · Safari") -> tuple[int, int]:
    """Use a personal link as the portal does; commit; return (session id, partner id)."""
    portal_session = portal_access.start_session_from_invite(token, device=device)
    ids = portal_session.id, portal_session.partner_id
    commit()
    return ids


def is_live(session_id: int, partner_id: int, version: int = 1) -> bool:
    db.session.expire_all()
    found = portal_access.load_portal_session(session_id, partner_id, version)
    commit()  # keep what load_portal_session wrote (an idle session is ended)
    return found is not None


def fresh(model, object_id: int):
    db.session.expire_all()
    with unscoped():
        return db.session.scalar(select(model).where(model.id == object_id))


def count(model, *criteria) -> int:
    with unscoped():
        return db.session.scalar(select(func.count()).select_from(model).where(*criteria))


def audit_events(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    with unscoped():
        return list(
            db.session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        )


def set_practice(practice_id: int, **values) -> None:
    with unscoped():
        db.session.execute(update(Practice).where(Practice.id == practice_id).values(**values))
    commit()


def usable(token: str) -> bool:
    try:
        portal_access.find_invite(token)
    except LinkNotUsable:
        return False
    return True


# --- personal links -------------------------------------------------------------------------


def test_a_personal_link_is_returned_once_and_only_its_digest_is_stored(case, database_values):
    invite_id, token = invite(case, case.ann_id)

    assert len(token) >= 43  # secrets.token_urlsafe(32)
    values = database_values()
    leaks = [(table, column) for table, column, value in values if token in str(value)]
    assert leaks == [], f"the plaintext token is stored in {leaks}"
    stored = fresh(PartnerInvite, invite_id)
    assert stored.token_hash == hash_token(token)
    assert len(stored.token_hash) == 64
    assert stored.pending_email is None
    assert (stored.partner_id, stored.created_by_id, stored.practice_id) == (
        case.ann_id,
        case.therapist_id,
        case.practice_id,
    )
    assert portal_access.find_invite(token).id == invite_id
    (event_,) = audit_events("partner.invite_created")
    assert (event_.actor_user_id, event_.target_id, event_.couple_id) == (
        case.therapist_id,
        case.ann_id,
        case.couple.id,
    )
    assert event_.details == {"replaced": False, "emailed": False}


def test_a_new_link_replaces_the_previous_one(case):
    first_id, first = invite(case, case.ann_id)
    second_id, second = invite(case, case.ann_id)

    assert first != second
    assert not usable(first)
    assert portal_access.find_invite(second).id == second_id
    old = fresh(PartnerInvite, first_id)
    assert old.revoked_at is not None
    assert old.revoke_reason == "replaced"
    assert fresh(PartnerInvite, second_id).revoked_at is None
    assert [e.details["replaced"] for e in audit_events("partner.invite_created")] == [False, True]
    with practice_context(case.practice_id):
        assert partner(case.ann_id).current_invite.id == second_id


def test_each_partner_has_their_own_link(case):
    _, ann_token = invite(case, case.ann_id)
    _, ben_token = invite(case, case.ben_id)
    assert portal_access.find_invite(ann_token).partner_id == case.ann_id
    assert portal_access.find_invite(ben_token).partner_id == case.ben_id


def test_revoking_a_link_voids_it_and_leaves_portal_sessions_running(case):
    invite_id, token = invite(case, case.ann_id)
    session_id, _ = start(token)

    with therapist_of(case) as therapist:
        portal_access.revoke_invite(therapist, partner(case.ann_id))
        portal_access.revoke_invite(therapist, partner(case.ann_id))  # none left: no-op
        commit()

    assert not usable(token)
    revoked = fresh(PartnerInvite, invite_id)
    assert (revoked.revoke_reason, revoked.revoked_at is not None) == ("revoked", True)
    assert is_live(session_id, case.ann_id)
    (event_,) = audit_events("partner.invite_revoked")
    assert (event_.target_id, event_.couple_id) == (case.ann_id, case.couple.id)
    with practice_context(case.practice_id):
        assert partner(case.ann_id).current_invite is None


@pytest.mark.parametrize("days", [1, 3, 90])
def test_a_link_lasts_as_many_days_as_the_practice_says(case, days):
    set_practice(case.practice_id, invite_link_days=days)
    invite_id, token = invite(case, case.ann_id)

    stored = fresh(PartnerInvite, invite_id)
    lifetime = stored.expires_at - stored.created_at
    assert timedelta(days=days) - timedelta(minutes=1) < lifetime <= timedelta(days=days)

    with unscoped():
        db.session.execute(update(PartnerInvite).values(expires_at=utcnow() - timedelta(seconds=1)))
    commit()
    assert not usable(token)
    with pytest.raises(LinkNotUsable):
        portal_access.start_session_from_invite(token, device=None)


def test_an_unknown_token_is_not_usable(case):
    invite(case, case.ann_id)
    for token in ("", "not-a-token", "x" * 43):
        assert not usable(token)


def test_one_link_starts_a_portal_session_on_each_device_and_each_ends_alone(case):
    invite_id, token = invite(case, case.ann_id)
    phone, _ = start(token, device="Phone · Safari")
    laptop, _ = start(token, device="Computer · Firefox")

    assert phone != laptop
    assert is_live(phone, case.ann_id) and is_live(laptop, case.ann_id)
    stored = fresh(PartnerInvite, invite_id)
    assert stored.use_count == 2
    assert stored.last_used_at is not None

    with therapist_of(case) as therapist:
        ann = partner(case.ann_id)
        assert [s.device for s in portal_access.live_sessions(ann)] in (
            ["Phone · Safari", "Computer · Firefox"],
            ["Computer · Firefox", "Phone · Safari"],
        )
        portal_access.end_portal_session(
            portal_access.get_portal_session(ann, phone), by=therapist, reason="ended by therapist"
        )
        commit()

    assert not is_live(phone, case.ann_id)
    assert is_live(laptop, case.ann_id)
    ended = fresh(PortalSession, phone)
    assert (ended.end_reason, ended.ended_at is not None) == ("ended by therapist", True)
    (event_,) = audit_events("portal.session_ended")
    assert (event_.actor_user_id, event_.target_id, event_.couple_id) == (
        case.therapist_id,
        phone,
        case.couple.id,
    )
    assert event_.details == {"reason": "ended by therapist"}
    assert usable(token)  # the link itself still works

    # The partner signing out on the laptop ends that one too; ending twice changes nothing.
    with practice_context(case.practice_id):
        ann = partner(case.ann_id)
        for _ in range(2):
            portal_access.end_portal_session(
                portal_access.get_portal_session(ann, laptop), by=ann, reason="signed out"
            )
        commit()
    assert not is_live(laptop, case.ann_id)
    assert [e.actor_partner_id for e in audit_events("portal.session_ended")] == [None, case.ann_id]


def test_a_portal_session_is_only_found_through_its_own_partner(case):
    _, token = invite(case, case.ann_id)
    session_id, _ = start(token)
    assert not is_live(session_id, case.ben_id)
    assert not is_live(session_id + 1000, case.ann_id)
    with practice_context(case.practice_id), pytest.raises(portal_access.NotFound):
        portal_access.get_portal_session(partner(case.ben_id), session_id)


def test_the_first_use_of_a_link_marks_the_partner_joined_and_is_audited(case):
    _, token = invite(case, case.ann_id)
    before = utcnow()
    session_id, partner_id = start(token, device="Phone · Safari")
    after = utcnow()

    assert partner_id == case.ann_id
    ann = fresh(Partner, case.ann_id)
    assert before <= ann.joined_at <= after
    assert ann.last_seen_at == ann.joined_at
    assert fresh(Couple, case.couple.id).last_activity_at == ann.joined_at
    assert fresh(Partner, case.ben_id).joined_at is None
    portal_session = fresh(PortalSession, session_id)
    assert (portal_session.started_via, portal_session.device) == ("invite", "Phone · Safari")
    assert portal_session.practice_id == case.practice_id

    (used,) = audit_events("partner.invite_used")
    (started,) = audit_events("portal.session_started")
    assert (used.actor_partner_id, used.actor_user_id, used.couple_id) == (
        case.ann_id,
        None,
        case.couple.id,
    )
    assert (started.actor_partner_id, started.target_id, started.couple_id) == (
        case.ann_id,
        session_id,
        case.couple.id,
    )
    assert started.practice_id == case.practice_id

    joined_at = ann.joined_at
    start(token)  # a second device: joined_at stays the first time
    again = fresh(Partner, case.ann_id)
    assert again.joined_at == joined_at
    assert again.last_seen_at > joined_at


def test_a_closed_couples_links_do_not_work(case):
    _, token = invite(case, case.ann_id)
    with therapist_of(case) as therapist:
        couples.close_couple(therapist, couples.get_couple(therapist, case.couple.id))
        commit()
    assert not usable(token)
    with pytest.raises(LinkNotUsable):
        portal_access.start_session_from_invite(token, device=None)
    db.session.rollback()
    assert count(PortalSession) == 0

    with therapist_of(case) as therapist, pytest.raises(DomainError) as caught:
        portal_access.create_invite(therapist, partner(case.ben_id), email_it=False)
    db.session.rollback()
    assert "Reopen" in caught.value.message


def test_a_link_stops_working_when_its_couple_is_closed_even_if_not_revoked(case):
    _, token = invite(case, case.ann_id)
    with unscoped():
        db.session.execute(update(Couple).values(status="closed"))
    commit()
    assert not usable(token)


# --- emailed personal links -----------------------------------------------------------------


def test_an_emailed_link_goes_to_the_partner_and_its_copy_is_then_erased(
    case, inbox, database_values
):
    with therapist_of(case) as therapist:
        created, token = portal_access.create_invite(therapist, partner(case.ann_id), email_it=True)
        invite_id = created.id
        # Until the email job has sent it, the link waits encrypted, never in plain text.
        assert created.pending_email and token not in created.pending_email
        assert inbox.messages == []
        commit()  # the job runs inline once the transaction commits

    (message,) = inbox.messages
    assert message["To"] == "ann@example.com"
    assert message["Subject"].startswith("Your personal link from ")
    body = message.get_content()
    assert "Hello Ann" in body
    (link,) = inbox.links()
    assert link == f"{BASE_URL}{INVITE_PREFIX}{token}"
    assert portal_access.find_invite(token_from(link, INVITE_PREFIX)).id == invite_id

    stored = fresh(PartnerInvite, invite_id)
    assert stored.pending_email is None
    assert stored.emailed_at is not None
    leaks = [(t, c) for t, c, v in database_values() if v is not None and token in str(v)]
    assert leaks == []


def test_the_invite_email_job_is_given_only_the_invite_id(case, inbox):
    invite_id, _ = invite(case, case.ann_id, email_it=True)
    with unscoped():
        (run,) = db.session.scalars(select(JobRun)).all()
    assert run.function == "email.partner_invite"
    assert run.arguments == {"invite_id": invite_id}
    assert (run.status, run.practice_id) == ("done", case.practice_id)
    (emailed,) = audit_events("partner.invite_emailed")
    assert (emailed.actor_label, emailed.target_id) == ("system", case.ann_id)
    assert len(inbox.messages) == 1


def test_a_link_cannot_be_emailed_to_a_partner_without_an_email(inbox):
    case = build_case(ben_email=None)
    with therapist_of(case) as therapist, pytest.raises(DomainError) as caught:
        portal_access.create_invite(therapist, partner(case.ben_id), email_it=True)
    db.session.rollback()
    assert caught.value.field == "email_it"
    assert count(PartnerInvite) == count(JobRun) == 0
    assert inbox.messages == []


def test_a_link_replaced_before_its_email_went_out_is_not_emailed(case, inbox):
    with therapist_of(case) as therapist:
        ann = partner(case.ann_id)
        portal_access.create_invite(therapist, ann, email_it=True)
        _, token = portal_access.create_invite(therapist, ann, email_it=False)
        commit()
    assert inbox.messages == []  # the first link was void before the job ran
    assert usable(token)
    with unscoped():
        assert db.session.scalars(select(PartnerInvite.pending_email)).all() == [None, None]


# --- emailed sign-in links ------------------------------------------------------------------


def request_link(inbox, email: str) -> str:
    """Ask for a sign-in link; return the emailed token."""
    before = len(inbox.messages)
    assert portal_access.request_sign_in_link(email) is None
    commit()
    assert len(inbox.messages) == before + 1
    (link,) = [w for w in inbox.messages[-1].get_content().split() if w.startswith("http")]
    return token_from(link, SIGN_IN_PREFIX)


def test_a_known_email_gets_one_sign_in_link(case, inbox, database_values):
    token = request_link(inbox, "  ANN@example.com ")

    (message,) = inbox.messages
    assert (message["To"], message["Subject"]) == ("ann@example.com", "Your sign-in link")
    link = portal_access.find_sign_in_link(token)
    assert link.partner_id == case.ann_id
    assert link.token_hash == hash_token(token)
    leaks = [(t, c) for t, c, v in database_values() if v is not None and token in str(v)]
    assert leaks == []
    with unscoped():
        (run,) = db.session.scalars(select(JobRun)).all()
    assert run.arguments == {"partner_id": case.ann_id}
    (requested,) = audit_events("partner.sign_in_link_requested")
    assert (requested.actor_partner_id, requested.couple_id) == (case.ann_id, case.couple.id)

    portal_session = portal_access.start_session_from_sign_in_link(token, device="Phone")
    session_id = portal_session.id
    commit()
    assert is_live(session_id, case.ann_id)
    assert fresh(PortalSession, session_id).started_via == "email link"
    assert fresh(Partner, case.ann_id).joined_at is not None


def test_an_address_used_in_two_practices_gets_a_link_for_each(inbox):
    first = build_case(ann_email="shared@example.com")
    second = build_case(ben_email="shared@example.com")

    assert portal_access.request_sign_in_link("shared@example.com") is None
    commit()

    assert [m["To"] for m in inbox.messages] == ["shared@example.com"] * 2
    links = [
        portal_access.find_sign_in_link(token_from(link, SIGN_IN_PREFIX)) for link in inbox.links()
    ]
    assert sorted((link.partner_id, link.practice_id) for link in links) == sorted(
        [(first.ann_id, first.practice_id), (second.ben_id, second.practice_id)]
    )


@pytest.mark.parametrize("email", ["nobody@example.com", "", "ann@example.co"])
def test_an_unknown_email_gets_nothing_and_the_same_answer(case, inbox, email):
    assert portal_access.request_sign_in_link(email) is None
    commit()
    assert inbox.messages == []
    assert count(PartnerSignInLink) == count(JobRun) == 0
    assert audit_events("partner.sign_in_link_requested") == []


def test_a_closed_couples_partner_gets_no_sign_in_link(case, inbox):
    with therapist_of(case) as therapist:
        couples.close_couple(therapist, couples.get_couple(therapist, case.couple.id))
        commit()
    assert portal_access.request_sign_in_link("ann@example.com") is None
    commit()
    assert inbox.messages == []
    assert count(PartnerSignInLink) == 0
    assert audit_events("partner.sign_in_link_requested") == []


def test_a_sign_in_link_works_once(case, inbox):
    token = request_link(inbox, "ann@example.com")
    portal_access.start_session_from_sign_in_link(token, device=None)
    commit()

    with pytest.raises(LinkNotUsable):
        portal_access.find_sign_in_link(token)
    with pytest.raises(LinkNotUsable):
        portal_access.start_session_from_sign_in_link(token, device=None)
    db.session.rollback()
    assert count(PortalSession) == 1


def test_a_sign_in_link_expires_after_thirty_minutes(case, inbox):
    token = request_link(inbox, "ann@example.com")
    with unscoped():
        link = db.session.scalar(select(PartnerSignInLink))
    assert timedelta(minutes=29) < link.expires_at - link.created_at <= timedelta(minutes=30)

    with unscoped():
        db.session.execute(
            update(PartnerSignInLink).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    commit()
    with pytest.raises(LinkNotUsable):
        portal_access.start_session_from_sign_in_link(token, device=None)
    db.session.rollback()
    assert count(PortalSession) == 0


def test_two_uses_of_one_sign_in_link_at_once_start_only_one_session(app, case, inbox):
    token = request_link(inbox, "ann@example.com")
    db.session.remove()  # the main thread holds no connection while the threads race

    start_together = threading.Barrier(2, timeout=10)
    # Both threads have found the (still unused) link before either claims it, so the claim
    # itself, not the earlier lookup, is what must stop the second one.
    claim = threading.Barrier(2, timeout=10)
    racers: set[int] = set()
    reached_claim: list[int] = []
    outcomes: dict[int, str] = {}

    def before_claim(state) -> None:
        if (
            threading.get_ident() in racers
            and state.is_update
            and state.bind_mapper is not None
            and state.bind_mapper.class_ is PartnerSignInLink
        ):
            reached_claim.append(threading.get_ident())
            with contextlib.suppress(threading.BrokenBarrierError):
                claim.wait()  # if the other thread never gets here, reached_claim says so below

    def redeem(index: int) -> None:
        racers.add(threading.get_ident())
        with app.app_context():
            try:
                start_together.wait()
                portal_access.start_session_from_sign_in_link(token, device=f"Device {index}")
                db.session.commit()
                outcomes[index] = "started"
            except LinkNotUsable:
                db.session.rollback()
                outcomes[index] = "refused"
            except Exception as error:  # reported below, never swallowed
                db.session.rollback()
                outcomes[index] = f"error: {type(error).__name__}: {error}"
            finally:
                db.session.remove()

    event.listen(Session, "do_orm_execute", before_claim)
    try:
        threads = [threading.Thread(target=redeem, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        event.remove(Session, "do_orm_execute", before_claim)

    assert sorted(outcomes.values()) == ["refused", "started"], outcomes
    assert len(set(reached_claim)) == 2, "both threads must have got as far as the claim"
    (winner,) = [i for i, outcome in outcomes.items() if outcome == "started"]
    with unscoped():
        assert db.session.scalars(select(PortalSession.device)).all() == [f"Device {winner}"]
    assert len(audit_events("portal.session_started")) == 1


# --- live portal sessions -------------------------------------------------------------------


def test_revoking_a_partners_access_ends_their_sessions_everywhere(case, inbox):
    _, token = invite(case, case.ann_id)
    phone, _ = start(token)
    laptop, _ = start(token)
    _, ben_token = invite(case, case.ben_id)
    ben_session, _ = start(ben_token)

    with therapist_of(case) as therapist:
        portal_access.revoke_partner_access(therapist, partner(case.ann_id))
        commit()

    assert fresh(Partner, case.ann_id).session_version == 2
    for session_id in (phone, laptop):
        assert not is_live(session_id, case.ann_id, version=1)
        assert not is_live(session_id, case.ann_id, version=2)  # ended, not just outdated
        assert fresh(PortalSession, session_id).end_reason == "access revoked"
    assert not usable(token)
    assert is_live(ben_session, case.ben_id)  # the other partner carries on
    (event_,) = audit_events("partner.access_revoked")
    assert (event_.target_id, event_.couple_id, event_.details) == (
        case.ann_id,
        case.couple.id,
        {"reason": "access revoked", "sign_in_links": 0, "calendar_feeds": 0},
    )

    # A session begun after a new personal link carries the new version and works.
    _, new_token = invite(case, case.ann_id)
    new_session, _ = start(new_token)
    assert is_live(new_session, case.ann_id, version=2)
    assert not is_live(new_session, case.ann_id, version=1)


# --- revoked means out, until a new personal link -------------------------------------------


def revoke_access(case: Case, partner_id: int) -> None:
    with therapist_of(case) as therapist:
        portal_access.revoke_partner_access(therapist, partner(partner_id))
        commit()


def subscribe_to_calendar(case: Case, partner_id: int) -> str:
    """The partner's private calendar feed token, made as the portal makes it."""
    with practice_context(case.practice_id):
        token = calendar.create_feed(partner(partner_id))
        commit()
    return token


def feed_answers(token: str) -> bool:
    try:
        calendar.feed_partner(token)
    except NotFound:
        return False
    return True


def test_a_revoked_partner_asking_for_a_sign_in_link_is_treated_as_an_unknown_address(case, inbox):
    _, token = invite(case, case.ann_id)
    start(token)
    revoke_access(case, case.ann_id)

    assert portal_access.request_sign_in_link("ann@example.com") is None
    commit()

    assert inbox.messages == []
    assert count(PartnerSignInLink) == count(JobRun) == 0
    assert audit_events("partner.sign_in_link_requested") == []
    # The therapist can see that someone asked; the answer to the asker said nothing.
    (refused,) = audit_events("partner.sign_in_link_refused")
    assert (refused.target_id, refused.couple_id) == (case.ann_id, case.couple.id)
    assert refused.actor_label == "anonymous"
    request_link(inbox, "ben@example.com")  # the other partner is not touched


def test_a_sign_in_link_emailed_before_the_revoke_does_not_work_after_it(case, inbox):
    sign_in = request_link(inbox, "ann@example.com")
    revoke_access(case, case.ann_id)

    with pytest.raises(LinkNotUsable):
        portal_access.find_sign_in_link(sign_in)
    with pytest.raises(LinkNotUsable):
        portal_access.start_session_from_sign_in_link(sign_in, device=None)
    db.session.rollback()
    assert count(PortalSession) == 0

    # Nor after a new personal link lifts the revoke: it was voided, not just paused.
    invite(case, case.ann_id)
    with pytest.raises(LinkNotUsable):
        portal_access.start_session_from_sign_in_link(sign_in, device=None)
    db.session.rollback()
    assert count(PortalSession) == 0


def test_a_sign_in_link_still_queued_at_the_revoke_is_never_sent(case, inbox):
    with therapist_of(case) as therapist:
        portal_access.request_sign_in_link("ann@example.com")  # the job runs after the commit
        portal_access.revoke_partner_access(therapist, partner(case.ann_id))
        commit()
    assert inbox.messages == []
    assert count(PartnerSignInLink) == 0


def test_a_revoked_partners_calendar_feed_answers_like_an_unknown_token(case):
    feed = subscribe_to_calendar(case, case.ann_id)
    ben_feed = subscribe_to_calendar(case, case.ben_id)
    assert feed_answers(feed)

    revoke_access(case, case.ann_id)

    assert not feed_answers(feed)
    assert feed_answers(ben_feed)
    with practice_context(case.practice_id):
        assert not calendar.has_feed(partner(case.ann_id))


def test_a_new_personal_link_lifts_the_revoke_but_not_for_old_feeds(case, inbox):
    feed = subscribe_to_calendar(case, case.ann_id)
    revoke_access(case, case.ann_id)
    assert fresh(Partner, case.ann_id).access_revoked_at is not None

    _, token = invite(case, case.ann_id)

    assert fresh(Partner, case.ann_id).access_revoked_at is None
    session_id, _ = start(token)
    assert is_live(session_id, case.ann_id, version=2)
    sign_in = request_link(inbox, "ann@example.com")  # asking by email works again
    portal_access.start_session_from_sign_in_link(sign_in, device=None)
    commit()
    # The feed URL handed out before the revoke may be the reason for it: it stays dead.
    # The partner subscribes afresh from the portal in one tap.
    assert not feed_answers(feed)
    assert feed_answers(subscribe_to_calendar(case, case.ann_id))


def test_a_revoked_partner_cannot_start_a_portal_session_by_any_way_in(case, inbox):
    sign_in = request_link(inbox, "ann@example.com")
    _, token = invite(case, case.ann_id)
    # Both ways in are found before the revoke, as a request already under way would.
    portal_access.find_invite(token)
    portal_access.find_sign_in_link(sign_in)
    revoke_access(case, case.ann_id)

    for use in (
        lambda: portal_access.start_session_from_invite(token, device=None),
        lambda: portal_access.start_session_from_sign_in_link(sign_in, device=None),
    ):
        with pytest.raises(LinkNotUsable):
            use()
        db.session.rollback()
    assert count(PortalSession) == 0


def test_a_cookie_from_before_a_version_bump_is_refused(case):
    _, token = invite(case, case.ann_id)
    session_id, _ = start(token)
    with unscoped():
        db.session.execute(update(Partner).values(session_version=Partner.session_version + 1))
    commit()
    assert not is_live(session_id, case.ann_id, version=1)
    assert is_live(session_id, case.ann_id, version=2)


def test_a_portal_session_idles_out_after_the_practices_idle_days(case):
    set_practice(case.practice_id, portal_idle_days=7)
    _, token = invite(case, case.ann_id)
    recent, _ = start(token)
    stale, _ = start(token)
    with unscoped():
        db.session.execute(
            update(PortalSession)
            .where(PortalSession.id == recent)
            .values(last_seen_at=utcnow() - timedelta(days=6, hours=23))
        )
        db.session.execute(
            update(PortalSession)
            .where(PortalSession.id == stale)
            .values(last_seen_at=utcnow() - timedelta(days=7, minutes=1))
        )
    commit()

    assert is_live(recent, case.ann_id)
    assert not is_live(stale, case.ann_id)
    idle = fresh(PortalSession, stale)
    assert (idle.end_reason, idle.ended_at is not None) == ("idle", True)

    set_practice(case.practice_id, portal_idle_days=30)  # a longer setting cannot revive it
    assert not is_live(stale, case.ann_id)


def test_touch_records_activity_at_most_every_few_minutes(case):
    _, token = invite(case, case.ann_id)
    session_id, _ = start(token)
    first_seen = fresh(PortalSession, session_id).last_seen_at

    with practice_context(case.practice_id):
        portal_access.touch(db.session.get(PortalSession, session_id))
        commit()
    assert fresh(PortalSession, session_id).last_seen_at == first_seen

    earlier = utcnow() - portal_access.TOUCH_INTERVAL - timedelta(seconds=1)
    with unscoped():
        db.session.execute(update(PortalSession).values(last_seen_at=earlier))
    commit()
    with practice_context(case.practice_id):
        portal_access.touch(db.session.get(PortalSession, session_id))
        commit()
    now_seen = fresh(PortalSession, session_id).last_seen_at
    assert now_seen > earlier
    assert fresh(Partner, case.ann_id).last_seen_at == now_seen
    assert fresh(Couple, case.couple.id).last_activity_at == now_seen


# --- the privacy notice and secrets policy --------------------------------------------------


def acknowledge(case: Case, partner_id: int) -> None:
    with practice_context(case.practice_id):
        portal_access.acknowledge_privacy(
            partner(partner_id), db.session.get(Practice, case.practice_id)
        )
        commit()


def needs_acknowledgement(case: Case, partner_id: int) -> bool:
    db.session.expire_all()
    with practice_context(case.practice_id):
        return portal_access.needs_privacy_acknowledgement(
            partner(partner_id), db.session.get(Practice, case.practice_id)
        )


def change_practice(case: Case, **overrides) -> None:
    """Save the practice settings as the owner would, changing only what is given."""
    with practice_context(case.practice_id):
        practice = db.session.get(Practice, case.practice_id)
        values = {
            "name": practice.name,
            "time_zone": practice.time_zone,
            "secrets_policy": practice.secrets_policy,
            "secrets_policy_text": practice.secrets_policy_text,
        }
        values.update(overrides)
        accounts.update_practice(db.session.get(User, case.owner_id), practice, **values)
        commit()


def acknowledgements(partner_id: int) -> list[tuple[int, str]]:
    with unscoped():
        return [
            (a.notice_version, a.secrets_policy)
            for a in db.session.scalars(
                select(PrivacyAcknowledgement)
                .where(PrivacyAcknowledgement.partner_id == partner_id)
                .order_by(PrivacyAcknowledgement.id)
            )
        ]


def test_a_partner_acknowledges_the_privacy_notice_on_first_entering(case):
    assert needs_acknowledgement(case, case.ann_id)
    acknowledge(case, case.ann_id)

    assert not needs_acknowledgement(case, case.ann_id)
    assert needs_acknowledgement(case, case.ben_id)  # each partner for themselves
    assert acknowledgements(case.ann_id) == [(1, "limited_secrets")]
    assert fresh(Partner, case.ann_id).privacy_acknowledged_version == 1
    (event_,) = audit_events("partner.privacy_acknowledged")
    assert (event_.actor_partner_id, event_.couple_id, event_.details) == (
        case.ann_id,
        case.couple.id,
        {"version": 1},
    )

    acknowledge(case, case.ann_id)  # again, same version: nothing new
    assert acknowledgements(case.ann_id) == [(1, "limited_secrets")]
    assert len(audit_events("partner.privacy_acknowledged")) == 1


def test_a_new_secrets_policy_text_must_be_acknowledged_again(case):
    acknowledge(case, case.ann_id)

    change_practice(case, name="Renamed practice")  # not the policy: still acknowledged
    assert not needs_acknowledgement(case, case.ann_id)

    change_practice(case, secrets_policy_text="New words about what stays private.")
    assert fresh(Practice, case.practice_id).privacy_notice_version == 2
    assert needs_acknowledgement(case, case.ann_id)
    acknowledge(case, case.ann_id)
    assert not needs_acknowledgement(case, case.ann_id)

    change_practice(case, secrets_policy="no_secrets")
    assert needs_acknowledgement(case, case.ann_id)
    acknowledge(case, case.ann_id)
    assert acknowledgements(case.ann_id) == [
        (1, "limited_secrets"),
        (2, "limited_secrets"),
        (3, "no_secrets"),
    ]
    assert [e.details for e in audit_events("partner.privacy_acknowledged")] == [
        {"version": 1},
        {"version": 2},
        {"version": 3},
    ]
