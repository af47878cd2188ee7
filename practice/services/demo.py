"""Demo data for a first look: a practice, its owner and a therapist."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

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
                start_date=utcnow().date() - timedelta(weeks=56 if label == "Alex & Sam" else 6),
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
            _seed_checkins(label, couple, therapist)
            _seed_triggers(label, couple)
            _seed_ritual_ticks(label, couple)
            _seed_appointments(label, couple, therapist)
            _seed_more_help_signs(label, couple)
            _seed_measures(label, couple, therapist)
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


# -- homework, through the front door ---------------------------------------------------------
#
# Every piece of demo writing is what a partner's browser would post: the edit page's field
# names and values, read by the kind's `parse_form` and handed to the same service calls as the
# portal's views. The therapist's steps post what the therapist's forms would. So a form path
# that drops or garbles a field breaks the demo instead of hiding behind seeded rows.


def _form(fields: dict[str, str], **page: str) -> MultiDict:
    """The posted form: the kind's fields, then the page's own (`version`, `action`)."""
    return MultiDict([*fields.items(), *page.items()])


def _blank(prefix: str, keys: tuple[str, ...], rows: range) -> dict[str, str]:
    """Rows the page shows empty, which the browser posts as empty fields."""
    return {f"{prefix}-{index}-{key}": "" for index in rows for key in keys}


def _contract_page(position: int) -> dict[str, str]:
    """The repair contract's edit page, empty, as the partner at `position` posts it: their
    own three commitments and the joint parts."""
    return {
        **{f"commitments_{position}-{index}": "" for index in range(3)},
        "content-support": "",
        "content-breaks": "",
        "content-revisit_date": "",
    }


def _path(endpoint: str, **values: object) -> str:
    """A page's path, as a view's url_for gives it (notices link to paths)."""
    return current_app.url_map.bind("localhost").build(endpoint, values)


def _post_writing(partner, response, fields: dict[str, str], *, action: str = "save"):
    """A partner posts the edit page, as `portal.save_homework` reads and saves it."""
    from practice.homework import get_kind
    from practice.services import homework as hw

    # The page is opened by its public id, as the partner's portal opens it.
    response = hw.get_partner_response(partner, response.public_id)
    form = _form(fields, version=str(response.version), action=action)
    typed = get_kind(response.kind).parse_form(form)
    if form.get("action") == "submit":
        hw.submit(partner, response, content=typed, base_version=int(form["version"]))
    else:
        hw.save_draft(partner, response, content=typed, base_version=int(form["version"]))
    return response


def _date_field(value: str) -> date | None:
    """A date input as a DateField reads it: empty is no date."""
    return date.fromisoformat(value) if value else None


def _post_assignment(therapist: User, couple: Couple, posted: dict[str, str]):
    """The therapist posts the assign form, as `homework.assign` reads it."""
    from practice.services import homework as hw

    assignment = hw.assign(
        therapist,
        couple,
        kind_key=posted["kind"],
        mode=posted["mode"],
        instructions=posted["instructions"] or "",
        due_date=_date_field(posted["due_date"]),
        partner_id=int(posted["partner_id"]) if posted["mode"] == "one" else None,
    )
    return assignment.responses


def _post_return(therapist: User, couple: Couple, response, posted: dict[str, str]) -> None:
    """The therapist posts the return form (a comment) on the review page."""
    from practice.services import homework as hw

    response = hw.get_therapist_response(therapist, couple, response.id)
    hw.return_for_revision(therapist, response, posted["comment"])


def _post_agreement(therapist: User, couple: Couple, posted: dict[str, str]):
    """The therapist posts the agreements page's form."""
    from practice.services import agreements

    return agreements.add_agreement(
        therapist,
        couple,
        domain=posted["domain"],
        text=posted["text"],
        time_frame=posted["time_frame"] or "",
        review_date=_date_field(posted["review_date"]),
        merged_from=agreements.parse_keys(posted["merged_from"]),
    )


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
        return _post_assignment(
            therapist,
            couple,
            {
                "kind": kind,
                "mode": mode,
                "partner_id": str((partner or hw.default_partner(couple, kind)).id),
                "instructions": hw.default_instructions(kind),
                "due_date": (today + timedelta(days=due_days)).isoformat()
                if due_days is not None
                else "",
            },
        )

    if label == "Alex & Sam":
        sam, alex = first, second
        # The truth conversation first: each part handed in, read, and opened in a session.
        sam_truth, alex_truth = give("truth_conversation", "each")
        _post_writing(sam, sam_truth, SAM_TRUTH_FORM, action="submit")
        _post_writing(alex, alex_truth, ALEX_TRUTH_FORM, action="submit")
        hw.mark_reviewed(therapist, sam_truth)
        hw.mark_reviewed(therapist, alex_truth)
        hw.release(therapist, hw.get_therapist_response(therapist, couple, alex_truth.id))

        (apology,) = give("apology", "one", alex)
        _post_writing(alex, apology, DEMO_APOLOGY_FORM, action="submit")
        hw.mark_reviewed(therapist, apology)
        hw.release(therapist, apology)

        sam_sheet, alex_sheet = give("boundaries", "each")
        _post_writing(sam, sam_sheet, SAM_BOUNDARIES_FORM, action="submit")
        _post_writing(alex, alex_sheet, ALEX_BOUNDARIES_FORM)
        agreement = _post_agreement(
            therapist,
            couple,
            {
                "domain": "communication",
                "text": "Tell each other about any message from an ex within 24 hours.",
                "time_frame": "three months",
                "review_date": "",
                # "Use" on Sam's first proposal filled the form in and named it here.
                "merged_from": f"{sam_sheet.id}:0",
            },
        )
        # Sam has accepted it in the portal; Alex would like to talk about it first, with a
        # note only the therapist reads.
        agreements.accept(sam, agreements.get_partner_agreement(sam, agreement.public_id), "")
        agreements.ask_to_discuss(
            alex,
            agreements.get_partner_agreement(alex, agreement.public_id),
            ALEX_AGREEMENT_NOTE,
            therapist_link=_path("homework.agreements_page", couple_id=couple.id),
            partner_link=_path("portal.home") + "#agreements",
        )

        (window,) = give("processing_window", "joint", due_days=None)
        _post_writing(sam, window, DEMO_WINDOW_FORM)
        windows.confirm(sam, hw.get_partner_response(sam, window.public_id))
        windows.confirm(alex, hw.get_partner_response(alex, window.public_id))

        # The joint contract, in two saves: each partner's page has their own three
        # commitments (the other's are shown, not posted) and the joint parts as they read them.
        (contract,) = give("repair_contract", "joint", due_days=14)
        _post_writing(sam, contract, _contract_page(sam.position) | SAM_CONTRACT_FORM)
        as_alex_read_it = {"content-support": SAM_CONTRACT_FORM["content-support"]}
        revisit = {"content-revisit_date": (today + timedelta(days=30)).isoformat()}
        _post_writing(
            alex,
            contract,
            _contract_page(alex.position) | as_alex_read_it | ALEX_CONTRACT_FORM | revisit,
        )
        joint.finalize_contract(therapist, contract)
        # Sam has signed; the contract waits for Alex's signature.
        joint.sign_contract(sam, hw.get_partner_response(sam, contract.public_id), "Sam")

        # The connection ritual, planned together: Sam's page has Sam's act of care and the
        # joint parts, Alex's page Alex's act of care and the joint parts as Alex read them.
        (ritual,) = give("connection_ritual", "joint", due_days=None)
        _post_writing(sam, ritual, SAM_RITUAL_FORM)
        _post_writing(alex, ritual, RITUAL_JOINT_AS_READ | ALEX_RITUAL_FORM)
        windows.confirm(sam, hw.get_partner_response(sam, ritual.public_id))
        windows.confirm(alex, hw.get_partner_response(alex, ritual.public_id))
    elif label == "Priya & Dev":
        priya, dev = first, second
        # Priya's part is in and held; Dev has started his.
        priya_truth, dev_truth = give("truth_conversation", "each", due_days=10)
        _post_writing(priya, priya_truth, PRIYA_TRUTH_FORM, action="submit")
        _post_writing(dev, dev_truth, DEV_TRUTH_DRAFT_FORM)
        (apology,) = give("apology", "one", dev)
        _post_writing(dev, apology, DEV_APOLOGY_FIRST_FORM, action="submit")
        _post_return(therapist, couple, apology, {"comment": DEV_FIRST_COMMENT})
        _post_writing(dev, apology, DEV_APOLOGY_SECOND_FORM, action="submit")
        _post_return(therapist, couple, apology, {"comment": DEV_SECOND_COMMENT})
    elif label == "Jamie & Taylor":
        give("boundaries", "each", due_days=None)
    db.session.flush()


