"""The audit log: who did what to which record, append-only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKeyConstraint, Index, String, event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from practice.extensions import db
from practice.models.base import UTCDateTime, practice_fk, utcnow
from practice.models.couple import Couple, Partner
from practice.models.user import User
from practice.tenancy import PracticeScoped

# The label a partner's own actions carry, so that the trail still says "a partner" once the
# couple's record is deleted and the row no longer names one.
PARTNER_LABEL = "partner"


class AuditEvent(PracticeScoped, db.Model):
    """One recorded action. Holds ids and labels, never client text.

    The trail outlives the couple it is about: deleting a couple's record (after the
    practice's retention period) sets `couple_id` and `actor_partner_id` to NULL and keeps
    the row: who acted, what kind of thing was done, when. Those two references are plain
    single-column keys with ON DELETE SET NULL: a composite (practice_id, id) key could not
    be set to NULL without emptying the row's practice too.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        practice_fk("actor_user_id", "users"),
        ForeignKeyConstraint(["actor_partner_id"], ["partners.id"], ondelete="SET NULL"),
        ForeignKeyConstraint(["couple_id"], ["couples.id"], ondelete="SET NULL"),
        Index("ix_audit_events_target", "practice_id", "target_type", "target_id"),
        Index("ix_audit_events_practice_id_created_at", "practice_id", "created_at"),
        # A couple's trail, newest first.
        Index(
            "ix_audit_events_practice_id_couple_id_created_at",
            "practice_id",
            "couple_id",
            "created_at",
        ),
        Index("ix_audit_events_practice_id_actor_user_id", "practice_id", "actor_user_id"),
        Index("ix_audit_events_practice_id_actor_partner_id", "practice_id", "actor_partner_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_user_id: Mapped[int | None] = mapped_column()
    # A partner acting in the portal; audit rows always name one person, never "the couple".
    actor_partner_id: Mapped[int | None] = mapped_column()
    # The couple the event concerns, so a couple's trail is one indexed query.
    couple_id: Mapped[int | None] = mapped_column()
    # Who acted when it was not a therapist: "system", "anonymous", later a partner label.
    actor_label: Mapped[str | None] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str | None] = mapped_column(String(40))
    target_id: Mapped[int | None] = mapped_column()
    ip: Mapped[str | None] = mapped_column(String(45))
    # Small structured facts (a changed field's name, a count); never what a client typed.
    details: Mapped[dict] = mapped_column(JSON, default=dict)

    actor_partner: Mapped[Partner | None] = relationship(
        foreign_keys=[actor_partner_id],
        primaryjoin="AuditEvent.actor_partner_id == Partner.id",
        viewonly=True,
    )
    actor: Mapped[User | None] = relationship(
        foreign_keys=[actor_user_id],
        primaryjoin="AuditEvent.actor_user_id == User.id",
        viewonly=True,
    )
    couple: Mapped[Couple | None] = relationship(
        foreign_keys=[couple_id],
        primaryjoin="AuditEvent.couple_id == Couple.id",
        viewonly=True,
    )

    @property
    def actor_name(self) -> str:
        if self.actor is not None:
            return self.actor.name
        if self.actor_partner is not None:
            return self.actor_partner.display_name
        if self.actor_label == PARTNER_LABEL:
            return "A partner of a deleted record"
        return self.actor_label or "system"


@event.listens_for(AuditEvent, "before_insert")
def _label_partner_actions(mapper, connection, target: AuditEvent) -> None:
    # Said once, as the row is written: the partner's id may later be emptied by a deletion.
    if target.actor_partner_id is not None and target.actor_label is None:
        target.actor_label = PARTNER_LABEL


@event.listens_for(Session, "before_flush")
def _refuse_audit_changes(session: Session, flush_context, instances) -> None:
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, AuditEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise RuntimeError("Audit events are append-only.")
