"""The connection ritual's plan as a kind (no app, no database): its shape kept as typed, a
value that is wrong refused by its part, each partner's act of care kept apart, and a coach
that names what is missing and an act of care that names no act."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from practice.homework import KINDS, ContentError
from practice.homework.workflow import CONFIRMED

KIND = KINDS["connection_ritual"]

PLAN = {
    "checkin_weekday": 6,
    "checkin_time": "17:00",
    "date_idea": "walk",
    "date_words": "The coast path, then chips «sur le quai» 🌊",
    "care_1": "Leave a short note for you to find each morning.",
    "care_2": "Make your coffee before I leave for work.",
}


def codes(content: dict) -> dict[str, str | None]:
    """What the coach finds, as {code: part}."""
    return {finding.code: finding.part for finding in KIND.coach(content)}


def test_it_is_planned_together_and_agreed_by_both():
    assert KIND.workflow is CONFIRMED
    assert KIND.allowed_modes == ("joint",)
    assert KIND.default_audience.value == "couple"
    assert KIND.reopen_to is not None and KIND.change_notice == "ritual.change_proposed"


def test_a_plan_reads_back_from_its_form_as_typed():
    form = MultiDict(KIND.form_values(PLAN))
    assert form["content-checkin_weekday"] == "6"
    assert KIND.clean(KIND.parse_form(form)) == PLAN
    assert KIND.parse_form(form) == PLAN  # what the demo test holds every kind to


def test_a_draft_may_miss_parts_and_keeps_what_was_typed():
    draft = KIND.clean(
        KIND.parse_form(MultiDict({"content-date_words": "  something by the sea  "}))
    )
    assert draft == {**KIND.empty(), "date_words": "  something by the sea  "}


@pytest.mark.parametrize(
    ("field", "value", "part", "message"),
    [
        ("content-checkin_weekday", "7", "checkin_weekday", "Choose a day of the week."),
        ("content-checkin_weekday", "Sunday", "checkin_weekday", "Choose a day of the week."),
        ("content-checkin_time", "25:99", "checkin_time", "Enter a time like 19:30."),
        ("content-date_idea", "skydiving", "date_idea", "Choose one of the ideas"),
        ("content-care_1", "x" * 301, "care_1", "Keep this under 300 characters."),
        ("content-date_words", "a\nb", "date_words", "Keep this to one line"),
    ],
)
def test_a_wrong_value_is_refused_by_its_part(field, value, part, message):
    with pytest.raises(ContentError) as refused:
        KIND.clean(KIND.parse_form(MultiDict({**KIND.form_values(PLAN), field: value})))
    assert refused.value.errors[part].startswith(message)


def test_each_partner_writes_only_their_own_act_of_care():
    # Partner 2's page posts no field for partner 1's act (it is shown as text), and a
    # forged one changes nothing: the other's part stays as it was.
    typed = {**PLAN, "care_1": "", "care_2": "Run you a bath on Sundays."}
    assert KIND.merge_edit(PLAN, typed, position=2) == {**typed, "care_1": PLAN["care_1"]}
    forged = {**PLAN, "care_2": "Changed by partner 1"}
    assert KIND.merge_edit(PLAN, forged, position=1)["care_2"] == PLAN["care_2"]


def test_agreeing_needs_every_part_and_the_coach_names_each():
    assert KIND.check_complete(PLAN) == {}
    assert set(KIND.check_complete(KIND.empty())) == {
        "checkin_weekday",
        "checkin_time",
        "date_idea",
        "care_1",
        "care_2",
    }
    # Either an idea or the couple's own words is a date.
    assert "date_idea" not in KIND.check_complete({**PLAN, "date_idea": ""})
    assert "date_idea" not in KIND.check_complete({**PLAN, "date_words": ""})
    missing = [f for f in KIND.coach({**PLAN, "checkin_time": ""}) if f.level == "missing"]
    assert [(f.code, f.part) for f in missing] == [("missing-checkin_time", "checkin_time")]
    assert codes(PLAN) == {}


@pytest.mark.parametrize(
    ("care", "phrase"),
    [
        ("Be nicer", "Be nicer"),
        ("be a bit more affectionate every day", "be a bit more affectionate"),
        ("Show you more love", "Show you more love"),
        ("make you feel special", "make you feel special"),
        ("Be more supportive", "Be more supportive"),
    ],
)
def test_an_act_of_care_that_names_no_act_is_flagged(care, phrase):
    (finding,) = KIND.coach({**PLAN, "care_2": care})
    assert (finding.code, finding.part, finding.phrase, finding.level) == (
        "vague-care",
        "care_2",
        phrase,
        "flag",
    )


@pytest.mark.parametrize(
    "care",
    [
        "Make your coffee before work",
        "Be kind: leave a note in your bag",
        "A back rub after the kids are in bed",
        "Text you at lunch to ask how the day is going",
        "Cook dinner on weeknights",
    ],
)
def test_an_act_of_care_that_names_one_thing_is_left_alone(care):
    assert codes({**PLAN, "care_1": care}) == {}


def test_a_hedged_act_of_care_is_flagged_with_its_words():
    findings = KIND.coach({**PLAN, "care_1": "Try to make your coffee when I can"})
    assert [(f.code, f.phrase) for f in findings] == [("hedged-care", "Try to")]


def test_repair_talk_on_the_date_and_a_late_check_in_get_a_gentle_tip():
    heavy = KIND.coach({**PLAN, "date_words": "Dinner out, then talk about what happened"})
    assert [(f.code, f.level, f.phrase) for f in heavy] == [
        ("heavy-date", "tip", "talk about what happened")
    ]
    assert codes({**PLAN, "date_words": "Talk a walk and talk about the film"}) == {}
    late = KIND.coach({**PLAN, "checkin_time": "22:30"})
    assert [(f.code, f.level) for f in late] == [("late-checkin", "tip")]
    assert codes({**PLAN, "checkin_time": "21:45"}) == {}


def test_a_draft_s_excerpt_is_its_words_not_its_keys():
    printable = KIND.printable(PLAN)
    assert printable["date"].startswith("A walk somewhere neither of you has been The coast")
    assert "walk" not in printable.values() and 6 not in printable.values()
