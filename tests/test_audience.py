"""practice.audience: who may see a piece of client content (PRODUCT.md, privacy between partners).

Pure functions over small facts, so these tests need no app. One couple (id 1) with partners
11 and 12 and its therapist; another couple (id 2) with partner 21 and its therapist.
"""

from __future__ import annotations

from itertools import product

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from practice.audience import (
    AUDIENCE_LABELS,
    Audience,
    Content,
    Viewer,
    can_change_audience,
    can_see,
    effective_audience,
)

PRIVATE, COUPLE, SEALED = Audience.PRIVATE, Audience.COUPLE, Audience.SEALED
HELD = Audience.SEALED_UNTIL_RELEASED
COUPLE_ID, AUTHOR, OTHER = 1, 11, 12
OTHER_COUPLE_ID, OUTSIDER = 2, 21
THERAPIST = None  # as an author: written by the therapist

VIEWERS = {
    "author": Viewer(COUPLE_ID, AUTHOR),
    "other partner": Viewer(COUPLE_ID, OTHER),
    "therapist": Viewer(COUPLE_ID),
    "other couple's partner": Viewer(OTHER_COUPLE_ID, OUTSIDER),
    "other couple's therapist": Viewer(OTHER_COUPLE_ID),
}


def content(
    audience, *, author=AUTHOR, submitted=True, all_submitted=False, released=False, safety=False
):
    return Content(
        couple_id=COUPLE_ID,
        audience=audience,
        author_partner_id=author,
        submitted=submitted,
        all_submitted=all_submitted,
        released=released,
        is_safety_answer=safety,
    )


# Who sees it: (author, other partner, therapist, other couple's partner, other couple's therapist).
# For the therapist's own content the "author" column is partner 11, like the other partner.
CASES = [
    ("private", content(PRIVATE), (True, False, True, False, False)),
    ("private draft", content(PRIVATE, submitted=False), (True, False, True, False, False)),
    ("couple", content(COUPLE), (True, True, True, False, False)),
    ("couple draft", content(COUPLE, submitted=False), (True, False, True, False, False)),
    ("sealed, only one submitted", content(SEALED), (True, False, True, False, False)),
    (
        "sealed, both submitted",
        content(SEALED, all_submitted=True),
        (True, True, True, False, False),
    ),
    (
        "sealed draft, even if flagged all submitted",
        content(SEALED, submitted=False, all_submitted=True),
        (True, False, True, False, False),
    ),
    ("sealed draft", content(SEALED, submitted=False), (True, False, True, False, False)),
    ("safety answer, private", content(PRIVATE, safety=True), (True, False, True, False, False)),
    (
        "safety answer asked as couple",
        content(COUPLE, safety=True),
        (True, False, True, False, False),
    ),
    (
        "safety answer asked as sealed, both submitted",
        content(SEALED, all_submitted=True, safety=True),
        (True, False, True, False, False),
    ),
    ("therapist's private", content(PRIVATE, author=THERAPIST), (False, False, True, False, False)),
    ("therapist's couple", content(COUPLE, author=THERAPIST), (True, True, True, False, False)),
    (
        "therapist's sealed (sealing waits for partners' answers)",
        content(SEALED, author=THERAPIST),
        (True, True, True, False, False),
    ),
    # Sealed until released: both handed in *and* the therapist released them.
    ("held, only one handed in", content(HELD), (True, False, True, False, False)),
    ("held draft", content(HELD, submitted=False), (True, False, True, False, False)),
    (
        "held, both handed in, not released",
        content(HELD, all_submitted=True),
        (True, False, True, False, False),
    ),
    (
        "held, released but the other part not handed in (a return after release)",
        content(HELD, released=True),
        (True, False, True, False, False),
    ),
    (
        "held draft, even if flagged released and all handed in",
        content(HELD, submitted=False, all_submitted=True, released=True),
        (True, False, True, False, False),
    ),
    (
        "held, both handed in and released",
        content(HELD, all_submitted=True, released=True),
        (True, True, True, False, False),
    ),
    (
        "safety answer asked as held, released",
        content(HELD, all_submitted=True, released=True, safety=True),
        (True, False, True, False, False),
    ),
    (
        "therapist's held, not released",
        content(HELD, author=THERAPIST, all_submitted=True),
        (False, False, True, False, False),
    ),
    (
        "therapist's held, released",
        content(HELD, author=THERAPIST, released=True),
        (True, True, True, False, False),
    ),
]


@pytest.mark.parametrize(
    ("item", "expected"), [(c, e) for _, c, e in CASES], ids=[n for n, *_ in CASES]
)
def test_who_sees_what(item, expected):
    seen = tuple(can_see(viewer, item) for viewer in VIEWERS.values())
    assert dict(zip(VIEWERS, seen, strict=True)) == dict(zip(VIEWERS, expected, strict=True))


