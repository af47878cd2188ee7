"""practice.services.agreements, called directly: proposals with the coach's notes, merging
them, each partner's answer (accept, or ask to talk, with a note only the therapist reads),
notices and the audit trail, and the dashboard's review dates.

Real database; nothing of ours is mocked.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select

from practice.extensions import db
from practice.models import AuditEvent, Notice
from practice.models.homework import Agreement, AgreementAcceptance, HomeworkResponse
from practice.services import DomainError, NotFound, agreements
from practice.services import homework as hw
from tests.services.test_homework import BOUNDARIES, World, assign, audit_events
from tests.services.test_homework import world as world  # noqa: F401 - the fixture

pytestmark = pytest.mark.usefixtures("app")

LINKS = {"therapist_link": "/couples/1/agreements", "partner_link": "/portal#agreements"}
NOTE = "I agreed because I was scared of another row; I am not sure I can keep this."


def submitted_sheets(w: World) -> tuple[HomeworkResponse, HomeworkResponse]:
    ann_sheet, ben_sheet = assign(w, "boundaries", "each").responses
    ann_content = {
        "proposals": [
            {"domain": "social_media", "agreement": "No private messaging apps.", "time_frame": ""},
            {"domain": "communication", "agreement": "Text when running late.", "time_frame": ""},
            {"domain": "other", "agreement": "   ", "time_frame": ""},
            {"domain": "privacy", "agreement": "I check your phone whenever I want"},
        ]
    }
    hw.submit(w.ann, ann_sheet, content=ann_content, base_version=0)
    hw.submit(w.ben, ben_sheet, content=BOUNDARIES, base_version=0)
    return ann_sheet, ben_sheet


def add(w: World, text="Share locations while apart.", **kwargs) -> Agreement:
    values = {"domain": "privacy", "text": text, "time_frame": "", "review_date": None}
    values.update(kwargs)
    return agreements.add_agreement(w.therapist, w.couple, **values)


def answers(agreement: Agreement) -> dict[int, tuple[str, str | None]]:
    db.session.flush()
    return {
        a.partner_id: (a.decision, a.note)
        for a in db.session.scalars(
            select(AgreementAcceptance).where(AgreementAcceptance.agreement_id == agreement.id)
        )
    }


def notices_sent() -> list[tuple[str, int | None, int | None, str]]:
    db.session.flush()
    return [
        (n.kind, n.recipient_user_id, n.recipient_partner_id, n.link)
        for n in db.session.scalars(select(Notice).order_by(Notice.id))
    ]


# --- proposals and merging -----------------------------------------------------------------------


def test_proposals_for_lists_submitted_proposals_by_domain_with_the_coach_s_notes(world):
    ann_sheet, ben_sheet = submitted_sheets(world)
    draft_sheet = assign(world, "boundaries", "one", partner=world.ann).responses[0]
    hw.save_draft(world.ann, draft_sheet, content=BOUNDARIES, base_version=0)

    proposals = agreements.proposals_for(world.couple)

    assert [(p.key, p.domain, p.agreement) for p in proposals] == [
        (f"{ann_sheet.id}:1", "communication", "Text when running late."),
        (f"{ben_sheet.id}:0", "communication", BOUNDARIES["proposals"][0]["agreement"]),
        (f"{ann_sheet.id}:3", "privacy", "I check your phone whenever I want"),
        (f"{ann_sheet.id}:0", "social_media", "No private messaging apps."),
    ]
    assert proposals[1].review_date == "2026-09-01"
    assert proposals[1].time_frame == "Three months"
    # the worksheet's coach, on each proposal on its own
    assert [[f.code for f in p.findings] for p in proposals] == [
        [],
        [],
        ["transparency-no-end", "checking-one-sided", "checking-open-ended"],
        [],
    ]
    assert {f.part for f in proposals[2].findings} == {"text", "review_date"}
    assert not any(p.used for p in proposals)
    assert agreements.proposals_for(world.other_couple) == []


def test_prefill_takes_what_the_chosen_proposals_say(world):
    ann_sheet, ben_sheet = submitted_sheets(world)
    one = agreements.prefill(world.couple, [f"{ben_sheet.id}:0"])
    assert (one.domain, one.text, one.time_frame, one.review_date, one.merged_from) == (
        "communication",
        BOUNDARIES["proposals"][0]["agreement"],
        "Three months",
        date(2026, 9, 1),
        f"{ben_sheet.id}:0",
    )
    both = agreements.prefill(world.couple, [f"{ann_sheet.id}:1", f"{ben_sheet.id}:0"])
    assert both.domain == "communication"
    assert both.text == "Text when running late.\n\n" + BOUNDARIES["proposals"][0]["agreement"]
    assert both.time_frame == "Three months"
    assert both.merged_from == f"{ann_sheet.id}:1,{ben_sheet.id}:0"
    # a blank proposal, one out of range, or another couple's work fills in nothing
    assert agreements.prefill(world.couple, [f"{ann_sheet.id}:2"]) is None
    assert agreements.prefill(world.couple, [f"{ann_sheet.id}:99"]) is None
    assert agreements.prefill(world.other_couple, [f"{ben_sheet.id}:0"]) is None


@pytest.mark.parametrize(
    ("raw", "keys"),
    [
        ("12:0", ["12:0"]),
        ("12:0,13:2", ["12:0", "13:2"]),
        (["12:0", "12:0", "007:1"], ["12:0", "7:1"]),
        ("", []),
        (None, []),
        ("12", []),
        ("a:b,12:-1, 12:3 ", ["12:3"]),
        ("9" * 30 + ":1", []),
    ],
)
def test_proposal_keys_are_parsed_strictly(raw, keys):
    assert agreements.parse_keys(raw) == keys


def test_an_agreement_remembers_the_proposals_it_was_made_from(world):
    ann_sheet, ben_sheet = submitted_sheets(world)
    agreement = add(
        world,
        "Tell each other about any message from an ex within 24 hours.",
        domain="communication",
        merged_from=[f"{ann_sheet.id}:1", f"{ben_sheet.id}:0"],
    )
    assert agreement.merged_from == [[ann_sheet.id, 1], [ben_sheet.id, 0]]
    used = {p.key: p.used for p in agreements.proposals_for(world.couple)}
    assert used == {
        f"{ann_sheet.id}:1": True,
        f"{ben_sheet.id}:0": True,
        f"{ann_sheet.id}:3": False,
        f"{ann_sheet.id}:0": False,
    }
    agreements.retire_agreement(world.therapist, agreement)
    assert not any(p.used for p in agreements.proposals_for(world.couple))


@pytest.mark.parametrize("key", ["99999:0", "{ann}:2", "{ann}:40", "{other}:0"])
def test_an_agreement_is_not_made_from_someone_else_s_proposal(world, key):
    ann_sheet, _ = submitted_sheets(world)
    (other_sheet,) = hw.assign(
        world.other_therapist,
        world.other_couple,
        kind_key="boundaries",
        mode="one",
        partner_id=world.cy.id,
        instructions="",
        due_date=None,
    ).responses
    hw.submit(world.cy, other_sheet, content=BOUNDARIES, base_version=0)
    key = key.format(ann=ann_sheet.id, other=other_sheet.id)
    with pytest.raises(DomainError) as raised:
        add(world, merged_from=[key])
    assert raised.value.field == "merged_from"
    assert db.session.scalars(select(Agreement)).all() == []


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"domain": "politics"}, "domain"),
        ({"text": "   "}, "text"),
        ({"text": "x" * 1001}, "text"),
        ({"time_frame": "t" * 201}, "time_frame"),
    ],
)
def test_add_agreement_validates(world, kwargs, field):
    with pytest.raises(DomainError) as raised:
        add(world, **kwargs)
    assert raised.value.field == field
    assert db.session.scalars(select(Agreement)).all() == []


def test_the_therapist_s_agreement_gets_the_coach_s_notes_without_storing_them(world):
    vague = add(world, "Try to be more open", time_frame="")
    fine = add(world, "Share locations on late shifts for the next month")
    assert [f.code for f in agreements.coach_notes(vague)] == ["hedged-agreement"]
    assert agreements.coach_notes(fine) == []


def test_agreements_are_added_accepted_by_each_partner_and_retired(world):
    agreement = add(world, "  Share locations while apart.  ", time_frame=" Three months ")
    assert (agreement.text, agreement.time_frame) == (
        "Share locations while apart.",
        "Three months",
    )
    assert agreement.created_by_id == world.therapist.id
    assert agreement.merged_from is None
    assert [a.id for a in agreements.agreements_in_force(world.couple)] == [agreement.id]
    assert agreements.agreements_in_force(world.other_couple) == []
    (added,) = audit_events("agreement.added")
    assert added.couple_id == world.couple.id

    assert agreements.accept(world.ann, agreement) is True
    assert agreements.accept(world.ann, agreement) is False  # twice is once
    assert answers(agreement) == {world.ann.id: ("accepted", None)}
    agreements.accept(world.ben, agreement)
    assert answers(agreement) == {
        world.ann.id: ("accepted", None),
        world.ben.id: ("accepted", None),
    }
    assert len(audit_events("agreement.accepted")) == 2
    assert notices_sent() == []  # accepting tells nobody

    with pytest.raises(NotFound):
        agreements.accept(world.cy, agreement)
    with pytest.raises(NotFound):
        agreements.get_agreement(world.other_couple.id, agreement.id)
    with pytest.raises(NotFound):
        agreements.get_partner_agreement(world.cy, agreement.public_id)
    assert agreements.get_agreement(world.couple.id, agreement.id).id == agreement.id

    agreements.retire_agreement(world.therapist, agreement)
    agreements.retire_agreement(world.therapist, agreement)
    assert agreement.retired_at is not None
    assert agreements.agreements_in_force(world.couple) == []
    assert len(audit_events("agreement.retired")) == 1
    other = add(world, "Another")
    agreements.retire_agreement(world.therapist, other)
    with pytest.raises(NotFound):  # a retired agreement is no longer answered
        agreements.accept(world.ann, other)
    with pytest.raises(NotFound):
        agreements.ask_to_discuss(world.ann, other, **LINKS)
    with pytest.raises(NotFound):
        agreements.get_partner_agreement(world.ann, other.public_id)


# --- asking to talk ------------------------------------------------------------------------------


def test_a_first_request_to_talk_tells_the_therapists_only_and_keeps_the_note(world):
    agreement = add(world)
    assert agreements.ask_to_discuss(world.ann, agreement, f"  {NOTE}  ", **LINKS) == "first"
    assert answers(agreement) == {world.ann.id: ("discuss", NOTE)}
    assert notices_sent() == [
        ("agreement.discuss", world.therapist.id, None, LINKS["therapist_link"])
    ]
    (recorded,) = audit_events("agreement.discuss")
    assert (recorded.actor_partner_id, recorded.couple_id) == (world.ann.id, world.couple.id)
    # nothing anybody wrote in the audit trail
    assert NOTE not in str(recorded.details) and "scared" not in str(recorded.details)

    # asking again with the same note changes nothing and tells nobody again
    assert agreements.ask_to_discuss(world.ann, agreement, NOTE, **LINKS) == "note"
    assert len(notices_sent()) == 1
    # a new note replaces the old one, and the therapists hear of it
    agreements.ask_to_discuss(world.ann, agreement, "Can we talk on Tuesday?", **LINKS)
    assert answers(agreement) == {world.ann.id: ("discuss", "Can we talk on Tuesday?")}
    assert [n[0] for n in notices_sent()] == ["agreement.discuss", "agreement.discuss"]

    # accepting after talking replaces the request (one row per partner)
    agreements.accept(world.ann, agreement)
    assert answers(agreement) == {world.ann.id: ("accepted", None)}


def test_taking_back_an_acceptance_is_recorded_and_tells_the_therapists_and_the_partner(world):
    agreement = add(world)
    agreements.accept(world.ann, agreement)
    agreements.accept(world.ben, agreement)
    before = db.session.scalar(
        select(AgreementAcceptance.accepted_at).where(
            AgreementAcceptance.partner_id == world.ben.id
        )
    )

    assert agreements.ask_to_discuss(world.ben, agreement, NOTE, **LINKS) == "again"

    assert answers(agreement) == {world.ann.id: ("accepted", None), world.ben.id: ("discuss", NOTE)}
    row = db.session.scalar(
        select(AgreementAcceptance).where(AgreementAcceptance.partner_id == world.ben.id)
    )
    assert not row.accepted and row.accepted_at >= before
    assert notices_sent() == [
        ("agreement.change_proposed", world.therapist.id, None, LINKS["therapist_link"]),
        ("agreement.change_proposed", None, world.ann.id, LINKS["partner_link"]),
    ]
    (recorded,) = audit_events("agreement.change_proposed")
    assert recorded.actor_partner_id == world.ben.id
    assert NOTE not in str(recorded.details)
    assert not audit_events("agreement.discuss")


def test_a_note_has_a_limit_and_nothing_is_stored_past_it(world):
    agreement = add(world)
    with pytest.raises(DomainError) as raised:
        agreements.ask_to_discuss(world.ann, agreement, "x" * 2001, **LINKS)
    assert raised.value.field == "note"
    assert answers(agreement) == {}
    assert notices_sent() == []
    agreements.ask_to_discuss(world.ann, agreement, "x" * 2000, **LINKS)
    assert answers(agreement) == {world.ann.id: ("discuss", "x" * 2000)}


def test_a_partner_of_another_couple_cannot_answer(world):
    agreement = add(world)
    with pytest.raises(NotFound):
        agreements.ask_to_discuss(world.cy, agreement, NOTE, **LINKS)
    assert answers(agreement) == {}
    assert (
        db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("agreement.d%"))).all()
        == []
    )


# --- review dates on the dashboard ---------------------------------------------------------------


def couple_today(w: World) -> date:
    return datetime.now(ZoneInfo(w.couple.time_zone)).date()


def test_due_for_review_lists_agreements_in_force_whose_review_date_has_come(world):
    today = couple_today(world)
    due_today = add(world, "Due today", review_date=today)
    overdue = add(world, "Overdue", review_date=today - timedelta(days=10))
    add(world, "Tomorrow", review_date=today + timedelta(days=1))
    add(world, "No date")
    retired = add(world, "Retired", review_date=today - timedelta(days=3))
    agreements.retire_agreement(world.therapist, retired)
    other = agreements.add_agreement(
        world.other_therapist,
        world.other_couple,
        domain="other",
        text="Someone else's",
        time_frame="",
        review_date=today - timedelta(days=1),
    )

    due = agreements.due_for_review(world.therapist)
    assert [(d.agreement.id, d.couple.id, d.overdue_days) for d in due] == [
        (overdue.id, world.couple.id, 10),
        (due_today.id, world.couple.id, 0),
    ]
    # the owner sees every couple; the other therapist only theirs
    assert [d.agreement.id for d in agreements.due_for_review(world.owner)] == [
        overdue.id,
        other.id,
        due_today.id,
    ]
    assert [d.agreement.id for d in agreements.due_for_review(world.other_therapist)] == [other.id]


def test_due_for_review_follows_the_couple_s_own_today(world):
    # Far east of UTC, the couple's today can be UTC's tomorrow.
    world.couple.time_zone = "Pacific/Kiritimati"
    kiribati_today = datetime.now(ZoneInfo("Pacific/Kiritimati")).date()
    agreement = add(world, review_date=kiribati_today)
    assert [d.agreement.id for d in agreements.due_for_review(world.therapist)] == [agreement.id]
    world.couple.time_zone = "Pacific/Pago_Pago"  # far west: a day or more behind
    samoa_today = datetime.now(ZoneInfo("Pacific/Pago_Pago")).date()
    expected = [agreement.id] if kiribati_today <= samoa_today else []
    assert [d.agreement.id for d in agreements.due_for_review(world.therapist)] == expected


def test_due_for_review_leaves_closed_couples_out(world):
    add(world, review_date=couple_today(world) - timedelta(days=1))
    world.couple.status = "closed"
    assert agreements.due_for_review(world.therapist) == []


def test_due_for_review_is_one_query_however_many_agreements(world):
    for number in range(6):
        add(world, f"Agreement {number}", review_date=couple_today(world) - timedelta(days=number))
    db.session.flush()
    statements = []

    def count(*args):
        statements.append(args[2])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        due = agreements.due_for_review(world.therapist)
        labels = [d.couple.label for d in due]
        [d.agreement.domain for d in due]
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(due) == 6 and len(set(labels)) == 1
    assert len(statements) <= 2, statements
