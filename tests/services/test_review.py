"""practice.services.review, called directly: the review queue, the dashboard's attention list
and the caseload's "needs you" counts.

Real database; nothing of ours is mocked. Each test acts inside the practice, as a request
would after its practice has been set.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from practice.extensions import db
from practice.models import Couple, Partner, User
from practice.models.homework import HomeworkComment, HomeworkResponse
from practice.services import homework as hw
from practice.services import review
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


def submitted_apology(w: World, partner: Partner) -> HomeworkResponse:
    response = apology_for(w, partner)
    hw.submit(partner, response, content=APOLOGY, base_version=response.version)
    return response


# --- the therapist's queue and dashboard ----------------------------------------------------------


def test_the_review_queue_is_oldest_first_and_only_visible_couples(world):
    first = submitted_apology(world, world.ben)
    second = submitted_apology(world, world.ann)
    elsewhere = other_couples_apology(world)
    hw.submit(world.cy, elsewhere, content=APOLOGY, base_version=0)
    not_submitted = apology_for(world, world.ben)
    # the second was handed in earlier than the first
    first.submitted_at = second.submitted_at + timedelta(hours=1)
    db.session.flush()

    assert [r.id for r in review.review_queue(world.therapist)] == [second.id, first.id]
    assert [r.id for r in review.review_queue(world.other_therapist)] == [elsewhere.id]
    owner_queue = [r.id for r in review.review_queue(world.owner)]
    assert sorted(owner_queue) == sorted([first.id, second.id, elsewhere.id])
    assert not_submitted.id not in owner_queue

    hw.mark_reviewed(world.therapist, second)
    assert [r.id for r in review.review_queue(world.therapist)] == [first.id]


def test_an_unassigned_therapist_sees_no_queue_and_no_reminders(world):
    submitted_apology(world, world.ben)
    late = apology_for(world, world.ann)
    late.assignment.due_date = date.today() - timedelta(days=3)  # noqa: DTZ011
    db.session.flush()
    newcomer = UserFactory(practice=world.owner.practice)

    assert review.review_queue(newcomer) == []
    assert today_for(newcomer) == {}


def today_for(user) -> dict:
    """The dashboard's "needs you today", by couple."""
    today = review.needs_you_today(user, review.dashboard_counts(user))
    assert not today.more
    return {item.couple_id: item.needs for item in today.couples}


def test_needs_you_today_counts_overdue_work_but_not_work_handed_in(world):
    today = date.today()  # noqa: DTZ011 - as the couple's today in its zone reads it
    late_draft = apology_for(world, world.ben)
    hw.save_draft(world.ben, late_draft, content={"what_i_did": "x"}, base_version=0)
    late_untouched = apology_for(world, world.ann)
    handed_in = submitted_apology(world, world.ben)
    on_time = apology_for(world, world.ann)
    for response, days in ((late_draft, 2), (late_untouched, 5), (handed_in, 9)):
        response.assignment.due_date = today - timedelta(days=days)
    on_time.assignment.due_date = today + timedelta(days=1)
    db.session.flush()

    needs = today_for(world.therapist)[world.couple.id]

    assert (needs.overdue, needs.overdue_since) == (2, today - timedelta(days=5))
    assert needs.to_review == 1
    assert hw.is_overdue(late_draft, today)
    assert not hw.is_overdue(handed_in, today)
    assert not hw.is_overdue(on_time, today)
    # the other therapist's dashboard does not show them
    assert world.couple.id not in today_for(world.other_therapist)


def test_overdue_means_past_the_due_date_where_the_couple_lives(world):
    # Kiritimati is 25 hours ahead of Pago Pago: its date is always a day or two later.
    world.couple.time_zone = "Pacific/Kiritimati"
    world.other_couple.time_zone = "Pacific/Pago_Pago"
    db.session.flush()
    due = hw.couple_today(world.other_couple)
    assert hw.couple_today(world.couple) > due
    ahead = apology_for(world, world.ben)
    behind = other_couples_apology(world)
    for response in (ahead, behind):
        response.assignment.due_date = due
    db.session.flush()

    needs = today_for(world.owner)

    assert needs[world.couple.id].overdue == 1
    assert world.other_couple.id not in needs  # still due today in Pago Pago
    assert hw.is_overdue(ahead, hw.couple_today(world.couple))
    assert not hw.is_overdue(behind, hw.couple_today(world.other_couple))


