"""When more help may be needed (practice.services.signals): each of the method's signs shows
on its evidence, names that evidence (which check-in, which answer, which piece of work),
stays silent below its threshold, and reads one couple only.

The data is made through the same service calls the portal's and the therapist's forms use.
Real database; nothing of ours is mocked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import event, select
from werkzeug.datastructures import MultiDict

from practice.extensions import db
from practice.models import Couple, Partner, Practice, User
from practice.models.base import utcnow
from practice.models.checkin import Checkin, SafetyFlag
from practice.services import checkins, safety, signals
from practice.services import homework as hw
from practice.tenancy import practice_context
from tests.couple_factories import CoupleFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.usefixtures("app")

CALM_SCREEN = {"afraid": 0, "hurt_or_threatened": 0, "safe_at_home": 0}
OWNED_APOLOGY = {
    "what_i_did": "I lied to you for months about the messages I was sending.",
    "how_it_hurt": "It made you doubt your own memory and feel alone in our home.",
    "responsibility": "It was my choice and mine alone. I take full responsibility.",
    "amends": "I will show you my phone every Sunday evening for the next 3 months.",
}


@dataclass
class Case:
    therapist: User
    couple: Couple
    hurt: Partner
    broke: Partner
    other: Couple  # another couple of the same practice, with its own data
    stranger: tuple[int, int]  # (practice id, couple id) of another practice's couple


@pytest.fixture
def case():
    therapist = UserFactory()
    couple = CoupleFactory(therapist=therapist)
    other = CoupleFactory(therapist=therapist)
    ids = (therapist.id, couple.id, other.id)
    practice_id = therapist.practice_id
    stranger = CoupleFactory()  # another practice's couple, with its own data
    stranger_ids = (stranger.practice_id, stranger.id)
    db.session.commit()
    with practice_context(practice_id):
        couple = db.session.get(Couple, ids[1])
        hurt, broke = couple.partners
        yield Case(
            db.session.get(User, ids[0]),
            couple,
            hurt,
            broke,
            db.session.get(Couple, ids[2]),
            stranger_ids,
        )


def hand_in(partner: Partner, weeks_ago: int, heard: str = "", safe: str = "", **fields):
    """A check-in handed in `weeks_ago` weeks back, as the portal's form posts it, with its two
    safety items when given."""
    moment = utcnow() - timedelta(weeks=weeks_ago, hours=1)
    checkin = checkins.current(partner, moment)
    form = MultiDict({key.replace("_", "-", 1): value for key, value in fields.items()})
    checkins.submit(partner, checkin, form=form, base_version=checkin.version, now=moment)
    if heard or safe:
        items = {"safe_at_home": safe, "feel_heard": heard}
        safety.record_checkin_items(partner, checkin, items, link="/couples/1", now=moment)
    db.session.flush()
    return checkin


def same_fight(partner: Partner, ratings: list[int]) -> list[Checkin]:
    """One check-in a week, oldest first, rating "the same argument again"."""
    return [
        hand_in(partner, len(ratings) - index, marker_same_fight=str(rating))
        for index, rating in enumerate(ratings)
    ]


def found(couple: Couple, **kwargs) -> dict[str, signals.Signal]:
    db.session.flush()
    return {signal.key: signal for signal in signals.signals_for(couple, **kwargs)}


def refs(signal: signals.Signal) -> list[tuple[str, int]]:
    return [item.ref for item in signal.evidence]


def apology(case: Case, partner: Partner, content: dict, *, due=None):
    (response,) = hw.assign(
        case.therapist,
        case.couple,
        kind_key="apology",
        mode="one",
        partner_id=partner.id,
        instructions="",
        due_date=due,
    ).responses
    hw.submit(partner, response, content=content, base_version=response.version)
    return response


# --- the same fight ---------------------------------------------------------------------------


def test_the_same_fight_shows_when_rated_low_in_three_of_the_last_four_weeks(case):
    weeks = same_fight(case.hurt, [1, 2, 4, 1])
    signal = found(case.couple)["same_fight"]
    assert sorted(refs(signal)) == sorted(("checkin", c.id) for c in (weeks[0], weeks[1], weeks[3]))
    newest = signal.evidence[0]
    assert newest.partner == case.hurt.display_name
    assert newest.dated == "week of" and newest.on == weeks[3].week_of
    assert newest.answer == "“The same argument again”: 1 of 5 (“most days”)"
    assert signal.evidence[-1].answer == "“The same argument again”: 1 of 5 (“most days”)"
    assert signal.evidence[1].answer == "“The same argument again”: 2 of 5"
    assert newest.endpoint == "couples.couple_checkins"
    assert newest.args == {"couple_id": case.couple.id, "week": weeks[3].week_of.isoformat()}
    assert signal.prompt.startswith("Worth asking")
    assert "3 of their last 4" in signal.shown_when


def test_the_same_fight_stays_silent_below_its_threshold(case):
    same_fight(case.hurt, [1, 4, 2, 5])  # two low weeks of four
    same_fight(case.broke, [1, 1, 1, 5, 5, 4, 5])  # low long ago, not in the latest four
    assert "same_fight" not in found(case.couple)


def test_weeks_outside_the_window_do_not_count(case):
    same_fight(case.hurt, [1, 1, 1])
    assert "same_fight" in found(case.couple)
    later = checkins.week_of(case.couple) + timedelta(weeks=signals.WINDOW_WEEKS)
    assert "same_fight" not in found(case.couple, today=later)


# --- drink or drugs ---------------------------------------------------------------------------


def test_a_word_about_drink_in_a_handed_in_check_in_is_shown_in_its_sentence(case):
    week = hand_in(
        case.hurt,
        1,
        checkin_facts="A calm Monday. We argued after he came home Drunk on Friday. Then quiet.",
        checkin_feelings="We had a drink of water and talked it through.",  # "drink": not listed
    )
    signal = found(case.couple)["substances"]
    (item,) = signal.evidence
    assert item.ref == ("checkin", week.id) and item.partner == case.hurt.display_name
    assert item.answer == "“Drunk” in the week: “We argued after he came home Drunk on Friday”"
    assert signal.prompt.startswith("Consider whether")


def test_a_check_in_still_being_written_is_not_read(case):
    checkin = checkins.current(case.hurt)
    form = MultiDict({"checkin-facts": "Too much wine again."})
    checkins.save(case.hurt, checkin, form=form, base_version=checkin.version)
    assert "substances" not in found(case.couple)


def test_handed_in_homework_naming_drinking_is_evidence_and_a_draft_is_not(case):
    (sheet, draft) = hw.assign(
        case.therapist,
        case.couple,
        kind_key="boundaries",
        mode="each",
        instructions="",
        due_date=None,
    ).responses
    proposal = {
        "domain": "substances_spending",
        "agreement": "No drinking at home on weeknights; we say so if one of us has a drink out.",
        "time_frame": "two months",
        "review_date": "",
    }
    hw.submit(sheet.partner, sheet, content={"proposals": [proposal]}, base_version=0)
    draft_proposal = proposal | {"agreement": "No cocaine, ever."}
    hw.save_draft(draft.partner, draft, content={"proposals": [draft_proposal]}, base_version=0)
    (item,) = found(case.couple)["substances"].evidence
    assert item.ref == ("response", sheet.id)
    assert item.label == "Boundary worksheet" and item.dated == "handed in"
    assert "“drinking”" in item.answer and "cocaine" not in item.answer
    assert (item.endpoint, item.args) == (
        "homework.review",
        {"couple_id": case.couple.id, "response_id": sheet.id},
    )


# --- unsafe or unheard ------------------------------------------------------------------------


def test_an_unsafe_check_in_answer_is_evidence_linked_to_its_flag(case):
    week = hand_in(case.hurt, 1, safe="not_sure", heard="yes")
    flag = db.session.scalar(select(SafetyFlag))
    (item,) = found(case.couple)["unsafe_or_unheard"].evidence
    assert item.partner == case.hurt.display_name and item.on == week.week_of
    assert item.answer == "“I feel safe at home”: not sure (its flag is open)"
    assert (item.endpoint, item.args) == (
        "couples.couple_safety",
        {"couple_id": case.couple.id, "_anchor": f"flag-{flag.id}"},
    )
    safety.mark_addressed(case.therapist, flag, "We spoke on the phone; a plan is in place.")
    (item,) = found(case.couple)["unsafe_or_unheard"].evidence
    assert item.answer.endswith("(its flag was addressed)")


def test_a_positive_screen_is_evidence_and_a_calm_one_is_not(case):
    practice = db.session.get(Practice, case.couple.practice_id)
    safety.record_screen(case.broke, practice, CALM_SCREEN, link="/couples/1")
    assert "unsafe_or_unheard" not in found(case.couple)
    answer = safety.record_screen(case.hurt, practice, CALM_SCREEN | {"afraid": 1}, link="/")
    (item,) = found(case.couple)["unsafe_or_unheard"].evidence
    assert item.ref == ("safety_answer", answer.id) and item.label == "Safety screen"
    assert item.answer == "positive on “Safety questions” (its flag is open)"


def test_an_open_flag_older_than_the_window_still_shows(case):
    hand_in(case.hurt, signals.WINDOW_WEEKS + 2, safe="no")
    assert "unsafe_or_unheard" in found(case.couple)
    flag = db.session.scalar(select(SafetyFlag))
    safety.mark_addressed(case.therapist, flag, "Addressed in session.")
    assert "unsafe_or_unheard" not in found(case.couple)


def test_not_feeling_heard_twice_in_the_last_four_weeks_shows_and_once_does_not(case):
    for weeks_ago, heard in ((5, "no"), (4, "yes"), (3, "no"), (2, "not_sure"), (1, "yes")):
        hand_in(case.broke, weeks_ago, heard=heard, safe="yes")
    # One "no" in the last four ("not sure" is not low; the oldest "no" is five weeks back).
    assert "unsafe_or_unheard" not in found(case.couple)
    latest = hand_in(case.broke, 0, heard="no", safe="yes")
    signal = found(case.couple)["unsafe_or_unheard"]
    assert [item.on for item in signal.evidence][0] == latest.week_of
    assert len(signal.evidence) == 2
    assert all(item.answer == "“I feel heard by my partner”: no" for item in signal.evidence)
    assert all(item.partner == case.broke.display_name for item in signal.evidence)


# --- responsibility ---------------------------------------------------------------------------


def test_blame_and_excuses_in_handed_in_work_show_for_the_partner_who_broke_trust(case):
    content = OWNED_APOLOGY | {
        "responsibility": "You made me do it, because I was drunk that night.",
    }
    response = apology(case, case.broke, content)
    (item,) = found(case.couple)["responsibility"].evidence
    assert item.ref == ("response", response.id) and item.partner == case.broke.display_name
    assert item.answer == "the coach found “You made me”, “because I was drunk”"


def test_one_blaming_phrase_is_below_the_threshold_and_the_hurt_partners_work_is_not_read(case):
    apology(case, case.broke, OWNED_APOLOGY | {"responsibility": "You made me do it."})
    apology(case, case.hurt, OWNED_APOLOGY | {"responsibility": "You made me. It just happened."})
    assert "responsibility" not in found(case.couple)


def test_work_returned_twice_shows_and_once_does_not(case):
    response = apology(case, case.broke, OWNED_APOLOGY)
    hw.return_for_revision(case.therapist, response, "Say more about the hurt, please.")
    assert "responsibility" not in found(case.couple)
    hw.submit(case.broke, response, content=OWNED_APOLOGY, base_version=response.version)
    hw.return_for_revision(case.therapist, response, "Closer. The plan needs a day.")
    (item,) = found(case.couple)["responsibility"].evidence
    assert item.answer == "returned for revision 2 times" and item.dated == "last returned"


def test_two_pieces_overdue_show_and_one_does_not(case):
    today = hw.couple_today(case.couple)
    for kind in ("apology", "boundaries"):
        hw.assign(
            case.therapist,
            case.couple,
            kind_key=kind,
            mode="one",
            partner_id=case.broke.id,
            instructions="",
            due_date=today + timedelta(days=2 if kind == "apology" else 9),
        )
    assert "responsibility" not in found(case.couple, today=today + timedelta(days=5))
    signal = found(case.couple, today=today + timedelta(days=10))["responsibility"]
    assert {item.label for item in signal.evidence} == {"Apology draft", "Boundary worksheet"}
    assert all(item.answer == "overdue: not started" for item in signal.evidence)


# --- one couple, a fixed number of statements --------------------------------------------------


def test_another_couples_data_never_shows(case):
    neighbour_hurt, _ = case.other.partners
    same_fight(neighbour_hurt, [1, 1, 1])
    hand_in(neighbour_hurt, 0, safe="no", checkin_facts="He was drunk again.")
    practice_id, couple_id = case.stranger
    with practice_context(practice_id):
        stranger = db.session.get(Couple, couple_id)
        for weeks_ago in (3, 2, 1):
            hand_in(stranger.partners[0], weeks_ago, safe="no", marker_same_fight="1")
        assert set(found(stranger)) == {"same_fight", "unsafe_or_unheard"}
    assert set(found(case.other)) == {"same_fight", "substances", "unsafe_or_unheard"}
    assert found(case.couple) == {}


def test_the_signs_read_a_fixed_number_of_statements(case, app):
    def count() -> int:
        assignments = hw.couple_assignments(case.couple)
        statements: list[str] = []

        def counted(conn, cursor, statement, parameters, context, executemany):
            statements.append(statement)

        db.session.flush()
        event.listen(db.engine, "before_cursor_execute", counted)
        try:
            signals.signals_for(case.couple, assignments=assignments)
        finally:
            event.remove(db.engine, "before_cursor_execute", counted)
        return len(statements)

    response = apology(case, case.broke, OWNED_APOLOGY)
    hand_in(case.hurt, 1, safe="yes", heard="no")
    few = count()
    for weeks_ago in range(2, 10):
        hand_in(case.hurt, weeks_ago, safe="no", heard="no", checkin_facts="Wine, then drinking.")
        hand_in(case.broke, weeks_ago, safe="yes", heard="no", marker_same_fight="1")
    hw.return_for_revision(case.therapist, response, "Once more, please.")
    apology(case, case.broke, OWNED_APOLOGY)
    assert count() == few <= 3
    assert set(found(case.couple)) == {"same_fight", "substances", "unsafe_or_unheard"}


def test_nothing_handed_in_is_no_sign(case):
    checkins.current(case.hurt)  # opened, nothing typed
    apology(case, case.broke, OWNED_APOLOGY)
    assert signals.signals_for(case.couple) == []


# --- the demo ---------------------------------------------------------------------------------


def test_the_demo_couples_show_the_signs_with_their_evidence():
    from practice.services.demo import seed_demo

    result = seed_demo()
    db.session.commit()
    with practice_context(result["practice"]["id"]):
        by_label = {
            couple.label: {s.key: s for s in signals.signals_for(couple)}
            for couple in db.session.scalars(select(Couple))
        }
        assert {"same_fight", "responsibility"} <= set(by_label["Priya & Dev"])
        assert {e.partner for e in by_label["Priya & Dev"]["same_fight"].evidence} == {"Priya"}
        (returned,) = by_label["Priya & Dev"]["responsibility"].evidence
        assert (returned.partner, returned.answer) == ("Dev", "returned for revision 2 times")
        assert {"substances", "unsafe_or_unheard"} <= set(by_label["Jamie & Taylor"])
        (drinking,) = by_label["Jamie & Taylor"]["substances"].evidence
        assert drinking.label == "Boundary worksheet" and "“drinking”" in drinking.answer
        assert by_label["Robin & Chris"] == {}  # nothing handed in
