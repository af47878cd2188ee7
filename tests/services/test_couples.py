"""practice.services.couples, called directly: opening and changing a case, who sees it, and
the caseload; plus the caseload page's SQL statement count, through HTTP.

Real database; nothing of ours is mocked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import product

import pytest
from sqlalchemy import event, func, select

from practice.extensions import db
from practice.models import (
    AuditEvent,
    Couple,
    CoupleTherapist,
    Partner,
    PartnerInvite,
    PortalSession,
    User,
)
from practice.services import DomainError, NotFound, couples, portal_access
from practice.services.couples import PAGE_SIZE, PartnerDetails
from practice.tenancy import practice_context, unscoped
from tests.couple_factories import CoupleFactory, CoupleIds, bulk_couples
from tests.factories import OwnerFactory, UserFactory

pytestmark = pytest.mark.usefixtures("app")


# --- helpers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Team:
    """Two practices' people, as ids: practice A has an owner and two therapists."""

    practice_id: int
    owner_id: int
    owner_email: str
    therapist_id: int
    colleague_id: int
    other_practice_id: int
    other_owner_id: int
    other_therapist_id: int


@pytest.fixture
def team() -> Team:
    owner = OwnerFactory()
    therapist = UserFactory(practice=owner.practice, name="Bea Therapist")
    colleague = UserFactory(practice=owner.practice, name="Cy Colleague")
    other_owner = OwnerFactory()
    other_therapist = UserFactory(practice=other_owner.practice)
    built = Team(
        practice_id=owner.practice_id,
        owner_id=owner.id,
        owner_email=owner.email,
        therapist_id=therapist.id,
        colleague_id=colleague.id,
        other_practice_id=other_owner.practice_id,
        other_owner_id=other_owner.id,
        other_therapist_id=other_therapist.id,
    )
    db.session.commit()
    return built


@contextmanager
def acting(user_id: int, practice_id: int) -> Iterator[User]:
    """The user, loaded in their practice, as a request of theirs would have them."""
    with practice_context(practice_id):
        yield db.session.get(User, user_id)


def commit() -> None:
    db.session.commit()


def details(name: str, role: str, email: str | None = None, zone: str = "Europe/London"):
    return PartnerDetails(display_name=name, email=email, repair_role=role, time_zone=zone)


def couple_values(**overrides) -> dict:
    values = {
        "label": "Ann & Ben",
        "presenting_concern": "affair",
        "start_date": date(2026, 3, 2),
        "time_zone": "Europe/London",
        "therapist_notes": "",
        "partners": [
            details("Ann", "hurt", "ann@example.com"),
            details("Ben", "broke_trust", "ben@example.com"),
        ],
    }
    values.update(overrides)
    return values


def create(user_id: int, practice_id: int, **overrides) -> int:
    """Create a couple as this user, commit, and return its id."""
    with acting(user_id, practice_id) as actor:
        couple = couples.create_couple(actor, **couple_values(**overrides))
        commit()
        return couple.id


def refused(user_id: int, practice_id: int, **overrides) -> DomainError:
    """Try to create a couple as this user; return the DomainError it must raise."""
    with acting(user_id, practice_id) as actor:
        with pytest.raises(DomainError) as caught:
            couples.create_couple(actor, **couple_values(**overrides))
        db.session.rollback()
    return caught.value


def update(user_id: int, practice_id: int, couple_id: int, **overrides) -> None:
    """Update a couple as this user (the values `create` used, unless overridden); commit."""
    values = couple_values(**{"status": "active", **overrides})
    with acting(user_id, practice_id) as actor:
        couples.update_couple(actor, couples.get_couple(actor, couple_id), **values)
        commit()


def count(model, *criteria) -> int:
    with unscoped():
        return db.session.scalar(select(func.count()).select_from(model).where(*criteria))


def load(couple_id: int) -> Couple:
    """The couple as the database holds it now."""
    db.session.expire_all()
    with unscoped():
        return db.session.scalar(select(Couple).where(Couple.id == couple_id))