def test_needs_you_today_lists_contract_revisits_that_are_due(world):
    from practice.services import joint

    contract_text = {
        "commitments_1": ["a", "b", "c"],
        "commitments_2": ["d", "e", "f"],
        "support": "Check in each evening.",
        "breaks": "Any contact with the affair partner.",
        "revisit_date": (date.today() - timedelta(days=1)).isoformat(),  # noqa: DTZ011
    }
    (contract,) = assign(world, "repair_contract", "joint").responses
    # each partner writes their own commitments
    hw.save_draft(world.ann, contract, content=contract_text, base_version=0)
    hw.save_draft(world.ben, contract, content=contract_text, base_version=contract.version)
    version = joint.finalize_contract(world.therapist, contract)

    needs = today_for(world.therapist)[world.couple.id]
    assert (needs.revisit, needs.revisit_on) == (1, version.revisit_date)
    assert version.revisit_date == date.today() - timedelta(days=1)  # noqa: DTZ011
    assert world.couple.id not in today_for(world.other_therapist)

    # a later revisit date is not due yet (a final contract changes once the therapist returns it)
    hw.return_for_revision(world.therapist, contract, "Choose a later revisit date.")
    later = dict(contract_text, revisit_date=(date.today() + timedelta(days=20)).isoformat())  # noqa: DTZ011
    hw.save_draft(world.ann, contract, content=later, base_version=contract.version)
    joint.finalize_contract(world.therapist, contract)
    assert today_for(world.therapist).get(world.couple.id, review.NOTHING).revisit == 0


def test_work_of_a_kind_without_review_never_waits_even_if_marked_handed_in(world):
    (window,) = assign(world, "processing_window", "joint").responses
    window.status = "submitted"  # not a state its path reaches; the queue still leaves it out
    apology = submitted_apology(world, world.ben)
    db.session.flush()

    assert [r.id for r in review.review_queue(world.therapist)] == [apology.id]
    assert review.waiting_count(world.therapist) == 1
    assert today_for(world.therapist)[world.couple.id].to_review == 1
    assert {kind.key for kind in review.review_kinds()} == {
        "apology",
        "boundaries",
        "truth_conversation",
    }


def test_the_queue_filters_by_therapist_and_kind_within_what_the_user_sees(world):
    mine = submitted_apology(world, world.ben)
    theirs = other_couples_apology(world)
    hw.submit(world.cy, theirs, content=APOLOGY, base_version=0)

    assert [r.id for r in review.review_queue(world.owner, therapist_id=world.therapist.id)] == [
        mine.id
    ]
    assert review.review_queue(world.therapist, therapist_id=world.other_therapist.id) == []
    assert review.review_queue(world.owner, kind="boundaries") == []
    counts = review.queue_without_filters(
        world.owner, therapist_id=world.other_therapist.id, kind="boundaries"
    )
    assert (counts.everything, counts.therapist_only, counts.kind_only) == (2, 1, 0)


def test_the_history_keeps_every_note_with_its_return_newest_last(world):
    response = submitted_apology(world, world.ben)
    hw.return_for_revision(world.therapist, response, "First note.")
    hw.submit(world.ben, response, content=APOLOGY, base_version=response.version)
    hw.return_for_revision(world.therapist, response, "Second note.")
    db.session.flush()

    entries = review.history(response)
    name = world.therapist.name
    assert [(e.text, e.note) for e in entries] == [
        (f"Assigned by {name}", None),
        ("Ben started it", None),
        ("Ben handed it in", None),
        (f"Returned with a note from {name}", "First note."),
        ("Ben handed it in", None),
        (f"Returned with a note from {name}", "Second note."),
    ]
    assert [e.at for e in entries] == sorted(e.at for e in entries)


def test_a_note_with_no_return_of_its_own_still_shows_in_the_history(world):
    response = submitted_apology(world, world.ben)
    later = response.submitted_at + timedelta(days=2)
    db.session.add(
        HomeworkComment(
            response_id=response.id,
            author_user_id=world.therapist.id,
            body="Kept from before the history.",
            created_at=later,
        )
    )
    db.session.flush()

    last = review.history(response)[-1]
    assert (last.text, last.note, last.at) == (
        f"Returned with a note from {world.therapist.name}",
        "Kept from before the history.",
        later,
    )


