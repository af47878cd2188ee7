"""Where work stands, per viewer: the words say who acts next, and the section matches them.

A table of (kind, status, viewer, facts) -> (words, section). The old pages said
"Submitted" for a contract one partner had signed, "Reviewed" for one both had signed, and
filed a private apology under "Handed in and shared": each row below would have caught that.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from practice.homework import get_kind
from practice.homework.standing import Facts, Section
from practice.homework.workflow import Status

DEC_3 = date(2026, 12, 3)


def facts(kind: str, status: Status, **values) -> Facts:
    base = Facts(
        status=status,
        workflow=get_kind(kind).workflow,
        shared=kind in ("repair_contract", "processing_window"),
        viewer_is_partner=True,
        viewer_is_author=True,
        joint=kind in ("repair_contract", "processing_window"),
        author_name="" if kind in ("repair_contract", "processing_window") else "Alex",
        other_name="Sam",
        partner_names=("Sam", "Alex"),
    )
    return replace(base, **values)


THERAPIST = {"viewer_is_partner": False, "viewer_is_author": False, "other_name": ""}

CASES = [
    # kind, status, facts, expected words, expected section, private
    ("apology", Status.ASSIGNED, {}, "Not started", Section.TODO, True),
    (
        "apology",
        Status.DRAFT,
        {"last_saved_on": DEC_3},
        "Draft, saved on 3 Dec",
        Section.TODO,
        True,
    ),
    (
        "apology",
        Status.RETURNED,
        {"returned_by": "Jordan Reyes"},
        "Returned with a note from Jordan Reyes",
        Section.TODO,
        True,
    ),
    (
        "apology",
        Status.SUBMITTED,
        {"handed_in_on": DEC_3},
        "Sent to your therapist on 3 Dec · private",
        Section.WAITING,
        True,
    ),
    ("apology", Status.REVIEWED, {}, "Read by your therapist · private", Section.DONE, True),
    # A released apology: a card for the partner it was written to, never a task.
    (
        "apology",
        Status.REVIEWED,
        {"viewer_is_author": False, "released": True, "shared": True},
        "Alex's apology is ready to read when you feel ready",
        Section.TO_READ,
        False,
    ),
    (
        "apology",
        Status.REVIEWED,
        {"released": True, "shared": True},
        "Shared with Sam by your therapist",
        Section.DONE,
        False,
    ),
    (
        "boundaries",
        Status.SUBMITTED,
        {"shared": True},
        "Sent to your therapist · shared",
        Section.WAITING,
        False,
    ),
    # The repair contract: signatures decide who acts next.
    ("repair_contract", Status.DRAFT, {}, "Writing together, saved", Section.TODO, False),
    ("repair_contract", Status.FINAL, {}, "Final · ready for you to sign", Section.TODO, False),
    (
        "repair_contract",
        Status.FINAL,
        {"signed_by_other": True},
        "Sam signed · ready for you to sign",
        Section.TODO,
        False,
    ),
    (
        "repair_contract",
        Status.FINAL,
        {"signed_by_viewer": True},
        "Waiting for Sam to sign",
        Section.WAITING,
        False,
    ),
    (
        "repair_contract",
        Status.SIGNED,
        {"done_on": DEC_3},
        "Signed by you both on 3 Dec",
        Section.DONE,
        False,
    ),
    # The processing window: agreeing decides it.
    ("processing_window", Status.DRAFT, {}, "Planning together", Section.TODO, False),
    (
        "processing_window",
        Status.DRAFT,
        {"agreed_by_viewer": True},
        "Waiting for Sam to agree",
        Section.WAITING,
        False,
    ),
    (
        "processing_window",
        Status.DRAFT,
        {"agreed_by_other": True},
        "Sam agreed · your turn to agree",
        Section.TODO,
        False,
    ),
    (
        "processing_window",
        Status.CONFIRMED,
        {"done_on": DEC_3},
        "Agreed by you both on 3 Dec",
        Section.DONE,
        False,
    ),
    # The therapist's view names who acts next.
    (
        "repair_contract",
        Status.FINAL,
        {**THERAPIST, "signers": ("Sam",)},
        "Waiting for Alex to sign",
        Section.WAITING,
        False,
    ),
    (
        "apology",
        Status.SUBMITTED,
        {**THERAPIST, "handed_in_on": DEC_3},
        "Handed in on 3 Dec · to review",
        Section.TODO,
        True,
    ),
    ("apology", Status.DRAFT, THERAPIST, "Alex is writing", Section.WAITING, True),
    ("apology", Status.ASSIGNED, THERAPIST, "Alex has not started", Section.WAITING, True),
    (
        "apology",
        Status.RETURNED,
        THERAPIST,
        "Alex is revising it after your note",
        Section.WAITING,
        True,
    ),
    (
        "repair_contract",
        Status.DRAFT,
        THERAPIST,
        "The couple are writing",
        Section.WAITING,
        False,
    ),
    (
        "processing_window",
        Status.DRAFT,
        {**THERAPIST, "agreed": ("Alex",)},
        "Waiting for Sam to agree",
        Section.WAITING,
        False,
    ),
]


@pytest.mark.parametrize(("kind", "status", "values", "words", "section", "private"), CASES)
def test_each_viewer_is_told_who_acts_next(kind, status, values, words, section, private):
    standing = get_kind(kind).standing(facts(kind, status, **values))
    assert standing.text == words
    assert standing.section == section
    assert standing.private is private


def test_no_standing_of_a_signed_or_final_contract_borrows_a_review_word():
    """The old bug: a signed contract read 'Reviewed', a final one 'Submitted'."""
    for status in (Status.FINAL, Status.SIGNED):
        for values in ({}, {"signed_by_viewer": True}, {"signed_by_other": True}, THERAPIST):
            text = get_kind("repair_contract").standing(facts("repair_contract", status, **values))
            assert "Submitted" not in text.text and "Reviewed" not in text.text


def test_a_private_piece_is_never_filed_as_shared():
    for status in Status:
        if status not in get_kind("apology").workflow.statuses:
            continue
        standing = get_kind("apology").standing(facts("apology", status))
        assert standing.private and standing.tag == "private"
        assert "shared" not in standing.text