def assigned(couple_id: int) -> set[int]:
    with unscoped():
        return set(
            db.session.scalars(
                select(CoupleTherapist.user_id).where(CoupleTherapist.couple_id == couple_id)
            )
        )


def audit_events(action: str | None = None) -> list[AuditEvent]:
    db.session.expire_all()
    query = select(AuditEvent).order_by(AuditEvent.id)
    if action:
        query = query.where(AuditEvent.action == action)
    with unscoped():
        return list(db.session.scalars(query))


def partners_of(couple_id: int) -> list[Partner]:
    db.session.expire_all()
    with unscoped():
        return list(
            db.session.scalars(
                select(Partner).where(Partner.couple_id == couple_id).order_by(Partner.position)
            )
        )


# --- create_couple --------------------------------------------------------------------------


def test_a_therapist_opens_a_case_with_two_partners_and_is_assigned_to_it(team):
    couple_id = create(
        team.therapist_id,
        team.practice_id,
        label="  Ann & Ben ",
        presenting_concern="financial_secret",
        time_zone="America/New_York",
        therapist_notes="  first call went well ",
        partners=[
            details("  Ann ", "hurt", " Ann@Example.COM ", "America/New_York"),
            details("Ben", "broke_trust", None, "Europe/Paris"),
        ],
    )

    couple = load(couple_id)
    assert couple.practice_id == team.practice_id
    assert (couple.label, couple.status, couple.presenting_concern) == (
        "Ann & Ben",
        "active",
        "financial_secret",
    )
    assert (couple.start_date, couple.time_zone) == (date(2026, 3, 2), "America/New_York")
    assert couple.therapist_notes == "first call went well"
    assert couple.closed_at is None
    ann, ben = partners_of(couple_id)
    assert [
        (p.position, p.display_name, p.email, p.repair_role, p.time_zone) for p in (ann, ben)
    ] == [
        (1, "Ann", "ann@example.com", "hurt", "America/New_York"),
        (2, "Ben", None, "broke_trust", "Europe/Paris"),
    ]
    assert {p.practice_id for p in (ann, ben)} == {team.practice_id}
    assert (ann.joined_at, ann.session_version) == (None, 1)
    assert assigned(couple_id) == {team.therapist_id}


def test_opening_a_case_is_audited_with_the_couple_id(team):
    couple_id = create(team.owner_id, team.practice_id, therapist_ids=[team.therapist_id])

    created, assignment = audit_events()
    assert (created.action, created.couple_id, created.actor_user_id) == (
        "couple.created",
        couple_id,
        team.owner_id,
    )
    assert (created.target_type, created.target_id, created.practice_id) == (
        "Couple",
        couple_id,
        team.practice_id,
    )
    assert (assignment.action, assignment.couple_id) == ("couple.assigned", couple_id)
    assert assignment.details == {"added": [team.therapist_id], "removed": []}
    assert "Ann" not in str(created.details) + str(assignment.details)


@pytest.mark.parametrize(
    "roles", [("hurt", "broke_trust"), ("broke_trust", "hurt"), ("mutual", "mutual")]
)
def test_the_valid_role_pairs_are_accepted(team, roles):
    couple_id = create(
        team.therapist_id,
        team.practice_id,
        partners=[details("Ann", roles[0]), details("Ben", roles[1])],
    )
    assert tuple(p.repair_role for p in partners_of(couple_id)) == roles


INVALID_PAIRS = [
    pair
    for pair in product(("hurt", "broke_trust", "mutual"), repeat=2)
    if pair not in {("hurt", "broke_trust"), ("broke_trust", "hurt"), ("mutual", "mutual")}
]