def test_nothing_needed_is_falsy_so_pages_show_nothing():
    assert not review.NOTHING
    assert review.NeedsYou(to_review=1)
    assert review.NeedsYou(overdue=1)


def test_the_queue_pages_by_keyset_both_ways_and_counts_where_a_page_starts(world):
    pieces = [submitted_apology(world, world.ben) for _ in range(5)]
    # Two handed in at the very same moment: the id breaks the tie, the same way every time.
    pieces[2].submitted_at = pieces[1].submitted_at
    db.session.flush()
    ids = [p.id for p in pieces]

    first = review.queue_page(world.therapist, size=2)
    assert [i.response.id for i in first.items] == ids[:2]
    assert (first.total, first.first, first.last, first.earlier, first.later) == (
        5,
        1,
        2,
        None,
        ids[1],
    )

    second = review.queue_page(world.therapist, after=first.later, size=2)
    assert [i.response.id for i in second.items] == ids[2:4]
    assert (second.first, second.last, second.earlier, second.later) == (3, 4, ids[2], ids[3])

    last = review.queue_page(world.therapist, after=second.later, size=2)
    assert [i.response.id for i in last.items] == ids[4:]
    assert (last.first, last.last, last.later) == (5, 5, None)

    back = review.queue_page(world.therapist, before=last.earlier, size=2)
    assert [i.response.id for i in back.items] == ids[2:4] and back.first == 3
    back = review.queue_page(world.therapist, before=back.earlier, size=2)
    assert [i.response.id for i in back.items] == ids[:2] and back.earlier is None

    # Reviewed since: the pages after it still follow on from where it stood.
    hw.mark_reviewed(world.therapist, pieces[1])
    db.session.flush()
    after_reviewed = review.queue_page(world.therapist, after=ids[1], size=2)
    assert [i.response.id for i in after_reviewed.items] == ids[2:4]
    assert (after_reviewed.total, after_reviewed.first) == (4, 2)


def test_the_queue_shows_the_counts_stored_with_the_last_save(world):
    response = apology_for(world, world.ben)
    flagged = dict(APOLOGY, how_it_hurt="I'm sorry you feel that way about the messages.")
    hw.submit(world.ben, response, content=flagged, base_version=response.version)
    db.session.flush()
    stored = (response.coach_flags, response.coach_missing)
    assert stored[0] >= 1

    (item,) = review.queue_page(world.therapist).items
    assert (item.flags, item.missing) == stored
    assert review.needs_you([world.couple])[world.couple.id].flagged == 1


# --- check-ins in "needs you today" ---------------------------------------------------------


def _hand_in(partner, when, markers: dict[str, int] | None = None) -> None:
    """A check-in handed in through the service the portal uses, on `when`'s clock."""
    from werkzeug.datastructures import MultiDict

    from practice.services import checkins

    checkin = checkins.current(partner, when)
    form = MultiDict({f"marker-{key}": str(value) for key, value in (markers or {}).items()})
    checkins.submit(partner, checkin, form=form, base_version=checkin.version, now=when)
    db.session.flush()


def test_check_ins_to_read_missed_and_falling_markers_need_the_therapist(world):
    from practice.models.base import utcnow

    now = utcnow()
    for partner in (world.ann, world.ben, world.cy):
        partner.joined_at = now - timedelta(weeks=10)
        partner.last_checkin_on = (now - timedelta(weeks=10)).date()
    db.session.flush()
    # Ann: "the same argument" and "recovery" lower four handed-in weeks in a row.
    for back, value in zip((3, 2, 1, 0), (5, 4, 3, 2), strict=True):
        _hand_in(world.ann, now - timedelta(weeks=back), {"same_fight": value, "recovery": value})
    # Ben handed in once, three weeks ago: he has missed the two weeks since.
    _hand_in(world.ben, now - timedelta(weeks=3, days=1), {"same_fight": 3})

    needs = today_for(world.therapist)[world.couple.id]
    assert needs.falling == (("Ann", 2),)
    assert [name for name, _ in needs.missed] == ["Ben"]
    assert needs.checkins == 5  # handed in, not yet read
    # Cy (the other therapist's couple) stopped ten weeks ago, and only they see it.
    assert world.other_couple.id not in today_for(world.therapist)
    assert [name for name, _ in today_for(world.other_therapist)[world.other_couple.id].missed] == [
        "Cy"
    ]
    # A paused couple is not expected to check in.
    world.other_couple.status = "paused"
    db.session.flush()
    assert world.other_couple.id not in today_for(world.other_therapist)

    # Ann's next week steadies one marker: one still falls… until it too stops falling.
    _hand_in(world.ann, now + timedelta(weeks=1), {"same_fight": 4, "recovery": 1})
    assert today_for(world.therapist)[world.couple.id].falling == (("Ann", 1),)