@pytest.mark.parametrize("audience", list(Audience))
def test_a_safety_answer_is_private_whatever_audience_it_is_given(audience):
    assert effective_audience(content(audience, safety=True)) == PRIVATE
    assert effective_audience(content(audience)) == audience
    for all_submitted in (False, True):
        item = content(audience, safety=True, all_submitted=all_submitted)
        assert not can_see(VIEWERS["other partner"], item)
        assert can_see(VIEWERS["therapist"], item)


def test_each_partner_sees_a_sealed_pair_only_once_both_have_submitted():
    # Two answers to one paired reflection, seen from each partner, before and after.
    for all_submitted in (False, True):
        first = content(SEALED, author=AUTHOR, all_submitted=all_submitted)
        second = content(SEALED, author=OTHER, all_submitted=all_submitted)
        assert can_see(Viewer(COUPLE_ID, AUTHOR), first)
        assert can_see(Viewer(COUPLE_ID, OTHER), second)
        assert can_see(Viewer(COUPLE_ID, AUTHOR), second) is all_submitted
        assert can_see(Viewer(COUPLE_ID, OTHER), first) is all_submitted


@pytest.mark.parametrize(("all_submitted", "released"), list(product((False, True), repeat=2)))
def test_each_partner_sees_a_held_pair_only_once_both_handed_in_and_released(
    all_submitted, released
):
    # The truth conversation's two parts, seen from each partner at each step.
    first = content(HELD, author=AUTHOR, all_submitted=all_submitted, released=released)
    second = content(HELD, author=OTHER, all_submitted=all_submitted, released=released)
    assert can_see(Viewer(COUPLE_ID, AUTHOR), first)
    assert can_see(Viewer(COUPLE_ID, OTHER), second)
    assert can_see(Viewer(COUPLE_ID, AUTHOR), second) is (all_submitted and released)
    assert can_see(Viewer(COUPLE_ID, OTHER), first) is (all_submitted and released)
    assert can_see(VIEWERS["therapist"], first) and can_see(VIEWERS["therapist"], second)


# Sealed shares later than couple, so it is narrower; held for release is narrower still.
WIDER = {PRIVATE: 0, HELD: 1, SEALED: 2, COUPLE: 3}


@pytest.mark.parametrize(("current", "new"), list(product(Audience, repeat=2)))
def test_an_audience_can_only_widen(current, new):
    expected = WIDER[new] >= WIDER[current]
    assert can_change_audience(current, new, is_safety_answer=False) is expected


@pytest.mark.parametrize(
    ("current", "new", "expected"),
    [
        (PRIVATE, COUPLE, True),
        (PRIVATE, SEALED, True),
        (SEALED, COUPLE, True),
        (PRIVATE, PRIVATE, True),
        (COUPLE, PRIVATE, False),
        (COUPLE, SEALED, False),
        (SEALED, PRIVATE, False),
        (HELD, COUPLE, True),
        (HELD, SEALED, True),
        (SEALED, HELD, False),
        (COUPLE, HELD, False),
        (HELD, PRIVATE, False),
    ],
)
def test_releasing_and_narrowing_examples(current, new, expected):
    assert can_change_audience(current, new, is_safety_answer=False) is expected


@pytest.mark.parametrize(("current", "new"), list(product(Audience, repeat=2)))
def test_a_safety_answer_stays_private(current, new):
    assert can_change_audience(current, new, is_safety_answer=True) is (new == PRIVATE)


def test_every_audience_has_words_for_the_person_choosing_it():
    assert set(AUDIENCE_LABELS) == set(Audience)
    assert all(label.strip() for label in AUDIENCE_LABELS.values())


# --- property: nothing crosses couples ----------------------------------------------------

ids = st.integers(min_value=1, max_value=6)
contents = st.builds(
    Content,
    couple_id=ids,
    audience=st.sampled_from(list(Audience)),
    author_partner_id=st.none() | ids,
    submitted=st.booleans(),
    all_submitted=st.booleans(),
    released=st.booleans(),
    is_safety_answer=st.booleans(),
)


@settings(max_examples=500, database=None)
@given(item=contents, viewer_couple_id=ids, viewer_partner_id=st.none() | ids)
def test_no_viewer_of_another_couple_ever_sees_anything(item, viewer_couple_id, viewer_partner_id):
    # Small id ranges on purpose: a viewer's partner id often equals the author's.
    viewer = Viewer(viewer_couple_id, viewer_partner_id)
    if viewer_couple_id != item.couple_id:
        assert not can_see(viewer, item)
    elif viewer.is_therapist:
        assert can_see(viewer, item)  # the couple's therapist sees everything of it
