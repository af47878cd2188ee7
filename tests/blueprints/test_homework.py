"""Homework through HTTP, the therapist's side: assign, review, return, release, agreements.

The partner's side (writing, autosave, conflicts, privacy between partners) is in
test_portal_homework.py, which reuses the helpers below.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from practice.extensions import db
from practice.homework import KINDS
from practice.models import AuditEvent
from practice.models.base import utcnow
from practice.models.homework import (
    Agreement,
    AgreementAcceptance,
    Assignment,
    HomeworkResponse,
    InstructionTemplate,
    ResponseTransition,
)
from practice.tenancy import unscoped
from tests.blueprints.conftest import PracticeSet, page
from tests.blueprints.test_couples import add_couple, enter_portal, location, personal_link
from tests.couple_factories import CoupleIds, public, public_agreement  # noqa: I001

APOLOGY = {
    "what_i_did": "I lied to you for months about the messages I was sending to Jo.",
    "how_it_hurt": "You stopped trusting what I say and you felt foolish and alone for months.",
    "responsibility": "It was my choice and mine alone, and I take full responsibility.",
    "amends": "I will show you my phone every Sunday evening for the next three months.",
}


# --- helpers ------------------------------------------------------------------------------------


def couple_today() -> date:
    """Today where the test couples live (the factory's time zone)."""
    return datetime.now(ZoneInfo("Europe/London")).date()


@pytest.fixture
def couple(practice_a) -> CoupleIds:
    """Kim was hurt; Lee broke trust (the factory's default roles)."""
    return add_couple(practice_a, label="Kim & Lee", partner1_name="Kim", partner2_name="Lee")


def responses_of(couple_id: int) -> list[HomeworkResponse]:
    db.session.expire_all()
    with unscoped():
        return list(
            db.session.scalars(
                select(HomeworkResponse)
                .where(HomeworkResponse.couple_id == couple_id)
                .order_by(HomeworkResponse.id)
            )
        )


def response_row(response_id: int) -> HomeworkResponse:
    db.session.expire_all()
    with unscoped():
        return db.session.get(HomeworkResponse, response_id)


def count(model) -> int:
    with unscoped():
        return db.session.scalar(select(func.count()).select_from(model))


def audit_actions() -> list[str]:
    with unscoped():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def assign(client, ids: CoupleIds, kind: str, **fields) -> list[int]:
    """Assign through the form with its defaults (overridden by `fields`); the new ids."""
    before = {r.id for r in responses_of(ids.id)}
    form = page(client.get(f"/couples/{ids.id}/homework/new?kind={kind}"))
    data = {
        "kind": kind,
        "mode": form.checked.get("mode", ""),
        "instructions": form.values["instructions"],
        "due_date": "",
    }
    if "partner_id" in form.checked:  # a browser sends only the fields the form shows
        data["partner_id"] = form.checked["partner_id"]
    data.update(fields)
    response = client.post_form(f"/couples/{ids.id}/homework/new?kind={kind}", data)
    assert response.status_code == 302, page(response).text[:500]
    assert location(response) == f"/couples/{ids.id}"
    return sorted(r.id for r in responses_of(ids.id) if r.id not in before)


def set_status(response_id: int, status: str, **values) -> None:
    """Move a piece of work on directly, for tests about a later stage."""
    with unscoped():
        db.session.execute(
            update(HomeworkResponse)
            .where(HomeworkResponse.id == response_id)
            .values(status=status, **values)
        )
    db.session.commit()


def write_apology(response_id: int, content: dict | None = None, *, submitted=True) -> None:
    with unscoped():
        db.session.execute(
            update(HomeworkResponse)
            .where(HomeworkResponse.id == response_id)
            .values(
                content=dict(content or APOLOGY),
                status="submitted" if submitted else "draft",
                submitted_at=utcnow() if submitted else None,
                version=1,
            )
        )
    db.session.commit()


def portal_of(make_client, ids: CoupleIds, position: int):
    client = make_client()
    enter_portal(client, personal_link(ids, position))
    return client


# --- assigning ----------------------------------------------------------------------------------


def test_the_kind_chooser_lists_every_kind(therapist_client, couple):
    response = therapist_client.get(f"/couples/{couple.id}/homework/new")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for key, kind in KINDS.items():
        assert kind.label in html
        assert f"/couples/{couple.id}/homework/new?kind={key}" in html
    assert html.count("/homework/new?kind=") == len(KINDS)

    # An unknown kind shows the chooser again, never a 500.
    unknown = therapist_client.get(f"/couples/{couple.id}/homework/new?kind=nonsense")
    assert unknown.status_code == 200
    assert "Apology draft" in unknown.get_data(as_text=True)


def test_the_assign_form_is_prefilled_from_the_kind(therapist_client, couple):
    form = page(therapist_client.get(f"/couples/{couple.id}/homework/new?kind=apology"))
    assert form.values["instructions"] == KINDS["apology"].default_instructions
    assert form.values["instructions"].strip()
    assert form.checked["mode"] == "one"
    # The apology goes to the partner who broke trust by default: Lee.
    assert form.checked["partner_id"] == str(couple.partner_ids[1])

    joint = page(therapist_client.get(f"/couples/{couple.id}/homework/new?kind=repair_contract"))
    assert joint.checked["mode"] == "joint"
    assert joint.values["instructions"] == KINDS["repair_contract"].default_instructions


@pytest.mark.parametrize(
    ("kind", "mode", "authored_by"),
    [
        ("apology", "one", (2,)),
        ("boundaries", "each", (1, 2)),
        ("processing_window", "joint", (None,)),
        ("repair_contract", "joint", (None,)),
        ("truth_conversation", "each", (1, 2)),
    ],
)
def test_the_therapist_assigns_each_kind(therapist_client, couple, kind, mode, authored_by):
    due = couple_today() + timedelta(days=7)
    new = assign(
        therapist_client,
        couple,
        kind,
        mode=mode,
        instructions="Write it this week, please.",
        due_date=due.isoformat(),
    )

    rows = [response_row(i) for i in new]
    expected_authors = [None if a is None else couple.partner_ids[a - 1] for a in authored_by]
    assert sorted(r.partner_id or 0 for r in rows) == sorted(a or 0 for a in expected_authors)
    assert {r.kind for r in rows} == {kind}
    assert {r.status for r in rows} == {"assigned"}
    with unscoped():
        assignment = db.session.get(Assignment, rows[0].assignment_id)
        assert assignment.instructions == "Write it this week, please."
        assert assignment.due_date == due
        assert assignment.mode == mode
    assert "homework.assigned" in audit_actions()

    shown = therapist_client.get(f"/couples/{couple.id}")
    assert KINDS[kind].label in page(shown).text
    for row in rows:
        assert f"/couples/{couple.id}/homework/{row.id}" in shown.get_data(as_text=True)


ASSIGN_BAD_INPUT = [
    ("apology", {"mode": "joint"}, "mode"),  # an apology is not written jointly
    ("processing_window", {"mode": "one"}, "mode"),
    ("apology", {"mode": "one", "partner_id": "999999"}, "partner_id"),
    ("apology", {"mode": "one", "partner_id": "not a number"}, "partner_id"),
    ("apology", {"due_date": "2020-01-01"}, "due_date"),
    ("apology", {"due_date": "tomorrow"}, "due_date"),
    ("apology", {"instructions": "x" * 5001}, "instructions"),
]


@pytest.mark.parametrize(("kind", "fields", "field"), ASSIGN_BAD_INPUT)
def test_bad_assign_input_is_refused_beside_the_field(
    therapist_client, couple, kind, fields, field
):
    form = page(therapist_client.get(f"/couples/{couple.id}/homework/new?kind={kind}"))
    data = {
        "kind": kind,
        "mode": form.checked.get("mode", ""),
        "partner_id": form.checked.get("partner_id", ""),
        "instructions": "Typed by the therapist",
        "due_date": "",
        **fields,
    }
    response = therapist_client.post_form(f"/couples/{couple.id}/homework/new?kind={kind}", data)

    assert 400 <= response.status_code < 500
    shown = page(response)
    assert shown.errors.get(field), (field, shown.errors, shown.form_errors)
    if field != "instructions":
        assert shown.values["instructions"] == "Typed by the therapist"  # nothing typed is lost
    assert responses_of(couple.id) == []
    assert count(Assignment) == 0


def test_assigning_needs_a_csrf_token(therapist_client, couple):
    response = therapist_client.post(
        f"/couples/{couple.id}/homework/new?kind=apology",
        data={"kind": "apology", "mode": "one", "partner_id": str(couple.partner_ids[1])},
    )
    assert response.status_code == 400
    assert count(Assignment) == 0


# --- the couple page and the review queue -------------------------------------------------------


def test_the_couple_page_lists_assignments_with_their_state_and_overdue(therapist_client, couple):
    (apology,) = assign(therapist_client, couple, "apology")
    (window,) = assign(therapist_client, couple, "processing_window")
    with unscoped():
        db.session.execute(
            update(Assignment)
            .where(Assignment.id == response_row(apology).assignment_id)
            .values(due_date=couple_today() - timedelta(days=3))
        )
    db.session.commit()
    set_status(window, "confirmed")

    html = therapist_client.get(f"/couples/{couple.id}").get_data(as_text=True)
    rows = html.split(
        "<li",
    )
    apology_row = next(r for r in rows if f'/homework/{apology}"' in r)
    window_row = next(r for r in rows if f'/homework/{window}"' in r)
    assert "Overdue" in apology_row
    assert "Overdue" not in window_row
    # Each row says who acts next.
    assert "Lee has not started" in apology_row
    assert "Agreed by both" in window_row


def test_the_review_page_shows_coach_findings_beside_the_text(therapist_client, couple):
    (apology,) = assign(therapist_client, couple, "apology")
    write_apology(apology, {**APOLOGY, "responsibility": "I'm sorry you feel that way."})

    response = therapist_client.get(f"/couples/{couple.id}/homework/{apology}")
    assert response.status_code == 200
    text = page(response).text
    assert "I lied to you for months" in text
    assert "sorry you feel" in text.lower()  # the phrase the coach flags
    assert 'class="coach' in response.get_data(as_text=True)

    queue = therapist_client.get("/review")
    assert queue.status_code == 200
    assert f"/couples/{couple.id}/homework/{apology}" in queue.get_data(as_text=True)


def test_the_review_queue_lists_submitted_work_oldest_first_and_only_the_therapists(
    therapist_client, couple, practice_a: PracticeSet
):
    other = add_couple(practice_a, therapist=None, label="Not mine")
    (first,) = assign(therapist_client, couple, "apology")
    boundaries = assign(therapist_client, couple, "boundaries")
    write_apology(boundaries[0], {"proposals": []})
    write_apology(first)
    with unscoped():
        db.session.execute(
            update(HomeworkResponse)
            .where(HomeworkResponse.id == first)
            .values(submitted_at=utcnow() - timedelta(days=5))
        )
        db.session.execute(
            update(HomeworkResponse)
            .where(HomeworkResponse.id == boundaries[0])
            .values(submitted_at=utcnow() - timedelta(days=1))
        )
    db.session.commit()

    html = therapist_client.get("/review").get_data(as_text=True)
    assert html.index(f'/homework/{first}"') < html.index(f'/homework/{boundaries[0]}"')
    assert f'/homework/{boundaries[1]}"' not in html  # still assigned: not in the queue
    assert "Not mine" not in html
    assert other.id


# --- returning, reviewing, completing, releasing -------------------------------------------------


def test_return_for_revision_with_a_comment(therapist_client, couple, make_client):
    (apology,) = assign(therapist_client, couple, "apology")
    write_apology(apology)

    empty = therapist_client.post_form(
        f"/couples/{couple.id}/homework/{apology}/return", {"comment": "   "}
    )
    assert empty.status_code == 422
    assert page(empty).errors.get("comment")
    assert response_row(apology).status == "submitted"

    returned = therapist_client.post_form(
        f"/couples/{couple.id}/homework/{apology}/return",
        {"comment": "Say more about how it hurt Kim."},
    )
    assert returned.status_code == 302
    row = response_row(apology)
    assert row.status == "returned"
    with unscoped():
        assert [c.body for c in row.comments] == ["Say more about how it hurt Kim."]
    assert "homework.returned" in audit_actions()
    with unscoped():
        moves = list(
            db.session.scalars(
                select(ResponseTransition).where(ResponseTransition.response_id == apology)
            )
        )
    assert moves[-1].to_status == "returned" and moves[-1].actor_user_id is not None

    # Lee sees the comment and can edit again.
    lee = portal_of(make_client, couple, 2)
    shown = lee.get(f"/portal/homework/{public(apology)}")
    assert shown.status_code == 200
    assert "Say more about how it hurt Kim." in page(shown).text
    assert page(shown).values["content-what_i_did"] == APOLOGY["what_i_did"]


def test_mark_reviewed_then_completed(therapist_client, couple):
    (apology,) = assign(therapist_client, couple, "apology")

    # Not submitted yet: nothing moves.
    early = therapist_client.post_form(f"/couples/{couple.id}/homework/{apology}/reviewed")
    assert early.status_code == 302
    assert response_row(apology).status == "assigned"

    write_apology(apology)
    assert (
        therapist_client.post_form(f"/couples/{couple.id}/homework/{apology}/reviewed").status_code
        == 302
    )
    assert response_row(apology).status == "reviewed"
    assert response_row(apology).reviewed_at is not None
    assert (
        therapist_client.post_form(f"/couples/{couple.id}/homework/{apology}/completed").status_code
        == 302
    )
    assert response_row(apology).status == "completed"
    assert {"homework.reviewed", "homework.completed"} <= set(audit_actions())

    page_text = page(therapist_client.get(f"/couples/{couple.id}/homework/{apology}")).text
    assert "Completed" in page_text or "completed" in page_text


def test_release_needs_a_submitted_piece_and_is_audited(therapist_client, couple):
    (apology,) = assign(therapist_client, couple, "apology")
    assert response_row(apology).audience == "private"

    therapist_client.post_form(f"/couples/{couple.id}/homework/{apology}/release")
    assert response_row(apology).audience == "private"  # a draft is never released

    write_apology(apology)
    response = therapist_client.post_form(f"/couples/{couple.id}/homework/{apology}/release")
    assert response.status_code == 302
    row = response_row(apology)
    assert row.audience == "couple"
    assert row.released_at is not None
    assert "homework.released" in audit_actions()


@pytest.mark.parametrize("action", ["reviewed", "completed", "release", "finalize", "return"])
def test_therapist_actions_need_a_csrf_token(therapist_client, couple, action):
    (apology,) = assign(therapist_client, couple, "apology")
    write_apology(apology)
    response = therapist_client.post(
        f"/couples/{couple.id}/homework/{apology}/{action}", data={"comment": "x"}
    )
    assert response.status_code == 400
    row = response_row(apology)
    assert (row.status, row.audience) == ("submitted", "private")


# --- agreements ---------------------------------------------------------------------------------


def test_agreements_are_added_with_validation_and_accepted_by_both(
    therapist_client, couple, make_client
):
    blank = therapist_client.post_form(
        f"/couples/{couple.id}/agreements", {"domain": "communication", "text": "  "}
    )
    assert blank.status_code == 422
    assert page(blank).errors.get("text")
    bad_domain = therapist_client.post_form(
        f"/couples/{couple.id}/agreements", {"domain": "astrology", "text": "Something"}
    )
    assert bad_domain.status_code == 422
    assert page(bad_domain).errors.get("domain")
    too_long = therapist_client.post_form(
        f"/couples/{couple.id}/agreements", {"domain": "privacy", "text": "x" * 1001}
    )
    assert too_long.status_code == 422
    assert count(Agreement) == 0

    added = therapist_client.post_form(
        f"/couples/{couple.id}/agreements",
        {
            "domain": "communication",
            "text": "Tell each other about any message from Jo within 24 hours.",
            "time_frame": "three months",
            "review_date": (couple_today() + timedelta(days=90)).isoformat(),
        },
    )
    assert added.status_code == 302
    with unscoped():
        (agreement_id,) = db.session.scalars(select(Agreement.id)).all()

    for position in (1, 2):
        partner = portal_of(make_client, couple, position)
        home = partner.get("/portal").get_data(as_text=True)
        assert "message from Jo within 24 hours" in home
        assert f"/portal/agreements/{public_agreement(agreement_id)}/accept" in home
        accepted = partner.post_form(f"/portal/agreements/{public_agreement(agreement_id)}/accept")
        assert accepted.status_code == 302
        again = partner.post_form(
            f"/portal/agreements/{public_agreement(agreement_id)}/accept"
        )  # idempotent
        assert again.status_code == 302
    with unscoped():
        accepted_by = set(db.session.scalars(select(AgreementAcceptance.partner_id)))
    assert accepted_by == set(couple.partner_ids)

    shown = therapist_client.get(f"/couples/{couple.id}")
    assert "message from Jo within 24 hours" in shown.get_data(as_text=True)


def test_accepting_an_agreement_needs_a_csrf_token(therapist_client, couple, make_client):
    therapist_client.post_form(
        f"/couples/{couple.id}/agreements", {"domain": "privacy", "text": "Share locations."}
    )
    with unscoped():
        (agreement_id,) = db.session.scalars(select(Agreement.id)).all()
    kim = portal_of(make_client, couple, 1)
    assert (
        kim.post(f"/portal/agreements/{public_agreement(agreement_id)}/accept").status_code == 400
    )
    assert count(AgreementAcceptance) == 0


# --- default instructions in settings -----------------------------------------------------------


def test_the_owner_sets_default_instructions_used_by_the_next_assignment(
    owner_client, therapist_client, couple
):
    settings = owner_client.get("/settings/homework")
    assert settings.status_code == 200
    for kind in KINDS.values():
        assert kind.label in page(settings).text

    saved = owner_client.post_form(
        "/settings/homework",
        {"kind": "apology", "instructions": "Our practice's own apology instructions."},
    )
    assert saved.status_code == 302
    assert "homework.instructions_changed" in audit_actions()

    form = page(therapist_client.get(f"/couples/{couple.id}/homework/new?kind=apology"))
    assert form.values["instructions"] == "Our practice's own apology instructions."
    other = page(therapist_client.get(f"/couples/{couple.id}/homework/new?kind=boundaries"))
    assert other.values["instructions"] == KINDS["boundaries"].default_instructions


def test_settings_homework_refuses_bad_input_and_therapists(owner_client, therapist_client):
    assert therapist_client.get("/settings/homework").status_code == 404
    refused = therapist_client.post_form(
        "/settings/homework", {"kind": "apology", "instructions": "Sneaky"}
    )
    assert refused.status_code == 404

    unknown = owner_client.post_form("/settings/homework", {"kind": "nope", "instructions": "x"})
    assert unknown.status_code == 400
    too_long = owner_client.post_form(
        "/settings/homework", {"kind": "apology", "instructions": "x" * 5001}
    )
    assert too_long.status_code == 422
    assert "5000" in page(too_long).errors["instructions-apology"]  # beside its own box
    typed = re.search(r'<textarea id="instructions-apology"[^>]*>([^<]*)</textarea>', too_long.text)
    assert typed and typed.group(1).strip() == "x" * 5001  # as typed, not the stored text
    no_csrf = owner_client.post("/settings/homework", data={"kind": "apology", "instructions": "y"})
    assert no_csrf.status_code == 400
    assert count(InstructionTemplate) == 0