# The demo's writing, as the edit pages post it (field name -> what was typed).

SAM_TRUTH_FORM = {
    "content-part": "hurt",
    "content-questions": "When did it start, and when did it end?\n"
    "Were there other times you told me you were working late and were not?\n"
    "Does anyone we know know about it?\n"
    "Is there anything else I would find out later?",
    "content-to_feel_safe": "In a session, not at home. I want to be able to stop when I say "
    "'pause', and to leave first and drive home alone.",
}
ALEX_TRUTH_FORM = {
    "content-part": "broke_trust",
    "content-what_happened": "I had an affair with a colleague for eight months, from last "
    "February to October. On Thursday evenings I said I was at the office. Two people at work "
    "knew. There is nothing else; I ended it the week you found the messages.",
    "content-why": "I felt invisible at home and instead of saying so I looked for attention "
    "somewhere easier. I told myself it did not count. I chose to keep going.",
    "content-prevention": "I have no contact with her outside meetings with others present. I "
    "will tell you within a day of any contact, show you my calendar every Sunday evening, and "
    "see our therapist weekly for the next six months.",
}
PRIYA_TRUTH_FORM = {
    "content-part": "hurt",
    "content-questions": "How much is the debt, in total, today?\n"
    "Which of our accounts did the money come from?\nWho else knew?",
    "content-to_feel_safe": "Numbers on paper, not from memory. A break after twenty minutes.",
}
DEV_TRUTH_DRAFT_FORM = {
    "content-part": "broke_trust",
    "content-what_happened": "For two years I ran up a credit card debt of eleven thousand "
    "pounds and hid the statements.",
    "content-why": "",
    "content-prevention": "",
}

