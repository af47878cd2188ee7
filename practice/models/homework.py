"""Homework: what a therapist assigns to a couple, and each piece of work it asks for."""

from __future__ import annotations

import secrets
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
from practice.homework import workflow
from practice.homework.workflow import Status
from practice.models.base import UTCDateTime, practice_fk, utcnow
from practice.models.couple import Couple, Partner
from practice.models.user import User
from practice.tenancy import PracticeScoped


def new_public_id() -> str:
    """An opaque id for a URL a partner sees: no order, no gaps to count."""
    return secrets.token_urlsafe(16)


MODES = {"one": "One partner", "each": "Each partner separately", "joint": "Both together"}
AUDIENCES = ("private", "couple", "sealed", "sealed_until_released")


class Assignment(PracticeScoped, db.Model):
    """A therapist's request: one kind of homework, for one partner, each, or both jointly."""

    __tablename__ = "assignments"
    __table_args__ = (
        practice_fk("couple_id", "couples", cascade=True),
        practice_fk("created_by_id", "users"),
        UniqueConstraint("practice_id", "id"),
        CheckConstraint("mode IN ('one', 'each', 'joint')", name="mode"),
        # A couple's homework, newest first.
        Index(
            "ix_assignments_practice_id_couple_id_created_at",
            "practice_id",
            "couple_id",
            "created_at",
        ),
        Index("ix_assignments_practice_id_created_by_id", "practice_id", "created_by_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    couple_id: Mapped[int] = mapped_column()
    kind: Mapped[str] = mapped_column(String(40))
    mode: Mapped[str] = mapped_column(String(10))
    instructions: Mapped[str] = mapped_column(Text, default="")
    due_date: Mapped[date | None] = mapped_column(Date)
    created_by_id: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    couple: Mapped[Couple] = relationship(
        primaryjoin="Couple.id == foreign(Assignment.couple_id)",
        viewonly=True,
    )
    created_by: Mapped[User] = relationship(
        primaryjoin="User.id == foreign(Assignment.created_by_id)",
        viewonly=True,
    )
    responses: Mapped[list[HomeworkResponse]] = relationship(
        back_populates="assignment",
        primaryjoin="Assignment.id == foreign(HomeworkResponse.assignment_id)",
        order_by="HomeworkResponse.id",
        cascade="all, delete-orphan",
    )


class HomeworkResponse(PracticeScoped, db.Model):
    """One piece of work: a partner's own answer, or the couple's joint document."""

    __tablename__ = "homework_responses"
    __table_args__ = (
        practice_fk("assignment_id", "assignments", cascade=True),
        practice_fk("couple_id", "couples", cascade=True),
        practice_fk("partner_id", "partners", cascade=True),
        UniqueConstraint("practice_id", "id"),
        # Also the index of an assignment's responses.
        UniqueConstraint("practice_id", "assignment_id", "partner_id"),
        CheckConstraint(
            "status IN (" + ", ".join(f"'{status}'" for status in Status) + ")", name="status"
        ),
        CheckConstraint(
            "audience IN (" + ", ".join(f"'{audience}'" for audience in AUDIENCES) + ")",
            name="audience",
        ),
        # A couple's work, by status (the caseload's counts, the portal, the dashboard).
        Index(
            "ix_homework_responses_practice_id_couple_id_status",
            "practice_id",
            "couple_id",
            "status",
        ),
        Index("ix_homework_responses_practice_id_partner_id", "practice_id", "partner_id"),
        Index(
            "ix_homework_responses_practice_id_status_submitted_at",
            "practice_id",
            "status",
            "submitted_at",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The id in portal URLs: a partner must not infer the other's hidden items from gaps.
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    assignment_id: Mapped[int] = mapped_column()
    couple_id: Mapped[int] = mapped_column()
    # The author; None for a joint document that both partners write.
    partner_id: Mapped[int | None] = mapped_column()
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12), default=Status.ASSIGNED.value)
    audience: Mapped[str] = mapped_column(String(24))
    content: Mapped[dict] = mapped_column(JSON)
    schema_version: Mapped[int] = mapped_column(default=1)
    # Bumped by every save: a save based on an older version is a conflict, never an overwrite.
    version: Mapped[int] = mapped_column(default=0)
    last_saved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_saved_by_partner_id: Mapped[int | None] = mapped_column()
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the coach found in the stored content, counted when it is saved (lists show the
    # counts without running the coach again): flags, and parts still missing.
    coach_flags: Mapped[int] = mapped_column(default=0, server_default="0")
    coach_missing: Mapped[int] = mapped_column(default=0, server_default="0")

    assignment: Mapped[Assignment] = relationship(
        back_populates="responses",
        primaryjoin="Assignment.id == foreign(HomeworkResponse.assignment_id)",
    )
    partner: Mapped[Partner | None] = relationship(
        primaryjoin="Partner.id == foreign(HomeworkResponse.partner_id)",
        viewonly=True,
    )
    comments: Mapped[list[HomeworkComment]] = relationship(
        primaryjoin="HomeworkResponse.id == foreign(HomeworkComment.response_id)",
        order_by="HomeworkComment.id",
        viewonly=True,
    )

    @property
    def is_joint(self) -> bool:
        return self.partner_id is None

    @property
    def status_label(self) -> str:
        return workflow.label(self.status)


class ResponseTransition(PracticeScoped, db.Model):
    """A change of state of a piece of work: who, when, from what to what."""

    __tablename__ = "homework_transitions"
    __table_args__ = (
        practice_fk("response_id", "homework_responses", cascade=True),
        practice_fk("actor_user_id", "users"),
        practice_fk("actor_partner_id", "partners", cascade=True),
        # A piece's history, in order.
        Index(
            "ix_homework_transitions_practice_id_response_id_at", "practice_id", "response_id", "at"
        ),
        Index("ix_homework_transitions_practice_id_actor_user_id", "practice_id", "actor_user_id"),
        Index(
            "ix_homework_transitions_practice_id_actor_partner_id",
            "practice_id",
            "actor_partner_id",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column()
    from_status: Mapped[str] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    actor_user_id: Mapped[int | None] = mapped_column()
    actor_partner_id: Mapped[int | None] = mapped_column()
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor_user: Mapped[User | None] = relationship(
        primaryjoin="User.id == foreign(ResponseTransition.actor_user_id)",
        viewonly=True,
    )
    actor_partner: Mapped[Partner | None] = relationship(
        primaryjoin="Partner.id == foreign(ResponseTransition.actor_partner_id)",
        viewonly=True,
    )

    @property
    def actor_name(self) -> str:
        actor = self.actor_user or self.actor_partner
        if actor is None:
            return "system"
        return getattr(actor, "name", None) or actor.display_name


class HomeworkComment(PracticeScoped, db.Model):
    """A therapist's comment on a piece of work, sent to its author with a return: kept, in
    order, never overwritten by the next one."""

    __tablename__ = "homework_comments"
    __table_args__ = (
        practice_fk("response_id", "homework_responses", cascade=True),
        practice_fk("author_user_id", "users"),
        Index("ix_homework_comments_practice_id_response_id", "practice_id", "response_id"),
        Index("ix_homework_comments_practice_id_author_user_id", "practice_id", "author_user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column()
    author_user_id: Mapped[int] = mapped_column()
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User] = relationship(
        primaryjoin="User.id == foreign(HomeworkComment.author_user_id)",
        viewonly=True,
    )


class InstructionTemplate(PracticeScoped, db.Model):
    """A practice's own default instructions for one homework kind."""

    __tablename__ = "instruction_templates"
    __table_args__ = (UniqueConstraint("practice_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    instructions: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class JointConfirmation(PracticeScoped, db.Model):
    """A partner agreeing to one version of a joint document (a processing window schedule)."""

    __tablename__ = "joint_confirmations"
    __table_args__ = (
        practice_fk("response_id", "homework_responses", cascade=True),
        practice_fk("partner_id", "partners", cascade=True),
        UniqueConstraint("practice_id", "response_id", "partner_id"),
        Index("ix_joint_confirmations_practice_id_partner_id", "practice_id", "partner_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column()
    partner_id: Mapped[int] = mapped_column()
    # Confirms exactly this version: any later edit needs confirming again.
    version: Mapped[int] = mapped_column()
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ContractVersion(PracticeScoped, db.Model):
    """A repair contract as the therapist marked it final: the text both partners sign."""

    __tablename__ = "contract_versions"
    __table_args__ = (
        practice_fk("response_id", "homework_responses", cascade=True),
        practice_fk("finalized_by_id", "users"),
        UniqueConstraint("practice_id", "id"),
        # Also the index of a piece's versions.
        UniqueConstraint("practice_id", "response_id", "number"),
        Index("ix_contract_versions_practice_id_finalized_by_id", "practice_id", "finalized_by_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column()
    number: Mapped[int] = mapped_column()
    content: Mapped[dict] = mapped_column(JSON)
    revisit_date: Mapped[date | None] = mapped_column(Date)
    finalized_by_id: Mapped[int] = mapped_column()
    finalized_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when a later edit replaced this version; its signatures then stop counting.
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    signatures: Mapped[list[ContractSignature]] = relationship(
        primaryjoin="ContractVersion.id == foreign(ContractSignature.version_id)",
        order_by="ContractSignature.signed_at",
        viewonly=True,
    )


class ContractSignature(PracticeScoped, db.Model):
    """A partner's signature on one contract version: their typed name and the time."""

    __tablename__ = "contract_signatures"
    __table_args__ = (
        practice_fk("version_id", "contract_versions", cascade=True),
        practice_fk("partner_id", "partners", cascade=True),
        UniqueConstraint("practice_id", "version_id", "partner_id"),
        Index("ix_contract_signatures_practice_id_partner_id", "practice_id", "partner_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column()
    partner_id: Mapped[int] = mapped_column()
    typed_name: Mapped[str] = mapped_column(String(120))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Agreement(PracticeScoped, db.Model):
    """An agreement in force for a couple, merged by the therapist from boundary proposals."""

    __tablename__ = "agreements"
    __table_args__ = (
        practice_fk("couple_id", "couples", cascade=True),
        practice_fk("created_by_id", "users"),
        UniqueConstraint("practice_id", "id"),
        Index("ix_agreements_practice_id_couple_id", "practice_id", "couple_id"),
        Index("ix_agreements_practice_id_created_by_id", "practice_id", "created_by_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The id in portal URLs (see HomeworkResponse.public_id).
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    couple_id: Mapped[int] = mapped_column()
    domain: Mapped[str] = mapped_column(String(24))
    text: Mapped[str] = mapped_column(Text)
    time_frame: Mapped[str] = mapped_column(String(200), default="")
    review_date: Mapped[date | None] = mapped_column(Date)
    created_by_id: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The boundary proposals merged into it, as [response id, proposal index] pairs.
    merged_from: Mapped[list | None] = mapped_column(JSON)

    acceptances: Mapped[list[AgreementAcceptance]] = relationship(
        primaryjoin="Agreement.id == foreign(AgreementAcceptance.agreement_id)",
        viewonly=True,
    )


AGREEMENT_DECISIONS = ("accepted", "discuss")


class AgreementAcceptance(PracticeScoped, db.Model):
    """A partner's answer to an agreement in the portal: accepted, or asks to discuss it
    (with an optional note that only the therapist reads). One answer per partner; a new
    answer replaces the old one."""

    __tablename__ = "agreement_acceptances"
    __table_args__ = (
        practice_fk("agreement_id", "agreements", cascade=True),
        practice_fk("partner_id", "partners", cascade=True),
        UniqueConstraint("practice_id", "agreement_id", "partner_id"),
        CheckConstraint("decision IN ('accepted', 'discuss')", name="decision"),
        Index("ix_agreement_acceptances_practice_id_partner_id", "practice_id", "partner_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column()
    partner_id: Mapped[int] = mapped_column()
    decision: Mapped[str] = mapped_column(String(8), default="accepted")
    # A private note to the therapist when asking to discuss: never shown to the other partner.
    note: Mapped[str | None] = mapped_column(Text)
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def accepted(self) -> bool:
        return self.decision == "accepted"


class CalendarFeed(PracticeScoped, db.Model):
    """A partner's private, read-only calendar subscription URL (only its digest stored)."""

    __tablename__ = "calendar_feeds"
    __table_args__ = (
        practice_fk("partner_id", "partners", cascade=True),
        Index("ix_calendar_feeds_practice_id_partner_id", "practice_id", "partner_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column()
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
