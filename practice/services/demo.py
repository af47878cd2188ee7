"""Demo data for a first look: a practice, its owner and a therapist."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from practice.extensions import db
from practice.models import Couple, Practice, User
from practice.models.base import utcnow
from practice.models.practice import DEFAULT_SECRETS_POLICY_TEXT
from practice.security import hash_password
from practice.services import audit
from practice.tenancy import practice_context, unscoped

DEMO_SLUG = "harbour-street-demo"
DEMO_PASSWORD = "demo-practice-2026"  # noqa: S105 - printed for the demo on purpose
DEMO_COUPLES = [
    (
        "Alex & Sam",
        "affair",
        "active",
        "therapist@example.com",
        [("Sam", "sam@example.com", "hurt"), ("Alex", "alex@example.com", "broke_trust")],
    ),
    (
        "Priya & Dev",
        "financial_secret",
        "active",
        "owner@example.com",
        [("Priya", "priya@example.com", "hurt"), ("Dev", None, "broke_trust")],
    ),
    (
        "Jamie & Taylor",
        "lie",
        "active",
        "therapist@example.com",
        [("Jamie", None, "mutual"), ("Taylor", None, "mutual")],
    ),
    (
        "Robin & Chris",
        "addiction",
        "paused",
        "owner@example.com",
        [("Robin", None, "hurt"), ("Chris", None, "broke_trust")],
    ),
]
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
        couples = _seed_couples()
    return {
        "practice": {"id": practice.id, "name": practice.name},
        "logins": logins,
        "couples": couples,
    }


def _seed_couples() -> list[dict]:
    """Demo couples, created once; each run issues a fresh personal link for every partner
    (only digests are stored, so a link can be printed only when it is made)."""
    from practice.services.couples import PartnerDetails, create_couple
    from practice.services.portal_access import create_invite
    from practice.urls import external_url

    users = {u.email: u for u in db.session.scalars(select(User))}
    owner = users["owner@example.com"]
    result = []
    for label, concern, status, therapist_email, people in DEMO_COUPLES:
        therapist = users[therapist_email]
        couple = db.session.scalar(select(Couple).where(Couple.label == label))
        if couple is None:
            couple = create_couple(
                owner,
                label=label,
                presenting_concern=concern,
                start_date=utcnow().date() - timedelta(weeks=6),
                time_zone="Europe/London",
                therapist_notes="",
                partners=[
                    PartnerDetails(name, email, role, "Europe/London")
                    for name, email, role in people
                ],
                therapist_ids=[therapist.id],
            )
            couple.status = status
        partners = []
        for partner in couple.partners:
            link = None
            if not couple.is_closed:
                _, token = create_invite(therapist, partner, email_it=False)
                link = external_url("portal.welcome", token=token)
            partners.append(
                {
                    "name": partner.display_name,
                    "role": partner.repair_role,
                    "email": partner.email,
                    "invite_link": link,
                }
            )
        result.append(
            {"id": couple.id, "label": couple.label, "status": couple.status, "partners": partners}
        )
    db.session.flush()
    return result