DEMO_APOLOGY_FORM = {
    "content-what_i_did": "For eight months I had an affair with a colleague, and I lied to you "
    "about where I was on Thursday evenings.",
    "content-how_it_hurt": "I see that it made you doubt your own memory, and that you have lost "
    "sleep and the sense that our home is safe.",
    "content-responsibility": "I chose to do this, again and again. Nothing you did caused it.",
    "content-amends": "I ended contact the day you found out. I will share my calendar with you "
    "every Sunday evening, and we will see our therapist weekly for the next six months.",
}
ALEX_AGREEMENT_NOTE = (
    "I agree with the idea. Can we talk about what counts as a message: does a birthday "
    "text from years ago count?"
)
DEV_APOLOGY_FIRST_FORM = {
    "content-what_i_did": "I hid the credit card debt.",
    "content-how_it_hurt": "You felt lied to.",
    "content-responsibility": "I'm sorry if it upset you, but I was under a lot of pressure.",
    "content-amends": "I will try to be better.",
}
DEV_FIRST_COMMENT = (
    "Thank you for starting. Look at the coach's notes on the responsibility part, and make "
    "the change plan something Priya could check."
)
DEV_APOLOGY_SECOND_FORM = {
    "content-what_i_did": "For two years I hid a credit card debt of eleven thousand pounds, "
    "and I moved money from our savings without telling you.",
    "content-how_it_hurt": "You found out from a letter, not from me. I see that you now "
    "question every conversation we had about money, and our plans for a home.",
    "content-responsibility": "I chose to hide it. I was afraid of how you would react, "
    "and that fear was mine to face.",
    "content-amends": "I will try to be better with money from now on.",
}
DEV_SECOND_COMMENT = (
    "This is much clearer, thank you. The change plan still says 'try': name one thing "
    "Priya will see you do, and how often."
)
SAM_BOUNDARIES_FORM = {
    "proposals-0-domain": "communication",
    "proposals-0-agreement": "Tell each other about any message from an ex within 24 hours.",
    "proposals-0-time_frame": "for the next three months",
    "proposals-0-review_date": "",
    "proposals-1-domain": "privacy",
    "proposals-1-agreement": "Share phone locations while either of us travels for work.",
    "proposals-1-time_frame": "",
    "proposals-1-review_date": "",
} | _blank("proposals", ("domain", "agreement", "time_frame", "review_date"), range(2, 3))
ALEX_BOUNDARIES_FORM = {
    "proposals-0-domain": "social_media",
    "proposals-0-agreement": "Be more open.",
    "proposals-0-time_frame": "",
    "proposals-0-review_date": "",
} | _blank("proposals", ("domain", "agreement", "time_frame", "review_date"), range(1, 3))
DEMO_WINDOW_FORM = {
    "slots-0-weekday": "1",
    "slots-0-start": "19:30",
    "slots-0-minutes": "45",
    "slots-1-weekday": "5",
    "slots-1-start": "10:00",
    "slots-1-minutes": "45",
    "content-code_word": "lighthouse",
} | _blank("slots", ("weekday", "start", "minutes"), range(2, 4))
# The partner at position 1 (Sam) writes their commitments and what support looks like...
SAM_CONTRACT_FORM = {
    "commitments_1-0": "Name a trigger when it happens, without blame.",
    "commitments_1-1": "Use the code word instead of starting a fight.",
    "commitments_1-2": "Plan one fun evening a week.",
    "content-support": "A short hug and five quiet minutes when one of us is flooded.",
}
# ...and the partner at position 2 (Alex) theirs, what breaks it, and when to revisit it.
ALEX_CONTRACT_FORM = {
    "commitments_2-0": "Answer questions in the window fully and calmly.",
    "commitments_2-1": "Text when plans change, within the hour.",
    "commitments_2-2": "Keep every small promise, on time.",
    "content-breaks": "Any new contact with the colleague, or a lie about where either of us is.",
}


