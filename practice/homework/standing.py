"""Where a piece of work stands, for the person looking at it: who acts next, in plain words.

A status is one word stored on the row; a *standing* is what a page says about it to one
viewer: "Waiting for Alex to sign", "Signed by you both on 3 Dec", "Sent to your therapist ·
private", "Returned with a note from Jordan". It also files the piece under one of the portal
home's sections: to do, waiting for someone else, done, or (a released apology, for the
partner it was written to) a card to read when ready.

Everything here is a pure function of `Facts`, which the services gather (names, dates,
signatures, agreements to a schedule). A kind may override `HomeworkKind.standing` for its own
words; the default below follows the kind's workflow path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from practice.homework.workflow import CONFIRMED, SIGNED, WRITABLE, Status, Workflow


class Section(StrEnum):
    TODO = "todo"  # the viewer acts next
    WAITING = "waiting"  # someone else acts next (the other partner, the therapist)
    DONE = "done"  # nobody needs to do anything
    TO_READ = "to_read"  # shared with the viewer to read, when they feel ready


@dataclass(frozen=True)
class Facts:
    """What a standing is worked out from: one piece of work, seen by one person."""

    status: Status
    workflow: Workflow
    shared: bool  # the other partner may read it (couple or sealed), or it was released
    # The viewer: a partner (True) or a therapist (False).
    viewer_is_partner: bool
    viewer_is_author: bool  # the viewer wrote it, or it is joint and the viewer is a partner
    joint: bool
    author_name: str  # the author's name ("" for a joint piece)
    other_name: str  # the viewer's partner (for a therapist: "")
    partner_names: tuple[str, ...] = ()  # both partners, for a therapist's view
    released: bool = False  # a private piece the therapist shared with the couple
    last_saved_on: date | None = None
    handed_in_on: date | None = None
    reviewed_on: date | None = None
    done_on: date | None = None  # signed by both, or agreed by both
    returned_by: str = ""  # the therapist whose note came with the return
    # Signing and agreeing, for joint pieces: who has, of the current version.
    signed_by_viewer: bool = False
    signed_by_other: bool = False
    signers: tuple[str, ...] = ()  # names of those who signed (for a therapist)
    agreed_by_viewer: bool = False
    agreed_by_other: bool = False
    agreed: tuple[str, ...] = ()  # names of those who agreed (for a therapist)
    has_final_version: bool = False
    # Parts held until released (the truth conversation): is every part of the assignment
    # handed in, and when did the therapist release them?
    all_handed_in: bool = False
    released_on: date | None = None


@dataclass(frozen=True)
class Standing:
    text: str
    section: Section
    private: bool  # seen by the author and the therapist only

    @property
    def tag(self) -> str:
        return "private" if self.private else "shared"


def day(value: date | datetime | None) -> str:
    """'3 Dec': a date as the pages print it."""
    return value.strftime("%-d %b") if value else ""


def _on(value: date | None) -> str:
    return f" on {day(value)}" if value else ""


def for_partner(facts: Facts) -> Standing:
    """The default standing of a piece of work for a partner, by its workflow path."""
    private = not facts.shared
    status = facts.status
    other = facts.other_name or "your partner"
    if not facts.viewer_is_author:
        # The other partner's work, shared with this viewer.
        if facts.status in WRITABLE:
            return Standing(f"{facts.author_name} is still writing", Section.WAITING, private)
        return Standing(f"Shared by {facts.author_name}", Section.DONE, private)

    if facts.workflow is SIGNED:
        return _signed(facts, other, private)
    if facts.workflow is CONFIRMED:
        return _confirmed(facts, other, private)

    if status == Status.ASSIGNED:
        return Standing("Not started", Section.TODO, private)
    if status == Status.DRAFT:
        return Standing(f"Draft, saved{_on(facts.last_saved_on)}", Section.TODO, private)
    if status == Status.RETURNED:
        by = f" from {facts.returned_by}" if facts.returned_by else ""
        return Standing(f"Returned with a note{by}", Section.TODO, private)
    audience = "private" if private else "shared"
    if status == Status.SUBMITTED:
        return Standing(
            f"Sent to your therapist{_on(facts.handed_in_on)} · {audience}",
            Section.WAITING,
            private,
        )
    if status == Status.REVIEWED:
        return Standing(
            f"Read by your therapist{_on(facts.reviewed_on)} · {audience}", Section.DONE, private
        )
    return Standing(f"Completed · {audience}", Section.DONE, private)


def _signed(facts: Facts, other: str, private: bool) -> Standing:
    status = facts.status
    if status == Status.SIGNED:
        return Standing(f"Signed by you both{_on(facts.done_on)}", Section.DONE, private)
    if status == Status.COMPLETED:
        return Standing("Completed", Section.DONE, private)
    if status == Status.FINAL:
        if not facts.signed_by_viewer:
            if facts.signed_by_other:
                return Standing(f"{other} signed · ready for you to sign", Section.TODO, private)
            return Standing("Final · ready for you to sign", Section.TODO, private)
        return Standing(f"Waiting for {other} to sign", Section.WAITING, private)
    if status == Status.RETURNED:
        return Standing("Open for changes · sign again once it is final", Section.TODO, private)
    if status == Status.ASSIGNED:
        return Standing("Not started · you write this together", Section.TODO, private)
    return Standing(f"Writing together, saved{_on(facts.last_saved_on)}", Section.TODO, private)


def _confirmed(facts: Facts, other: str, private: bool) -> Standing:
    status = facts.status
    if status == Status.CONFIRMED:
        return Standing(f"Agreed by you both{_on(facts.done_on)}", Section.DONE, private)
    if status == Status.COMPLETED:
        return Standing("Completed", Section.DONE, private)
    if facts.agreed_by_viewer and not facts.agreed_by_other:
        return Standing(f"Waiting for {other} to agree", Section.WAITING, private)
    if facts.agreed_by_other and not facts.agreed_by_viewer:
        return Standing(f"{other} agreed · your turn to agree", Section.TODO, private)
    if status == Status.ASSIGNED:
        return Standing("Not started · you plan this together", Section.TODO, private)
    return Standing("Planning together", Section.TODO, private)


def for_therapist(facts: Facts) -> Standing:
    """The standing for the therapist: who acts next, by name."""
    private = not facts.shared
    status = facts.status
    who = facts.author_name or "the couple"
    names = facts.partner_names
    if facts.workflow is SIGNED and status == Status.FINAL:
        waiting = [name for name in names if name not in facts.signers]
        if len(waiting) == 1:
            return Standing(f"Waiting for {waiting[0]} to sign", Section.WAITING, private)
        return Standing("Waiting for both partners to sign", Section.WAITING, private)
    if facts.workflow is SIGNED and status == Status.SIGNED:
        return Standing(f"Signed by both{_on(facts.done_on)}", Section.DONE, private)
    if facts.workflow is CONFIRMED and status in WRITABLE:
        if len(facts.agreed) == 1:
            waiting = [name for name in names if name not in facts.agreed]
            if waiting:
                return Standing(f"Waiting for {waiting[0]} to agree", Section.WAITING, private)
        return Standing(f"{_cap(who)} {_are(who)} planning it", Section.WAITING, private)
    if facts.workflow is CONFIRMED and status == Status.CONFIRMED:
        return Standing(f"Agreed by both{_on(facts.done_on)}", Section.DONE, private)
    if status == Status.ASSIGNED:
        return Standing(f"{_cap(who)} {_have(who)} not started", Section.WAITING, private)
    if status == Status.DRAFT:
        return Standing(f"{_cap(who)} {_are(who)} writing", Section.WAITING, private)
    if status == Status.RETURNED:
        return Standing(
            f"{_cap(who)} {_are(who)} revising it after your note", Section.WAITING, private
        )
    if status == Status.SUBMITTED:
        return Standing(f"Handed in{_on(facts.handed_in_on)} · to review", Section.TODO, private)
    if status == Status.REVIEWED:
        return Standing(f"Reviewed{_on(facts.reviewed_on)}", Section.DONE, private)
    return Standing("Completed", Section.DONE, private)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _are(who: str) -> str:
    return "are" if who == "the couple" else "is"


def _have(who: str) -> str:
    return "have" if who == "the couple" else "has"
