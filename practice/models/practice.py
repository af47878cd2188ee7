"""The practice: the tenant that owns every other row."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from practice.extensions import db
from practice.models.base import UTCDateTime, utcnow

SECRETS_POLICIES = {
    "no_secrets": "No secrets",
    "limited_secrets": "Limited secrets",
}

DEFAULT_SECRETS_POLICY_TEXT = {
    "no_secrets": (
        "Your therapist works with the two of you as one case. If you tell your therapist "
        "something in private that bears on the relationship, your therapist will help you "
        "find a way to share it with your partner, and will not keep it secret from them."
    ),
    "limited_secrets": (
        "What you write privately stays between you and your therapist. If it bears on the "
        "relationship, your therapist may encourage you to share it yourself, but will not "
        "tell your partner without your agreement, unless someone's safety is at risk."
    ),
}


class Practice(db.Model):
    """A therapy practice: the tenant. Every client row belongs to exactly one."""

    __tablename__ = "practices"
    __table_args__ = (
        CheckConstraint(
            "secrets_policy IN ('no_secrets', 'limited_secrets')", name="secrets_policy"
        ),
        CheckConstraint("invite_link_days BETWEEN 1 AND 90", name="invite_link_days"),
        CheckConstraint("portal_idle_days BETWEEN 1 AND 365", name="portal_idle_days"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    secrets_policy: Mapped[str] = mapped_column(String(20), default="limited_secrets")
    secrets_policy_text: Mapped[str] = mapped_column(
        Text, default=DEFAULT_SECRETS_POLICY_TEXT["limited_secrets"]
    )
    # When the owner last saved the settings: until then the default policy is unreviewed.
    settings_reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # How long a partner's personal link works, and how long an unused portal session lasts.
    invite_link_days: Mapped[int] = mapped_column(default=14, server_default="14")
    portal_idle_days: Mapped[int] = mapped_column(default=30, server_default="30")
    # Bumped whenever the secrets policy changes: partners acknowledge each version.
    privacy_notice_version: Mapped[int] = mapped_column(default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Practice {self.id} {self.slug}>"
