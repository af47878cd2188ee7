"""Every kind of homework keeps everything a partner types, through the real portal page.

For each kind in the registry: open the partner's edit page, fill every field the page offers
with distinctive valid values, post it the no-JS way, reload and find every value back; then
the same through the autosave endpoint with other values, whose answer must echo back every
value it stored (the page's script says "Saved" only when that echo holds what it sent).
A new kind is covered by registering it: nobody needs to write a test for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from html import unescape
from html.parser import HTMLParser

import pytest

from practice.extensions import db
from practice.homework import KINDS
from practice.models import Couple, User
from practice.services import homework
from practice.tenancy import practice_context
from tests.blueprints.conftest import Page, page
from tests.blueprints.test_couples import location
from tests.blueprints.test_homework import (
    couple,  # noqa: F401 - a fixture
    portal_of,
    response_row,
)
from tests.couple_factories import (
    CoupleIds,
    public,  # noqa: I001
)

WORDS = ("heron", "quince", "lantern", "marigold", "basalt", "juniper", "otter", "saffron")


@dataclass
class Field:
    """One control of the write form, as a browser sees it."""

    name: str
    tag: str  # input, textarea, select, button
    type: str  # the input's type; "textarea" or "select" for those
    value: str = ""
    attrs: dict = field(default_factory=dict)
    options: list[str] = field(default_factory=list)


class WriteForm(HTMLParser):
    """The controls of the page's write form (the one with the autosave URL), in page order."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.action = ""
        self.autosave = ""
        self.fields: list[Field] = []
        self._inside = False
        self._select: Field | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = {key: value or "" for key, value in attrs}
        if tag == "form" and "data-autosave" in attrs:
            self._inside = True
            self.action, self.autosave = attrs.get("action", ""), attrs["data-autosave"]
        if not self._inside or not attrs.get("name"):
            if tag == "option" and self._select is not None:
                self._select.options.append(attrs.get("value", ""))
            return
        if tag == "input":
            self.fields.append(
                Field(attrs["name"], tag, attrs.get("type", "text"), attrs.get("value", ""), attrs)
            )
        elif tag in ("textarea", "select", "button"):
            kind = attrs.get("type", "submit") if tag == "button" else tag
            self.fields.append(Field(attrs["name"], tag, kind, attrs.get("value", ""), attrs))
            self._select = self.fields[-1] if tag == "select" else None

    def handle_endtag(self, tag):
        if tag == "form":
            self._inside = False
        elif tag == "select":
            self._select = None

    def filled(self) -> list[Field]:
        """The controls a partner fills in (everything but hidden inputs and buttons)."""
        return [f for f in self.fields if f.tag != "button" and f.type != "hidden"]


def value_for(control: Field, index: int, round_: int) -> str:
    """A distinctive valid value for one control; each round gives every control another."""
    if control.type == "select":
        choices = [value for value in control.options if value]
        assert choices, f"{control.name} offers nothing to choose"
        return choices[(index + 3 * round_) % len(choices)]
    if control.type == "date":
        return (date(2027, 3, 1) + timedelta(days=index + 100 * round_)).isoformat()
    if control.type == "time":
        return f"{(7 + index) % 24:02d}:{(17 * round_ + index) % 60:02d}"
    if control.type == "number":
        # The page says what is valid, for the phone's keypad and for this test alike.
        assert control.attrs.get("min") and control.attrs.get("max"), control.name
        low, high = int(control.attrs["min"]), int(control.attrs["max"])
        return str(low + (index + 7 * round_) % (high - low + 1))
    if control.type in ("text", "textarea"):
        word = f"{WORDS[index % len(WORDS)]}{round_}x{index}"
        text = f"{word} and {WORDS[(index + round_) % len(WORDS)]}"
        if control.type == "textarea":
            text += f"\nsecond line {word}"
        limit = int(control.attrs.get("maxlength") or 1000)
        assert len(text) <= limit, control.name
        return text
    pytest.fail(f"the round-trip test does not know how to fill a {control.type} ({control.name})")


def fill(form: WriteForm, round_: int) -> tuple[dict, dict]:
    """(the whole post, as a browser sends it; the values typed, by field name)."""
    post = {f.name: f.value for f in form.fields if f.type == "hidden"}
    typed = {f.name: value_for(f, index, round_) for index, f in enumerate(form.filled())}
    assert typed, "the page offers nothing to fill in"
    return {**post, **typed}, typed


