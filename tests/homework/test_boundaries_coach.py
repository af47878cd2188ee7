"""The boundary worksheet: its coach (table-driven), validation and completeness."""

from __future__ import annotations

import pytest

from practice.audience import Audience
from practice.homework import ContentError, get_kind
from practice.homework.boundaries import DOMAINS, MAX_PROPOSALS, BoundaryWorksheet
from tests.homework import tables

KIND = get_kind("boundaries")


def proposal(agreement="", time_frame="", review_date="", domain="communication") -> dict:
    return {
        "domain": domain,
        "agreement": agreement,
        "time_frame": time_frame,
        "review_date": review_date,
    }


def coach_one(agreement, time_frame="", review_date=""):
    content = {"proposals": [proposal(agreement, time_frame, review_date)]}
    return [(f.code, f.part, f.phrase) for f in KIND.coach(content)]


VAGUE = "proposals.0.agreement"
NO_END = "proposals.0.review_date"

# (agreement, findings: (code, part, phrase as typed))
SPECIFICITY = [
    # vague: a vague phrase and no "when"
    ("Be more honest", [("vague-agreement", VAGUE, "Be more honest")]),
    ("Communicate better", [("vague-agreement", VAGUE, "Communicate better")]),
    ("We should trust each other again", [("vague-agreement", VAGUE, "trust each other")]),
    ("Be open with each other about everything", [("vague-agreement", VAGUE, "Be open")]),
    ("No more secrets between us", [("vague-agreement", VAGUE, "No more secrets")]),
    (
        "Make more of an effort with my friends",
        [("vague-agreement", VAGUE, "Make more of an effort")],
    ),
    ("I will try harder to respect your space", [("vague-agreement", VAGUE, "try harder")]),
    # vague: too short to say what or when
    ("Honesty", [("vague-agreement", VAGUE, None)]),
    ("Tell the truth", [("vague-agreement", VAGUE, None)]),
    # specific: a behaviour and a time, a number or a trigger
    ("Tell each other about any message from an ex within 24 hours", []),
    ("Text when running more than 15 minutes late", []),
    ("Be more honest about money: show each other the statements every month", []),
    ("Whenever an ex gets in touch, tell the other the same evening", []),
    ("Ask before posting photos of each other online", []),
    ("No more than two drinks on a night out", []),
    ("Call once during each business trip, after dinner", []),
    # concrete without a "when": not flagged
    ("No alcohol kept at home", []),
    ("Unfollow exes on Instagram and Facebook", []),
]


@pytest.mark.parametrize(("agreement", "expected"), SPECIFICITY)
def test_vague_and_specific_agreements(agreement, expected):
    assert coach_one(agreement) == expected


# (agreement, time frame, review date, findings)
TRANSPARENCY = [
    # no end, no review date: flagged
    ("Share phone passwords", "", "", [("transparency-no-end", NO_END, "Share phone passwords")]),
    (
        "Share phone passwords",
        "ongoing",
        "",
        [("transparency-no-end", NO_END, "Share phone passwords")],
    ),
    (
        "Keep location sharing on",
        "always",
        "",
        [("transparency-no-end", NO_END, "location sharing")],
    ),
    (
        "Share our locations when either of us travels",
        "for now",
        "",
        [("transparency-no-end", NO_END, "Share our locations")],
    ),
    (
        "You can check my phone whenever you feel anxious",
        "",
        "",
        [("transparency-no-end", NO_END, "check my phone")],
    ),
    (
        "Read each other's messages on Sundays",
        "indefinitely",
        "",
        [("transparency-no-end", NO_END, "Read each other's messages")],
    ),
    (
        "Go through my phone each evening after dinner",
        "every day",
        "",
        [("transparency-no-end", NO_END, "Go through my phone")],
    ),
    (
        "Use a joint account for all spending from now on",
        "",
        "",
        [("transparency-no-end", NO_END, "joint account")],
    ),
    (
        "Give you my email password on any day you ask",
        "",
        "",
        [("transparency-no-end", NO_END, "Give you my email password")],
    ),
    # an end or a review date: not flagged
    ("Share phone passwords", "3 months", "", []),
    ("Share phone passwords", "", "2026-03-01", []),
    ("Share our locations on weekends", "until June", "", []),
    ("Go through my phone every evening", "review in 4 weeks", "", []),
    ("Read each other's messages on Sundays", "for the next six weeks", "", []),
    ("Share passwords for the next 3 months", "", "", []),
    ("Phone checks once a week until our review", "", "", []),
    ("Location sharing on nights out", "to the end of March", "", []),
    # not a transparency measure at all, or refusing one
    ("We do not share passwords; each of us keeps our own", "", "", []),
    ("Stop checking my phone when I leave it on the table", "", "", []),
    ("Tell each other before changing any password on a shared device", "", "2026-05-01", []),
]