@pytest.mark.parametrize("roles", INVALID_PAIRS)
def test_other_role_pairs_are_refused_on_the_second_partners_role(team, roles):
    error = refused(
        team.therapist_id,
        team.practice_id,
        partners=[details("Ann", roles[0]), details("Ben", roles[1])],
    )
    assert error.field == "partner2.repair_role"
    assert "pair" in error.message
    assert count(Couple) == count(Partner) == count(AuditEvent) == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"label": "   "}, "label"),
        (
            {"partners": [details("  ", "hurt"), details("Ben", "broke_trust")]},
            "partner1.display_name",
        ),
        (
            {"partners": [details("Ann", "hurt"), details("", "broke_trust")]},
            "partner2.display_name",
        ),
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
        ({"time_zone": "europe/london"}, "time_zone"),
        (
            {"partners": [details("Ann", "hurt"), details("Ben", "broke_trust", zone="Nowhere")]},
            "partner2.time_zone",
        ),
        ({"partners": [details("Ann", "villain"), details("Ben", "hurt")]}, "partner1.repair_role"),
        ({"presenting_concern": "boredom"}, "presenting_concern"),
        (
            {
                "partners": [
                    details("Ann", "hurt", "same@example.com"),
                    details("Ben", "broke_trust", "  SAME@example.com "),
                ]
            },
            "partner2.email",
        ),
    ],
    ids=[
        "blank label",
        "blank first name",
        "empty second name",
        "unknown zone",
        "zone in the wrong case",
        "partner's zone",
        "unknown role",
        "unknown concern",
        "same email twice",
    ],
)
def test_bad_details_are_refused_naming_the_field(team, overrides, field):
    error = refused(team.therapist_id, team.practice_id, **overrides)
    assert error.field == field
    assert count(Couple) == count(Partner) == count(CoupleTherapist) == 0


def test_a_couple_has_exactly_two_partners(team):
    for partners in ([details("Ann", "mutual")], [details(n, "mutual") for n in "ABC"]):
        error = refused(team.therapist_id, team.practice_id, partners=partners)
        assert "two partners" in error.message
    assert count(Couple) == 0


@pytest.mark.parametrize("blank", ["", "   "])
def test_an_email_left_blank_is_no_email(team, blank):
    couple_id = create(
        team.therapist_id,
        team.practice_id,
        partners=[details("Ann", "hurt", blank), details("Ben", "broke_trust", blank)],
    )
    assert [p.email for p in partners_of(couple_id)] == [None, None]

    # Saving the same blank again changes nothing, so no email change is recorded.
    update(
        team.therapist_id,
        team.practice_id,
        couple_id,
        partners=[details("Ann", "hurt", blank), details("Ben", "broke_trust", blank)],
    )
    assert [p.email for p in partners_of(couple_id)] == [None, None]
    assert audit_events("partner.email_changed") == []


def test_a_therapist_who_is_not_the_owner_is_assigned_whatever_they_ask(team):
    couple_id = create(
        team.therapist_id, team.practice_id, therapist_ids=[team.colleague_id, team.owner_id]
    )
    assert assigned(couple_id) == {team.therapist_id}


def test_the_owner_chooses_the_therapists(team):
    chosen = create(
        team.owner_id, team.practice_id, therapist_ids=[team.therapist_id, team.colleague_id]
    )
    twice = create(team.owner_id, team.practice_id, therapist_ids=[team.colleague_id] * 2)
    none_chosen = create(team.owner_id, team.practice_id, therapist_ids=[])
    assert assigned(chosen) == {team.therapist_id, team.colleague_id}
    assert assigned(twice) == {team.colleague_id}
    assert assigned(none_chosen) == {team.owner_id}


def test_the_owner_cannot_assign_unknown_inactive_or_other_practice_therapists(team):
    with unscoped():
        practice = db.session.get(User, team.owner_id).practice
    inactive_id = UserFactory(practice=practice, active=False).id
    commit()
    for ids in (
        [team.therapist_id, 999_999],
        [team.other_therapist_id],
        [team.therapist_id, team.other_owner_id],
        [inactive_id],
    ):
        error = refused(team.owner_id, team.practice_id, therapist_ids=ids)
        assert error.field == "therapist_ids"
    assert count(Couple) == count(CoupleTherapist) == 0


# --- update_couple --------------------------------------------------------------------------


