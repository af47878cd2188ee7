"""The case: a couple, its two partners, and the therapists assigned to it."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    Index,
    String,
    Text,
    UniqueConstraint,
    and_,
)
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship

from practice.extensions import db
from practice.models.base import UTCDateTime, practice_fk, utcnow
from practice.models.user import User
from practice.tenancy import PracticeScoped

COUPLE_STATUSES = {"active": "Active", "paused": "Paused", "closed": "Closed"}
PRESENTING_CONCERNS = {
    "affair": "Affair",
    "lie": "A lie",
    "financial_secret": "Financial secret",
    "addiction": "Addiction",
    "other": "Other",
}
REPAIR_ROLES = {
    "hurt": "Partner who was hurt",
    "broke_trust": "Partner who broke trust",
    "mutual": "Mutual",
}


class Couple(PracticeScoped, db.Model):
    """A case: exactly two partners, one practice, one or more assigned therapists."""

    __tablename__ = "couples"
    __table_args__ = (
        UniqueConstraint("practice_id", "id"),
        CheckConstraint("status IN ('active', 'paused', 'closed')", name="status"),
        CheckConstraint(
            "presenting_concern IN ('affair', 'lie', 'financial_secret', 'addiction', 'other')",
            name="presenting_concern",
        ),
        Index("ix_couples_practice_id_status_label", "practice_id", "status", "label"),
        # The deletion sweep: the couples whose scheduled deletion is due.
        Index("ix_couples_practice_id_deletion_due_at", "practice_id", "deletion_due_at"),
        # Only a closed case is ever scheduled for deletion.
        CheckConstraint("deletion_due_at IS NULL OR status = 'closed'", name="deletion_closed"),
        CheckConstraint("checkin_weekday BETWEEN 0 AND 6", name="checkin_weekday"),
        CheckConstraint("checkin_hour BETWEEN 0 AND 23", name="checkin_hour"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(10), default="active")
    presenting_concern: Mapped[str] = mapped_column(String(20), default="other")
    start_date: Mapped[date] = mapped_column(Date)
    time_zone: Mapped[str] = mapped_column(String(64))
    # The couple's own check-in day and hour (None: the practice's).
    checkin_weekday: Mapped[int | None] = mapped_column()
    checkin_hour: Mapped[int | None] = mapped_column()
    # The therapists' own notes: never shown in the portal.
    therapist_notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the closed case's whole record is to be deleted (the practice's retention period
    # after closing); None: not scheduled. Reopening the case clears it.
    deletion_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The latest portal activity of either partner, kept here for the caseload's sort.
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    partners: Mapped[list[Partner]] = relationship(
        back_populates="couple",
        order_by="Partner.position",
        # Scoped statements get the practice from the tenancy guard; the portal's unscoped
        # session load adds it to this join itself (services.portal_access).
        primaryjoin="Couple.id == foreign(Partner.couple_id)",
        cascade="all, delete-orphan",
    )
    assignments: Mapped[list[CoupleTherapist]] = relationship(
        back_populates="couple",
        primaryjoin="Couple.id == foreign(CoupleTherapist.couple_id)",
        cascade="all, delete-orphan",
    )
    therapists: Mapped[list[User]] = relationship(
        secondary="couple_therapists",
        primaryjoin="Couple.id == CoupleTherapist.couple_id",
        secondaryjoin="and_(User.id == CoupleTherapist.user_id, "
        "User.practice_id == CoupleTherapist.practice_id)",
        order_by="User.name",
        viewonly=True,
    )

    @property
    def status_label(self) -> str:
        return COUPLE_STATUSES[self.status]

    @property
    def concern_label(self) -> str:
        return PRESENTING_CONCERNS[self.presenting_concern]

    @property
    def is_closed(self) -> bool:
        return self.status == "closed"


class CoupleTherapist(PracticeScoped, db.Model):
    """A therapist assigned to a couple; only assigned therapists (and the owner) see it."""

    __tablename__ = "couple_therapists"
    __table_args__ = (
        practice_fk("couple_id", "couples", cascade=True),
        practice_fk("user_id", "users"),
        UniqueConstraint("practice_id", "couple_id", "user_id"),
        # A therapist's couples (the caseload's "assigned to" filter, the review queue).
        Index(
            "ix_couple_therapists_practice_id_user_id_couple_id",
            "practice_id",
            "user_id",
            "couple_id",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    couple_id: Mapped[int] = mapped_column()
    user_id: Mapped[int] = mapped_column()
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    couple: Mapped[Couple] = relationship(
        back_populates="assignments",
        primaryjoin="Couple.id == foreign(CoupleTherapist.couple_id)",
    )
    therapist: Mapped[User] = relationship(
        primaryjoin="User.id == foreign(CoupleTherapist.user_id)",
        viewonly=True,
    )


class Partner(PracticeScoped, db.Model):
    """One of the two people in a couple; enters the portal through a personal link."""

    __tablename__ = "partners"
    __table_args__ = (
        UniqueConstraint("practice_id", "id"),
        # Also the index of a couple's partners (the caseload loads them by couple).
        UniqueConstraint("practice_id", "couple_id", "position"),
        practice_fk("couple_id", "couples", cascade=True),
        CheckConstraint("position IN (1, 2)", name="position"),
        CheckConstraint("repair_role IN ('hurt', 'broke_trust', 'mutual')", name="repair_role"),
        # The dashboard's "not opened yet": oldest first, read in index order.
        Index(
            "ix_partners_practice_id_joined_at_created_at", "practice_id", "joined_at", "created_at"
        ),
        # Asking for a sign-in link by email is the one lookup across practices.
        Index("ix_partners_email", "email"),
        # "Needs you today": partners whose check-ins stopped, read as a range.
        Index("ix_partners_practice_id_last_checkin_on", "practice_id", "last_checkin_on"),
        Index(
            "ix_partners_practice_id_declining_markers_last_checkin_on",
            "practice_id",
            "declining_markers",
            "last_checkin_on",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    couple_id: Mapped[int] = mapped_column()
    position: Mapped[int] = mapped_column()
    display_name: Mapped[str] = mapped_column(String(80))
    email: Mapped[str | None] = mapped_column(String(254))
    repair_role: Mapped[str] = mapped_column(String(12), default="mutual")
    time_zone: Mapped[str] = mapped_column(String(64))
    # Part of the portal cookie: bumping it ends every portal session of this partner.
    session_version: Mapped[int] = mapped_column(default=1)
    # Set by "Revoke all access": no link, email sign-in, session or calendar feed lets the
    # partner in until the therapist creates a new personal link, which clears it.
    access_revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    privacy_acknowledged_version: Mapped[int | None] = mapped_column()
    # The digest of the notice's words and policy last acknowledged (see portal_access).
    privacy_acknowledged_digest: Mapped[str | None] = mapped_column(String(64))
    # An optional PIN that keeps the portal closed on a shared device (argon2, never the PIN).
    pin_hash: Mapped[str | None] = mapped_column(String(255))
    pin_set_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The title of processing-window events in this partner's calendar (None: the neutral
    # default). Calendars are often shared or on a work account: the partner chooses.
    calendar_title: Mapped[str | None] = mapped_column(String(80))
    # The last safety screen answered (again every 90 days), and when the PIN was offered.
    screened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pin_offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Reminders an hour before each processing window: the partner opts in.
    window_reminders: Mapped[bool] = mapped_column(default=False, server_default="0")
    # Kept with each handed-in check-in, so that lists never read check-ins to find who needs
    # the therapist: the week of the latest one (the day the partner was added, before any),
    # and how many progress markers went down three handed-in weeks running at that check-in.
    last_checkin_on: Mapped[date] = mapped_column(Date, default=lambda: utcnow().date())
    declining_markers: Mapped[int] = mapped_column(default=0, server_default="0")

    couple: Mapped[Couple] = relationship(
        back_populates="partners",
        primaryjoin="Couple.id == foreign(Partner.couple_id)",
    )
    current_invite: Mapped[PartnerInvite | None] = relationship(
        primaryjoin=lambda: and_(
            foreign(PartnerInvite.partner_id) == Partner.id,
            PartnerInvite.revoked_at.is_(None),
        ),
        viewonly=True,
        uselist=False,
    )

    @property
    def role_label(self) -> str:
        return REPAIR_ROLES[self.repair_role]

    @property
    def other(self) -> Partner:
        return next(p for p in self.couple.partners if p.id != self.id)


class PartnerInvite(PracticeScoped, db.Model):
    """A partner's personal link: reusable until it expires, is revoked or is replaced."""

    __tablename__ = "partner_invites"
    __table_args__ = (
        practice_fk("partner_id", "partners", cascade=True),
        practice_fk("created_by_id", "users"),
        UniqueConstraint("practice_id", "id"),
        # A partner's current link: partner_id = ? AND revoked_at IS NULL.
        Index(
            "ix_partner_invites_practice_id_partner_id_revoked_at",
            "practice_id",
            "partner_id",
            "revoked_at",
        ),
        Index("ix_partner_invites_practice_id_created_by_id", "practice_id", "created_by_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column()
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoke_reason: Mapped[str | None] = mapped_column(String(20))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    use_count: Mapped[int] = mapped_column(default=0)
    # The link, encrypted, only until the email job has sent it (then cleared).
    pending_email: Mapped[str | None] = mapped_column(Text)
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    partner: Mapped[Partner] = relationship(
        primaryjoin="Partner.id == foreign(PartnerInvite.partner_id)",
        viewonly=True,
    )
    created_by: Mapped[User] = relationship(
        primaryjoin="User.id == foreign(PartnerInvite.created_by_id)",
        viewonly=True,
    )

    def is_usable(self, now: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now


class PartnerSignInLink(PracticeScoped, db.Model):
    """A single-use, 30-minute sign-in link a partner asked for by email."""

    __tablename__ = "partner_sign_in_links"
    __table_args__ = (
        practice_fk("partner_id", "partners", cascade=True),
        Index("ix_partner_sign_in_links_practice_id_partner_id", "practice_id", "partner_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column()
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PortalSession(PracticeScoped, db.Model):
    """One device's portal session for a partner; listed on the couple page, revocable."""

    __tablename__ = "portal_sessions"
    __table_args__ = (
        practice_fk("partner_id", "partners", cascade=True),
        # A partner's live sessions: partner_id = ? AND ended_at IS NULL.
        Index(
            "ix_portal_sessions_practice_id_partner_id_ended_at",
            "practice_id",
            "partner_id",
            "ended_at",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column()
    started_via: Mapped[str] = mapped_column(String(20))  # "invite" or "email link"
    device: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(40))
    # With a PIN set: when this device last proved it (sliding), and wrong tries since.
    unlocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pin_failures: Mapped[int] = mapped_column(default=0, server_default="0")

    partner: Mapped[Partner] = relationship(
        primaryjoin="Partner.id == foreign(PortalSession.partner_id)",
        viewonly=True,
    )


class PrivacyAcknowledgement(PracticeScoped, db.Model):
    """A partner read and accepted one version of the privacy notice and secrets policy."""

    __tablename__ = "privacy_acknowledgements"
    __table_args__ = (
        practice_fk("partner_id", "partners", cascade=True),
        UniqueConstraint(
            "practice_id",
            "partner_id",
            "notice_digest",
            # The conventional name is longer than PostgreSQL's 63 characters.
            name="uq_privacy_acknowledgements_practice_id_partner_id_digest",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column()
    notice_version: Mapped[int] = mapped_column()  # the practice's policy version
    # The words acknowledged: our notice's text and the policy (None before digests).
    notice_digest: Mapped[str | None] = mapped_column(String(64))
    secrets_policy: Mapped[str] = mapped_column(String(20))
    acknowledged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