@pytest.mark.parametrize(("agreement", "time_frame", "review_date", "expected"), TRANSPARENCY)
def test_transparency_measures_need_an_end(agreement, time_frame, review_date, expected):
    assert coach_one(agreement, time_frame, review_date) == expected


def test_one_proposal_can_be_both_vague_and_without_an_end():
    assert coach_one("Be open and share passwords") == [
        ("vague-agreement", VAGUE, "Be open"),
        ("transparency-no-end", NO_END, "share passwords"),
    ]


def test_findings_point_at_their_own_proposal():
    content = {
        "proposals": [
            proposal("Tell each other about any message from an ex within 24 hours"),
            proposal("Be more honest", domain="privacy"),
            proposal("Share phone locations", domain="privacy"),
            proposal(time_frame="3 months"),
            proposal(),
        ]
    }
    assert [(f.code, f.part, f.level) for f in KIND.coach(content)] == [
        ("vague-agreement", "proposals.1.agreement", "flag"),
        ("transparency-no-end", "proposals.2.review_date", "flag"),
        ("agreement-missing", "proposals.3.agreement", "missing"),
    ]


def test_nothing_proposed_yet():
    for content in (KIND.empty(), {"proposals": [proposal()]}, {}):
        assert [(f.code, f.part, f.level) for f in KIND.coach(content)] == [
            ("no-proposals", "proposals", "missing")
        ]


def test_coach_tolerates_odd_content():
    assert [f.code for f in KIND.coach({"proposals": "nope"})] == ["no-proposals"]
    assert [f.code for f in KIND.coach({"proposals": [7, {"agreement": 3}]})] == ["no-proposals"]


def test_messages_are_short_and_plain():
    content = {"proposals": [proposal("Be open and share passwords"), proposal(time_frame="x")]}
    for finding in KIND.coach(content):
        assert finding.message and "\n" not in finding.message and len(finding.message) < 200


# -- the kind ------------------------------------------------------------------------------


def test_kind_defaults():
    assert isinstance(KIND, BoundaryWorksheet)
    assert (KIND.key, KIND.label) == ("boundaries", "Boundary worksheet")
    assert KIND.default_mode == "each"
    assert KIND.default_audience == Audience.PRIVATE
    assert KIND.default_instructions
    assert list(DOMAINS) == [
        "communication",
        "privacy",
        "social_media",
        "substances_spending",
        "other",
    ]


def test_clean_keeps_what_was_typed():
    content = {
        "proposals": [
            proposal("  Text me <b>before</b> 10pm  ", " 3 months ", "2026-02-28", "social_media"),
            proposal(domain="substances_spending"),
        ]
    }
    cleaned = KIND.clean(content)
    assert cleaned["proposals"][0] == proposal(
        "  Text me <b>before</b> 10pm  ", " 3 months ", "2026-02-28", "social_media"
    )
    assert cleaned["proposals"][1] == proposal(domain="substances_spending")
    assert KIND.clean({}) == {"proposals": []}