def test_update_couple_changes_the_case_and_its_partners(team):
    couple_id = create(team.therapist_id, team.practice_id)
    update(
        team.therapist_id,
        team.practice_id,
        couple_id,
        label=" Ann and Ben ",
        presenting_concern="lie",
        start_date=date(2026, 4, 1),
        time_zone="Asia/Tokyo",
        therapist_notes=" notes ",
        status="paused",
        partners=[
            details(" Annie ", "mutual", "ann@example.com", "Asia/Tokyo"),
            details("Ben", "mutual", " Ben.New@Example.com ", "Asia/Tokyo"),
        ],
    )

    couple = load(couple_id)
    assert (couple.label, couple.presenting_concern, couple.status) == (
        "Ann and Ben",
        "lie",
        "paused",
    )
    assert (couple.start_date, couple.time_zone, couple.therapist_notes) == (
        date(2026, 4, 1),
        "Asia/Tokyo",
        "notes",
    )
    ann, ben = partners_of(couple_id)
    assert (ann.display_name, ann.email, ann.repair_role) == ("Annie", "ann@example.com", "mutual")
    assert (ben.email, ben.repair_role, ben.time_zone) == (
        "ben.new@example.com",
        "mutual",
        "Asia/Tokyo",
    )

    actions = [(e.action, e.target_type, e.target_id) for e in audit_events()[2:]]
    assert actions == [
        ("couple.paused", "Couple", couple_id),
        ("partner.email_changed", "Partner", ben.id),  # only the partner whose email changed
        ("couple.updated", "Couple", couple_id),
    ]
    assert {e.couple_id for e in audit_events()} == {couple_id}


def test_update_couple_refuses_bad_details_and_closing(team):
    couple_id = create(team.therapist_id, team.practice_id)
    for overrides, field in [
        ({"status": "closed"}, "status"),
        ({"partners": [details("Ann", "hurt"), details("Ben", "hurt")]}, "partner2.repair_role"),
        ({"label": ""}, "label"),
    ]:
        with pytest.raises(DomainError) as caught:
            update(team.therapist_id, team.practice_id, couple_id, **overrides)
        db.session.rollback()
        assert caught.value.field == field
    couple = load(couple_id)
    assert (couple.label, couple.status) == ("Ann & Ben", "active")


def test_a_closed_couple_must_be_reopened_before_editing(team):
    couple_id = create(team.therapist_id, team.practice_id)
    with acting(team.therapist_id, team.practice_id) as actor:
        couples.close_couple(actor, couples.get_couple(actor, couple_id))
        commit()
    with pytest.raises(DomainError) as caught:
        update(team.therapist_id, team.practice_id, couple_id, label="Changed")
    db.session.rollback()
    assert "Reopen" in caught.value.message
    assert load(couple_id).label == "Ann & Ben"


# --- close and reopen -----------------------------------------------------------------------


def open_portals(therapist_id: int, practice_id: int, couple_id: int) -> dict:
    """Give both partners a link and a portal session; return tokens and the session ids."""
    tokens, sessions = [], []
    with acting(therapist_id, practice_id) as actor:
        for partner in couples.get_couple(actor, couple_id).partners:
            _, token = portal_access.create_invite(actor, partner, email_it=False)
            tokens.append(token)
        commit()
    for token in tokens:
        portal_session = portal_access.start_session_from_invite(token, device="Phone")
        sessions.append((portal_session.id, portal_session.partner_id))
        commit()
    return {"tokens": tokens, "sessions": sessions}


def test_closing_a_case_ends_both_partners_links_and_portal_sessions(team):
    couple_id = create(team.therapist_id, team.practice_id)
    portals = open_portals(team.therapist_id, team.practice_id, couple_id)
    for session_id, partner_id in portals["sessions"]:
        assert portal_access.load_portal_session(session_id, partner_id, 1) is not None

    with acting(team.therapist_id, team.practice_id) as actor:
        couples.close_couple(actor, couples.get_couple(actor, couple_id))
        commit()

    couple = load(couple_id)
    assert couple.status == "closed"
    assert couple.closed_at is not None
    assert [p.session_version for p in partners_of(couple_id)] == [2, 2]
    for token in portals["tokens"]:
        with pytest.raises(portal_access.LinkNotUsable):
            portal_access.find_invite(token)
    for session_id, partner_id in portals["sessions"]:
        for version in (1, 2):
            assert portal_access.load_portal_session(session_id, partner_id, version) is None
    with unscoped():
        assert db.session.scalars(select(PortalSession.end_reason)).all() == ["couple closed"] * 2
        assert all(i.revoked_at is not None for i in db.session.scalars(select(PartnerInvite)))
    (closed,) = audit_events("couple.closed")
    assert (closed.couple_id, closed.actor_user_id) == (couple_id, team.therapist_id)
    assert [e.couple_id for e in audit_events("partner.access_revoked")] == [couple_id] * 2

    with acting(team.therapist_id, team.practice_id) as actor:  # closing again: nothing new
        couples.close_couple(actor, couples.get_couple(actor, couple_id))
        commit()
    assert len(audit_events("couple.closed")) == 1
    assert [p.session_version for p in partners_of(couple_id)] == [2, 2]


