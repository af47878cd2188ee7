"""Exports of a couple's whole record: one zip per request, built in a background job."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from practice.extensions import db
from practice.models.base import UTCDateTime, practice_fk, utcnow
from practice.models.couple import Couple
from practice.models.homework import new_public_id
from practice.models.job import JobRun
from practice.models.user import User
from practice.tenancy import PracticeScoped

# The stages an export passes through, in order: its progress bar shows them.
EXPORT_STAGES = ("waiting", "gathering", "rendering", "packing", "saving", "done")


class CoupleExport(PracticeScoped, db.Model):
    """The owner's export of a couple's whole record: what was asked, and the zip once made.

    As for a session summary, the job's status, attempts and error live on its `JobRun`
    (and only there); `stage` is how far the build has got. The file is named by the
    export's id, so a retried build replaces the one file it wrote; `public_id` names the
    export in URLs and in the download's name.
    """

    __tablename__ = "couple_exports"
    __table_args__ = (
        practice_fk("couple_id", "couples", cascade=True),
        practice_fk("requested_by_id", "users"),
        practice_fk("job_run_id", "job_runs"),
        CheckConstraint(
            "stage IN (" + ", ".join(f"'{stage}'" for stage in EXPORT_STAGES) + ")", name="stage"
        ),
        # A couple's exports, newest first.
        Index(
            "ix_couple_exports_practice_id_couple_id_created_at",
            "practice_id",
            "couple_id",
            "created_at",
        ),
        Index("ix_couple_exports_practice_id_requested_by_id", "practice_id", "requested_by_id"),
        Index("ix_couple_exports_practice_id_job_run_id", "practice_id", "job_run_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    couple_id: Mapped[int] = mapped_column()
    requested_by_id: Mapped[int] = mapped_column()
    stage: Mapped[str] = mapped_column(String(10), default="waiting")
    job_run_id: Mapped[int | None] = mapped_column()
    # The stored zip: its name under the exports folder, digest and size.
    file_name: Mapped[str | None] = mapped_column(String(200))
    sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    couple: Mapped[Couple] = relationship(
        primaryjoin="Couple.id == foreign(CoupleExport.couple_id)", viewonly=True
    )
    requested_by: Mapped[User] = relationship(
        primaryjoin="User.id == foreign(CoupleExport.requested_by_id)", viewonly=True
    )
    job_run: Mapped[JobRun | None] = relationship(
        primaryjoin="JobRun.id == foreign(CoupleExport.job_run_id)", viewonly=True
    )

    @property
    def is_ready(self) -> bool:
        return self.finished_at is not None and self.file_name is not None