def test_clean_fills_in_missing_keys():
    cleaned = KIND.clean({"proposals": [{"agreement": "Call at lunch every day"}]})
    assert cleaned == {"proposals": [proposal("Call at lunch every day", domain="other")]}
    cleaned = KIND.clean({"proposals": [{"domain": "privacy", "time_frame": None}]})
    assert cleaned == {"proposals": [proposal(domain="privacy")]}


def test_clean_accepts_the_limits():
    content = {"proposals": [proposal("x" * 1000, "y" * 1000)] * MAX_PROPOSALS}
    assert len(KIND.clean(content)["proposals"]) == MAX_PROPOSALS


@pytest.mark.parametrize(
    ("content", "error_key"),
    [
        ("proposals", "_"),
        ([], "_"),
        ({"proposals": "Be honest"}, "proposals"),
        ({"proposals": {"0": proposal()}}, "proposals"),
        ({"proposals": [proposal()] * (MAX_PROPOSALS + 1)}, "proposals"),
        ({"proposals": [], "notes": "hi"}, "notes"),
        ({"proposals": [proposal(), "Be honest"]}, "proposals.1"),
        ({"proposals": [dict(proposal(), who="me")]}, "proposals.0.who"),
        ({"proposals": [proposal(domain="money")]}, "proposals.0.domain"),
        ({"proposals": [proposal(domain=3)]}, "proposals.0.domain"),
        ({"proposals": [proposal(agreement=["a"])]}, "proposals.0.agreement"),
        ({"proposals": [proposal(agreement="x" * 1001)]}, "proposals.0.agreement"),
        ({"proposals": [proposal(time_frame=12)]}, "proposals.0.time_frame"),
        ({"proposals": [proposal(time_frame="y" * 1001)]}, "proposals.0.time_frame"),
        (
            {"proposals": [proposal(), proposal(review_date="2026-02-30")]},
            "proposals.1.review_date",
        ),
        (
            {"proposals": [proposal(), proposal(), proposal(review_date="next week")]},
            "proposals.2.review_date",
        ),
        ({"proposals": [proposal(review_date="28/02/2026")]}, "proposals.0.review_date"),
        ({"proposals": [proposal(review_date="20260228")]}, "proposals.0.review_date"),
        ({"proposals": [proposal(review_date=20260228)]}, "proposals.0.review_date"),
    ],
)
def test_clean_refuses_bad_shapes_and_dates(content, error_key):
    with pytest.raises(ContentError) as raised:
        KIND.clean(content)
    assert error_key in raised.value.errors


def test_clean_reports_every_error_at_once():
    content = {"proposals": [proposal(domain="money"), proposal(review_date="soon")]}
    with pytest.raises(ContentError) as raised:
        KIND.clean(content)
    assert set(raised.value.errors) == {"proposals.0.domain", "proposals.1.review_date"}


def test_check_complete_needs_one_agreement():
    assert KIND.check_complete(KIND.empty()) == {"proposals": "Propose at least one agreement."}
    assert set(KIND.check_complete({"proposals": [proposal(time_frame="3 months")]})) == {
        "proposals"
    }
    assert KIND.check_complete({"proposals": [proposal(), proposal("Call at 6 each day")]}) == {}


# -- rules added for hedges, amounts and surveillance ---------------------------------------
# Each rule: (agreement, the phrase as typed) it must flag, and at least as many agreements it
# must leave alone. A review date is set, so "transparency-no-end" stays out of the way: the
# surveillance rules hold even when there is one.

REVIEW = "2026-06-01"


def coded(code, agreement, time_frame="3 months", review_date=REVIEW):
    return [
        f.phrase
        for f in KIND.coach({"proposals": [proposal(agreement, time_frame, review_date)]})
        if f.code == code
    ]