def test_reopening_a_case_makes_it_active_and_old_links_stay_void(team):
    couple_id = create(team.therapist_id, team.practice_id)
    portals = open_portals(team.therapist_id, team.practice_id, couple_id)
    with acting(team.therapist_id, team.practice_id) as actor:
        couples.close_couple(actor, couples.get_couple(actor, couple_id))
        commit()

    with acting(team.therapist_id, team.practice_id) as actor:
        couples.reopen_couple(actor, couples.get_couple(actor, couple_id))
        couples.reopen_couple(actor, couples.get_couple(actor, couple_id))  # already open
        commit()

    couple = load(couple_id)
    assert (couple.status, couple.closed_at) == ("active", None)
    (reopened,) = audit_events("couple.reopened")
    assert reopened.couple_id == couple_id
    for token in portals["tokens"]:
        with pytest.raises(portal_access.LinkNotUsable):
            portal_access.find_invite(token)
    for session_id, partner_id in portals["sessions"]:
        assert portal_access.load_portal_session(session_id, partner_id, 2) is None
    # Fresh links work again.
    fresh_tokens = open_portals(team.therapist_id, team.practice_id, couple_id)["tokens"]
    assert all(portal_access.find_invite(token) for token in fresh_tokens)


# --- assign_therapists ----------------------------------------------------------------------


def assign(user_id: int, practice_id: int, couple_id: int, therapist_ids: list[int]) -> None:
    with acting(user_id, practice_id) as actor:
        couple = couples.get_couple(actor, couple_id)
        couples.assign_therapists(actor, couple, therapist_ids)
        commit()


def test_the_owner_reassigns_a_couple_and_the_audit_names_who_was_added_and_removed(team):
    couple_id = create(team.owner_id, team.practice_id, therapist_ids=[team.therapist_id])

    assign(team.owner_id, team.practice_id, couple_id, [team.colleague_id, team.owner_id])

    assert assigned(couple_id) == {team.colleague_id, team.owner_id}
    last = audit_events("couple.assigned")[-1]
    assert last.couple_id == couple_id
    assert last.details == {
        "added": sorted([team.colleague_id, team.owner_id]),
        "removed": [team.therapist_id],
    }
    with acting(team.therapist_id, team.practice_id) as therapist, pytest.raises(NotFound):
        couples.get_couple(therapist, couple_id)
    with acting(team.colleague_id, team.practice_id) as colleague:
        assert couples.get_couple(colleague, couple_id).id == couple_id

    assign(team.owner_id, team.practice_id, couple_id, [team.owner_id, team.colleague_id])
    assert len(audit_events("couple.assigned")) == 2  # nothing changed: nothing recorded


def test_only_the_owner_assigns(team):
    couple_id = create(team.therapist_id, team.practice_id)
    with pytest.raises(NotFound):
        assign(team.therapist_id, team.practice_id, couple_id, [team.colleague_id])
    db.session.rollback()
    assert assigned(couple_id) == {team.therapist_id}
    assert len(audit_events("couple.assigned")) == 1


