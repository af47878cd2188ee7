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
            _seed_homework(label, couple, therapist)
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


def _seed_homework(label: str, couple: Couple, therapist: User) -> None:
    """Homework at every stage, so each screen has something to show on first run."""
    from practice.services import agreements, joint, windows
    from practice.services import homework as hw

    if label not in ("Alex & Sam", "Priya & Dev", "Jamie & Taylor"):
        return
    db.session.flush()
    first, second = couple.partners
    today = hw.couple_today(couple)

    def give(kind: str, mode: str, partner=None, due_days: int | None = 7):
        due = today + timedelta(days=due_days) if due_days is not None else None
        assignment = hw.assign(
            therapist,
            couple,
            kind_key=kind,
            mode=mode,
            instructions=hw.default_instructions(kind),
            due_date=due,
            partner_id=partner.id if partner else None,
        )
        return assignment.responses

    def write(partner, response, content, *, submit=False):
        if submit:
            hw.submit(partner, response, content=content, base_version=response.version)
        else:
            hw.save_draft(partner, response, content=content, base_version=response.version)

    if label == "Alex & Sam":
        sam, alex = first, second
        (apology,) = give("apology", "one", alex)
        write(alex, apology, DEMO_APOLOGY, submit=True)
        hw.mark_reviewed(therapist, apology)
        hw.release(therapist, apology)
        sam_sheet, alex_sheet = give("boundaries", "each")
        write(
            sam,
            sam_sheet,
            {
                "proposals": [
                    {
                        "domain": "communication",
                        "agreement": "Tell each other about any message "
                        "from an ex within 24 hours.",
                        "time_frame": "for the next three months",
                        "review_date": "",
                    },
                    {
                        "domain": "privacy",
                        "agreement": "Share phone locations while either of us travels for work.",
                        "time_frame": "",
                        "review_date": "",
                    },
                ]
            },
            submit=True,
        )
        write(
            alex,
            alex_sheet,
            {
                "proposals": [
                    {
                        "domain": "social_media",
                        "agreement": "Be more open.",
                        "time_frame": "",
                        "review_date": "",
                    }
                ]
            },
        )
        agreements.add_agreement(
            therapist,
            couple,
            domain="communication",
            text="Tell each other about any message from an ex within 24 hours.",
            time_frame="three months",
            review_date=None,
        )
        (window,) = give("processing_window", "joint", due_days=None)
        write(
            sam,
            window,
            {
                "slots": [
                    {"weekday": 1, "start": "19:30", "minutes": 45},
                    {"weekday": 5, "start": "10:00", "minutes": 45},
                ],
                "code_word": "lighthouse",
            },
        )
        windows.confirm(sam, window)
        windows.confirm(alex, window)
        (contract,) = give("repair_contract", "joint", due_days=14)
        write(
            alex,
            contract,
            DEMO_CONTRACT | {"revisit_date": (today + timedelta(days=30)).isoformat()},
        )
        joint.finalize_contract(therapist, contract)
        joint.sign_contract(sam, contract, "Sam")
    elif label == "Priya & Dev":
        dev = second
        (apology,) = give("apology", "one", dev)
        write(
            dev,
            apology,
            {
                "what_i_did": "I hid the credit card debt.",
                "how_it_hurt": "You felt lied to.",
                "responsibility": "I'm sorry if it upset you, but I was under a lot of pressure.",
                "amends": "I will try to be better.",
            },
            submit=True,
        )
        hw.return_for_revision(
            therapist,
            apology,
            "Thank you for starting. Look at the "
            "coach's notes on the responsibility part, and make the "
            "change plan something Priya could check.",
        )
    elif label == "Jamie & Taylor":
        give("boundaries", "each", due_days=None)
    db.session.flush()


DEMO_APOLOGY = {
    "what_i_did": "For eight months I had an affair with a colleague, and I lied to you "
    "about where I was on Thursday evenings.",
    "how_it_hurt": "I see that it made you doubt your own memory, and that you have lost "
    "sleep and the sense that our home is safe.",
    "responsibility": "I chose to do this, again and again. Nothing you did caused it.",
    "amends": "I ended contact the day you found out. I will share my calendar with you every "
    "Sunday evening, and we will see our therapist weekly for the next six months.",
}
DEMO_CONTRACT = {
    "commitments_1": [
        "Name a trigger when it happens, without blame.",
        "Use the code word instead of starting a fight.",
        "Plan one fun evening a week.",
    ],
    "commitments_2": [
        "Answer questions in the window fully and calmly.",
        "Text when plans change, within the hour.",
        "Keep every small promise, on time.",
    ],
    "support": "A short hug and five quiet minutes when one of us is flooded.",
    "breaks": "Any new contact with the colleague, or a lie about where either of us is.",
}