HEDGED = [
    ("Try to text more when I'm out late", "Try to"),
    ("I'll do my best to be home by 7 on weeknights", "do my best"),
    ("Call each other at lunch if possible", "if possible"),
    ("Hopefully check in every evening after work", "Hopefully"),
    ("Tell each other about messages from exes when we can", "when we can"),
    ("We usually eat dinner together on weekdays", "usually"),
    ("Try not to shout during arguments", "Try not to"),
    ("We will try our best to be home for dinner", "try our best"),
    ("Trying to be home by 7 on weeknights", "Trying to"),
]
HEDGED_NOT = [
    "Try the new café together every Friday",
    "If you try to call me at work, I call back within the hour",
    "I will never try to contact her again, in any way",
    "I won't even try to guess your passcode",
    "Tell each other when an ex tries to get in touch, the same day",
    "Call me when I can't make it home by 7",
    "Text as soon as possible when plans change",
    "Stop trying to control where I go; ask me instead",
    "If she's trying to reach me, I tell you the same day",
    "Tell each other the same day if anyone is trying to contact us through old accounts",
]

AMOUNT = [
    ("Drink less", "less"),
    ("Drink less at weekends", "less"),
    ("Text me more often when I'm away", "more often"),
    ("Use social media less in the evenings", "less"),
    ("Spend less time on my phone at home", "less time"),
    ("Less arguing, more listening", "Less"),
    ("More date nights", "More"),
]
AMOUNT_NOT = [
    "No more than two drinks on a night out",
    "Text when running more than 15 minutes late",
    "Spend less than £50 without telling each other",
    "No more contact with her, in any way",
    "Be more honest about money: show each other the statements every month",
    "Spend more time together every Sunday afternoon",
    "Don't drink any more at home after 9 pm",
    "At least one date night a month, no less",
    "More than three drinks means we talk it through the next day",
]

ONE_SIDED = [
    ("I check your phone every evening", "I check your phone"),
    ("You give me your passwords for email and bank", "give me your passwords"),
    ("I get to read your texts on Sundays", "I get to read your texts"),
    ("Share your location with me on nights out", "Share your location with me"),
    ("I will have access to your email account", "I will have access to your email account"),
    ("Send me screenshots of all your chats", "Send me screenshots of all your chats"),
    ("You give me access to your email", "give me access to your email"),
]
ONE_SIDED_NOT = [
    "You can check my phone on Sunday evenings",
    "Read each other's messages on Sundays",
    "I will read your messages every night, and you can read mine",
    "I will not check your phone, and I will ask you instead",
    "I'll stop going through your phone at night",
    "I may look at your phone when you offer it",
    "I will text you my location when I leave work",
    "We each share our location during the late shift for the next month",
    "I'll email you when I land, every trip",
]

OPEN_ENDED = [
    ("I check your phone whenever I want", "whenever I want"),
    ("Share passwords and check each other's phones at any time", "at any time"),
    ("Install Life360 on both phones", "Life360"),
    ("Keep location sharing on at all times", "at all times"),
    ("Text me where you are every hour on nights out", "every hour"),
    ("Random phone checks", "Random"),
    ("Share all passwords", "all passwords"),
    ("Put an AirTag in your car", "AirTag"),
    ("We read all of each other's messages", "all of each other's messages"),
    ("I track your phone with an app", "track your phone with an app"),
    ("I get your passwords to everything", "to everything"),
    ("Your location stays on for me all the time", "all the time"),
]
OPEN_ENDED_NOT = [
    "You can check my phone whenever you feel anxious",
    "Give you my email password on any day you ask",
    "Share our locations on weekends",
    "Use a budgeting app to track our spending together every Sunday",
    "Check in with each other every evening for 20 minutes",
    "Call me whenever you want, day or night",
    "Share locations on nights out; either of us can pause it at any time",
    "Spend an hour together every Sunday",
    "Tell each other about every message from an ex within a day",
    "We each share our location during the late shift for the next month",
    "Read each other's messages together on Sunday evenings for the next month",
    "Track our spending with an app every Sunday",
    "Use a sleep tracking app each night",
    "Tell each other everything about contact with her, the same day",
]