@pytest.mark.parametrize("which", ["nobody", "other practice", "unknown"])
def test_assignment_needs_therapists_of_the_practice(team, which):
    couple_id = create(team.owner_id, team.practice_id, therapist_ids=[team.therapist_id])
    ids = {"nobody": [], "other practice": [team.other_therapist_id], "unknown": [999_999]}
    with pytest.raises(DomainError) as caught:
        assign(team.owner_id, team.practice_id, couple_id, ids[which])
    db.session.rollback()
    assert caught.value.field == "therapist_ids"
    assert assigned(couple_id) == {team.therapist_id}


# --- who sees a couple ----------------------------------------------------------------------


def test_a_couple_is_seen_by_its_therapists_and_the_owner_only(team):
    couple_id = create(team.therapist_id, team.practice_id)
    with acting(team.therapist_id, team.practice_id) as therapist:
        assert couples.get_couple(therapist, couple_id).id == couple_id
    with acting(team.owner_id, team.practice_id) as owner:
        assert couples.get_couple(owner, couple_id).id == couple_id
    with acting(team.colleague_id, team.practice_id) as colleague, pytest.raises(NotFound):
        couples.get_couple(colleague, couple_id)
    for user_id in (team.other_owner_id, team.other_therapist_id):
        with acting(user_id, team.other_practice_id) as outsider, pytest.raises(NotFound):
            couples.get_couple(outsider, couple_id)


def test_the_owner_sees_a_couple_nobody_is_assigned_to(team):
    with unscoped():
        practice = db.session.get(User, team.owner_id).practice
    couple_id = CoupleFactory(practice=practice, therapist=None).id
    commit()
    with acting(team.owner_id, team.practice_id) as owner:
        assert couples.get_couple(owner, couple_id).id == couple_id
    with acting(team.therapist_id, team.practice_id) as therapist, pytest.raises(NotFound):
        couples.get_couple(therapist, couple_id)


def test_a_partner_is_found_only_through_their_own_couple(team):
    with unscoped():
        therapist = db.session.get(User, team.therapist_id)
    first = CoupleIds.of(CoupleFactory(therapist=therapist))
    second = CoupleIds.of(CoupleFactory(therapist=therapist))
    commit()
    with acting(team.therapist_id, team.practice_id) as actor:
        couple = couples.get_couple(actor, first.id)
        assert couples.get_partner(actor, couple, first.partner_ids[1]).id == first.partner_ids[1]
        with pytest.raises(NotFound):
            couples.get_partner(actor, couple, second.partner_ids[0])


# --- the caseload ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Caseload:
    ann: int  # active, the therapist
    cat: int  # paused, the colleague
    eve: int  # closed, both
    gus: int  # active, nobody


@pytest.fixture
def caseload_couples(team) -> Caseload:
    with unscoped():
        therapist = db.session.get(User, team.therapist_id)
        colleague = db.session.get(User, team.colleague_id)
        practice = therapist.practice
        ann = CoupleFactory(therapist=therapist, label="Ann & Ben")
        cat = CoupleFactory(therapist=colleague, label="Cat & Dan", status="paused")
        eve = CoupleFactory(
            therapist=therapist, also_assigned=[colleague], label="Eve & Fay", status="closed"
        )
        gus = CoupleFactory(practice=practice, therapist=None, label="Gus & Hal")
        other_owner = db.session.get(User, team.other_owner_id)
        CoupleFactory(therapist=other_owner, label="Ann & Ben elsewhere")
    built = Caseload(ann.id, cat.id, eve.id, gus.id)
    commit()
    return built


def labels(user_id: int, practice_id: int, **filters) -> list[str]:
    with acting(user_id, practice_id) as user:
        page = couples.caseload(user, **filters)
        assert page.total == len(page.couples)  # one page in these small caseloads
        return [c.label for c in page.couples]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("open", ["Ann & Ben", "Cat & Dan", "Gus & Hal"]),
        ("active", ["Ann & Ben", "Gus & Hal"]),
        ("paused", ["Cat & Dan"]),
        ("closed", ["Eve & Fay"]),
        ("all", ["Ann & Ben", "Cat & Dan", "Eve & Fay", "Gus & Hal"]),
    ],
)
def test_the_owners_caseload_by_status(team, caseload_couples, status, expected):
    assert labels(team.owner_id, team.practice_id, status=status) == expected