def test_a_safety_answer_puts_its_couple_first_and_the_caseload_column_agrees(world):
    from practice.services import checkins, safety

    submitted_apology(world, world.ben)  # the therapist's couple has homework to review
    from practice.models import CoupleTherapist

    db.session.add(CoupleTherapist(couple_id=world.other_couple.id, user_id=world.therapist.id))
    db.session.flush()
    checkin = checkins.current(world.cy)
    safety.record_checkin_items(world.cy, checkin, {"safe_at_home": "no"}, link="/couples")
    db.session.flush()

    today = review.needs_you_today(world.therapist, review.dashboard_counts(world.therapist))
    couples = today.couples
    assert [item.couple_id for item in couples] == [world.other_couple.id, world.couple.id]
    assert not today.more
    assert couples[0].needs.safety == 1 and couples[0].needs.urgent
    column = review.needs_you([world.couple, world.other_couple])
    assert column[world.other_couple.id].safety == 1
    assert column[world.couple.id].to_review == 1 and not column[world.couple.id].safety


def test_needs_you_today_is_two_statements_and_the_caseload_column_one(world):
    from sqlalchemy import event

    submitted_apology(world, world.ben)
    counts = review.dashboard_counts(world.owner)
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = db.session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        found = review.needs_you_today(world.owner, counts).couples
        column = review.needs_you([world.couple, world.other_couple])
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 3  # the couples to show, their reasons; the caseload's page
    assert found[0].needs.to_review == 1 == column[world.couple.id].to_review


def test_check_ins_count_from_the_first_even_when_its_week_opened_before_the_partner_joined(
    world,
):
    """A partner added on a Thursday hands in the week that opened on Monday: the summary
    follows the check-ins handed in, not the day the partner was added."""
    from practice.models.base import utcnow

    now = utcnow()
    world.ann.joined_at = now
    assert world.ann.last_checkin_on == now.date()  # the day she was added
    for back, value in zip((3, 2, 1, 0), (5, 4, 3, 2), strict=True):
        _hand_in(world.ann, now - timedelta(weeks=back), {"affection": value})
    assert world.ann.last_checkin_on <= now.date()
    assert today_for(world.therapist)[world.couple.id].falling == (("Ann", 1),)


def test_the_dashboard_shows_the_most_pressing_few_with_every_reason_counted(world, monkeypatch):
    """Couples are chosen from the first few rows of each reason (bounded work), then every
    reason of the chosen is counted in full; more than fit is said, never a false total."""
    from practice.models.base import utcnow

    monkeypatch.setattr(review, "TODAY_LIMIT", 1)
    monkeypatch.setattr(review, "CANDIDATES", 1)
    now = utcnow()
    for back in (2, 1, 0):  # three unread weeks for Ann: one row is enough to choose them
        _hand_in(world.ann, now - timedelta(weeks=back), {"affection": 3})
    _hand_in(world.cy, now, {"affection": 3})

    today = review.needs_you_today(world.owner, review.dashboard_counts(world.owner))
    (shown,) = today.couples
    assert shown.couple_id == world.couple.id  # the oldest unread check-in
    assert shown.needs.checkins == 3  # counted in full, not the one row that chose them
    assert today.more is False  # Cy's couple was not among the candidates: nothing claimed

    monkeypatch.setattr(review, "CANDIDATES", 10)
    today = review.needs_you_today(world.owner, review.dashboard_counts(world.owner))
    assert len(today.couples) == 1 and today.more is True
