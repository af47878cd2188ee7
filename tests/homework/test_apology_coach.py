"""The apology draft: its coach (table-driven), validation and completeness."""

from __future__ import annotations

import pytest

from practice.audience import Audience
from practice.homework import ContentError, get_kind
from practice.homework.apology import PARTS, ApologyDraft

KIND = get_kind("apology")

# Parts that draw no finding, to fill the rest of a draft around the text under test.
GOOD = {
    "what_i_did": "I had an affair with a colleague for six months and lied to you about it.",
    "how_it_hurt": "You lost your sense of safety, and you started doubting your own memory.",
    "responsibility": "I take full responsibility for my choices and for every lie I told you.",
    "amends": "I ended all contact with her, and I will show you my phone each evening "
    "for the next 3 months.",
}


def findings_for(part: str, text: str) -> list[tuple[str, str | None]]:
    content = dict(GOOD, **{part: text})
    return [(f.code, f.phrase) for f in KIND.coach(content) if f.part == part]


def test_the_good_draft_draws_no_finding():
    assert KIND.coach(GOOD) == []


# (part, text, the findings expected for that part: (code, phrase as typed))
FLAGGED = [
    # "sorry you feel / felt"
    (
        "what_i_did",
        "I'm sorry you feel that way about the messages.",
        [("sorry-you-felt", "sorry you feel")],
    ),
    (
        "how_it_hurt",
        "I am sorry that you felt so alone when I was away.",
        [("sorry-you-felt", "sorry that you felt")],
    ),
    (
        "how_it_hurt",
        "I’m sorry you’re upset about the nights I stayed out.",
        [("sorry-you-felt", "sorry you’re upset")],
    ),
    (
        "how_it_hurt",
        "I'm sorry for how you felt when you found the texts.",
        [("sorry-you-felt", "sorry for how you felt")],
    ),
    # "sorry if" and "if I hurt"
    ("what_i_did", "I'm sorry if the texts to my ex were hurtful.", [("sorry-if", "sorry if")]),
    (
        "what_i_did",
        "I'm Sorry If I hurt you with what I did at the party.",
        [("sorry-if", "Sorry If")],
    ),
    (
        "responsibility",
        "I apologize if anything I said was out of line.",
        [("sorry-if", "apologize if")],
    ),
    (
        "how_it_hurt",
        "If I hurt you, then I feel terrible about all of it.",
        [("if-i-hurt", "If I hurt")],
    ),
    (
        "how_it_hurt",
        "If I have upset you in any way, I regret it deeply.",
        [("if-i-hurt", "If I have upset")],
    ),
    # "but I"
    (
        "what_i_did",
        "I lied about where I was, but I was scared of losing you.",
        [("but-i", "but I")],
    ),
    (
        "responsibility",
        "I take responsibility. But I never meant for it to go this far.",
        [("but-i", "But I")],
    ),
    ("responsibility", "I own all of it, but, I’m human and I slipped up.", [("but-i", "but, I")]),
    # "you made me" and blame on the other
    (
        "what_i_did",
        "You made me feel invisible, so I went looking elsewhere.",
        [("you-made-me", "You made me")],
    ),
    (
        "what_i_did",
        "I hid the money because you were always checking on me.",
        [("blame-other", "because you")],
    ),
    (
        "what_i_did",
        "I started drinking again because of you and the shouting.",
        [("blame-other", "because of you")],
    ),
    (
        "responsibility",
        "If you hadn't pushed me away, none of this would have happened.",
        [("blame-other", "If you hadn't")],
    ),
    (
        "responsibility",
        "If you’d listened to me back then, I would have stopped.",
        [("blame-other", "If you’d")],
    ),
    (
        "responsibility",
        "I own my part, but you never asked me how I was.",
        [("blame-other", "but you never")],
    ),
    (
        "responsibility",
        "Honestly, some of it is your fault for the way things were.",
        [("blame-other", "your fault")],
    ),
    # minimisers
    ("what_i_did", "It was only a few messages with someone from work.", [("minimiser", "only")]),
    ("what_i_did", "We just talked late at night, a lot, for weeks.", [("minimiser", "just")]),
    (
        "how_it_hurt",
        "I think it upset you a little when you saw the photos.",
        [("minimiser", "a little")],
    ),
    (
        "what_i_did",
        "I kissed her only once, at the leaving party in March.",
        [("minimiser", "only once")],
    ),
    (
        "what_i_did",
        "I told myself it wasn't a big deal to keep texting him.",
        [("minimiser", "wasn't a big deal")],
    ),
    (
        "what_i_did",
        "I spent our savings; I know it is not a big deal to some people.",
        [("minimiser", "not a big deal")],
    ),
    # passive voice
    (
        "what_i_did",
        "Mistakes were made over the last year with our money.",
        [("passive", "Mistakes were made")],
    ),
    (
        "what_i_did",
        "Hurtful things were said at the party, and I drove off.",
        [("passive", "things were said")],
    ),
    (
        "what_i_did",
        "It happened at the conference, the night before I flew home.",
        [("passive", "It happened")],
    ),
    (
        "responsibility",
        "I know that it just happened, and I accept that it was wrong.",
        [("passive", "it just happened")],
    ),
    # several in one part, in reading order; one phrase reported once, whatever its case
    (
        "what_i_did",
        "I'm sorry if it hurt, but I was lonely. It was just once, just once, JUST ONCE.",
        [("sorry-if", "sorry if"), ("but-i", "but I"), ("minimiser", "just once")],
    ),
    (
        "what_i_did",
        "It was only texting and it was just at night, only ever at night.",
        [("minimiser", "only"), ("minimiser", "just")],
    ),
    # a quotation of what not to say is flagged like any other text (out of scope)
    (
        "amends",
        "I won't say 'sorry if' again; I will call you at lunch every day.",
        [("sorry-if", "sorry if")],
    ),
]