RULE_TABLES = {
    "hedged-agreement": (HEDGED, HEDGED_NOT),
    "vague-amount": (AMOUNT, AMOUNT_NOT),
    "checking-one-sided": (ONE_SIDED, ONE_SIDED_NOT),
    "checking-open-ended": (OPEN_ENDED, OPEN_ENDED_NOT),
}


def test_every_rule_has_as_many_cases_left_alone_as_flagged():
    assert tables.unbalanced(RULE_TABLES) == []


@pytest.mark.parametrize(("code", "agreement", "phrase"), tables.flagged(RULE_TABLES))
def test_each_rule_flags_the_exact_phrase(code, agreement, phrase):
    assert coded(code, agreement) == [phrase]


@pytest.mark.parametrize(("code", "agreement"), tables.left_alone(RULE_TABLES))
def test_each_rule_leaves_these_alone(code, agreement):
    assert coded(code, agreement) == []


def test_surveillance_is_flagged_with_an_end_and_without():
    for time_frame, review_date in (("", ""), ("3 months", ""), ("", REVIEW)):
        codes = [
            f.code
            for f in KIND.coach(
                {
                    "proposals": [
                        proposal("I check your phone whenever I want", time_frame, review_date)
                    ]
                }
            )
        ]
        assert "checking-one-sided" in codes and "checking-open-ended" in codes
        assert ("transparency-no-end" in codes) == (not time_frame and not review_date)


# An end written as "the next month" or "a few weeks": (agreement, time frame) left alone, and
# as many without an end that are flagged.
ENDS = [
    ("Share passwords for the next month", ""),
    ("Share passwords for the next three months", ""),
    ("Share locations over the next few weeks", ""),
    ("We each share our location during the late shift for the next month", ""),
    ("Phone checks on Sunday evenings for the rest of the month", ""),
    ("Share passwords", "for the next month"),
    ("Share passwords", "over the coming weeks"),
    ("Share locations on nights out", "this month"),
]
WITHOUT_END = [
    ("Share passwords this month and beyond", "ongoing"),
    ("Share passwords from next month on", ""),
    ("Share locations on nights out", "from now on"),
    ("Read each other's messages every month", ""),
]


@pytest.mark.parametrize(("agreement", "time_frame"), ENDS)
def test_a_time_frame_with_an_end_in_words_counts_as_an_end(agreement, time_frame):
    assert coach_one(agreement, time_frame) == []


@pytest.mark.parametrize(("agreement", "time_frame"), WITHOUT_END)
def test_without_an_end_in_words_the_measure_is_flagged(agreement, time_frame):
    assert [code for code, _, _ in coach_one(agreement, time_frame)] == ["transparency-no-end"]


def test_there_are_more_ends_than_missing_ones_in_the_table():
    assert len(ENDS) >= len(WITHOUT_END)


def test_a_proposal_gets_one_vagueness_finding():
    assert [
        (f.code, f.phrase) for f in KIND.coach({"proposals": [proposal("Try to drink less")]})
    ] == [("hedged-agreement", "Try to")]


# -- the therapist's agreements ---------------------------------------------------------------


def test_the_therapist_s_agreements_get_the_same_coach():
    from datetime import date

    from practice.homework.boundaries import coach_agreement

    assert coach_agreement("Tell each other about any message from an ex within 24 hours") == []
    assert [(f.code, f.part) for f in coach_agreement("Be more honest")] == [
        ("vague-agreement", "text")
    ]
    assert [(f.code, f.part) for f in coach_agreement("Share phone passwords", "", None)] == [
        ("transparency-no-end", "review_date")
    ]
    assert coach_agreement("Share phone passwords", "", date(2026, 6, 1)) == []
    assert coach_agreement("Share phone passwords", "until June") == []
    assert [
        f.code for f in coach_agreement("I check your phone whenever I want", "", date(2026, 6, 1))
    ] == [
        "checking-one-sided",
        "checking-open-ended",
    ]


def test_the_clean_result_says_what_was_checked():
    assert "No vague agreements" in KIND.coach_checked
    assert "cannot judge what is meant" in KIND.coach_checked
