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


# How long a closed couple's record is kept before it may be deleted, in days (None: until
# someone deletes it by hand). Each year counts 366 days: a record is never deleted a day
# before a law's "keep it N years" is over.
RETENTION_CHOICES = {
    None: "Keep until deleted by hand",
    30: "30 days",
    366: "1 year",
    3 * 366: "3 years",
    7 * 366: "7 years",
    10 * 366: "10 years",
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
        CheckConstraint("checkin_weekday BETWEEN 0 AND 6", name="checkin_weekday"),
        CheckConstraint("checkin_hour BETWEEN 0 AND 23", name="checkin_hour"),
        CheckConstraint(
            "closed_record_retention_days BETWEEN 1 AND 36600", name="closed_record_retention_days"
        ),
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
    # The weekly check-in opens on this day (0 Monday … 6 Sunday) at this hour, in each
    # couple's own time zone; a couple may have its own.
    checkin_weekday: Mapped[int] = mapped_column(default=6, server_default="6")
    checkin_hour: Mapped[int] = mapped_column(default=18, server_default="18")
    # The safety screen partners answer (an instrument's key: practice.instruments).
    safety_instrument: Mapped[str] = mapped_column(
        String(40), default="own_safety", server_default="own_safety"
    )
    # Where to go for help now, shown to a partner after an unsafe answer ("" = a default
    # that names no country's services).
    crisis_resources: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Where the quick-exit control leaves to: a neutral page the practice chooses.
    quick_exit_url: Mapped[str] = mapped_column(
        String(300),
        default="https://www.wikipedia.org/",
        server_default="https://www.wikipedia.org/",
    )
    # Every therapist signs in with a code from an authenticator as well as a password.
    require_two_factor: Mapped[bool] = mapped_column(default=False, server_default="0")
    # How long a closed couple's record is kept before its scheduled deletion (days; None:
    # until deleted by hand). The practice decides: many jurisdictions require years.
    closed_record_retention_days: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def retention_label(self) -> str:
        days = self.closed_record_retention_days
        return RETENTION_CHOICES.get(days) or f"{days} days"

    def __repr__(self) -> str:
        return f"<Practice {self.id} {self.slug}>"
