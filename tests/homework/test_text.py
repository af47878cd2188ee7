"""The text analysis every coach shares: sentences, negation, time words, hedges, phrases."""

from __future__ import annotations

import pytest

from practice.homework import text
from practice.homework.text import (
    Matcher,
    compile_pattern,
    has_time,
    has_when,
    negated,
    phrase_key,
    sentence_around,
    sentence_before,
    vague_promise_finding,
    vague_wording,
    word_count,
)
from tests.homework import tables


def test_patterns_ignore_case_and_understand_both_apostrophes():
    pattern = compile_pattern(rf"\bI{text.APOSTROPHE}m\s+sorry\b")
    assert pattern.search("i'm SORRY") and pattern.search("I’m sorry")
    assert not pattern.search("Im sorry")


def test_sentences_end_at_stops_semicolons_and_line_breaks():
    sample = "First one. Second; third\nfourth is here"
    assert sentence_before(sample, sample.index("third")) == " "
    assert sentence_before(sample, sample.index("is")) == "fourth "
    start = sample.index("Second")
    assert sentence_around(sample, start, start + 6) == " Second"
    start = sample.index("is")
    assert sentence_around(sample, start, start + 2) == "fourth is here"


# (text, the word to look at, is a negation earlier in its sentence?)
NEGATED = [
    ("None of this was your fault.", "your", True),
    ("It was not your fault at all.", "your", True),
    ("I didn't mean your fault.", "your", True),
    ("I couldn’t say it was your fault.", "your", True),
    ("Stop checking my phone.", "checking", True),
    ("We agree without sharing passwords.", "sharing", True),
    ("Not today. It was your fault.", "your", False),
    ("I know it was your fault.", "your", False),
    ("Nothing you did was your fault.", "your", True),
    ("Notice it was your fault.", "your", False),
    ("Another night, my phone.", "phone", False),
]


@pytest.mark.parametrize(("sample", "word", "expected"), NEGATED)
def test_negated_looks_back_to_the_start_of_the_sentence(sample, word, expected):
    assert negated(sample, sample.index(word)) is expected


# (text, has a time?, has a time or a trigger?)
WHEN = [
    ("Every Sunday evening", True, True),
    ("Within 24 hours", True, True),
    ("By the end of March", True, True),
    ("Text me before dinner", True, True),
    ("Twice a week, at lunch", True, True),
    ("Tell me if an ex writes", False, True),
    ("Tell each other about any message", False, True),
    ("Tell me when it happens", False, True),
    ("Be better than before", False, False),
    ("One day we will trust each other", False, False),
    ("I am going to be better", False, False),
    ("The two of us will be honest", False, False),
    ("Someday, always, from now on", False, False),
]


@pytest.mark.parametrize(("sample", "time", "when"), WHEN)
def test_time_and_trigger_words(sample, time, when):
    assert (has_time(sample), has_when(sample)) == (time, when)


def test_a_matcher_skips_its_exceptions_and_keeps_the_phrase_as_typed():
    matcher = Matcher(
        compile_pattern(r"\bjust\b"),
        not_before=compile_pattern(r"\bnot\s+$"),
        not_after=compile_pattern(r"\s+as\b"),
        skip=lambda sample, match: sample[match.end() :].startswith(" now"),
    )
    sample = "Not just once, just as much, JUST now, and Just a few."
    assert [match.group(0) for match in matcher.finditer(sample)] == ["Just"]
    assert matcher.first(sample).group(0) == "Just"
    assert matcher.first("not just once") is None


def test_phrase_key_folds_case_apostrophes_and_spacing():
    assert phrase_key("Sorry  you’re\nUpset") == phrase_key("sorry you're upset")
    assert phrase_key("only once") != phrase_key("just once")


def test_word_count():
    assert word_count("") == 0
    assert word_count("  I’m sorry, truly — I lied.  ") == 5


# vague_wording: why a promise is hard to keep or check, and the phrase as typed; and the
# promises it leaves alone.
VAGUE_TABLES = {
    "hedge": (
        [
            ("Try to text more", "Try to"),
            ("We'll try and be home by 7", "try and"),
            ("Do our best to talk every Sunday", "Do our best"),
            ("Call at lunch where possible", "where possible"),
        ],
        [
            "Try the new café every Friday",
            "If you try to call me, I call back within the hour",
            "Never try to contact her again",
            "Stop drinking",
        ],
    ),
    "promise": (
        [
            ("Be more honest", "Be more honest"),
            ("We should trust each other again", "trust each other"),
        ],
        [
            "Be more honest about money: show each other the statements every month",
            "Tell each other about any message from an ex within 24 hours",
        ],
    ),
    "amount": (
        [("Drink less", "less"), ("Text me more often in the evenings", "more often")],
        [
            "No more than two drinks on a night out",
            "No more contact with her",
            "Drink one glass of wine at most, and less on weeknights",
        ],
    ),
}


def test_vague_wording_has_as_many_cases_left_alone_as_flagged():
    assert tables.unbalanced(VAGUE_TABLES) == []


@pytest.mark.parametrize(("reason", "sample", "phrase"), tables.flagged(VAGUE_TABLES))
def test_vague_wording_names_the_reason_and_the_phrase(reason, sample, phrase):
    assert vague_wording(sample) == (reason, phrase)


@pytest.mark.parametrize(("reason", "sample"), tables.left_alone(VAGUE_TABLES))
def test_vague_wording_leaves_specific_promises_alone(reason, sample):
    assert vague_wording(sample) is None


def test_a_promise_finding_is_named_for_what_is_promised():
    hedged = vague_promise_finding("Try to call", "c.0", "commitment", short_words=1)
    assert (hedged.code, hedged.part, hedged.phrase) == ("hedged-commitment", "c.0", "Try to")
    short = vague_promise_finding("Honesty", "a", "agreement", short_words=3)
    assert (short.code, short.phrase) == ("vague-agreement", None)
    assert vague_promise_finding("Honesty", "a", "agreement", short_words=0) is None
    assert vague_promise_finding("Drink less", "a", "agreement", 3).code == "vague-amount"
    assert vague_promise_finding("   ", "a", "agreement", short_words=3) is None
