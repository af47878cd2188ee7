"""Therapy sessions (appointments) and the session-summary PDFs prepared from them.

A therapy session is an `Appointment`: "session" already names Flask's cookie session,
`db.session` and the partners' portal sessions.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from practice.extensions import db
from practice.models.base import UTCDateTime, practice_fk, utcnow
from practice.models.couple import Couple, Partner
from practice.models.homework import new_public_id
from practice.models.job import JobRun
from practice.models.user import User
from practice.tenancy import PracticeScoped

ATTENDANCE = {
    "both": "Both partners",
    "one": "One partner",
    "notes": "Therapist notes only",
}

REPORT_AUDIENCES = {
    "therapist": "Therapist copy",
    "couple": "Couple copy",
}

# The stages a summary passes through, in order: the progress bar shows them.
REPORT_STAGES = ("waiting", "gathering", "charts", "rendering", "saving", "done")


class Appointment(PracticeScoped, db.Model):
    """One therapy session with a couple: when, how long, who came, and what follows."""

    __tablename__ = "appointments"
    __table_args__ = (
        practice_fk("couple_id", "couples", cascade=True),
        practice_fk("partner_id", "partners", cascade=True),
        practice_fk("created_by_id", "users"),
        UniqueConstraint("practice_id", "id"),
        CheckConstraint("attendance IN ('both', 'one', 'notes')", name="attendance"),
        CheckConstraint("minutes BETWEEN 5 AND 480", name="minutes"),
        # One partner came: which one (and only then).
        CheckConstraint("(attendance = 'one') = (partner_id IS NOT NULL)", name="one_partner"),
        # A couple's sessions in time order; the dashboard's sessions of the day.
        Index(
            "ix_appointments_practice_id_couple_id_starts_at",
            "practice_id",
            "couple_id",
            "starts_at",
        ),
        Index("ix_appointments_practice_id_starts_at", "practice_id", "starts_at"),
        Index("ix_appointments_practice_id_partner_id", "practice_id", "partner_id"),
        Index("ix_appointments_practice_id_created_by_id", "practice_id", "created_by_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    couple_id: Mapped[int] = mapped_column()
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    minutes: Mapped[int] = mapped_column(default=50)
    attendance: Mapped[str] = mapped_column(String(8), default="both")
    # The partner who came, when only one did.
    partner_id: Mapped[int | None] = mapped_column()
    # The therapist's own notes: only ever in the therapist's copy.
    notes: Mapped[str] = mapped_column(Text, default="")
    # What the couple takes away: in both copies.
    next_steps: Mapped[str] = mapped_column(Text, default="")
    # Homework kinds to assign next, by key (practice.homework.KINDS).
    next_homework: Mapped[list] = mapped_column(JSON, default=list)
    created_by_id: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    couple: Mapped[Couple] = relationship(
        primaryjoin="Couple.id == foreign(Appointment.couple_id)", viewonly=True
    )
    partner: Mapped[Partner | None] = relationship(
        primaryjoin="Partner.id == foreign(Appointment.partner_id)", viewonly=True
    )
    created_by: Mapped[User] = relationship(
        primaryjoin="User.id == foreign(Appointment.created_by_id)", viewonly=True
    )

    @property
    def attendance_label(self) -> str:
        if self.attendance == "one" and self.partner is not None:
            return f"{self.partner.display_name} only"
        return ATTENDANCE[self.attendance]


class ReportBatch(PracticeScoped, db.Model):
    """Summaries asked for together ("this week's sessions"): one job per couple, one zip."""

    __tablename__ = "report_batches"
    __table_args__ = (
        practice_fk("created_by_id", "users"),
        UniqueConstraint("practice_id", "id"),
        Index("ix_report_batches_practice_id_created_by_id", "practice_id", "created_by_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    audience: Mapped[str] = mapped_column(String(10))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    created_by_id: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    reports: Mapped[list[Report]] = relationship(
        primaryjoin="ReportBatch.id == foreign(Report.batch_id)",
        order_by="Report.id",
        viewonly=True,
    )


class Report(PracticeScoped, db.Model):
    """A session summary PDF for one audience: what was asked for, and the file once made.

    The job that renders it is a `JobRun` (its status, attempts and error live there, and
    only there); `stage` is how far the render has got, for the progress bar. The file is
    named by the report's id, so a retried render replaces the one file it wrote.
    """

    __tablename__ = "reports"
    __table_args__ = (
        practice_fk("couple_id", "couples", cascade=True),
        practice_fk("appointment_id", "appointments", cascade=True),
        practice_fk("batch_id", "report_batches", cascade=True),
        practice_fk("created_by_id", "users"),
        practice_fk("released_by_id", "users"),
        practice_fk("job_run_id", "job_runs"),
        CheckConstraint("audience IN ('therapist', 'couple')", name="audience"),
        CheckConstraint(
            "stage IN (" + ", ".join(f"'{stage}'" for stage in REPORT_STAGES) + ")", name="stage"
        ),
        CheckConstraint("period_start <= period_end", name="period"),
        # Only a couple copy is ever released to the portal.
        CheckConstraint("released_at IS NULL OR audience = 'couple'", name="release_couple"),
        # A couple's summaries, newest first; the portal's released ones.
        Index(
            "ix_reports_practice_id_couple_id_created_at", "practice_id", "couple_id", "created_at"
        ),
        Index("ix_reports_practice_id_appointment_id", "practice_id", "appointment_id"),
        Index("ix_reports_practice_id_batch_id", "practice_id", "batch_id"),
        Index("ix_reports_practice_id_created_by_id", "practice_id", "created_by_id"),
        Index("ix_reports_practice_id_released_by_id", "practice_id", "released_by_id"),
        Index("ix_reports_practice_id_job_run_id", "practice_id", "job_run_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The id in portal URLs: a partner must not count the therapist's copies from gaps.
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    couple_id: Mapped[int] = mapped_column()
    appointment_id: Mapped[int | None] = mapped_column()
    batch_id: Mapped[int | None] = mapped_column()
    audience: Mapped[str] = mapped_column(String(10))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    stage: Mapped[str] = mapped_column(String(10), default="waiting")
    job_run_id: Mapped[int | None] = mapped_column()
    # The stored file: its name under the reports folder, digest and size.
    file_name: Mapped[str | None] = mapped_column(String(200))
    sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column()
    pages: Mapped[int | None] = mapped_column()
    created_by_id: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rendered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_by_id: Mapped[int | None] = mapped_column()

    couple: Mapped[Couple] = relationship(
        primaryjoin="Couple.id == foreign(Report.couple_id)", viewonly=True
    )
    appointment: Mapped[Appointment | None] = relationship(
        primaryjoin="Appointment.id == foreign(Report.appointment_id)", viewonly=True
    )
    job_run: Mapped[JobRun | None] = relationship(
        primaryjoin="JobRun.id == foreign(Report.job_run_id)", viewonly=True
    )
    created_by: Mapped[User] = relationship(
        primaryjoin="User.id == foreign(Report.created_by_id)", viewonly=True
    )

    @property
    def audience_label(self) -> str:
        return REPORT_AUDIENCES[self.audience]

    @property
    def is_ready(self) -> bool:
        return self.rendered_at is not None and self.file_name is not None