@pytest.mark.parametrize(("part", "text", "expected"), FLAGGED)
def test_non_apologies_are_flagged_with_the_exact_phrase(part, text, expected):
    assert findings_for(part, text) == expected


# Wording that looks like a non-apology but is not one: nothing to flag.
NOT_FLAGGED = [
    ("what_i_did", "Not only did I lie to you, but I also hid the second phone."),
    ("what_i_did", "Not only did I lie about the trips, but I hid the receipts for months."),
    ("what_i_did", "I buttered you up with gifts and turned every rebuttal into a fight."),
    ("responsibility", "The only person I should blame for this is me, nobody else."),
    (
        "responsibility",
        "I am the only one responsible, and my only excuse was selfishness; no excuse.",
    ),
    ("how_it_hurt", "I can only imagine how frightening those nights were for you."),
    ("how_it_hurt", "If only I had told you the truth the first time you asked me."),
    ("how_it_hurt", "You wanted justice, and I kept trying to justify myself to you."),
    ("how_it_hurt", "You had a just cause to be furious with me, and you still are."),
    ("how_it_hurt", "It hurt you just as much as the affair itself, maybe more."),
    ("what_i_did", "It was not just once; I met her eleven times over the summer."),
    ("responsibility", "I can't just say sorry and expect you to move on from this."),
    ("how_it_hurt", "It hurt more than a little: you stopped sleeping for weeks."),
    ("how_it_hurt", "It took you a little while to tell anyone what you had found."),
    ("how_it_hurt", "It hurt so much more because you trusted me with everything."),
    ("amends", "I am telling you all of it because you deserve the truth, every week from now."),
    ("responsibility", "If you hadn't found the messages, I would still be lying to you."),
    ("how_it_hurt", "You made me a better person, and I threw that away for nothing."),
    ("responsibility", "None of this was your fault, and I will keep saying so."),
    ("how_it_hurt", "I know you were scared after it happened, and you still are."),
    ("what_i_did", "I knew it was wrong but I did it anyway, again and again."),
    ("responsibility", "I saw the cost but I still chose to keep on lying to you."),
    ("amends", "If I ever hurt you again like this, I will move out that same week."),
    ("amends", "I will only use my phone in the living room, every day, for six months."),
    ("amends", "If you'd like to see my messages, I will hand you my phone any evening."),
    ("how_it_hurt", "I'm sorry I hurt you, and I see how it changed the way you sleep."),
]


@pytest.mark.parametrize(("part", "text"), NOT_FLAGGED)
def test_false_positives_are_not_flagged(part, text):
    assert findings_for(part, text) == []


# The change plan: concrete and time-bound, or not.
AMENDS = [
    ("I will be better from now on, I promise you that.", False),
    ("I will never do anything like this again, I swear to you.", False),
    ("One day I hope to earn back your trust, whatever it takes.", False),
    ("I will try harder to be honest with you about everything.", False),
    ("I will talk to each other more openly and stop hiding things.", False),
    ("I will text you whenever I am running late from work.", True),
    ("By Friday I will block her number and delete the account.", True),
    ("I will see a counsellor each week for the next three months.", True),
    ("I will tell you about any contact from her within 24 hours.", True),
    ("We will check in daily about how you feel after dinner.", True),
    ("I will hand my bank statements to you every month, no questions.", True),
    ("I will call you at 7 if I stay late and come home before dark.", True),
]


