"""practice.services.homework, called directly: assigning, drafting, submitting, reviewing and
releasing homework, with the privacy rules between partners.

Real database; nothing of ours is mocked. Each test acts inside the practice, as a request
would after its practice has been set.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from practice.extensions import db
from practice.homework import KINDS, get_kind
from practice.models import AuditEvent, Couple, Notice, Partner, User
from practice.models.homework import Assignment, HomeworkResponse, ResponseTransition
from practice.services import DomainError, NotFound
from practice.services import homework as hw
from practice.services.homework import EditConflict, Incomplete, InvalidContent
from practice.tenancy import practice_context
from tests.couple_factories import CoupleFactory
from tests.factories import OwnerFactory, UserFactory

pytestmark = pytest.mark.usefixtures("app")

APOLOGY = {
    "what_i_did": "I lied to you for months about the messages I was sending.",
    "how_it_hurt": "It made you doubt your own memory and feel alone in our home.",
    "responsibility": "It was my choice and mine alone. I take full responsibility.",
    "amends": "I will show you my phone every Sunday evening for the next 3 months.",
}
BOUNDARIES = {
    "proposals": [
        {
            "domain": "communication",
            "agreement": "Tell each other about any message from an ex within 24 hours.",
            "time_frame": "Three months",
            "review_date": "2026-09-01",
        }
    ]
}


# --- set-up ---------------------------------------------------------------------------------


@dataclass
class World:
    """One practice: its owner, a therapist, a couple (Ann hurt, Ben broke trust) assigned to
    the therapist, and a second couple (Cy, Di) of the same practice assigned to another."""

    owner: User
    therapist: User
    other_therapist: User
    couple: Couple
    other_couple: Couple

    @property
    def ann(self) -> Partner:
        return self.couple.partners[0]

    @property
    def ben(self) -> Partner:
        return self.couple.partners[1]

    @property
    def cy(self) -> Partner:
        return self.other_couple.partners[0]


def build_world() -> tuple[int, dict]:
    owner = OwnerFactory()
    therapist = UserFactory(practice=owner.practice)
    other_therapist = UserFactory(practice=owner.practice)
    couple = CoupleFactory(therapist=therapist, partner1_name="Ann", partner2_name="Ben")
    other = CoupleFactory(therapist=other_therapist, partner1_name="Cy", partner2_name="Di")
    ids = {
        "owner": owner.id,
        "therapist": therapist.id,
        "other_therapist": other_therapist.id,
        "couple": couple.id,
        "other_couple": other.id,
    }
    practice_id = owner.practice_id
    db.session.commit()
    return practice_id, ids


@pytest.fixture
def world() -> Iterator[World]:
    practice_id, ids = build_world()
    with practice_context(practice_id):
        yield World(
            owner=db.session.get(User, ids["owner"]),
            therapist=db.session.get(User, ids["therapist"]),
            other_therapist=db.session.get(User, ids["other_therapist"]),
            couple=db.session.get(Couple, ids["couple"]),
            other_couple=db.session.get(Couple, ids["other_couple"]),
        )


def assign(w: World, kind: str, mode: str, *, partner: Partner | None = None, **kwargs):
    kwargs.setdefault("instructions", "Please do this.")
    kwargs.setdefault("due_date", None)
    return hw.assign(
        w.therapist,
        kwargs.pop("couple", w.couple),
        kind_key=kind,
        mode=mode,
        partner_id=partner.id if partner else None,
        **kwargs,
    )


def apology_for(w: World, partner: Partner) -> HomeworkResponse:
    (response,) = assign(w, "apology", "one", partner=partner).responses
    return response


def other_couples_apology(w: World) -> HomeworkResponse:
    """An apology for Cy, of the other couple, assigned by the other therapist."""
    (response,) = hw.assign(
        w.other_therapist,
        w.other_couple,
        kind_key="apology",
        mode="one",
        partner_id=w.cy.id,
        instructions="",
        due_date=None,
    ).responses
    return response


def stored(response_id: int) -> HomeworkResponse:
    """The response as the database holds it now (not what the session has in memory)."""
    db.session.flush()
    db.session.expire_all()
    return db.session.get(HomeworkResponse, response_id)


def steps(response: HomeworkResponse) -> list[tuple[str, str, int | None, int | None]]:
    return [
        (t.from_status, t.to_status, t.actor_user_id, t.actor_partner_id)
        for t in hw.transitions(response)
    ]


def audit_events(action: str) -> list[AuditEvent]:
    db.session.flush()
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )


def submitted_apology(w: World, partner: Partner) -> HomeworkResponse:
    response = apology_for(w, partner)
    hw.submit(partner, response, content=APOLOGY, base_version=response.version)
    return response


# --- assigning -------------------------------------------------------------------------------


def test_the_four_kinds_are_registered():
    assert set(KINDS) >= {"apology", "boundaries", "processing_window", "repair_contract"}


@pytest.mark.parametrize(
    ("kind", "mode", "expected_audience"),
    [
        ("apology", "one", "private"),
        ("apology", "each", "private"),
        ("boundaries", "each", "private"),
        ("boundaries", "one", "private"),
        ("processing_window", "joint", "couple"),
        ("repair_contract", "joint", "couple"),
    ],
)
def test_allowed_modes_create_one_piece_of_work_per_author(world, kind, mode, expected_audience):
    assignment = assign(world, kind, mode, partner=world.ben if mode == "one" else None)

    authors = [r.partner_id for r in assignment.responses]
    expected = {
        "one": [world.ben.id],
        "each": [world.ann.id, world.ben.id],
        "joint": [None],
    }[mode]
    assert authors == expected
    for response in assignment.responses:
        assert response.status == "assigned"
        assert response.version == 0
        assert response.audience == expected_audience
        assert response.kind == kind
        assert response.couple_id == world.couple.id
        assert response.content == get_kind(kind).empty()
    (event,) = audit_events("homework.assigned")
    assert (event.actor_user_id, event.target_id, event.couple_id) == (
        world.therapist.id,
        assignment.id,
        world.couple.id,
    )
    assert event.details == {"kind": kind, "mode": mode}


@pytest.mark.parametrize(
    ("kind", "mode"),
    [
        ("apology", "joint"),
        ("processing_window", "one"),
        ("processing_window", "each"),
        ("repair_contract", "one"),
        ("repair_contract", "each"),
        ("apology", "both"),
    ],
)
def test_a_mode_the_kind_does_not_allow_is_refused(world, kind, mode):
    with pytest.raises(DomainError) as raised:
        assign(world, kind, mode, partner=world.ann)
    assert raised.value.field == "mode"
    assert db.session.scalar(select(func.count()).select_from(Assignment)) == 0


def test_an_unknown_kind_is_refused(world):
    with pytest.raises(DomainError) as raised:
        assign(world, "poetry", "one", partner=world.ann)
    assert raised.value.field == "kind"


def test_one_partner_mode_needs_a_partner_of_this_couple(world):
    with pytest.raises(DomainError) as raised:
        assign(world, "apology", "one")
    assert raised.value.field == "partner_id"
    with pytest.raises(DomainError) as raised:
        assign(world, "apology", "one", partner=world.cy)
    assert raised.value.field == "partner_id"
    assert db.session.scalar(select(func.count()).select_from(HomeworkResponse)) == 0


def test_a_due_date_in_the_past_is_refused_today_is_fine(world):
    today = hw.couple_today(world.couple)
    with pytest.raises(DomainError) as raised:
        assign(world, "apology", "one", partner=world.ben, due_date=today - timedelta(days=1))
    assert raised.value.field == "due_date"
    assert db.session.scalar(select(func.count()).select_from(Assignment)) == 0

    assignment = assign(world, "apology", "one", partner=world.ben, due_date=today)
    assert assignment.due_date == today


def test_a_closed_couple_gets_no_homework(world):
    world.couple.status = "closed"
    db.session.flush()
    with pytest.raises(DomainError):
        assign(world, "processing_window", "joint")
    assert db.session.scalar(select(func.count()).select_from(Assignment)) == 0


def test_the_apology_goes_by_default_to_the_partner_who_broke_trust(world):
    assert world.ben.repair_role == "broke_trust"
    assert hw.default_partner(world.couple, "apology").id == world.ben.id


def test_the_default_partner_follows_the_role_not_the_position():
    owner = OwnerFactory()
    couple = CoupleFactory(practice=owner.practice, roles=("broke_trust", "hurt"))
    with practice_context(owner.practice_id):
        assert hw.default_partner(couple, "apology").id == couple.partners[0].id


def test_default_instructions_come_from_the_practice_template_once_set(world):
    kind = get_kind("apology")
    assert hw.default_instructions("apology") == kind.default_instructions
    assert kind.default_instructions

    hw.set_default_instructions(world.owner, "apology", "  Write it in your own words.  ")
    assert hw.default_instructions("apology") == "Write it in your own words."
    # other kinds keep their own
    assert hw.default_instructions("boundaries") == get_kind("boundaries").default_instructions

    hw.set_default_instructions(world.owner, "apology", "Second version.")
    assert hw.default_instructions("apology") == "Second version."
    assert len(audit_events("homework.instructions_changed")) == 2


def test_only_the_owner_sets_default_instructions(world):
    with pytest.raises(NotFound):
        hw.set_default_instructions(world.therapist, "apology", "Mine now.")
    assert hw.default_instructions("apology") == get_kind("apology").default_instructions


def test_default_instructions_are_per_practice(world):
    hw.set_default_instructions(world.owner, "apology", "Our practice's words.")
    db.session.commit()
    other_owner = OwnerFactory()
    other_practice_id = other_owner.practice_id
    db.session.commit()
    with practice_context(other_practice_id):
        assert hw.default_instructions("apology") == get_kind("apology").default_instructions


def test_assigned_instructions_are_stored_per_assignment(world):
    assignment = assign(world, "apology", "one", partner=world.ben, instructions="  Just this.  ")
    assert assignment.instructions == "Just this."


# --- lifecycle -------------------------------------------------------------------------------


def test_the_whole_lifecycle_is_recorded_with_its_actors(world):
    ben, therapist = world.ben, world.therapist
    response = apology_for(world, ben)

    hw.save_draft(ben, response, content={"what_i_did": "I lied."}, base_version=0)
    assert response.status == "draft"
    hw.submit(ben, response, content=APOLOGY, base_version=1)
    assert response.status == "submitted"
    assert response.submitted_at is not None
    hw.return_for_revision(therapist, response, "  Say more about how it hurt.  ")
    assert response.status == "returned"
    assert [c.body for c in response.comments] == ["Say more about how it hurt."]
    revised = dict(APOLOGY, how_it_hurt="You stopped sleeping and stopped trusting yourself.")
    hw.save_draft(ben, response, content=revised, base_version=response.version)
    hw.submit(ben, response, content=revised, base_version=response.version)
    assert response.status == "submitted"
    hw.mark_reviewed(therapist, response)
    assert response.status == "reviewed"
    assert response.reviewed_at is not None
    hw.mark_completed(therapist, response)
    assert response.status == "completed"
    assert response.completed_at is not None

    b, t = ben.id, therapist.id
    assert steps(response) == [
        ("assigned", "draft", None, b),
        ("draft", "submitted", None, b),
        ("submitted", "returned", t, None),
        ("returned", "submitted", None, b),
        ("submitted", "reviewed", t, None),
        ("reviewed", "completed", t, None),
    ]
    names = [t.actor_name for t in hw.transitions(response)]
    assert names[0] == "Ben"
    assert names[2] == therapist.name
    saved = stored(response.id)
    assert saved.content == revised
    assert saved.status == "completed"
    actions = [
        "homework.submitted",
        "homework.returned",
        "homework.reviewed",
        "homework.completed",
    ]
    assert [len(audit_events(a)) for a in actions] == [2, 1, 1, 1]


def test_returning_needs_a_comment(world):
    response = submitted_apology(world, world.ben)
    with pytest.raises(DomainError) as raised:
        hw.return_for_revision(world.therapist, response, "   ")
    assert raised.value.field == "comment"
    assert response.status == "submitted"


def test_review_steps_out_of_order_are_refused(world):
    response = apology_for(world, world.ben)
    with pytest.raises(DomainError):
        hw.mark_reviewed(world.therapist, response)
    with pytest.raises(DomainError):
        hw.return_for_revision(world.therapist, response, "More please.")
    with pytest.raises(DomainError):
        hw.mark_completed(world.therapist, response)
    assert response.status == "assigned"
    assert steps(response) == []


def test_submitted_work_is_no_longer_editable_by_its_author(world):
    response = submitted_apology(world, world.ben)
    with pytest.raises(DomainError) as raised:
        hw.save_draft(world.ben, response, content=APOLOGY, base_version=response.version)
    assert not isinstance(raised.value, NotFound)
    assert stored(response.id).status == "submitted"


# --- saving drafts ------------------------------------------------------------------------------


def test_each_save_bumps_the_version_and_records_who_saved(world):
    response = apology_for(world, world.ben)
    hw.save_draft(world.ben, response, content={"what_i_did": "one"}, base_version=0)
    hw.save_draft(world.ben, response, content={"what_i_did": "two"}, base_version=1)

    saved = stored(response.id)
    assert saved.version == 2
    assert saved.content["what_i_did"] == "two"
    assert saved.last_saved_by_partner_id == world.ben.id
    assert saved.last_saved_at is not None
    # only the first save is a change of state
    assert steps(saved) == [("assigned", "draft", None, world.ben.id)]


def test_a_stale_save_is_a_conflict_carrying_both_texts_and_stores_nothing(world):
    (joint,) = assign(world, "repair_contract", "joint").responses
    ann_text = dict(get_kind("repair_contract").empty(), support="Ann's words")
    ben_text = dict(get_kind("repair_contract").empty(), support="Ben's words")
    hw.save_draft(world.ann, joint, content=ann_text, base_version=0)

    with pytest.raises(EditConflict) as raised:
        hw.save_draft(world.ben, joint, content=ben_text, base_version=0)

    assert raised.value.current_content["support"] == "Ann's words"
    assert raised.value.current_version == 1
    assert raised.value.attempted["support"] == "Ben's words"
    saved = stored(joint.id)
    assert saved.version == 1
    assert saved.content["support"] == "Ann's words"
    assert saved.last_saved_by_partner_id == world.ann.id


def test_a_save_that_loses_the_race_in_the_database_is_a_conflict(world):
    """Another session saved after this one read the row: the guarded UPDATE catches it."""
    (joint,) = assign(world, "repair_contract", "joint").responses
    db.session.commit()
    # the other partner's save, written behind this session's back
    db.session.execute(
        update(HomeworkResponse)
        .where(HomeworkResponse.id == joint.id)
        .values(version=1, content=dict(get_kind("repair_contract").empty(), support="Ann"))
        .execution_options(synchronize_session=False)
    )
    assert joint.version == 0  # this session still believes version 0

    ben_text = dict(get_kind("repair_contract").empty(), support="Ben")
    with pytest.raises(EditConflict) as raised:
        hw.save_draft(world.ben, joint, content=ben_text, base_version=0)

    assert raised.value.current_content["support"] == "Ann"
    assert raised.value.attempted["support"] == "Ben"
    saved = stored(joint.id)
    assert (saved.version, saved.content["support"]) == (1, "Ann")


@pytest.mark.parametrize(
    "content",
    [
        "just a string",
        ["a", "list"],
        None,
        {"what_i_did": 42},
        {"what_i_did": "fine", "password": "unknown field"},
        {"what_i_did": "x" * 5001},
        {"amends": "y" * 100_000},
    ],
    ids=["string", "list", "none", "number", "unknown-key", "over-limit", "far-over-limit"],
)
def test_invalid_or_oversized_content_stores_nothing(world, content):
    response = apology_for(world, world.ben)
    hw.save_draft(world.ben, response, content={"what_i_did": "kept"}, base_version=0)

    with pytest.raises(InvalidContent) as raised:
        hw.save_draft(world.ben, response, content=content, base_version=1)
    assert raised.value.errors

    saved = stored(response.id)
    assert saved.version == 1
    assert saved.content["what_i_did"] == "kept"
    assert saved.status == "draft"


def test_a_field_at_its_limit_is_kept_whole(world):
    response = apology_for(world, world.ben)
    text = "é" * 5000
    hw.save_draft(world.ben, response, content={"what_i_did": text}, base_version=0)
    assert stored(response.id).content["what_i_did"] == text


def test_invalid_joint_content_stores_nothing(world):
    (window,) = assign(world, "processing_window", "joint").responses
    bad = {"slots": [{"weekday": 9, "start": "25:00", "minutes": 5}], "code_word": "pear"}
    with pytest.raises(InvalidContent) as raised:
        hw.save_draft(world.ann, window, content=bad, base_version=0)
    assert set(raised.value.errors) == {"slots.0.weekday", "slots.0.start", "slots.0.minutes"}
    saved = stored(window.id)
    assert (saved.version, saved.status, saved.content) == (
        0,
        "assigned",
        {"slots": [], "code_word": ""},
    )


def test_submitting_incomplete_work_saves_the_draft_and_names_the_gaps(world):
    response = apology_for(world, world.ben)
    partial = {"what_i_did": "I lied about where I was.", "how_it_hurt": ""}

    with pytest.raises(Incomplete) as raised:
        hw.submit(world.ben, response, content=partial, base_version=0)

    assert set(raised.value.errors) == {"how_it_hurt", "responsibility", "amends"}
    saved = stored(response.id)
    assert saved.status == "draft"
    assert saved.version == 1
    assert saved.content["what_i_did"] == "I lied about where I was."
    assert saved.submitted_at is None
    assert audit_events("homework.submitted") == []


def test_submitting_a_boundary_worksheet_needs_one_proposal(world):
    ann_sheet, _ = assign(world, "boundaries", "each").responses
    with pytest.raises(Incomplete) as raised:
        hw.submit(world.ann, ann_sheet, content={"proposals": []}, base_version=0)
    assert set(raised.value.errors) == {"proposals"}
    hw.submit(world.ann, ann_sheet, content=BOUNDARIES, base_version=1)
    assert stored(ann_sheet.id).status == "submitted"


# --- privacy between partners ----------------------------------------------------------------


def test_a_partner_cannot_edit_the_other_partners_work(world):
    ann_sheet, ben_sheet = assign(world, "boundaries", "each").responses
    with pytest.raises(NotFound):
        hw.save_draft(world.ann, ben_sheet, content=BOUNDARIES, base_version=0)
    with pytest.raises(NotFound):
        hw.submit(world.ann, ben_sheet, content=BOUNDARIES, base_version=0)
    saved = stored(ben_sheet.id)
    assert (saved.version, saved.status, saved.content) == (0, "assigned", {"proposals": []})


def test_a_partner_never_sees_the_others_private_draft_nor_that_it_exists(world):
    ann, ben = world.ann, world.ben
    response = apology_for(world, ben)
    hw.save_draft(ben, response, content={"what_i_did": "secret"}, base_version=0)

    assert [r.id for r in hw.partner_responses(ben)] == [response.id]
    assert hw.partner_responses(ann) == []
    with pytest.raises(NotFound):
        hw.get_partner_response(ann, response.public_id)
    assert hw.get_partner_response(ben, response.public_id).id == response.id
    # a partner of another couple does not find it either
    with pytest.raises(NotFound):
        hw.get_partner_response(world.cy, response.public_id)
    with pytest.raises(NotFound):
        hw.get_partner_response(ann, "no-such-public-id-at-all")


def test_a_submitted_private_apology_stays_private_until_released(world):
    ann, ben = world.ann, world.ben
    response = submitted_apology(world, ben)

    assert hw.partner_responses(ann) == []
    with pytest.raises(NotFound):
        hw.get_partner_response(ann, response.public_id)

    hw.release(world.therapist, response)
    db.session.flush()

    assert response.audience == "couple"
    assert response.released_at is not None
    assert [r.id for r in hw.partner_responses(ann)] == [response.id]
    assert hw.get_partner_response(ann, response.public_id).content == APOLOGY
    # still out of reach for the other couple
    with pytest.raises(NotFound):
        hw.get_partner_response(world.cy, response.public_id)
    (event,) = audit_events("homework.released")
    assert (event.actor_user_id, event.target_id, event.couple_id) == (
        world.therapist.id,
        response.id,
        world.couple.id,
    )
    # The partner it was written to hears that it is there, and nothing of what it says;
    # its author gets no notice.
    notices = db.session.scalars(select(Notice).where(Notice.kind == "homework.released")).all()
    assert [(n.recipient_partner_id, n.link) for n in notices] == [
        (ann.id, f"/portal/homework/{response.public_id}")
    ]
    # releasing again changes nothing and records nothing more
    hw.release(world.therapist, response)
    assert len(audit_events("homework.released")) == 1
    assert db.session.scalar(select(func.count()).select_from(Notice)) == 1


@pytest.mark.parametrize("state", ["assigned", "draft", "returned"])
def test_a_draft_cannot_be_released(world, state):
    response = apology_for(world, world.ben)
    if state != "assigned":
        hw.submit(world.ben, response, content=APOLOGY, base_version=0)
        if state == "draft":
            response.status = "draft"
        else:
            hw.return_for_revision(world.therapist, response, "Again please.")
    with pytest.raises(DomainError):
        hw.release(world.therapist, response)
    assert response.audience == "private"
    assert audit_events("homework.released") == []
    assert hw.partner_responses(world.ann) == []


def test_boundary_worksheets_stay_private_to_each_author(world):
    ann_sheet, ben_sheet = assign(world, "boundaries", "each").responses
    hw.submit(world.ann, ann_sheet, content=BOUNDARIES, base_version=0)
    hw.submit(world.ben, ben_sheet, content=BOUNDARIES, base_version=0)
    assert [r.id for r in hw.partner_responses(world.ann)] == [ann_sheet.id]
    assert [r.id for r in hw.partner_responses(world.ben)] == [ben_sheet.id]


def test_joint_documents_are_seen_and_edited_by_both_partners_only(world):
    (contract,) = assign(world, "repair_contract", "joint").responses
    assert [r.id for r in hw.partner_responses(world.ann)] == [contract.id]
    assert [r.id for r in hw.partner_responses(world.ben)] == [contract.id]
    assert hw.partner_can_edit(world.ann, contract)
    assert hw.partner_can_edit(world.ben, contract)
    assert not hw.partner_can_edit(world.cy, contract)
    assert hw.partner_responses(world.cy) == []
    with pytest.raises(NotFound):
        hw.get_partner_response(world.cy, contract.public_id)


def test_the_therapist_reaches_work_only_through_its_own_couple(world):
    response = apology_for(world, world.ben)
    assert hw.get_therapist_response(world.therapist, world.couple, response.id) is response
    with pytest.raises(NotFound):
        hw.get_therapist_response(world.therapist, world.other_couple, response.id)


def test_transitions_are_stored_rows_with_their_actor(world):
    response = apology_for(world, world.ben)
    hw.submit(world.ben, response, content=APOLOGY, base_version=0)
    rows = db.session.scalars(
        select(ResponseTransition).where(ResponseTransition.response_id == response.id)
    ).all()
    assert {(r.from_status, r.to_status, r.actor_partner_id) for r in rows} == {
        ("assigned", "draft", world.ben.id),
        ("draft", "submitted", world.ben.id),
    }
    assert all(r.at is not None for r in rows)


def test_every_save_stores_what_the_coach_counts(world):
    response = apology_for(world, world.ben)
    assert (response.coach_flags, response.coach_missing) == (0, 0)
    hw.save_draft(
        world.ben,
        response,
        content={**APOLOGY, "responsibility": "I'm sorry if it upset you.", "amends": ""},
        base_version=0,
    )
    flags, missing = get_kind("apology").coach_counts(response.content)
    assert flags >= 1 and missing == 1
    assert (response.coach_flags, response.coach_missing) == (flags, missing)
    hw.save_draft(world.ben, response, content=APOLOGY, base_version=1)
    assert (response.coach_flags, response.coach_missing) == get_kind("apology").coach_counts(
        APOLOGY
    )