def test_the_caseload_is_open_couples_by_default(team, caseload_couples):
    assert labels(team.owner_id, team.practice_id) == ["Ann & Ben", "Cat & Dan", "Gus & Hal"]


def test_a_therapists_caseload_is_their_assigned_couples(team, caseload_couples):
    assert labels(team.therapist_id, team.practice_id) == ["Ann & Ben"]
    assert labels(team.therapist_id, team.practice_id, status="all") == ["Ann & Ben", "Eve & Fay"]
    assert labels(team.colleague_id, team.practice_id, status="all") == ["Cat & Dan", "Eve & Fay"]
    assert labels(team.other_owner_id, team.other_practice_id, status="all") == [
        "Ann & Ben elsewhere"
    ]


def test_the_caseload_filtered_by_therapist(team, caseload_couples):
    owner_view = labels(
        team.owner_id, team.practice_id, status="all", therapist_id=team.colleague_id
    )
    assert owner_view == ["Cat & Dan", "Eve & Fay"]
    # A therapist filtering by a colleague sees only what they could see anyway.
    own_view = labels(
        team.therapist_id, team.practice_id, status="all", therapist_id=team.colleague_id
    )
    assert own_view == ["Eve & Fay"]
    # Another practice's therapist as the filter matches nothing here.
    assert labels(team.owner_id, team.practice_id, therapist_id=team.other_therapist_id) == []


def test_search_matches_couple_labels_and_partner_names_in_any_case(team):
    with unscoped():
        therapist = db.session.get(User, team.therapist_id)
    CoupleFactory(therapist=therapist, label="The Okafors", partner1_name="Ngozi")
    CoupleFactory(therapist=therapist, label="Smiths", partner2_name="Okaf Jones")
    CoupleFactory(therapist=therapist, label="Unrelated", partner1_name="Nobody")
    CoupleFactory(therapist=therapist, label="Ørsted", partner2_name="Élodie")
    commit()

    def search(text: str) -> list[str]:
        return labels(team.therapist_id, team.practice_id, search=text)

    assert search("okaf") == ["Smiths", "The Okafors"]  # a label, and a partner's name
    assert search("NGOZI") == ["The Okafors"]  # a partner's name only
    assert search("  smiths  ") == ["Smiths"]
    assert search("zzz") == []
    assert search("ÉLODIE") == search("élodie") == ["Ørsted"]  # not only ASCII letters
    assert search("øRSTED") == ["Ørsted"]
    blank = search("   ")  # no search at all (the order of "Ø" depends on the collation)
    assert sorted(blank) == ["Smiths", "The Okafors", "Unrelated", "Ørsted"]


def test_search_takes_percent_underscore_and_backslash_literally(team):
    with unscoped():
        therapist = db.session.get(User, team.therapist_id)
    for label, name in [
        ("100% committed", "Pat"),
        ("1000 committed", "Lee"),
        ("Jo_Ann", "Kim"),
        ("JoXAnn", "Max"),
        ("Back\\slash", "Ray"),
        ("Backslash", "Sue"),
        ("Plain", "Dee_Dee"),
        ("Other", "DeeXDee"),
    ]:
        CoupleFactory(therapist=therapist, label=label, partner1_name=name)
    commit()

    def search(text: str) -> list[str]:
        return labels(team.therapist_id, team.practice_id, search=text)

    assert search("0%") == ["100% committed"]
    assert search("%") == ["100% committed"]
    assert search("o_a") == ["Jo_Ann"]
    assert search("_") == ["Jo_Ann", "Plain"]  # a label, and a partner's name
    assert search("e_d") == ["Plain"]
    assert search("k\\s") == ["Back\\slash"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("label", ["Alpha", "Bravo", "Charlie", "Delta"]),
        ("recent", ["Charlie", "Bravo", "Delta", "Alpha"]),  # never active: last
        ("start", ["Charlie", "Alpha", "Delta", "Bravo"]),  # same start: newest first
        ("status", ["Bravo", "Charlie", "Alpha", "Delta"]),  # active, then paused; by name
    ],
)
def test_each_sort(team, sort, expected):
    def at(day: int) -> datetime:
        return datetime(2026, 3, day, 10, tzinfo=UTC)

    with unscoped():
        therapist = db.session.get(User, team.therapist_id)
    # Created in an order that matches none of the sorts.
    for label, start, status, activity in [
        ("Charlie", date(2026, 3, 5), "active", at(2)),
        ("Bravo", date(2026, 1, 10), "active", at(1)),
        ("Delta", date(2026, 1, 10), "paused", at(1) - timedelta(days=28)),
        ("Alpha", date(2026, 2, 1), "paused", None),
    ]:
        CoupleFactory(
            therapist=therapist,
            label=label,
            start_date=start,
            status=status,
            last_activity_at=activity,
        )
    commit()
    assert labels(team.therapist_id, team.practice_id, sort=sort) == expected


