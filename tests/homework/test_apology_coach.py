"""The apology draft: its coach (table-driven), validation and completeness."""

from __future__ import annotations

import pytest

from practice.audience import Audience
from practice.homework import ContentError, get_kind
from practice.homework.apology import PARTS, ApologyDraft
from tests.homework import tables

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


# -- rules added for hedges, false symmetry, pressure to forgive, excuses --------------------
# Each rule: (part, text, the phrase as typed) it must flag, and at least as many (part, text)
# it must leave alone. Every text draws no other finding, so each case checks one rule.

HEDGED = [
    ("what_i_did", "I guess I'm sorry for how things went with the money.", "I guess I'm"),
    ("responsibility", "I suppose I was wrong to keep it from you.", "I suppose I was"),
    ("responsibility", "I'm sorry, I guess, for lying about the trips.", "sorry, I guess"),
    ("how_it_hurt", "I might have hurt you more than I knew at the time.", "I might have hurt"),
    ("responsibility", "I may have been unfair to you about the money.", "I may have been unfair"),
    ("responsibility", "I'm kind of sorry about how I handled the messages.", "kind of sorry"),
    ("responsibility", "Maybe I was wrong to hide the second phone from you.", "Maybe I was"),
    (
        "responsibility",
        "I feel like I should apologise for the weekend away.",
        "I feel like I should apologise",
    ),
]
HEDGED_NOT = [
    ("how_it_hurt", "I can only guess how lonely those nights were for you."),
    ("how_it_hurt", "I guess you wanted to know why, and I never told you."),
    ("what_i_did", "I thought maybe I was in love, so I kept seeing her for months."),
    ("how_it_hurt", "You may never trust me again, and that is your right."),
    ("how_it_hurt", "That is the kind of hurt that does not go away in a month."),
    ("how_it_hurt", "I might have lost you for good, and I know that now."),
    ("how_it_hurt", "Perhaps the worst part for you was the lying, more than the affair."),
    ("responsibility", "I hurt you, I was wrong, and I am sorry, full stop."),
    ("amends", "Maybe we can walk together every Sunday morning, if you would like that."),
]

SYMMETRY = [
    (
        "what_i_did",
        "We both made mistakes, and I hid the messages from you.",
        "We both made mistakes",
    ),
    ("responsibility", "It takes two, and I know I played my own part in it.", "It takes two"),
    (
        "responsibility",
        "It wasn't all my fault, though I own the lies I told.",
        "wasn't all my fault",
    ),
    ("responsibility", "You're not perfect either, and I have to say that.", "You're not perfect"),
    (
        "how_it_hurt",
        "You hurt me too, when you stopped talking to me for weeks.",
        "You hurt me too",
    ),
    (
        "responsibility",
        "What about when you went through my phone without asking?",
        "What about when you",
    ),
    ("responsibility", "You have your part in this too, and I have mine.", "You have your part"),
    ("responsibility", "I lied, and you did the same thing to me last year.", "you did the same"),
]
SYMMETRY_NOT = [
    ("what_i_did", "We both know that what I did was wrong, and it was all mine."),
    ("how_it_hurt", "Both of us cried the night you found the messages on my phone."),
    ("responsibility", "It is not that we were both to blame; the lying was mine alone."),
    ("how_it_hurt", "I hurt you too many times to count, and I see that now."),
    ("responsibility", "You had no part in what I chose to do, none at all."),
    ("how_it_hurt", "You also lost friends because of what I did, and I am sorry."),
    ("how_it_hurt", "It wasn't just me who lost sleep; you stopped sleeping for weeks."),
    ("responsibility", "I don't think we both made mistakes; I made them, all of them."),
]

FORGIVE = [
    ("amends", "I will answer every question you have, so we can move on.", "so we can move on"),
    (
        "responsibility",
        "You need to forgive me at some point, or we will never heal.",
        "You need to forgive",
    ),
    ("amends", "Let's put this behind us and start again from Monday.", "Let's put this behind us"),
    (
        "responsibility",
        "I have already apologised, and I meant it every single time.",
        "I have already apologised",
    ),
    ("how_it_hurt", "It's in the past now, and I want you to see that.", "It's in the past"),
    ("amends", "Can we please just move on after this week?", "Can we please just move on"),
    (
        "how_it_hurt",
        "You keep bringing it up, and I understand why you do.",
        "You keep bringing it up",
    ),
    (
        "responsibility",
        "If you really loved me, you would give me another chance.",
        "If you really loved me",
    ),
]
FORGIVE_NOT = [
    ("responsibility", "I don't expect you to forgive me, now or ever."),
    ("responsibility", "You don't have to forgive me, and I will not ask you to."),
    ("amends", "I will not ask you to move on until you tell me you are ready, every week."),
    ("how_it_hurt", "It will take you a long time to get over it, and I will wait."),
    ("how_it_hurt", "I know we can't put this behind us yet, maybe not for years."),
    ("amends", "I hope that one day you can forgive me; until then I will call each night."),
    ("amends", "You can keep bringing it up whenever you need to, every time."),
    ("amends", "I will never tell you it's in the past, and I will check in each Sunday."),
    ("how_it_hurt", "Forgiveness is yours to give, if and when you want to give it."),
]

