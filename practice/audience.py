"""Who may see a piece of client content: the privacy model between partners.

Every piece of client content has an audience:

- ``private``: its author and the therapist. A partner never learns that the other
  partner's private content exists.
- ``couple``: both partners and the therapist.
- ``sealed``: like ``couple``, but each partner sees the other's answer only once both have
  submitted, so that neither answer is shaped by the other.
- ``sealed_until_released``: like ``sealed``, and also held until the therapist releases the
  parts (the preparation for the truth conversation, best opened together in a session).
  Releasing is the therapist's act, once every part is handed in; the author always sees
  their own part, and the therapist sees every part as soon as it is handed in or saved.

Safety answers are always private, whatever a caller asks for. The rules are pure functions
over small facts, so that homework, check-ins and PDFs all ask the same question the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Audience(StrEnum):
    PRIVATE = "private"
    COUPLE = "couple"
    SEALED = "sealed"
    SEALED_UNTIL_RELEASED = "sealed_until_released"


AUDIENCE_LABELS = {
    Audience.PRIVATE: "Only you and your therapist",
    Audience.COUPLE: "You, your partner and your therapist",
    Audience.SEALED: "Shared once you have both submitted",
    Audience.SEALED_UNTIL_RELEASED: (
        "Shared once you have both handed in and your therapist opens them with you"
    ),
}


@dataclass(frozen=True)
class Viewer:
    """Who is looking: a therapist with access to the couple, or one partner of it."""

    couple_id: int
    partner_id: int | None = None  # None: a therapist (access to the couple checked already)

    @property
    def is_therapist(self) -> bool:
        return self.partner_id is None


@dataclass(frozen=True)
class Content:
    """The facts about one piece of content that decide who sees it."""

    couple_id: int
    audience: Audience
    author_partner_id: int | None  # None: written by the therapist
    submitted: bool = True
    # For sealed content: has every partner asked to answer submitted?
    all_submitted: bool = False
    # For content sealed until released: has the therapist released it to the couple?
    released: bool = False
    is_safety_answer: bool = False


def effective_audience(content: Content) -> Audience:
    """Safety answers are private to the therapist, always."""
    return Audience.PRIVATE if content.is_safety_answer else content.audience


def can_see(viewer: Viewer, content: Content) -> bool:
    """May this viewer see this content (or know that it exists)?"""
    if viewer.couple_id != content.couple_id:
        return False
    if viewer.is_therapist:
        return True
    is_author = content.author_partner_id == viewer.partner_id
    if is_author:
        return True
    audience = effective_audience(content)
    if content.author_partner_id is None:
        # The therapist's own content for the couple: private means "not for partners", and
        # what is held for release waits for it (sealing waits for partners' answers only).
        if audience == Audience.SEALED_UNTIL_RELEASED:
            return content.released
        return audience != Audience.PRIVATE
    if audience == Audience.PRIVATE:
        return False
    if not content.submitted:
        return False  # the other partner's draft is theirs until they submit it
    if audience == Audience.SEALED:
        return content.all_submitted
    if audience == Audience.SEALED_UNTIL_RELEASED:
        return content.all_submitted and content.released
    return True


def visible_to_couple(content: Content, partner_ids: list[int]) -> bool:
    """May it go in what the couple reads together (their copy of a session summary)? Only
    what each partner may see: never a private item, an unshared draft or a safety answer."""
    return bool(partner_ids) and all(
        can_see(Viewer(couple_id=content.couple_id, partner_id=partner_id), content)
        for partner_id in partner_ids
    )


def can_change_audience(current: Audience, new: Audience, *, is_safety_answer: bool) -> bool:
    """Releasing widens an audience; nothing narrows it once shared, and safety stays private."""
    if is_safety_answer:
        return new == Audience.PRIVATE
    order = {
        Audience.PRIVATE: 0,
        Audience.SEALED_UNTIL_RELEASED: 1,
        Audience.SEALED: 2,
        Audience.COUPLE: 3,
    }
    return order[new] >= order[current]