def test_the_caseload_pages_by_fifty_with_the_total_on_every_page(team):
    bulk_couples(team.practice_id, 120, therapist_ids=[team.therapist_id, team.colleague_id])
    commit()
    assert PAGE_SIZE == 50
    every = [f"Bulk couple {n:04d}" for n in range(120)]

    with acting(team.owner_id, team.practice_id) as owner:
        pages = [couples.caseload(owner, page=n) for n in (1, 2, 3, 4)]
        first_again = couples.caseload(owner, page=0)
        matching = [
            couples.caseload(owner, search="couple 01", page=n, per_page=15) for n in (1, 2)
        ]

    assert [[c.label for c in p.couples] for p in pages[:3]] == [
        every[:50],
        every[50:100],
        every[100:],
    ]
    assert [(p.page, p.total, p.pages, p.per_page) for p in pages] == [
        (1, 120, 3, 50),
        (2, 120, 3, 50),
        (3, 120, 3, 50),
        (4, 120, 3, 50),
    ]
    assert pages[3].couples == []  # past the end: empty, and still the right total
    assert ([c.label for c in first_again.couples], first_again.page) == (every[:50], 1)
    assert [(len(p.couples), p.total, p.pages) for p in matching] == [(15, 20, 2), (5, 20, 2)]


def test_an_empty_caseload(team):
    with acting(team.therapist_id, team.practice_id) as therapist:
        page = couples.caseload(therapist)
    assert (page.couples, page.total, page.pages) == ([], 0, 1)


# --- the caseload page: a fixed number of SQL statements ------------------------------------


COUPLE_LINK = re.compile(r'href="/couples/\d+"')


def statements_for(client, url: str) -> tuple[int, str]:
    """The number of SQL statements a GET sends, and the page it renders."""
    statements: list[str] = []

    def count_statement(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count_statement)
    try:
        response = client.get(url)
    finally:
        event.remove(db.engine, "before_cursor_execute", count_statement)
    assert response.status_code == 200, url
    return len(statements), response.get_data(as_text=True)


def test_the_caseload_page_sends_the_same_few_statements_at_10_and_at_500_couples(team, client):
    therapists = [team.therapist_id, team.colleague_id, team.owner_id]
    bulk_couples(team.practice_id, 10, therapist_ids=therapists, invited_by_id=team.owner_id)
    commit()
    client.login(team.owner_email)
    urls = [
        "/couples",
        "/couples?status=all&sort=recent",
        f"/couples?q=bulk&therapist={team.colleague_id}&sort=start",
    ]
    small = {}
    for url in urls:
        small[url], html = statements_for(client, url)
        if url == "/couples":
            assert "10 couples" in html
            assert len(COUPLE_LINK.findall(html)) == 10

    bulk_couples(
        team.practice_id, 490, therapist_ids=therapists, invited_by_id=team.owner_id, first=10
    )
    commit()
    large = {}
    for url in urls:
        large[url], html = statements_for(client, url)
        if url == "/couples":
            assert "500 couples" in html
            assert len(COUPLE_LINK.findall(html)) == 50
            # What the extra queries load is on the page: partners, their links, therapists.
            assert "Hurt 0" in html and "Broke 0" in html
            assert "Invited · not opened yet" in html and "Bea Therapist" in html

    assert large == small
    assert max(large.values()) <= 6, large
