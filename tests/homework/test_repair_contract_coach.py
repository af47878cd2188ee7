"""The repair contract's coach (table-driven): vague commitments, ultimatums, what is missing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from practice.homework import get_kind
from tests.homework import tables

KIND = get_kind("repair_contract")

# A contract that draws no finding, to fill in around the text under test.
GOOD = {
    "commitments_1": [
        "Say out loud when something sets me off, and what it was.",
        "Walk together after dinner on Tuesdays and Fridays.",
        "Ask one question a day about how you are doing.",
    ],
    "commitments_2": [
        "Show you the bank app on the first of each month.",
        "Call if I am going to be more than 20 minutes late.",
        "Go to my own counselling every Thursday.",
    ],
    "support": "Sitting together quietly for ten minutes when either of us is overwhelmed.",
    "breaks": "Meeting or messaging her again, in any way, or hiding spending from each other.",
    "revisit_date": (date.today() + timedelta(days=30)).isoformat(),  # noqa: DTZ011
}


def with_commitment(text: str, key: str = "commitments_2", index: int = 1) -> dict:
    items = list(GOOD[key])
    items[index] = text
    return dict(GOOD, **{key: items})


def findings(content: dict) -> list[tuple[str, str | None, str | None, str]]:
    return [(f.code, f.part, f.phrase, f.level) for f in KIND.coach(content)]


def test_the_good_contract_draws_no_finding():
    assert KIND.coach(GOOD) == []


# Commitments: (text, phrase as typed) each rule flags on the commitment's own line, and the
# commitments it leaves alone.
VAGUE = [
    ("Be more honest", "Be more honest"),
    ("Communicate better with you", "Communicate better"),
    ("Spend more time together", "Spend more time together"),
    ("Honesty", None),
]
VAGUE_NOT = [
    "Text when plans change, within the hour.",
    "Plan one fun evening a week.",
    "Stop drinking",
    "Be more honest about money: show you the statements every month.",
    "Keep every small promise, on time.",
]
HEDGED = [
    ("Try to call when I'm running late", "Try to"),
    ("Do my best to be home for dinner", "Do my best"),
]
HEDGED_NOT = ["Never try to contact her again", "Use the code word instead of starting a fight."]
AMOUNT = [("Drink less", "less"), ("Go out with work friends less often", "less often")]
AMOUNT_NOT = ["No more contact with my ex, in any way", "No more than two drinks when we go out"]
COMMITMENT_TABLES = {
    "vague-commitment": (VAGUE, VAGUE_NOT),
    "hedged-commitment": (HEDGED, HEDGED_NOT),
    "vague-amount": (AMOUNT, AMOUNT_NOT),
}


def test_every_commitment_rule_has_as_many_cases_left_alone_as_flagged():
    assert tables.unbalanced(COMMITMENT_TABLES) == []


@pytest.mark.parametrize(("code", "text", "phrase"), tables.flagged(COMMITMENT_TABLES))
def test_vague_commitments_are_flagged_on_their_own_line(code, text, phrase):
    assert findings(with_commitment(text)) == [(code, "commitments_2.1", phrase, "flag")]


@pytest.mark.parametrize(("code", "text"), tables.left_alone(COMMITMENT_TABLES))
def test_specific_commitments_are_left_alone(code, text):
    assert findings(with_commitment(text, "commitments_1", 2)) == []


def test_each_partner_s_commitments_are_checked():
    content = with_commitment("Be more honest", "commitments_1", 0)
    content["commitments_2"] = ["Try to listen", *GOOD["commitments_2"][1:]]
    assert [(code, part) for code, part, _, _ in findings(content)] == [
        ("vague-commitment", "commitments_1.0"),
        ("hedged-commitment", "commitments_2.0"),
    ]


# "What breaks it": an ultimatum draws a gentle tip, with the words as typed.
ULTIMATUMS = [
    ("If you lie again, I'm leaving.", "I'm leaving"),
    ("One more lie and we're done.", "One more lie"),
    ("Any contact with her and it's over.", "it's over"),
    ("This is your last chance.", "last chance"),
    ("If it happens again I will file for divorce.", "I will file for divorce"),
    ("Any contact with him means divorce.", "means divorce"),
    ("If you drink again, you'll never see the kids again.", "you'll never see the kids again"),
    ("No second chances: any lie and I will end the marriage.", "No second chances"),
]
NOT_ULTIMATUMS = [
    "Any new contact with the colleague, or a lie about where either of us is.",
    "Hiding money, or contacting her in any way.",
    "If either of us breaks it, we tell the other within a day and bring it to our next session.",
    "I will leave the room and come back in 20 minutes if I feel flooded.",
    "Not answering when I'm out with friends, for hours.",
    "Going silent for more than a day once we're done talking.",
    "Drinking at home; it's over the line if it happens in front of the kids.",
    "The last time a promise broke, we talked it through in session; we will again.",
    "I will not leave over one slip; we bring it to our therapist.",
    "This is not a last chance; it is a place to start from.",
    "Breaking it is not the end of us; we talk about it in the next window.",
]


BREAKS_TABLES = {"ultimatum": (ULTIMATUMS, NOT_ULTIMATUMS)}


def test_as_many_plain_breaks_as_ultimatums():
    assert tables.unbalanced(BREAKS_TABLES) == []


@pytest.mark.parametrize(("code", "text", "phrase"), tables.flagged(BREAKS_TABLES))
def test_an_ultimatum_gets_a_gentle_tip(code, text, phrase):
    assert findings(dict(GOOD, breaks=text)) == [(code, "breaks", phrase, "tip")]


@pytest.mark.parametrize(("code", "text"), tables.left_alone(BREAKS_TABLES))
def test_naming_what_breaks_it_is_not_an_ultimatum(code, text):
    assert findings(dict(GOOD, breaks=text)) == []


def test_the_ultimatum_note_is_gentle_and_judges_no_one():
    (finding,) = KIND.coach(dict(GOOD, breaks="One more lie and I'm gone."))
    assert finding.level == "tip"
    assert "fair" in finding.message
    assert "\n" not in finding.message and len(finding.message) < 200


def test_missing_parts_come_first_then_the_notes():
    content = dict(GOOD, support="", revisit_date="")
    content["commitments_1"] = ["Be more honest", "", ""]
    assert [(code, part, level) for code, part, _, level in findings(content)] == [
        ("commitments_1", "commitments_1", "missing"),
        ("support", "support", "missing"),
        ("revisit_date", "revisit_date", "missing"),
        ("vague-commitment", "commitments_1.0", "flag"),
    ]


def test_a_far_revisit_is_a_tip():
    far = (date.today() + timedelta(days=200)).isoformat()  # noqa: DTZ011
    assert findings(dict(GOOD, revisit_date=far)) == [("revisit-far", "revisit_date", None, "tip")]


def test_the_clean_result_says_what_was_checked():
    assert "no vague commitments or ultimatums" in KIND.coach_checked
    assert "cannot judge what is meant" in KIND.coach_checked
