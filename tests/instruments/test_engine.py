"""The questionnaire engine and the shipped definitions.

Validated items are used word for word: the expected texts below are copied from the
published sources (see each definition's `source`), so a rewording fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from practice.instruments import (
    PREFER_NOT,
    InstrumentError,
    get_instrument,
    instruments,
    load,
    score,
)

HITS_ITEMS = [
    "Physically hurt you?",
    "Insult or talk down to you?",
    "Threaten you with harm?",
    "Scream or curse at you?",
]
CSI4_ITEMS = [
    "Please indicate the degree of happiness, all things considered, of your relationship.",
    "I have a warm and comfortable relationship with my partner.",
    "How rewarding is your relationship with your partner?",
    "In general, how satisfied are you with your relationship?",
]


def test_the_shipped_definitions_load_and_say_what_they_are():
    found = instruments()
    assert set(found) == {"own_safety", "hits", "csi4"}
    own = found["own_safety"]
    assert own.purpose == "safety" and not own.validated and own.enabled_by_default
    assert "not a validated" in own.source.lower()
    hits = found["hits"]
    assert hits.validated and not hits.enabled_by_default  # licence: a practice enables it
    assert "permission" in hits.licence
    for instrument in found.values():
        assert instrument.source and instrument.licence


def test_validated_items_and_anchors_are_word_for_word():
    hits = get_instrument("hits")
    assert hits.stem == "How often does your partner:"
    assert [item.text for item in hits.items] == HITS_ITEMS
    for item in hits.items:
        assert [(a.value, a.label) for a in item.anchors] == [
            (1, "Never"),
            (2, "Rarely"),
            (3, "Sometimes"),
            (4, "Fairly often"),
            (5, "Frequently"),
        ]
    csi = get_instrument("csi4")
    assert [item.text for item in csi.items] == CSI4_ITEMS
    assert [a.label for a in csi.items[0].anchors] == [
        "Extremely unhappy",
        "Fairly unhappy",
        "A little unhappy",
        "Happy",
        "Very happy",
        "Extremely happy",
        "Perfect",
    ]
    assert (csi.minimum, csi.maximum) == (0, 21)
    assert (hits.minimum, hits.maximum) == (4, 20)


@pytest.mark.parametrize(
    ("answers", "total", "positive"),
    [
        ({"hurt": 1, "insult": 1, "threaten": 1, "scream": 1}, 4, False),
        ({"hurt": 1, "insult": 3, "threaten": 3, "scream": 3}, 10, False),  # 10 is not > 10
        ({"hurt": 1, "insult": 3, "threaten": 3, "scream": 4}, 11, True),
        ({"hurt": 5, "insult": 5, "threaten": 5, "scream": 5}, 20, True),
    ],
)
def test_hits_is_the_sum_and_positive_above_ten(answers, total, positive):
    result = score(get_instrument("hits"), answers)
    assert (result.score, result.positive, result.complete) == (total, positive, True)


def test_a_sum_with_a_declined_item_is_unknown_and_positive_only_if_already_past_the_cutoff():
    hits = get_instrument("hits")
    low = score(hits, {"hurt": 1, "insult": 2, "threaten": PREFER_NOT, "scream": 2})
    assert low.score is None and not low.positive and low.declined == ("threaten",)
    # 4 + 4 + 2 = 10 already; the declined item counts at least 1: past the cut-off whatever.
    high = score(hits, {"hurt": 4, "insult": 4, "threaten": PREFER_NOT, "scream": 2})
    assert high.score is None and high.positive
    partial = score(hits, {"hurt": 5, "insult": 5})
    assert partial.missing == ("threaten", "scream") and partial.positive


def test_csi4_is_positive_below_its_cutoff_and_unknown_with_answers_missing():
    csi = get_instrument("csi4")
    assert score(csi, {"happiness": 3, "warm": 3, "rewarding": 3, "satisfied": 4}).score == 13
    assert score(csi, {"happiness": 3, "warm": 3, "rewarding": 3, "satisfied": 4}).positive
    assert not score(csi, {"happiness": 4, "warm": 4, "rewarding": 3, "satisfied": 3}).positive
    # With answers missing the sum is unknown: not a score, and not complete.
    partial = score(csi, {"happiness": 6, "warm": PREFER_NOT})
    assert partial.score is None and not partial.complete and not partial.positive
    # Already below the cut-off whatever the rest would be: positive.
    assert score(csi, {"happiness": 0, "warm": 0, "rewarding": 0}).positive
    assert score(csi, {"happiness": 0, "warm": 0, "rewarding": 2, "satisfied": PREFER_NOT}).positive


@pytest.mark.parametrize(
    ("answers", "positive", "items"),
    [
        ({"afraid": 0, "hurt_or_threatened": 0, "safe_at_home": 0}, False, ()),
        ({"afraid": 1, "hurt_or_threatened": 0, "safe_at_home": 0}, True, ("afraid",)),
        ({"afraid": 0, "hurt_or_threatened": 1, "safe_at_home": 0}, True, ("hurt_or_threatened",)),
        ({"afraid": 0, "hurt_or_threatened": 0, "safe_at_home": 1}, True, ("safe_at_home",)),
        ({"afraid": PREFER_NOT, "hurt_or_threatened": 0, "safe_at_home": 0}, False, ()),
        ({}, False, ()),
    ],
)
def test_our_own_questions_count_anything_but_the_calm_answer(answers, positive, items):
    result = score(get_instrument("own_safety"), answers)
    assert result.positive is positive
    assert result.positive_items == items
    assert result.score is None


def test_answers_that_fit_no_item_are_refused_not_guessed():
    hits = get_instrument("hits")
    with pytest.raises(InstrumentError):
        score(hits, {"hurt": 6})
    with pytest.raises(InstrumentError):
        score(hits, {"kick": 1})
    with pytest.raises(InstrumentError):
        score(hits, {"hurt": "often"})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('key = "x"\nname = "X"\npurpose = "measure"\nsource = "s"\nlicence = "l"\n', "no items"),
        (
            'key = "x"\nname = "X"\npurpose = "measure"\nsource = "s"\nlicence = "l"\n'
            '[scoring]\nrule = "sum"\n[[items]]\ntext = "A?"\n'
            'anchors = [{ value = 0, label = "No" }]\n',
            "cutoff",
        ),
        (
            'key = "x"\nname = "X"\npurpose = "measure"\nsource = "s"\nlicence = "l"\n'
            '[scoring]\nrule = "any_positive"\n[[items]]\ntext = "A?"\n'
            'anchors = [{ value = 0, label = "No" }]\n',
            "positive values",
        ),
        (
            'key = "x"\nname = "X"\npurpose = "measure"\nlicence = "l"\n'
            '[scoring]\nrule = "any_positive"\n[[items]]\ntext = "A?"\npositive = [1]\n'
            'anchors = [{ value = 0, label = "No" }, { value = 1, label = "Yes" }]\n',
            "source",
        ),
    ],
)
def test_a_definition_that_does_not_fit_is_refused_when_loaded(tmp_path: Path, text, message):
    path = tmp_path / "x.toml"
    path.write_text(text)
    with pytest.raises(InstrumentError, match=message):
        load(path)
