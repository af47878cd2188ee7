"""Therapists and owners: the people who sign in with a password."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from practice.extensions import db
from practice.models.base import UTCDateTime, practice_fk, utcnow
from practice.models.practice import Practice
from practice.tenancy import PracticeScoped

ROLES = {"owner": "Owner", "therapist": "Therapist"}


class User(PracticeScoped, UserMixin, db.Model):
    """A therapist or the practice owner; the owner sees every couple and runs the team."""

    __tablename__ = "users"
    __table_args__ = (
        # Children point at (practice_id, id), so a row can never name a user of another practice.
        UniqueConstraint("practice_id", "id"),
        CheckConstraint("role IN ('owner', 'therapist')", name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20), default="therapist")
    active: Mapped[bool] = mapped_column(default=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    # Part of the login cookie: bumping it signs the user out on every device.
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Two-step sign-in: the authenticator's secret, sealed (security.seal); when it was turned
    # on; and the last time-step whose code was used (a code works once).
    totp_secret: Mapped[str | None] = mapped_column(String(255))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column()

    practice: Mapped[Practice] = relationship()

    # The sign-in this request runs under (set by the login loader; never stored on the row).
    current_session = None

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def has_two_factor(self) -> bool:
        return self.totp_enabled_at is not None

    @property
    def is_owner(self) -> bool:
        return self.role == "owner"

    @property
    def role_label(self) -> str:
        return ROLES[self.role]

    def get_id(self) -> str:
        """What the login cookie names: the user, their session version, this sign-in."""
        session_id = self.current_session.id if self.current_session is not None else 0
        return f"{self.id}:{self.session_version}:{session_id}"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


class UserSession(PracticeScoped, db.Model):
    """One signed-in browser of a therapist: signing out there ends it on the server."""

    __tablename__ = "user_sessions"
    __table_args__ = (
        practice_fk("user_id", "users", cascade=True),
        Index("ix_user_sessions_practice_id_user_id", "practice_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column()
    device: Mapped[str | None] = mapped_column(String(120))  # "Phone · Safari", never the header
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(40))


class RecoveryCode(PracticeScoped, db.Model):
    """One of a therapist's ten single-use codes for a sign-in without their authenticator:
    only its SHA-256 is stored."""

    __tablename__ = "recovery_codes"
    __table_args__ = (
        practice_fk("user_id", "users", cascade=True),
        Index("ix_recovery_codes_practice_id_user_id", "practice_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column()
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TrustedDevice(PracticeScoped, db.Model):
    """A browser where a therapist asked not to be asked for a code for 30 days: a cookie
    holds its token, this row only the token's SHA-256."""

    __tablename__ = "trusted_devices"
    __table_args__ = (
        practice_fk("user_id", "users", cascade=True),
        Index("ix_trusted_devices_practice_id_user_id", "practice_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column()
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
