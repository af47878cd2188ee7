"""Notices: a small, content-free notification that something needs someone's eye.

A notice names who it is for, what kind of thing happened and where to look; never what
anybody wrote. It shows on the partner's portal home or the therapist's dashboard until it
is read. Reminders in later features are notices too.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from practice.extensions import db
from practice.models.base import UTCDateTime, practice_fk, utcnow
from practice.models.couple import Couple
from practice.tenancy import PracticeScoped


class Notice(PracticeScoped, db.Model):
    __tablename__ = "notices"
    __table_args__ = (
        practice_fk("recipient_user_id", "users", cascade=True),
        practice_fk("recipient_partner_id", "partners", cascade=True),
        practice_fk("couple_id", "couples", cascade=True),
        CheckConstraint(
            "(recipient_user_id IS NULL) <> (recipient_partner_id IS NULL)", name="one_recipient"
        ),
        # Someone's unread notices: recipient = ? AND read_at IS NULL.
        Index(
            "ix_notices_practice_id_recipient_user_id_read_at",
            "practice_id",
            "recipient_user_id",
            "read_at",
        ),
        Index(
            "ix_notices_practice_id_recipient_partner_id_read_at",
            "practice_id",
            "recipient_partner_id",
            "read_at",
        ),
        Index("ix_notices_practice_id_couple_id", "practice_id", "couple_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_user_id: Mapped[int | None] = mapped_column()
    recipient_partner_id: Mapped[int | None] = mapped_column()
    # The couple it is about, so a therapist's list can say which (never what).
    couple_id: Mapped[int | None] = mapped_column()
    # What happened, from a fixed list (services.notices.TEXTS): the words come from there.
    kind: Mapped[str] = mapped_column(String(40))
    # Where to look: a path inside the app.
    link: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    couple: Mapped[Couple | None] = relationship(
        primaryjoin="Couple.id == foreign(Notice.couple_id)",
        viewonly=True,
    )
