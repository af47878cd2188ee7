"""The boundary worksheet: its coach (table-driven), validation and completeness."""

from __future__ import annotations

import pytest

from practice.audience import Audience
from practice.homework import ContentError, get_kind
from practice.homework.boundaries import DOMAINS, MAX_PROPOSALS, BoundaryWorksheet

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
