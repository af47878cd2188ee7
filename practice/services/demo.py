"""Demo data for a first look: a practice, its owner and a therapist."""

from __future__ import annotations

from sqlalchemy import select

from practice.extensions import db
from practice.models import Practice, User
from practice.models.practice import DEFAULT_SECRETS_POLICY_TEXT
from practice.security import hash_password
from practice.services import audit
from practice.tenancy import practice_context, unscoped

DEMO_SLUG = "harbour-street-demo"
DEMO_PASSWORD = "demo-practice-2026"  # noqa: S105 - printed for the demo on purpose
DEMO_PEOPLE = [
    ("owner", "Morgan Reyes", "owner@example.com"),
    ("therapist", "Jordan Okafor", "therapist@example.com"),
]


def seed_demo() -> dict:
    """Create the demo practice once; later runs change nothing and report the same logins."""
    with unscoped():
        practice = db.session.scalar(select(Practice).where(Practice.slug == DEMO_SLUG))
        if practice is None:
            practice = Practice(
                name="Harbour Street Couples Therapy",
                slug=DEMO_SLUG,
                time_zone="Europe/London",
                secrets_policy="limited_secrets",
                secrets_policy_text=DEFAULT_SECRETS_POLICY_TEXT["limited_secrets"],
            )
            db.session.add(practice)
            db.session.flush()
    with practice_context(practice.id):
        logins = []
        for role, name, email in DEMO_PEOPLE:
            user = db.session.scalar(select(User).where(User.email == email))
            if user is None:
                user = User(
                    email=email, name=name, role=role, password_hash=hash_password(DEMO_PASSWORD)
                )
                db.session.add(user)
                db.session.flush()
                audit.record("demo.user_created", actor_label="system", target=user)
            logins.append({"role": role, "name": name, "email": email, "password": DEMO_PASSWORD})
        db.session.flush()
    return {"practice": {"id": practice.id, "name": practice.name}, "logins": logins}
