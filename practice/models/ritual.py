"""The connection ritual's weekly tick: what happened of the plan the couple agreed to.

One row per partner per week (the check-in's week, which starts on the couple's day in the
couple's time zone); saving again changes it. A tick is private to the partner who made it
and the couple's therapists: the other partner never sees it, its note or its answers. The
plan itself is a homework kind (`practice.homework.connection_ritual`).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from practice.extensions import db
from practice.models.base import UTCDateTime, practice_fk, utcnow
from practice.tenancy import PracticeScoped

# Did the repair check-in happen: as planned, at another time, or not.
REPAIR_CHECKIN = ("yes", "moved", "no")
# Did the date happen: yes, not yet but it is planned, or not this week.
FUN_DATE = ("yes", "planned", "no")
DAYS_IN_WEEK = 7
NOTE_LIMIT = 300


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{value}'" for value in values) + ")"


class RitualTick(PracticeScoped, db.Model):
    """One partner's tick of one week of the connection ritual."""

    __tablename__ = "ritual_ticks"
    __table_args__ = (
        practice_fk("couple_id", "couples", cascade=True),
        practice_fk("partner_id", "partners", cascade=True),
        UniqueConstraint("practice_id", "id"),
        # One a week for each partner; also the lookup of a partner's weeks.
        UniqueConstraint("practice_id", "partner_id", "week_of"),
        CheckConstraint(_one_of("repair_checkin", REPAIR_CHECKIN), name="repair_checkin"),
        CheckConstraint(_one_of("fun_date", FUN_DATE), name="fun_date"),
        CheckConstraint(f"care_days BETWEEN 0 AND {DAYS_IN_WEEK}", name="care_days"),
        Index(
            "ix_ritual_ticks_practice_id_couple_id_week_of", "practice_id", "couple_id", "week_of"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    couple_id: Mapped[int] = mapped_column()
    partner_id: Mapped[int] = mapped_column()
    # The day the week's check-in opened, in the couple's time zone.
    week_of: Mapped[date] = mapped_column(Date)
    repair_checkin: Mapped[str] = mapped_column(String(8))
    fun_date: Mapped[str] = mapped_column(String(8))
    # On how many days of the week the partner gave their act of care.
    care_days: Mapped[int] = mapped_column()
    # The partner's own words, for the therapist; optional. Client text: never logged.
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def checkin_held(self) -> bool:
        return self.repair_checkin in ("yes", "moved")

    @property
    def date_held(self) -> bool:
        return self.fun_date == "yes"
