"""Scored measures: a questionnaire (an instrument's definition) the therapist sends now or on a
schedule, answered by each partner privately and scored on hand-in.

A schedule makes one measure per partner per due date at once, so that what is due, answered
or missed is a plain query. A measure is private to the partner who answers it and the
couple's therapists: the other partner never sees it or its score.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, Date, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from practice.extensions import db
from practice.models.base import UTCDateTime, practice_fk, utcnow
from practice.models.couple import Couple, Partner
from practice.models.homework import new_public_id
from practice.tenancy import PracticeScoped


class MeasureSetting(PracticeScoped, db.Model):
    """The practice's choice for one measure: enabled or not, and its default schedule. No
    row: the definition's own default (enabled_by_default) and the product's schedule."""

    __tablename__ = "measure_settings"
    __table_args__ = (
        UniqueConstraint("practice_id", "instrument"),
        CheckConstraint("every_weeks BETWEEN 1 AND 52", name="every_weeks"),
        CheckConstraint("for_weeks BETWEEN 1 AND 104", name="for_weeks"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument: Mapped[str] = mapped_column(String(40))
    enabled: Mapped[bool] = mapped_column(default=True)
    every_weeks: Mapped[int] = mapped_column(default=4)
    for_weeks: Mapped[int] = mapped_column(default=26)


class MeasureSchedule(PracticeScoped, db.Model):
    """A measure sent to a couple: once (`every_weeks` None) or every few weeks until `ends_on`."""

    __tablename__ = "measure_schedules"
    __table_args__ = (
        practice_fk("couple_id", "couples", cascade=True),
        practice_fk("created_by_id", "users"),
        UniqueConstraint("practice_id", "id"),
        CheckConstraint("every_weeks IS NULL OR every_weeks BETWEEN 1 AND 52", name="every_weeks"),
        CheckConstraint("ends_on >= starts_on", name="ends_after_start"),
        Index("ix_measure_schedules_practice_id_couple_id", "practice_id", "couple_id"),
        Index("ix_measure_schedules_practice_id_created_by_id", "practice_id", "created_by_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    couple_id: Mapped[int] = mapped_column()
    instrument: Mapped[str] = mapped_column(String(40))
    starts_on: Mapped[date] = mapped_column(Date)  # the couple's day
    every_weeks: Mapped[int | None] = mapped_column()
    ends_on: Mapped[date] = mapped_column(Date)  # the last day a measure can fall due
    created_by_id: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MeasureResponse(PracticeScoped, db.Model):
    """One partner's answers to one measure on one due date; scored when handed in."""

    __tablename__ = "measure_responses"
    __table_args__ = (
        practice_fk("couple_id", "couples", cascade=True),
        practice_fk("partner_id", "partners", cascade=True),
        practice_fk("schedule_id", "measure_schedules", cascade=True),
        UniqueConstraint("practice_id", "id"),
        UniqueConstraint("schedule_id", "partner_id", "due_on"),
        Index(
            "ix_measure_responses_practice_id_couple_id_due_on",
            "practice_id",
            "couple_id",
            "due_on",
        ),
        Index(
            "ix_measure_responses_practice_id_partner_id_due_on",
            "practice_id",
            "partner_id",
            "due_on",
        ),
        Index("ix_measure_responses_practice_id_schedule_id", "practice_id", "schedule_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    couple_id: Mapped[int] = mapped_column()
    partner_id: Mapped[int] = mapped_column()
    schedule_id: Mapped[int] = mapped_column()
    instrument: Mapped[str] = mapped_column(String(40))
    due_on: Mapped[date] = mapped_column(Date)  # the couple's day
    # item key -> the anchor's value as typed ("0".."6") or "prefer_not". Client answers.
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(default=0)
    last_saved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The engine's result on hand-in: None when an item was declined.
    score: Mapped[int | None] = mapped_column()
    # Past the instrument's cut-off (for the CSI-4: below 13.5).
    past_cutoff: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    partner: Mapped[Partner] = relationship(
        primaryjoin="Partner.id == foreign(MeasureResponse.partner_id)",
        viewonly=True,
    )
    couple: Mapped[Couple] = relationship(
        primaryjoin="Couple.id == foreign(MeasureResponse.couple_id)",
        viewonly=True,
    )
