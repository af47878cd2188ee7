"""Weekly check-ins, safety answers and the flags they raise, and reminders sent once.

A check-in is its own model, not a homework kind: nobody assigns it, it opens every week
on the couple's day, each partner has exactly one per week, it carries safety items that
are never shared, and it is reviewed beside last week's rather than returned for revision.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, Date, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from practice.checkins.status import CheckinStatus
from practice.extensions import db
from practice.models.base import UTCDateTime, practice_fk, utcnow
from practice.models.couple import Couple, Partner
from practice.models.homework import new_public_id
from practice.models.user import User
from practice.tenancy import PracticeScoped


class Checkin(PracticeScoped, db.Model):
    """One partner's check-in for one week."""

    __tablename__ = "checkins"
    __table_args__ = (
        practice_fk("couple_id", "couples", cascade=True),
        practice_fk("partner_id", "partners", cascade=True),
        practice_fk("reviewed_by_id", "users"),
        UniqueConstraint("practice_id", "id"),
        UniqueConstraint("partner_id", "week_of"),
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in CheckinStatus) + ")", name="status"
        ),
        Index("ix_checkins_practice_id_couple_id_week_of", "practice_id", "couple_id", "week_of"),
        Index("ix_checkins_practice_id_partner_id_week_of", "practice_id", "partner_id", "week_of"),
        Index(
            "ix_checkins_practice_id_status_submitted_at", "practice_id", "status", "submitted_at"
        ),
        Index("ix_checkins_practice_id_reviewed_by_id", "practice_id", "reviewed_by_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    couple_id: Mapped[int] = mapped_column()
    partner_id: Mapped[int] = mapped_column()
    # The day the week's check-in opened, in the couple's time zone.
    week_of: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default=CheckinStatus.OPEN.value)
    # Shared with the partner ("share with my partner"); private by default.
    shared: Mapped[bool] = mapped_column(default=False)
    content: Mapped[dict] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(default=0)
    last_saved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column()
    # The therapists' own note on it: never shown in the portal.
    therapist_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    partner: Mapped[Partner] = relationship(
        primaryjoin="Partner.id == foreign(Checkin.partner_id)",
        viewonly=True,
    )
    couple: Mapped[Couple] = relationship(
        primaryjoin="Couple.id == foreign(Checkin.couple_id)",
        viewonly=True,
    )


class SafetyAnswer(PracticeScoped, db.Model):
    """A partner's answers to a safety screen or to a check-in's safety items: private to the
    therapists, always; never in a partner-facing page, trend or export."""

    __tablename__ = "safety_answers"
    __table_args__ = (
        practice_fk("couple_id", "couples", cascade=True),
        practice_fk("partner_id", "partners", cascade=True),
        practice_fk("checkin_id", "checkins", cascade=True),
        UniqueConstraint("practice_id", "id"),
        CheckConstraint("context IN ('screen', 'checkin')", name="context"),
        Index(
            "ix_safety_answers_practice_id_partner_id_answered_at",
            "practice_id",
            "partner_id",
            "answered_at",
        ),
        Index("ix_safety_answers_practice_id_couple_id", "practice_id", "couple_id"),
        Index("ix_safety_answers_practice_id_checkin_id", "practice_id", "checkin_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    couple_id: Mapped[int] = mapped_column()
    partner_id: Mapped[int] = mapped_column()
    instrument: Mapped[str] = mapped_column(String(40))
    context: Mapped[str] = mapped_column(String(10))
    checkin_id: Mapped[int | None] = mapped_column()
    answers: Mapped[dict] = mapped_column(JSON)
    score: Mapped[int | None] = mapped_column()
    positive: Mapped[bool] = mapped_column(default=False)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SafetyFlag(PracticeScoped, db.Model):
    """Raised by a positive screen or an unsafe answer; therapists only. Seen, then addressed
    with a note; every step audited."""

    __tablename__ = "safety_flags"
    __table_args__ = (
        practice_fk("couple_id", "couples", cascade=True),
        practice_fk("partner_id", "partners", cascade=True),
        practice_fk("answer_id", "safety_answers", cascade=True),
        practice_fk("seen_by_id", "users"),
        practice_fk("addressed_by_id", "users"),
        Index(
            "ix_safety_flags_practice_id_couple_id_addressed_at",
            "practice_id",
            "couple_id",
            "addressed_at",
        ),
        Index("ix_safety_flags_practice_id_addressed_at", "practice_id", "addressed_at"),
        Index("ix_safety_flags_practice_id_partner_id", "practice_id", "partner_id"),
        Index("ix_safety_flags_practice_id_answer_id", "practice_id", "answer_id"),
        Index("ix_safety_flags_practice_id_seen_by_id", "practice_id", "seen_by_id"),
        Index("ix_safety_flags_practice_id_addressed_by_id", "practice_id", "addressed_by_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    couple_id: Mapped[int] = mapped_column()
    partner_id: Mapped[int] = mapped_column()
    answer_id: Mapped[int] = mapped_column()
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    seen_by_id: Mapped[int | None] = mapped_column()
    addressed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    addressed_by_id: Mapped[int | None] = mapped_column()
    # The therapist's note when addressing it: therapists only.
    note: Mapped[str] = mapped_column(Text, default="")

    partner: Mapped[Partner] = relationship(
        primaryjoin="Partner.id == foreign(SafetyFlag.partner_id)",
        viewonly=True,
    )
    seen_by: Mapped[User | None] = relationship(
        primaryjoin="User.id == foreign(SafetyFlag.seen_by_id)",
        viewonly=True,
    )


class ReminderSent(PracticeScoped, db.Model):
    """A reminder that went out: the unique key makes a second sweep (or a concurrent one)
    skip it, so each reminder is sent exactly once."""

    __tablename__ = "reminders_sent"
    __table_args__ = (
        UniqueConstraint("practice_id", "kind", "due_key", name="uq_reminders_sent_once"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # e.g. "checkin.open", "checkin.nudge", "window.soon", "contract.revisit"
    kind: Mapped[str] = mapped_column(String(40))
    # What and whom it is for, e.g. "partner:12:2026-12-07" (ids and dates only, no text).
    due_key: Mapped[str] = mapped_column(String(120))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
