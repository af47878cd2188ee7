"""Safety answers: scored by the practice's instrument, a positive screen or an unsafe
check-in answer flags the couple at once for the therapists only (a notice and a
content-free email), the other partner sees nothing, and flags are seen then addressed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from practice.extensions import db
from practice.instruments import PREFER_NOT
from practice.models import JobRun, Notice, Practice
from practice.models.base import utcnow
from practice.models.checkin import SafetyAnswer, SafetyFlag
from practice.services import DomainError, safety
from practice.services import checkins as checkin_service
from tests.services.test_homework import audit_events, world  # noqa: F401 - a fixture

pytestmark = pytest.mark.usefixtures("app")

CALM = {"afraid": 0, "hurt_or_threatened": 0, "safe_at_home": 0}


def practice_of(w) -> Practice:
    return db.session.scalar(select(Practice).where(Practice.id == w.couple.practice_id))


def flags() -> list[SafetyFlag]:
    db.session.flush()
    return db.session.scalars(select(SafetyFlag)).all()


def test_the_screen_is_due_on_first_entry_and_again_after_ninety_days(world):  # noqa: F811
    ann = world.ann
    assert safety.screen_due(ann)
    safety.record_screen(ann, practice_of(world), CALM, link="/couples/1")
    assert not safety.screen_due(ann)
    assert not safety.screen_due(ann, now=utcnow() + timedelta(days=89))
    assert safety.screen_due(ann, now=utcnow() + timedelta(days=90))


def test_a_calm_screen_raises_nothing(world):  # noqa: F811
    answer = safety.record_screen(world.ann, practice_of(world), CALM, link="/couples/1")
    assert answer.positive is False and answer.instrument == "own_safety"
    assert flags() == []
    assert db.session.scalars(select(JobRun)).all() == []


def test_a_positive_screen_flags_the_couple_for_the_therapists_only(world):  # noqa: F811
    answers = {**CALM, "afraid": 1}
    safety.record_screen(world.ann, practice_of(world), answers, link="/couples/7")
    (flag,) = flags()
    assert (flag.partner_id, flag.couple_id) == (world.ann.id, world.couple.id)
    sent = db.session.scalars(select(Notice)).all()
    assert {n.recipient_user_id for n in sent} == {world.therapist.id}
    assert all(n.recipient_partner_id is None for n in sent)  # never a partner
    assert {n.kind for n in sent} == {"safety.answer"}
    (run,) = db.session.scalars(select(JobRun)).all()
    assert run.function == "email.safety_flag"
    assert run.arguments == {"user_id": world.therapist.id, "couple_id": world.couple.id}
    assert audit_events("safety.flag_raised")


def test_prefer_not_to_answer_is_kept_and_not_an_answer(world):  # noqa: F811
    answers = {"afraid": PREFER_NOT, "hurt_or_threatened": 0, "safe_at_home": 0}
    answer = safety.record_screen(world.ann, practice_of(world), answers, link="/")
    assert answer.answers["afraid"] == PREFER_NOT and not answer.positive


def test_answers_that_fit_no_item_are_refused(world):  # noqa: F811
    with pytest.raises(DomainError):
        safety.record_screen(world.ann, practice_of(world), {"afraid": 7}, link="/")
    assert db.session.scalars(select(SafetyAnswer)).all() == []


def test_a_disabled_or_unknown_instrument_falls_back_to_our_own_questions(world):  # noqa: F811
    practice = practice_of(world)
    practice.safety_instrument = "csi4"  # a measure, not a safety screen
    assert safety.instrument_for(practice).key == "own_safety"
    practice.safety_instrument = "no-such"
    assert safety.instrument_for(practice).key == "own_safety"
    practice.safety_instrument = "hits"
    assert safety.instrument_for(practice).key == "hits"


def test_an_unsafe_check_in_answer_flags_once_and_is_kept_apart_from_the_check_in(world):  # noqa: F811
    checkin = checkin_service.current(world.ann)
    db.session.flush()
    safety.record_checkin_items(
        world.ann, checkin, {"safe_at_home": "not_sure", "feel_heard": "yes"}, link="/"
    )
    safety.record_checkin_items(
        world.ann, checkin, {"safe_at_home": "no", "feel_heard": "no"}, link="/"
    )
    (flag,) = flags()
    (answer,) = db.session.scalars(select(SafetyAnswer)).all()
    assert answer.answers == {"safe_at_home": "no", "feel_heard": "no"}
    assert "safe_at_home" not in str(checkin.content)  # never in the check-in itself


def test_not_feeling_heard_alone_is_for_the_therapist_to_read_not_an_alarm(world):  # noqa: F811
    checkin = checkin_service.current(world.ann)
    db.session.flush()
    answer = safety.record_checkin_items(
        world.ann, checkin, {"safe_at_home": "yes", "feel_heard": "no"}, link="/"
    )
    assert answer.positive is False and flags() == []


def test_a_flag_is_seen_then_addressed_with_a_note(world):  # noqa: F811
    safety.record_screen(world.ann, practice_of(world), {**CALM, "safe_at_home": 2}, link="/")
    (flag,) = flags()
    assert [f.id for f in safety.open_flags([world.couple.id])] == [flag.id]
    safety.mark_seen(world.therapist, flag)
    assert flag.seen_by_id == world.therapist.id and flag.addressed_at is None
    with pytest.raises(DomainError):
        safety.mark_addressed(world.therapist, flag, "  ")
    safety.mark_addressed(world.therapist, flag, "Called Ann; safety plan in place.")
    assert flag.addressed_at is not None and flag.note == "Called Ann; safety plan in place."
    assert safety.open_flags([world.couple.id]) == []
    assert audit_events("safety.flag_addressed")


def test_the_crisis_resources_name_no_country_by_default(world):  # noqa: F811
    practice = practice_of(world)
    practice.crisis_resources = ""
    text = safety.crisis_resources(practice)
    assert "emergency number" in text
    for country_service in ("911", "999", "112", "Samaritans", "hotline"):
        assert country_service not in text
    practice.crisis_resources = "Call the Harbour crisis line: 0800 000 000."
    assert safety.crisis_resources(practice) == "Call the Harbour crisis line: 0800 000 000."


def test_the_therapist_s_email_says_only_that_an_answer_needs_attention(world, inbox):  # noqa: F811
    """Read through the real local SMTP server: a link and no word of the answer, the check-in
    or who gave it."""
    from werkzeug.datastructures import MultiDict

    before = len(inbox.messages)
    checkin = checkin_service.current(world.ann)
    typed = MultiDict({"checkin-facts": "He shouted at me on Friday night."})
    checkin_service.submit(world.ann, checkin, form=typed, base_version=checkin.version)
    safety.record_checkin_items(
        world.ann, checkin, {"safe_at_home": "no"}, link=f"/couples/{world.couple.id}"
    )
    db.session.commit()

    (message,) = inbox.messages[before:]
    body = message.get_content()
    assert message["To"] == world.therapist.email
    assert message["Subject"] == "A safety answer needs your attention"
    assert f"/couples/{world.couple.id}" in body
    for private in ("Friday", "shouted", "Ann", "Ben", "safe at home", "No", world.couple.label):
        assert private not in body, private
