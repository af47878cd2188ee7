"""Single-purpose secrets sent by email: password resets and therapist invitations.

Only the SHA-256 of a token is stored; the token itself lives in the email alone.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from practice.extensions import db
from practice.models.base import UTCDateTime, practice_fk, utcnow
from practice.models.user import User
from practice.tenancy import PracticeScoped


class PasswordReset(PracticeScoped, db.Model):
    """A single-use, short-lived password reset for one user."""

    __tablename__ = "password_resets"
    __table_args__ = (
        practice_fk("user_id", "users", cascade=True),
        Index("ix_password_resets_practice_id_user_id", "practice_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column()
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(
        foreign_keys=[user_id],
        primaryjoin="PasswordReset.user_id == User.id",
    )


class TherapistInvitation(PracticeScoped, db.Model):
    """The owner's invitation for a therapist to join the practice."""

    __tablename__ = "therapist_invitations"
    __table_args__ = (
        practice_fk("invited_by_id", "users"),
        practice_fk("user_id", "users"),
        Index("ix_therapist_invitations_practice_id_invited_by_id", "practice_id", "invited_by_id"),
        Index("ix_therapist_invitations_practice_id_user_id", "practice_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(120))
    invited_by_id: Mapped[int] = mapped_column()
    # Set when the email job runs; a resend replaces it, voiding the earlier link.
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user_id: Mapped[int | None] = mapped_column()

    invited_by: Mapped[User] = relationship(
        foreign_keys=[invited_by_id],
        # Its practice term is redundant (the composite foreign key), but tests/test_tenancy.py
        # still reads it in this relationship's lazy load.
        primaryjoin="and_(TherapistInvitation.invited_by_id == User.id, "
        "TherapistInvitation.practice_id == User.practice_id)",
        viewonly=True,
    )

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None
