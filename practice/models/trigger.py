"""The trigger log: one row each time something set off the hurt, logged by one partner.

An entry is private to the partner who logged it and the couple's therapists; the other
partner never sees it or learns that it exists. Many a week, no review step: the week's count
and longest recovery prefill the weekly check-in.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from practice.checkins.questions import GROUNDING_STEPS
from practice.extensions import db
from practice.models.base import UTCDateTime, practice_fk, utcnow
from practice.models.homework import new_public_id
from practice.tenancy import PracticeScoped

REASSURANCE = ("not_asked", "asked_given", "asked_not_given")
MAX_INTENSITY = 10
MAX_MINUTES_TO_STEADY = 24 * 60

__all__ = ["GROUNDING_STEPS", "REASSURANCE", "TriggerEntry"]


class TriggerEntry(PracticeScoped, db.Model):
    """One logged trigger: when, how strong, what helped, how long until steady."""

    __tablename__ = "trigger_entries"
    __table_args__ = (
        practice_fk("couple_id", "couples", cascade=True),
        practice_fk("partner_id", "partners", cascade=True),
        UniqueConstraint("practice_id", "id"),
        CheckConstraint(f"intensity BETWEEN 0 AND {MAX_INTENSITY}", name="intensity"),
        CheckConstraint(
            f"minutes_to_steady IS NULL OR minutes_to_steady BETWEEN 0 AND {MAX_MINUTES_TO_STEADY}",
            name="minutes_to_steady",
        ),
        CheckConstraint(
            "reassurance IN (" + ", ".join(f"'{r}'" for r in REASSURANCE) + ")",
            name="reassurance",
        ),
        Index(
            "ix_trigger_entries_practice_id_partner_id_occurred_at",
            "practice_id",
            "partner_id",
            "occurred_at",
        ),
        Index(
            "ix_trigger_entries_practice_id_couple_id_occurred_at",
            "practice_id",
            "couple_id",
            "occurred_at",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    couple_id: Mapped[int] = mapped_column()
    partner_id: Mapped[int] = mapped_column()
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The partner's own words; optional. Client text: never logged.
    what_set_it_off: Mapped[str] = mapped_column(Text, default="")
    intensity: Mapped[int] = mapped_column()
    # Keys of questions.GROUNDING_STEPS, in that order.
    helped: Mapped[list] = mapped_column(JSON, default=list)
    minutes_to_steady: Mapped[int | None] = mapped_column()
    reassurance: Mapped[str] = mapped_column(String(20), default="not_asked")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
