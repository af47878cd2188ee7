"""The registry of kinds, and how a kind reads its page's form (no app, no database).

Every kind's real page is filled in and read back over HTTP in
tests/blueprints/test_homework_round_trip.py; these are the rules behind it.
"""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from practice.homework import KINDS, HomeworkKind, register
from practice.homework.base import TextField


class Structured(HomeworkKind):
    key = "structured-test-kind"
    label = "Structured"
    summary = "A kind whose content is not a flat list of text fields."

    def empty(self) -> dict:
        return {"items": []}


def test_a_kind_that_cannot_read_its_own_form_is_refused():
    with pytest.raises(TypeError, match="parse_form"):
        register(Structured())

    class HalfDone(Structured):
        def parse_form(self, form) -> dict:
            return {"items": form.getlist("item")}

    with pytest.raises(TypeError, match="form_values"):
        register(HalfDone())
    assert Structured.key not in KINDS


def test_a_flat_kind_reads_and_shows_its_fields():
    class Flat(HomeworkKind):
        key = "flat-test-kind"
        label = "Flat"
        summary = "Two text fields."
        fields = [TextField("first", "First"), TextField("second", "Second")]

    kind = Flat()
    form = MultiDict({"content-first": "one", "content-second": "two", "content-x": "no"})
    assert kind.parse_form(form) == {"first": "one", "second": "two"}
    assert kind.form_values({"first": "one", "second": "two"}) == {
        "content-first": "one",
        "content-second": "two",
    }


def test_the_worksheet_reads_every_row_with_anything_in_it():
    kind = KINDS["boundaries"]
    form = MultiDict(
        {
            "proposals-0-domain": "privacy",
            "proposals-0-agreement": "Share locations while either of us travels.",
            "proposals-0-time_frame": "three months",
            "proposals-0-review_date": "2027-01-04",
            # row 1 left empty: skipped
            "proposals-1-domain": "",
            "proposals-1-agreement": "",
            "proposals-2-domain": "",
            "proposals-2-agreement": "Text when running late.",
            "proposals-3-domain": "social_media",  # only a domain chosen so far: kept
            "proposals-4-time_frame": " ",  # a space typed is typed
        }
    )
    content = kind.clean(kind.parse_form(form))
    assert content["proposals"] == [
        {
            "domain": "privacy",
            "agreement": "Share locations while either of us travels.",
            "time_frame": "three months",
            "review_date": "2027-01-04",
        },
        {
            "domain": "other",
            "agreement": "Text when running late.",
            "time_frame": "",
            "review_date": "",
        },
        {"domain": "social_media", "agreement": "", "time_frame": "", "review_date": ""},
        {"domain": "other", "agreement": "", "time_frame": " ", "review_date": ""},
    ]
    # Shown back on the page, row after row, and read again as the same content.
    values = kind.form_values(content)
    assert values["proposals-1-agreement"] == "Text when running late."
    assert kind.clean(kind.parse_form(MultiDict(values))) == content


@pytest.mark.parametrize("key", sorted(KINDS))
def test_an_untouched_piece_reads_back_as_itself(key):
    kind = KINDS[key]
    assert kind.clean(kind.parse_form(MultiDict(kind.form_values(kind.empty())))) == kind.empty()