EXCUSE = [
    (
        "what_i_did",
        "I kissed him because I was drunk at the Christmas party.",
        "because I was drunk",
    ),
    (
        "what_i_did",
        "I lied about the money, but I had been drinking all day.",
        "but I had been drinking",
    ),
    ("responsibility", "The alcohol made me say things I did not mean.", "The alcohol made me"),
    (
        "responsibility",
        "I was not thinking straight that whole month at work.",
        "was not thinking straight",
    ),
    (
        "responsibility",
        "Anyone would have done the same in my position, honestly.",
        "Anyone would have done",
    ),
    (
        "responsibility",
        "Everyone does it these days, even if they never say so.",
        "Everyone does it",
    ),
    (
        "responsibility",
        "But you have to understand how lonely I was back then.",
        "But you have to understand",
    ),
    (
        "responsibility",
        "Please try to understand that I was under pressure.",
        "Please try to understand",
    ),
]
EXCUSE_NOT = [
    ("what_i_did", "I hid how much I was drinking from you for a whole year."),
    ("what_i_did", "I got drunk at your sister's wedding and humiliated you."),
    ("what_i_did", "I drove home drunk with the children in the car."),
    ("how_it_hurt", "Anyone would have been hurt by finding those messages."),
    ("how_it_hurt", "Anyone would feel unsafe after what I did to you."),
    ("how_it_hurt", "I need to understand what this did to you, all of it."),
    ("how_it_hurt", "I don't expect you to understand, and you don't have to."),
    ("how_it_hurt", "Help me understand how those nights felt for you, please."),
    ("amends", "I will stop drinking, and I will go to a meeting every week."),
    ("how_it_hurt", "Not everyone would give me a second chance after this."),
]

# "Just" and "only" that do not make it smaller: no longer flagged. Real minimisers still are
# (see FLAGGED above: "only a few messages", "only once", "We just talked").
SINCERE = [
    ("how_it_hurt", "I just want you to know that I see how it broke your trust."),
    ("what_i_did", "I only realised last week how long I had been lying to you."),
    ("how_it_hurt", "I only now see how alone you were, and how long it lasted."),
    ("what_i_did", "I've only just started to tell you the whole truth about it."),
    ("how_it_hurt", "It hurt you just when you needed me the most, after your dad died."),
    ("responsibility", "I am sorry I lied. I just hope you can see that it is mine."),
    ("what_i_did", "I only stopped when you found the second phone in my bag."),
]
MINIMISERS = [
    ("what_i_did", "It was just a few messages with someone from work.", "just"),
    ("what_i_did", "We were just friends who talked late at night.", "just"),
    ("what_i_did", "It was only physical, and it meant nothing to me.", "only"),
    ("what_i_did", "I had just a couple of drinks with her after work.", "just"),
    ("what_i_did", "I kissed her only once, at the leaving party.", "only once"),
]

RULE_TABLES = {
    "hedged-apology": (HEDGED, HEDGED_NOT),
    "false-symmetry": (SYMMETRY, SYMMETRY_NOT),
    "rushing-forgiveness": (FORGIVE, FORGIVE_NOT),
    "excuse": (EXCUSE, EXCUSE_NOT),
    "minimiser": (MINIMISERS, SINCERE),
}


def test_every_rule_has_as_many_cases_left_alone_as_flagged():
    assert tables.unbalanced(RULE_TABLES) == []


@pytest.mark.parametrize(("code", "part", "text", "phrase"), tables.flagged(RULE_TABLES))
def test_each_rule_flags_the_exact_phrase(code, part, text, phrase):
    assert findings_for(part, text) == [(code, phrase)]


@pytest.mark.parametrize(("code", "part", "text"), tables.left_alone(RULE_TABLES))
def test_each_rule_leaves_these_alone(code, part, text):
    assert findings_for(part, text) == []


def test_an_excuse_after_but_is_one_finding():
    assert findings_for("what_i_did", "I lied to you, but I was drunk every time I did.") == [
        ("excuse", "but I was drunk")
    ]


def test_i_am_is_not_a_time():
    codes = [code for code, _ in findings_for("amends", "I am going to be a better partner.")]
    assert codes == ["amends-not-concrete"]


def test_the_clean_result_says_what_was_checked_and_claims_nothing_more():
    assert KIND.coach(GOOD) == []
    assert "non-apology phrases" in KIND.coach_checked
    assert "cannot judge what is meant" in KIND.coach_checked