@pytest.mark.parametrize(("text", "concrete"), AMENDS)
def test_the_change_plan_needs_a_concrete_time_bound_step(text, concrete):
    codes = [code for code, _ in findings_for("amends", text)]
    assert codes == ([] if concrete else ["amends-not-concrete"])


# Missing and thin parts.
PARTS_CASES = [
    ("what_i_did", "", [("missing-part", "missing")]),
    ("what_i_did", "   \n  ", [("missing-part", "missing")]),
    ("what_i_did", "I lied.", [("thin-part", "tip")]),
    ("how_it_hurt", "It hurt you badly.", [("thin-part", "tip")]),
    ("responsibility", "I take full responsibility.", [("thin-part", "tip")]),
    ("responsibility", "I take full responsibility for lying.", []),
    ("amends", "", [("missing-part", "missing")]),
    ("amends", "I'll do better.", [("thin-part", "tip"), ("amends-not-concrete", "flag")]),
]


@pytest.mark.parametrize(("part", "text", "expected"), PARTS_CASES)
def test_missing_and_thin_parts(part, text, expected):
    content = dict(GOOD, **{part: text})
    found = [(f.code, f.level) for f in KIND.coach(content) if f.part == part]
    assert found == expected


def test_an_empty_draft_lists_each_missing_part_in_order():
    findings = KIND.coach(KIND.empty())
    assert [(f.code, f.part, f.level) for f in findings] == [
        ("missing-part", part, "missing") for part in PARTS
    ]


def test_findings_carry_a_short_kind_message_and_flag_level():
    findings = KIND.coach(dict(GOOD, what_i_did="Mistakes were made, but I was drunk."))
    assert {f.level for f in findings} == {"flag"}
    for finding in findings:
        assert finding.message and "\n" not in finding.message
        assert len(finding.message) < 160


def test_coach_is_pure_and_tolerates_odd_content():
    content = dict(GOOD)
    before = dict(content)
    assert KIND.coach(content) == KIND.coach(content)
    assert content == before
    assert [f.code for f in KIND.coach({"what_i_did": 3})][0] == "missing-part"


def test_a_long_draft_reports_each_phrase_once():
    text = "but I just only a little " * 800
    findings = findings_for("what_i_did", text[:5000])
    assert [code for code, _ in findings] == ["but-i", "minimiser", "minimiser", "minimiser"]


# -- the kind ------------------------------------------------------------------------------


def test_kind_defaults():
    assert isinstance(KIND, ApologyDraft)
    assert (KIND.key, KIND.label) == ("apology", "Apology draft")
    assert KIND.default_audience == Audience.PRIVATE
    assert KIND.default_mode == "one"
    assert KIND.default_role == "broke_trust"
    assert KIND.default_instructions
    assert [f.key for f in KIND.fields] == list(PARTS)
    assert [f.label for f in KIND.fields] == [
        "What I did",
        "How I see it hurt you",
        "I take full responsibility",
        "How I will make amends and change",
    ]
    assert all(f.help for f in KIND.fields)


def test_clean_keeps_text_as_typed():
    content = dict(GOOD, what_i_did="  I lied.  <b>twice</b>\n")
    assert KIND.clean(content) == content
    assert KIND.clean({}) == KIND.empty()
    assert KIND.clean({"amends": None})["amends"] == ""


@pytest.mark.parametrize(
    ("content", "error_key"),
    [
        ("a string", "_"),
        (["what_i_did"], "_"),
        (None, "_"),
        ({"what_i_did": 42}, "what_i_did"),
        ({"amends": ["a", "list"]}, "amends"),
        ({"how_it_hurt": {"nested": "object"}}, "how_it_hurt"),
        ({"excuses": "none"}, "excuses"),
        ({"responsibility": "x" * 5001}, "responsibility"),
    ],
)
def test_clean_refuses_bad_shapes(content, error_key):
    with pytest.raises(ContentError) as raised:
        KIND.clean(content)
    assert error_key in raised.value.errors


def test_clean_accepts_the_longest_part():
    assert KIND.clean({"responsibility": "x" * 5000})["responsibility"] == "x" * 5000


def test_check_complete_needs_all_four_parts():
    assert KIND.check_complete(GOOD) == {}
    missing = KIND.check_complete(dict(GOOD, how_it_hurt="  ", amends=""))
    assert set(missing) == {"how_it_hurt", "amends"}
    assert set(KIND.check_complete(KIND.empty())) == set(PARTS)
