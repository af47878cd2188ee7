"""The homework workflow: every status a piece of work can have, and the moves between them.

This module is the one place that names a status. A kind chooses the path it takes through
them (`HomeworkKind.workflow`); the engine (services, views, templates) asks this module and
the kind, and never spells a status or switches on a kind's name.

Three paths:

- **reviewed**: the partner writes and hands in, the therapist reads it and marks it
  reviewed, returns it with a note, or closes it (an apology draft, a boundary worksheet).
- **signed**: the couple write one document together, the therapist marks a version final,
  and both partners sign it (a repair contract).
- **confirmed**: the couple plan together and each partner agrees to the same version; no
  therapist step (a processing window).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    ASSIGNED = "assigned"  # nobody has written a word yet
    DRAFT = "draft"  # being written, saved as typed
    RETURNED = "returned"  # back with the therapist's note, being revised
    SUBMITTED = "submitted"  # handed in: the therapist reads it next
    REVIEWED = "reviewed"  # the therapist has read it
    COMPLETED = "completed"  # closed by the therapist
    FINAL = "final"  # a joint text the therapist marked final: waiting for signatures
    SIGNED = "signed"  # both partners signed the final text
    CONFIRMED = "confirmed"  # both partners agreed to the same version


LABELS: dict[Status, str] = {
    Status.ASSIGNED: "Not started",
    Status.DRAFT: "Draft",
    Status.RETURNED: "Returned for revision",
    Status.SUBMITTED: "Submitted",
    Status.REVIEWED: "Reviewed",
    Status.COMPLETED: "Completed",
    Status.FINAL: "Final, to sign",
    Status.SIGNED: "Signed",
    Status.CONFIRMED: "Confirmed by you both",
}

# Partners may write in these; every other status is handed in, final or closed.
WRITABLE = frozenset({Status.ASSIGNED, Status.DRAFT, Status.RETURNED})

# Every allowed move, whatever the kind: a move not listed here is a bug, never a state.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.ASSIGNED: frozenset({Status.DRAFT}),
    Status.DRAFT: frozenset({Status.SUBMITTED, Status.FINAL, Status.CONFIRMED}),
    Status.RETURNED: frozenset({Status.SUBMITTED, Status.FINAL, Status.CONFIRMED}),
    Status.SUBMITTED: frozenset({Status.REVIEWED, Status.RETURNED, Status.COMPLETED}),
    Status.REVIEWED: frozenset({Status.RETURNED, Status.COMPLETED}),
    Status.FINAL: frozenset({Status.SIGNED, Status.RETURNED}),
    Status.SIGNED: frozenset({Status.RETURNED, Status.COMPLETED}),
    # A confirmed schedule reopened on purpose ("Propose a change") goes back to draft.
    Status.CONFIRMED: frozenset({Status.COMPLETED, Status.DRAFT}),
    Status.COMPLETED: frozenset(),
}


@dataclass(frozen=True)
class Workflow:
    """A path through the statuses, chosen by a kind."""

    name: str
    statuses: frozenset[Status]
    # Handed-in work waits for the therapist; a path without review closes itself.
    needs_review: bool
    # The status that means "the partners are done": handed in, signed or confirmed.
    done: Status

    def allows(self, before: Status, after: Status) -> bool:
        return after in TRANSITIONS[before] and after in self.statuses


_ALWAYS = frozenset({Status.ASSIGNED, Status.DRAFT, Status.RETURNED, Status.COMPLETED})

REVIEWED = Workflow(
    "reviewed",
    _ALWAYS | {Status.SUBMITTED, Status.REVIEWED},
    needs_review=True,
    done=Status.SUBMITTED,
)
SIGNED = Workflow(
    "signed", _ALWAYS | {Status.FINAL, Status.SIGNED}, needs_review=True, done=Status.SIGNED
)
CONFIRMED = Workflow(
    "confirmed",
    (_ALWAYS - {Status.RETURNED}) | {Status.CONFIRMED},
    needs_review=False,
    done=Status.CONFIRMED,
)

# The therapist has something to do: read handed-in work (final and signed texts are the
# therapist's own step, or the partners').
AWAITING_THERAPIST = frozenset({Status.SUBMITTED})
# Every status in which the author's words count as handed in (for the audience rules).
HANDED_IN = frozenset(Status) - WRITABLE


def next_statuses(workflow: Workflow, status: str) -> frozenset[Status]:
    """Where work on this path can go from `status`: the actions a page may offer."""
    return frozenset(after for after in TRANSITIONS[Status(status)] if after in workflow.statuses)


def is_writable(status: str) -> bool:
    return Status(status) in WRITABLE


def label(status: str) -> str:
    return LABELS[Status(status)]
