"""The database's record of a background job: the truth about it, whatever Redis holds."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from practice.extensions import db
from practice.models.base import UTCDateTime, utcnow
from practice.tenancy import PracticeScoped

JOB_STATUSES = ("pending", "queued", "running", "done", "failed")


class JobRun(PracticeScoped, db.Model):
    """One requested run of a job function, with ids as its only arguments."""

    __tablename__ = "job_runs"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'queued', 'running', 'done', 'failed')", name="status"
        ),
        Index("ix_job_runs_status_created_at", "status", "created_at"),
        # What a report's (practice_id, job_run_id) refers to; it also serves the foreign
        # key to the practice (deleting a practice finds its runs here).
        UniqueConstraint("practice_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    queue: Mapped[str] = mapped_column(String(40))
    function: Mapped[str] = mapped_column(String(120))
    # Ids only (validated at enqueue): Redis and this table never hold client text.
    arguments: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A running run's claim lasts until then: past it, the worker is taken for dead, the
    # requeue sweep sends the run again and the next claim may take it over.
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