def shown(html: str) -> dict:
    """What the page shows in the write form's controls, by name."""
    read = Page(html)
    values = {**read.values, **read.selected}
    return {f.name: values.get(f.name, "") for f in WriteForm(html).filled()}


def top_of_form(html: str) -> str:
    """The text of the box at the top of the form that says what needs a look."""
    box = re.search(r'<div class="form-errors"[^>]*>(.*?)</div>', html, re.DOTALL)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", box[1])).split()) if box else ""


@dataclass(frozen=True)
class Piece:
    """One piece of homework of a kind, and the portal of a partner who writes it."""

    response_id: int
    client: object

    @property
    def url(self) -> str:
        return f"/portal/homework/{public(self.response_id)}"

    def edit_page(self) -> str:
        response = self.client.get(self.url)
        assert response.status_code == 200
        return response.get_data(as_text=True)


def assign(ids: CoupleIds, kind_key: str) -> int:
    """Assign a kind in its default mode (a joint kind jointly); the first piece's id."""
    kind = KINDS[kind_key]
    with practice_context(ids.practice_id):
        assignment = homework.assign(
            db.session.get(User, ids.therapist_ids[0]),
            db.session.get(Couple, ids.id),
            kind_key=kind_key,
            mode=kind.default_mode,
            partner_id=ids.partner_ids[0] if kind.default_mode == "one" else None,
            instructions=kind.default_instructions,
            due_date=None,
        )
        db.session.commit()
        return assignment.responses[0].id


@pytest.fixture
def piece_of(couple, make_client):  # noqa: F811
    def make(kind_key: str) -> Piece:
        response_id = assign(couple, kind_key)
        author = response_row(response_id).partner_id
        position = 1 if author is None else couple.partner_ids.index(author) + 1
        return Piece(response_id, portal_of(make_client, couple, position))

    return make


@pytest.mark.parametrize("kind_key", sorted(KINDS))
def test_every_field_of_every_kind_survives_a_save_and_an_autosave(piece_of, kind_key):
    piece = piece_of(kind_key)

    # Without JavaScript: "Save draft".
    form = WriteForm(piece.edit_page())
    assert form.action == piece.url and form.autosave == f"{piece.url}/autosave"
    post, typed = fill(form, round_=1)
    saved = piece.client.post_form(piece.url, {**post, "action": "save"})
    assert saved.status_code == 302, page(saved).text[:400]
    assert location(saved) == piece.url
    again = piece.edit_page()
    back = shown(again)
    assert {name: back.get(name) for name in typed} == typed
    assert response_row(piece.response_id).version == 1

    # The script's autosave, from the reloaded page, with other values in every field.
    form = WriteForm(again)
    post, typed = fill(form, round_=2)
    answer = piece.client.post_form(form.autosave, post, headers={"Accept": "application/json"})
    assert answer.status_code == 200, answer.get_data(as_text=True)[:400]
    body = answer.get_json()
    assert body["version"] == 2
    # The answer echoes what was stored, as form fields: the script compares it with what it
    # sent before it says "Saved".
    assert {name: value for name, value in body["stored"].items() if value} == typed
    back = shown(piece.edit_page())
    assert {name: back.get(name) for name in typed} == typed


@pytest.mark.parametrize("kind_key", sorted(KINDS))
def test_a_refused_hand_in_names_every_reason(piece_of, kind_key):
    """Handing in an untouched piece is refused, and the page says why: beside the part it is
    about, or at the top."""
    piece = piece_of(kind_key)
    form = WriteForm(piece.edit_page())
    post = {f.name: f.value for f in form.fields if f.tag != "button"}
    refused = piece.client.post_form(piece.url, {**post, "action": "submit"})

    assert refused.status_code == 422
    reasons = KINDS[kind_key].check_complete(KINDS[kind_key].empty())
    assert reasons, "an untouched piece cannot be complete"
    html = refused.get_data(as_text=True)
    beside, top = set(Page(html).errors.values()), top_of_form(html)
    assert [
        reason for reason in reasons.values() if reason not in beside and reason not in top
    ] == []
    assert response_row(piece.response_id).status != "submitted"