# Jamie & Taylor: Jamie hands in a boundary worksheet that names drinking, which the couple
# page shows the therapist under "When more help may be needed" (services.signals), beside the
# unsafe answer of their latest check-in.
JAMIE_BOUNDARIES_FORM = {
    "proposals-0-domain": "substances_spending",
    "proposals-0-agreement": "No drinking at home on weeknights; if either of us has a drink "
    "out, we say so the same evening.",
    "proposals-0-time_frame": "for the next two months",
    "proposals-0-review_date": "",
} | _blank("proposals", ("domain", "agreement", "time_frame", "review_date"), range(1, 3))


def _seed_more_help_signs(label: str, couple: Couple) -> None:
    """Writing that one of the method's signs of needing more help reads, posted as the edit
    page posts it (the other signs come from the check-ins and homework above)."""
    from practice.models.homework import HomeworkResponse

    if label != "Jamie & Taylor":
        return
    db.session.flush()
    (jamie,) = [partner for partner in couple.partners if partner.display_name == "Jamie"]
    sheet = db.session.scalar(
        select(HomeworkResponse).where(
            HomeworkResponse.couple_id == couple.id,
            HomeworkResponse.kind == "boundaries",
            HomeworkResponse.partner_id == jamie.id,
        )
    )
    _post_writing(jamie, sheet, JAMIE_BOUNDARIES_FORM, action="submit")


# Alex & Sam's year of weekly check-ins: slowly better, a setback a little after the middle,
# then steadier (the method's timeline: small changes in weeks, meaningful ones in months).
# Priya & Dev are stuck: the same argument every week, Priya's recovery slower each week, and
# Dev stopped checking in after two weeks. Jamie & Taylor have two
# weeks, the latest with an answer that says one of them does not feel safe at home.
def _rating(week: int, weeks: int, start: float, gain: float) -> str:
    setback = weeks // 2 + 2 <= week < weeks // 2 + 5
    value = start + gain * week / weeks - (1.2 if setback else 0)
    return str(max(1, min(5, round(value))))


