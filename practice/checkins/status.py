"""A check-in's states, named here only (as homework's are in homework/workflow.py).

open: the week's check-in exists, nothing typed yet; draft: saved as typed; submitted:
handed in, read-only, waiting for the therapist; reviewed: the therapist has read it.
"""

from __future__ import annotations

from enum import StrEnum


class CheckinStatus(StrEnum):
    OPEN = "open"
    DRAFT = "draft"
    SUBMITTED = "submitted"
    REVIEWED = "reviewed"


WRITABLE = frozenset({CheckinStatus.OPEN, CheckinStatus.DRAFT})
HANDED_IN = frozenset({CheckinStatus.SUBMITTED, CheckinStatus.REVIEWED})
