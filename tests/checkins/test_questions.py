"""The check-in's questions: worded by role, every answer optional, nothing typed dropped,
and the form's fields are the exact inverse of the stored content."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from practice.checkins.questions import (
    GROUNDING_STEPS,
    MARKER_KEYS,
    MARKERS,
    ROLES,
    empty,
    form_values,
    parse_form,
    question,
)

TYPED = MultiDict(
    [
        ("checkin-facts", "We had dinner with my sister on Friday.\nNo contact with him."),
        ("checkin-feelings", "Tired, a bit hopeful. Anxious on Sunday — “why now?”"),
        ("checkin-went_well", "The Tuesday window 😊"),
        ("checkin-reflection", "I noticed I checked the phone less."),
        ("marker-same_fight", "4"),
        ("marker-recovery", "3"),
        ("marker-checking", "2"),
        ("triggers-count", "2"),
        ("triggers-longest_minutes", "45"),
        ("triggers-helped-breathed", "y"),
        ("triggers-helped-code_word", "y"),
        ("triggers-helped_other", "A walk round the block"),
        ("window-held", "yes"),
        ("window-how", "Calmer than last week."),
        ("kept-ag1", "mostly"),
        ("kept-ag2", "yes"),
    ]
)


def test_every_marker_has_a_question_for_every_role_and_the_roles_differ_where_they_should():
    assert len(MARKERS) == 5
    for marker in MARKERS:
        for role in ROLES:
            assert question(marker, role).endswith("?")
    follow = next(m for m in MARKERS if m.key == "follow_through")
    assert "your partner" in question(follow, "hurt")
    assert "you said you would" in question(follow, "broke_trust")
    assert question(follow, "unknown-role") == question(follow, "mutual")


def test_what_is_typed_comes_back_through_the_form_exactly():
    content, errors = parse_form(TYPED, agreement_keys=("ag1", "ag2", "ag3"))
    assert errors == {}
    assert content["markers"] == {"same_fight": 4, "recovery": 3, "checking": 2}
    assert content["triggers"]["helped"] == ["breathed", "code_word"]
    assert content["kept"] == {"ag1": "mostly", "ag2": "yes"}
    values = form_values(content)
    for name in set(TYPED):
        expected = TYPED.getlist(name)
        got = values[name]
        assert (got if isinstance(got, list) else [got]) == expected, name
    again, _ = parse_form(MultiDict(_flatten(values)), agreement_keys=("ag1", "ag2", "ag3"))
    assert again == content


def _flatten(values: dict) -> list[tuple[str, str]]:
    pairs = []
    for name, value in values.items():
        for one in value if isinstance(value, list) else [value]:
            pairs.append((name, one))
    return pairs


def test_every_answer_is_optional():
    content, errors = parse_form(MultiDict())
    assert errors == {}
    assert content == empty()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("marker-recovery", "6"),
        ("marker-recovery", "three"),
        ("triggers-count", "-1"),
        ("triggers-count", "1000"),
        ("triggers-longest_minutes", "an hour"),
        ("window-held", "maybe"),
        ("kept-ag1", "sometimes"),
        ("checkin-facts", "x" * 5001),
    ],
)
def test_what_does_not_fit_is_named_and_everything_else_is_kept(field, value):
    typed = MultiDict(TYPED)
    typed.setlist(field, [value])
    content, errors = parse_form(typed, agreement_keys=("ag1", "ag2"))
    assert set(errors) == {field}
    assert content["feelings"] == TYPED["checkin-feelings"]
    assert content["triggers"]["helped_other"] == "A walk round the block"


def test_a_step_the_list_does_not_have_is_not_stored():
    typed = MultiDict([("triggers-helped-breathed", "y"), ("triggers-helped-shouted", "y")])
    content, errors = parse_form(typed)
    assert errors == {}
    assert content["triggers"]["helped"] == ["breathed"]


def test_the_markers_and_steps_are_named_for_people():
    assert MARKER_KEYS == ("same_fight", "recovery", "follow_through", "affection", "checking")
    assert all(label[0].isupper() for label in GROUNDING_STEPS.values())