def _checkin_form(
    label: str, week: int, weeks: int, hurt: bool, agreements: tuple[str, ...]
) -> MultiDict:
    if label == "Priya & Dev":
        ratings = {"same_fight": 1, "recovery": 2, "follow_through": 3, "affection": 2}
        ratings["checking"] = 1 if hurt else 2
        if hurt:  # slower to recover every week: four, four, three, two, one
            ratings["recovery"] = max(1, 4 - max(0, week - 1))
        triggers, longest = 5, 240
    else:
        lag = 0.6 if hurt else 0  # the hurt partner's sense of things moves later
        ratings = {
            "same_fight": _rating(week, weeks, 2, 2.5),
            "recovery": _rating(week, weeks, 1.6 - lag, 2.6),
            "follow_through": _rating(week, weeks, 2.6 - lag, 2.2),
            "affection": _rating(week, weeks, 1.2 - lag / 2, 3.2),
            "checking": _rating(week, weeks, 1.6 - lag, 3.2),
        }
        triggers, longest = max(0, 6 - week * 6 // weeks), max(10, 180 - week * 170 // weeks)
    form = MultiDict({f"marker-{key}": str(value) for key, value in ratings.items()})
    form.update(
        {
            "triggers-count": str(triggers),
            "triggers-longest_minutes": str(longest) if triggers else "",
            f"triggers-helped-{'breathed' if week % 2 else 'reassured'}": "y",
            "window-held": "yes" if week % 5 else "no",
            "checkin-facts": "A quieter week."
            if week % 3
            else "Work was busy; we kept to the window.",
            "checkin-reflection": "You put the phone away at dinner."
            if week % 2
            else "You asked how my day was, and listened.",
        }
    )
    for number, key in enumerate(agreements):
        form[f"kept-{key}"] = (
            "no" if (week + number) % 7 == 0 else ("mostly" if week < weeks // 3 else "yes")
        )
    return form


def _seed_checkins(label: str, couple: Couple, therapist: User) -> None:
    """Weekly check-ins written as the check-in form posts them, through the same service
    calls as the portal (parse, validate, save, hand in, the two safety items), each on its
    own week's clock. The therapist has read all but the latest week, as they would have."""
    from practice.services import checkins, portal_access, safety
    from practice.services.portal_access import create_invite
    from practice.urls import external_url

    weeks = {
        "Alex & Sam": current_app.config["DEMO_CHECKIN_WEEKS"],
        "Priya & Dev": 5,
        "Jamie & Taylor": 2,
    }.get(label)
    if not weeks:
        return
    db.session.flush()
    now = utcnow()
    link = external_url("couples.show", couple_id=couple.id)
    agreements = checkins.agreement_keys(couple)
    practice = db.session.get(Practice, couple.practice_id)
    for partner in couple.partners:  # each came in through their personal link
        _, token = create_invite(therapist, partner, email_it=False)
        portal_access.start_session_from_invite(token, device="Demo phone")
        portal_access.acknowledge_privacy(partner, practice)
    for back in range(weeks, 0, -1):
        week = weeks - back  # 0 is the oldest
        moment = now - timedelta(weeks=back - 1, hours=2)
        for partner in couple.partners:
            if label == "Priya & Dev" and partner.repair_role != "hurt" and week >= 2:
                continue  # Dev stopped checking in
            checkin = checkins.current(partner, moment)
            form = _checkin_form(label, week, weeks, partner.repair_role == "hurt", agreements)
            checkins.submit(
                partner,
                checkin,
                form=form,
                base_version=checkin.version,
                share=week % 4 == 0,
                now=moment,
            )
            if back > 1:
                note = "Steadier; ask about the window." if week % 6 == 0 else None
                checkins.mark_reviewed(therapist, checkin, note, now=moment + timedelta(days=1))
            unsafe = label == "Jamie & Taylor" and back == 1 and partner is couple.partners[0]
            answers = {"safe_at_home": "not_sure" if unsafe else "yes", "feel_heard": "yes"}
            safety.record_checkin_items(partner, checkin, answers, link=link, now=moment)


# A few trigger log entries: (couple, partner, days ago, hour, intensity, what helped, minutes
# until steady or "", reassurance, what set it off).
DEMO_TRIGGERS = [
    (
        "Alex & Sam",
        "Sam",
        9,
        21,
        7,
        ("breathed", "facts"),
        "45",
        "asked_given",
        "A message lit up Alex's phone during dinner and Alex turned it over.",
    ),
    (
        "Alex & Sam",
        "Sam",
        4,
        8,
        5,
        ("named_it", "breathed", "small_repair"),
        "20",
        "asked_given",
        "Driving past the hotel on the way to work.",
    ),
    ("Alex & Sam", "Sam", 2, 19, 3, ("breathed",), "10", "not_asked", ""),
    (
        "Alex & Sam",
        "Alex",
        3,
        22,
        4,
        ("on_my_own",),
        "30",
        "not_asked",
        "Sam went quiet when I said I would be late.",
    ),
    (
        "Priya & Dev",
        "Priya",
        6,
        18,
        8,
        ("reassured",),
        "240",
        "asked_not_given",
        "The bank's letter on the table, unopened.",
    ),
    ("Priya & Dev", "Priya", 1, 20, 6, ("facts", "code_word"), "", "asked_given", ""),
]


def _seed_triggers(label: str, couple: Couple) -> None:
    """Trigger log entries posted as the log form posts them, through the view's service
    call, each on its own clock."""
    from practice.services import triggers

    partners = {partner.display_name: partner for partner in couple.partners}
    now = utcnow()
    for (
        couple_label, name, days, hour, intensity, helped, minutes, reassurance, words,
    ) in DEMO_TRIGGERS:  # fmt: skip
        if couple_label != label:
            continue
        partner = partners[name]
        zone = ZoneInfo(partner.time_zone)
        day = (now - timedelta(days=days)).astimezone(zone).date()
        moment = datetime.combine(day, time(hour, 10), tzinfo=zone)
        form = MultiDict(
            {
                "occurred_at": triggers.when_value(moment, partner),
                "intensity": str(intensity),
                "minutes_to_steady": minutes,
                "reassurance": reassurance,
                "what_set_it_off": words,
                **{f"helped-{key}": "y" for key in helped},
            }
        )
        triggers.log_from_form(partner, form, now=max(now, moment))


# The connection ritual's plan, as each partner's edit page posts it: the joint parts, and the
# partner's own act of care (Sam is at position 1, Alex at position 2).
RITUAL_JOINT_AS_READ = {
    "content-checkin_weekday": "6",
    "content-checkin_time": "17:00",
    "content-date_idea": "walk",
    "content-date_words": "The coast path from the harbour, then chips on the sea wall.",
}
SAM_RITUAL_FORM = RITUAL_JOINT_AS_READ | {
    "content-care_1": "Leave a short note for Alex to find each morning.",
}
ALEX_RITUAL_FORM = {"content-care_2": "Make Sam's coffee before I leave for work."}

# The weeks ticked off, by each partner in their own week: (weeks ago, who, the repair
# check-in, the date, days of the act of care, note). This week Sam has ticked, Alex not yet.
DEMO_RITUAL_TICKS = [
    (3, "Sam", "yes", "yes", 6, ""),
    (3, "Alex", "yes", "yes", 7, ""),
    (2, "Sam", "moved", "planned", 5, "We moved the check-in to Monday; the walk is on Saturday."),
    (2, "Alex", "moved", "planned", 4, ""),
    (1, "Sam", "yes", "yes", 7, "The walk was the best evening we have had in months."),
    (1, "Alex", "yes", "no", 6, "Work ran late on Friday, so the date moved to next week."),
    (0, "Sam", "yes", "planned", 3, ""),
]


def _seed_ritual_ticks(label: str, couple: Couple) -> None:
    """The weeks of the ritual ticked off as the tick form posts them, through the view's
    service call, each in its own week."""
    from practice.services import checkins, ritual

    if label != "Alex & Sam":
        return
    partners = {partner.display_name: partner for partner in couple.partners}
    now = utcnow()
    for weeks_ago, name, repair_checkin, fun_date, care_days, note in DEMO_RITUAL_TICKS:
        moment = now - timedelta(weeks=weeks_ago)
        form = MultiDict(
            {
                "week": checkins.week_of(couple, moment).isoformat(),
                "repair_checkin": repair_checkin,
                "fun_date": fun_date,
                "care_days": str(care_days),
                "note": note,
            }
        )
        ritual.tick_from_form(partners[name], form, now=moment)


# Each couple's sessions: (weeks ago, start in the practice's zone, minutes, who came, notes,
# next steps, homework to assign next). "Sam only" is the partner of that name. Weeks ago 0
# is today, in the practice's day: the dashboard lists it.
DEMO_APPOINTMENTS: dict[str, list[tuple]] = {
    "Alex & Sam": [
        (
            5,
            "18:00",
            60,
            "both",
            "Sam wanted the details of the Thursday evenings. Alex answered most questions "
            "plainly and only got defensive once, near the end.\nSam is still sleeping badly.",
            "Alex: write the apology, naming what happened and what it cost Sam.\n"
            "Sam: note the questions that keep coming back and bring them next week.",
            ["apology"],
        ),
        (
            4,
            "18:00",
            50,
            "both",
            "We read Alex's apology together. Sam said it was the first time it sounded owned. "
            "The phone left face down at dinner still unsettles Sam.",
            "Each of you: think of two or three rules about messages and phones that would help, "
            "and make each one specific enough to check.",
            ["boundaries"],
        ),
        (
            3,
            "18:00",
            50,
            "Sam only",
            "Alex was unwell, so Sam came alone. Sam goes over the discovery most evenings and "
            "feels guilty for asking again. We talked about keeping questions for set times.",
            "Keep the questions for two evenings a week that you agree on. At other times, jot "
            "the question down and save it for the next of those evenings.",
            ["processing_window"],
        ),
        (
            2,
            "18:00",
            50,
            "both",
            "A rough week: an old work contact sent a message, and it turned into a long row. "
            "They used the code word once and it helped. Alex sounded calmer than a month ago.",
            "Start your shared contract in the portal: what each of you will do, how you will "
            "look after each other on hard days, and a date to look at it again.",
            ["repair_contract"],
        ),
        (
            1,
            "18:00",
            50,
            "both",
            "The contract is almost there. Sam has signed; Alex wants to reread one line first. "
            "Both say there were fewer lost evenings this month.",
            "Alex: sign the contract, or bring the line you are unsure of.\n"
            "Both: keep one evening free of repair talk and do something you enjoy together.",
            ["connection_ritual"],
        ),
        (
            0,
            "11:00",
            50,
            "both",
            "Plan: the first month of the contract, and how the weekly check-ins are trending.",
            "",
            [],
        ),
    ],
    "Priya & Dev": [
        (
            4,
            "17:30",
            60,
            "both",
            "First meeting since Priya found the letter about the debt. Priya mainly wants to see "
            "the whole picture of the accounts. Dev played it down at first, then agreed to bring "
            "the statements.",
            "Dev: bring every statement for the card and the savings account.\n"
            "Priya: write down what you need to know to feel settled about money.",
            ["truth_conversation", "apology"],
        ),
        (
            2,
            "17:30",
            50,
            "Priya only",
            "Dev cancelled on the day. Priya says the money argument comes back most days, and "
            "that it takes her longer to settle each time.",
            "Priya: keep up the weekly check-in. We go over Dev's apology when Dev is back.",
            [],
        ),
        (
            0,
            "17:30",
            50,
            "both",
            "Plan: the returned apology, and the check-ins Dev has missed.",
            "",
            [],
        ),
    ],
    "Jamie & Taylor": [
        (
            1,
            "10:00",
            50,
            "both",
            "First session. Both describe small untruths that piled up over a year, on both "
            "sides. We agreed to begin with the weekly check-in and a boundaries worksheet.",
            "Each of you: fill in the boundaries worksheet on your own before we meet again.",
            ["boundaries"],
        ),
    ],
    "Robin & Chris": [
        (
            3,
            "09:00",
            20,
            "notes",
            "Phone call with Robin: the work is paused for a few weeks while Chris is in a "
            "residential programme. Call again at the end of the month.",
            "",
            [],
        ),
    ],
}


def _seed_appointments(label: str, couple: Couple, therapist: User) -> None:
    """The couple's sessions, recorded as the session form records them: a day and a time in
    the couple's zone, and what was typed (`appointments.record`, the form's own service)."""
    from practice.services import appointments

    db.session.flush()
    practice_zone = ZoneInfo(db.session.get(Practice, couple.practice_id).time_zone)
    couple_zone = ZoneInfo(couple.time_zone)
    today = utcnow().astimezone(practice_zone).date()
    for weeks_ago, start, minutes, who, notes, next_steps, homework in DEMO_APPOINTMENTS.get(
        label, []
    ):
        at = datetime.combine(
            today - timedelta(weeks=weeks_ago), time.fromisoformat(start), tzinfo=practice_zone
        ).astimezone(couple_zone)
        partner_id = None
        if who.endswith(" only"):
            name = who.removesuffix(" only")
            partner_id = next(p.id for p in couple.partners if p.display_name == name)
        appointments.record(
            therapist,
            couple,
            appointments.AppointmentDetails(
                day=at.date(),
                start=at.time().replace(tzinfo=None),
                minutes=minutes,
                attendance="one" if partner_id else who,
                partner_id=partner_id,
                notes=notes,
                next_steps=next_steps,
                next_homework=homework,
            ),
        )


# Six CSI-4 results each for Alex & Sam, every four weeks: the hurt partner starts below the
# cut-off (13.5) and climbs past it; the other starts near it. Totals, oldest first.
DEMO_CSI4 = {"hurt": (8, 10, 11, 13, 15, 17), "other": (12, 12, 14, 15, 16, 18)}


def _csi4_form(total: int) -> MultiDict:
    """The CSI-4 answer form's fields for a total: the happiness item (0-6) first, then the
    three others (0-5), as a partner's taps would post them."""
    values, left = {}, total
    for key, top in (("happiness", 6), ("warm", 5), ("rewarding", 5), ("satisfied", 5)):
        share = min(top, -(-left // (4 - len(values))))
        values[f"item-{key}"] = str(share)
        left -= share
    return MultiDict(values)


def _seed_measures(label: str, couple: Couple, therapist: User) -> None:
    """A CSI-4 schedule sent 20 weeks ago (every 4 weeks for 6 months), through the send
    form's service, and each partner's six answers through the portal form's save and hand-in,
    each on its due day's clock."""
    from practice.services import measures

    if label != "Alex & Sam":
        return
    db.session.flush()
    zone = ZoneInfo(couple.time_zone)
    first = measures.couple_today(couple) - timedelta(weeks=20)
    measures.send(
        therapist,
        couple,
        instrument_key="csi4",
        starts_on=first,
        every_weeks=4,
        for_weeks=26,
        now=datetime.combine(first, time(9), tzinfo=zone),
    )
    db.session.flush()
    for partner in couple.partners:
        totals = DEMO_CSI4["hurt" if partner.repair_role == "hurt" else "other"]
        for index, total in enumerate(totals):
            due = first + timedelta(weeks=4 * index)
            moment = min(datetime.combine(due, time(19), tzinfo=zone), utcnow())
            (response,) = (
                r
                for r in measures.couple_measures(couple)
                if r.partner_id == partner.id and r.due_on == due
            )
            measures.submit(
                partner, response, form=_csi4_form(total), base_version=response.version, now=moment
            )
