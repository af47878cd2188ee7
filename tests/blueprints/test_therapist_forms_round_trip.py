"""Every form a therapist types into keeps every word, through the real page.

For each form (assigning homework in every kind and mode, the practice's default
instructions, a couple and its partners, the note that returns work for revision, an
agreement, the practice settings, a team invitation): open the page, read its form as a
browser does, type into every field with awkward real text (accents, quotes, an emoji,
markup that must come back escaped, line breaks in text areas, surrounding spaces, which
the services trim), post it without JavaScript, reload the page that shows it and find every
word. Then a refused post (a missing required field, an over-long value, a control
character) comes back with 422, a clear message beside the field, and every other value as
typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from markupsafe import escape

from practice.extensions import db
from practice.homework import KINDS
from practice.models import Couple, Partner, User
from practice.services import MULTI_LINE_MESSAGE, SINGLE_LINE_MESSAGE
from practice.services import homework as homework_service
from practice.tenancy import practice_context
from tests.blueprints.conftest import Page
from tests.blueprints.test_couples import location
from tests.blueprints.test_homework import (
    APOLOGY,
    couple,  # noqa: F401 - a fixture
    couple_today,
    portal_of,
    responses_of,
)
from tests.couple_factories import public

# Awkward, real text: accents, typographic and plain quotes, an emoji, markup to be escaped.
NAME = "Zoë “Zo” O'Brien-Łukasz 💞"
LINE = 'Café «crème» & "quotes" 💬 <script>alert(1)</script>'
LINES = (
    "  Première ligne: «café», “quotes” & 'apostrophes' 💬\n"
    "\tindented second line <script>alert('x')</script>\n"
    "\n"
    "après une ligne vide — fin.  \n"
)
BELL = "\x07"  # a control character: never stored, refused with a message


@dataclass
class Control:
    name: str
    tag: str  # input, textarea, select
    type: str  # the input's type; "textarea" or "select" for those
    value: str = ""
    checked: bool = False
    attrs: dict = field(default_factory=dict)
    options: list[tuple[str, str, bool]] = field(default_factory=list)  # value, label, selected


@dataclass
class HtmlForm:
    action: str
    controls: list[Control] = field(default_factory=list)

    def names(self) -> set[str]:
        return {c.name for c in self.controls}

    def control(self, name: str) -> Control:
        return next(c for c in self.controls if c.name == name)

    def data(self) -> dict:
        """What a browser sends for this form as it stands (buttons aside)."""
        sent: dict[str, str | list[str]] = {}
        for c in self.controls:
            if c.type in ("checkbox", "radio"):
                if c.checked:
                    if c.type == "checkbox":
                        sent.setdefault(c.name, []).append(c.value)  # type: ignore[union-attr]
                    else:
                        sent[c.name] = c.value
            elif c.tag == "select":
                chosen = [v for v, _, selected in c.options if selected]
                sent[c.name] = chosen[0] if chosen else (c.options[0][0] if c.options else "")
            elif c.type not in ("submit", "button"):
                sent[c.name] = c.value
        return sent

    def choices(self, name: str) -> list[str]:
        """The values a select or a group of radios offers."""
        controls = [c for c in self.controls if c.name == name]
        if controls and controls[0].tag == "select":
            return [v for v, _, _ in controls[0].options if v]
        return [c.value for c in controls]

    def another(self, name: str, prefer: str = "") -> str:
        """A value of a select or radios other than the one chosen now."""
        now = self.data().get(name)
        values = [v for v in self.choices(name) if v != now]
        assert values, f"{name} offers nothing else"
        return prefer if prefer in values else values[-1]

    def label_of(self, name: str, value: str) -> str:
        return next(label for v, label, _ in self.control(name).options if v == value)


class Forms(HTMLParser):
    """Every form of a page, with its controls, as a browser reads them."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[HtmlForm] = []
        self._form: HtmlForm | None = None
        self._textarea: Control | None = None
        self._select: Control | None = None
        self._option: list | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = {key: "" if value is None else value for key, value in attrs}
        if tag == "form":
            self._form = HtmlForm(attrs.get("action", ""))
            self.forms.append(self._form)
        if self._form is None:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            self._form.controls.append(
                Control(name, tag, kind, attrs.get("value", ""), "checked" in attrs, attrs)
            )
        elif tag == "textarea" and name:
            self._textarea = Control(name, tag, "textarea", "", attrs=attrs)
            self._form.controls.append(self._textarea)
        elif tag == "select" and name:
            self._select = Control(name, tag, "select", attrs=attrs)
            self._form.controls.append(self._select)
        elif tag == "option" and self._select is not None:
            self._option = [attrs.get("value", ""), "", "selected" in attrs]

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea.value += data
        if self._option is not None:
            self._option[1] += data

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea is not None:
            # Browsers drop one newline right after <textarea>, as WTForms expects.
            value = self._textarea.value
            for newline in ("\r\n", "\n"):
                if value.startswith(newline):
                    value = value[len(newline) :]
                    break
            self._textarea.value = value
            self._textarea = None
        elif tag == "option" and self._option is not None:
            value, label, selected = self._option
            self._select.options.append((value, label.strip(), selected))
            self._option = None
        elif tag == "select":
            self._select = None
        elif tag == "form":
            self._form = None


def form_with(html: str, *names: str, hidden: dict | None = None) -> HtmlForm:
    """The page's form that has every named control (and these hidden values)."""
    for form in Forms(html).forms:
        if not set(names) <= form.names():
            continue
        values = form.data()
        if all(values.get(k) == v for k, v in (hidden or {}).items()):
            return form
    pytest.fail(f"no form with {names} {hidden or ''} on the page")


def get(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def text_of(html: str) -> str:
    return Page(html).text


def words(value: str) -> str:
    return " ".join(value.split())


def shows_exactly(html: str, value: str) -> None:
    """The page holds the text, line breaks and all, escaped as markup, never as markup."""
    assert str(escape(value.strip())) in html, value
    if "<script>" in value:
        assert "<script>alert" not in html


def refused(client, url: str, form: HtmlForm, typed: dict, bad: dict, errors: dict) -> str:
    """Post the form with `typed` and the `bad` values: refused with 422, the messages beside
    their fields (`errors`: field id -> message, or None for any clear one), and every other
    value shown as typed."""
    response = client.post_form(url, {**form.data(), **typed, **bad})
    html = response.get_data(as_text=True)
    assert response.status_code == 422, text_of(html)[:400]
    shown = Page(html)
    for field_id, message in errors.items():
        assert shown.errors.get(field_id), (field_id, shown.errors)
        if message is not None:
            assert message in shown.errors[field_id]
    again = form_with(html, *typed, *bad)
    back = again.data()
    kept = {name: value for name, value in typed.items() if name not in bad}
    assert {name: back.get(name) for name in kept} == kept
    return html


# --- the couple form: new and edit ------------------------------------------------------


def couple_values(form: HtmlForm, round_: int) -> dict:
    """Every field of the couple form, with awkward text; another choice in every select."""
    typed = {
        "label": f"  {NAME} & co {round_}  ",
        "therapist_notes": LINES + f"round {round_}\n",
        "presenting_concern": form.another("presenting_concern"),
        "start_date": f"2026-0{round_}-0{round_ + 2}",
        "time_zone": form.another("time_zone", "America/Sao_Paulo"),
        "checkin_weekday": form.another("checkin_weekday", str(round_)),
        "checkin_hour": form.another("checkin_hour", str(round_ + 6)),
    }
    for position in (1, 2):
        prefix = f"partner{position}-"
        typed |= {
            f"{prefix}display_name": f" {NAME[: 10 + position]} {round_} ",
            f"{prefix}email": f"zoe.o-brien+{position}.{round_}@example.com",
            f"{prefix}time_zone": form.another(f"{prefix}time_zone", "Asia/Kolkata"),
        }
    if "status" in form.names():
        typed["status"] = form.another("status")
    assert set(typed) | {"csrf_token", "therapist_ids", "partner1-repair_role"} >= form.names() - {
        "partner2-repair_role"
    }, form.names() - set(typed)
    return typed


def as_stored(typed: dict) -> dict:
    """What a reloaded form shows: the services trim text; everything else as chosen."""
    return {name: value.strip() for name, value in typed.items()}


def test_the_couple_form_keeps_every_word_new_and_edited(therapist_client, practice_a):
    blank = form_with(get(therapist_client, "/couples/new"), "label", "therapist_notes")
    typed = couple_values(blank, 1)
    made = therapist_client.post_form("/couples/new", {**blank.data(), **typed})
    assert made.status_code == 302, text_of(made.get_data(as_text=True))[:400]
    couple_url = location(made)
    assert re.fullmatch(r"/couples/\d+", couple_url)

    edit = form_with(get(therapist_client, f"{couple_url}/edit"), "label", "therapist_notes")
    back = edit.data()
    assert {name: back.get(name) for name in typed} == as_stored(typed)
    shown = get(therapist_client, couple_url)
    for value in (typed["label"], typed["therapist_notes"], typed["partner1-display_name"]):
        shows_exactly(shown, value)
    assert typed["partner2-email"] in shown

    # Edited: every field again, with other values.
    typed = couple_values(edit, 2)
    saved = therapist_client.post_form(f"{couple_url}/edit", {**edit.data(), **typed})
    assert saved.status_code == 302, text_of(saved.get_data(as_text=True))[:400]
    edit = form_with(get(therapist_client, f"{couple_url}/edit"), "label", "therapist_notes")
    back = edit.data()
    assert {name: back.get(name) for name in typed} == as_stored(typed)
    shows_exactly(get(therapist_client, couple_url), typed["therapist_notes"])

    # Refused, with the reason beside the field and everything else as typed.
    other = couple_values(edit, 3)
    url = f"{couple_url}/edit"
    refused(
        therapist_client, url, edit, other, {"label": "   "}, {"label": "Give the couple a label."}
    )
    refused(
        therapist_client,
        url,
        edit,
        other,
        {"partner1-display_name": "Zoë " * 21},
        {"partner1-display_name": None},
    )
    refused(
        therapist_client,
        url,
        edit,
        other,
        {"therapist_notes": f"kept{BELL} out"},
        {"therapist_notes": MULTI_LINE_MESSAGE},
    )
    refused(
        therapist_client,
        url,
        edit,
        other,
        {"partner2-display_name": f"Sam{BELL}"},
        {"partner2-display_name": SINGLE_LINE_MESSAGE},
    )
    refused(
        therapist_client,
        url,
        edit,
        other,
        {"therapist_notes": "n" * 20001},
        {"therapist_notes": "Keep notes under 20,000 characters."},
    )
    # Nothing of a refused post was stored.
    back = form_with(get(therapist_client, url), "label").data()
    assert {name: back.get(name) for name in typed} == as_stored(typed)


def test_a_refused_new_couple_keeps_every_value_typed(therapist_client, practice_a):
    blank = form_with(get(therapist_client, "/couples/new"), "label", "therapist_notes")
    typed = couple_values(blank, 1)
    refused(
        therapist_client,
        "/couples/new",
        blank,
        typed,
        {"partner1-email": "zoë at example"},
        {"partner1-email": None},
    )
    refused(
        therapist_client,
        "/couples/new",
        blank,
        typed,
        {"label": "L" * 121},
        {"label": None},
    )


# --- assigning homework: instructions and due date, every kind and mode -----------------


def pieces_of(couple_id: int) -> dict[int, int | None]:
    """The couple's pieces of homework: id -> author (None: joint)."""
    return {r.id: r.partner_id for r in responses_of(couple_id)}


def assign_cases() -> list:
    return [
        pytest.param(key, mode, id=f"{key}-{mode}")
        for key, kind in sorted(KINDS.items())
        for mode in kind.allowed_modes
    ]


@pytest.mark.parametrize(("kind_key", "mode"), assign_cases())
def test_the_assign_form_keeps_the_instructions_and_due_date(
    therapist_client,
    couple,  # noqa: F811
    make_client,
    kind_key,
    mode,
):
    url = f"/couples/{couple.id}/homework/new?kind={kind_key}"
    form = form_with(get(therapist_client, url), "instructions", "due_date", "mode")
    assert mode in form.choices("mode")
    due = couple_today() + timedelta(days=9)
    typed = {"mode": mode, "instructions": LINES + kind_key, "due_date": due.isoformat()}
    if mode == "one":
        typed["partner_id"] = str(couple.partner_ids[1])

    # Refused first: each time the reason beside its field, and the rest as typed.
    refused(
        therapist_client,
        url,
        form,
        typed,
        {"instructions": "i" * 5001},
        {"instructions": "Keep instructions under 5,000 characters."},
    )
    refused(
        therapist_client,
        url,
        form,
        typed,
        {"instructions": f"Be kind{BELL}"},
        {"instructions": MULTI_LINE_MESSAGE},
    )
    refused(
        therapist_client,
        url,
        form,
        typed,
        {"due_date": (couple_today() - timedelta(days=1)).isoformat()},
        {"due_date": "Choose a due date from today on."},
    )
    assert pieces_of(couple.id) == {}

    made = therapist_client.post_form(url, {**form.data(), **typed})
    assert made.status_code == 302, text_of(made.get_data(as_text=True))[:400]
    responses = pieces_of(couple.id)
    authors = set(responses.values())
    expected = {"one": {couple.partner_ids[1]}, "each": set(couple.partner_ids), "joint": {None}}
    assert authors == expected[mode]

    # Each partner who writes it reads the instructions, line breaks and all, and the date.
    for response_id, author in responses.items():
        position = 2 if author in (None, couple.partner_ids[1]) else 1
        html = get(
            portal_of(make_client, couple, position), f"/portal/homework/{public(response_id)}"
        )
        shows_exactly(html, typed["instructions"])
        assert f"Due {due.day} {due:%B}" in text_of(html)


# --- the practice's default instructions, in settings -----------------------------------


def test_default_instructions_for_every_kind_are_kept(owner_client, practice_a, couple):  # noqa: F811
    url = "/settings/homework"
    typed = {key: f"{LINES}default for {kind.label} 💞" for key, kind in KINDS.items()}
    for key in KINDS:
        form = form_with(get(owner_client, url), "instructions", hidden={"kind": key})
        saved = owner_client.post_form(url, {**form.data(), "instructions": typed[key]})
        assert saved.status_code == 302, text_of(saved.get_data(as_text=True))[:400]

    html = get(owner_client, url)
    for key in KINDS:
        shown = form_with(html, "instructions", hidden={"kind": key}).data()["instructions"]
        assert shown == typed[key].strip()
        # Every new assignment starts from them.
        assign = get(owner_client, f"/couples/{couple.id}/homework/new?kind={key}")
        assert form_with(assign, "instructions").data()["instructions"] == typed[key].strip()

    # Refused: beside that kind's box, as typed; the other kinds' boxes keep their text.
    key = sorted(KINDS)[0]
    form = form_with(html, "instructions", hidden={"kind": key})
    for bad, message in (("x" * 5001, None), (f"kind{BELL}", MULTI_LINE_MESSAGE)):
        response = owner_client.post_form(url, {**form.data(), "instructions": bad})
        assert response.status_code == 422
        again = response.get_data(as_text=True)
        assert form_with(again, "instructions", hidden={"kind": key}).data()["instructions"] == bad
        error = Page(again).errors.get(f"instructions-{key}")
        assert error and (message is None or message in error)
        for other in KINDS:
            if other != key:
                box = form_with(again, "instructions", hidden={"kind": other})
                assert box.data()["instructions"] == typed[other].strip()
    assert (
        form_with(get(owner_client, url), "instructions", hidden={"kind": key}).data()[
            "instructions"
        ]
        == typed[key].strip()
    )


# --- returning work for revision: the therapist's note ----------------------------------


def test_the_note_returning_work_reaches_the_partner_as_typed(
    therapist_client,
    couple,  # noqa: F811
    make_client,
):
    with practice_context(couple.practice_id):
        therapist = db.session.get(User, couple.therapist_ids[0])
        home = db.session.get(Couple, couple.id)
        broke_trust = db.session.get(Partner, couple.partner_ids[1])
        assignment = homework_service.assign(
            therapist,
            home,
            kind_key="apology",
            mode="one",
            partner_id=broke_trust.id,
            instructions="",
            due_date=None,
        )
        response = assignment.responses[0]
        homework_service.submit(broke_trust, response, content=dict(APOLOGY), base_version=0)
        db.session.commit()
        response_id = response.id
    url = f"/couples/{couple.id}/homework/{response_id}"
    form = form_with(get(therapist_client, url), "comment")
    post_url = form.action or url

    # Refused: nothing to say, too long, a control character; the note as typed each time.
    for bad, message in (
        ("  \n ", "Say what to revise"),
        ("n" * 5001, "Keep it under 5,000 characters."),
        (f"Look again{BELL}", MULTI_LINE_MESSAGE),
    ):
        response = therapist_client.post_form(post_url, {**form.data(), "comment": bad})
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert form_with(html, "comment").data()["comment"] == bad
        assert message in Page(html).errors.get("comment", "")

    note = LINES + "Please say when, in the amends."
    returned = therapist_client.post_form(post_url, {**form.data(), "comment": note})
    assert returned.status_code == 302, text_of(returned.get_data(as_text=True))[:400]
    partner_page = get(portal_of(make_client, couple, 2), f"/portal/homework/{public(response_id)}")
    shows_exactly(partner_page, note)


# --- agreements ---------------------------------------------------------------------------


def test_an_agreement_typed_in_every_field_is_shown_after_reload(
    therapist_client,
    couple,  # noqa: F811
):
    url = f"/couples/{couple.id}/agreements"
    form = form_with(get(therapist_client, url), "text")
    typed, texts, labels = {}, [], []
    for index, control in enumerate(form.controls):
        if control.type in ("hidden", "submit", "button", "checkbox", "radio"):
            continue
        if control.tag == "select":
            typed[control.name] = form.another(control.name)
            labels.append(form.label_of(control.name, typed[control.name]))
        elif control.type == "date":
            typed[control.name] = (couple_today() + timedelta(days=40 + index)).isoformat()
        else:
            limit = int(control.attrs.get("maxlength") or 200)
            value = (LINES if control.tag == "textarea" else LINE) + f" {control.name}"
            typed[control.name] = value[:limit]
            texts.append(typed[control.name])
    assert texts, "the agreement form offers nothing to type"
    saved = therapist_client.post_form(form.action or url, {**form.data(), **typed})
    assert saved.status_code == 302, text_of(saved.get_data(as_text=True))[:400]

    html = get(therapist_client, url)
    page_text = text_of(html)
    for value in texts:
        assert words(value) in page_text
        shows_exactly(html, value)
    for label in labels:
        assert label in page_text


# --- practice settings and the team --------------------------------------------------


def test_the_practice_settings_keep_every_word(owner_client, practice_a):
    url = "/settings/practice"
    form = form_with(get(owner_client, url), "name", "secrets_policy_text")
    typed = {
        "name": f"  {NAME} Practice  ",
        "time_zone": form.another("time_zone", "Pacific/Auckland"),
        "secrets_policy": form.another("secrets_policy"),
        "secrets_policy_text": LINES + "We keep no secrets between you.",
        "invite_link_days": "21",
        "portal_idle_days": "45",
    }
    assert form.names() - {"csrf_token"} <= set(typed), form.names() - set(typed)
    saved = owner_client.post_form(url, {**form.data(), **typed})
    assert saved.status_code == 302, text_of(saved.get_data(as_text=True))[:400]
    html = get(owner_client, url)
    back = form_with(html, "name").data()
    assert {name: back.get(name) for name in typed} == as_stored(typed)
    assert "<script>alert" not in html

    other = {**typed, "name": "Another name 💬", "secrets_policy_text": "Deux lignes\nici"}
    refused(owner_client, url, form, other, {"name": ""}, {"name": "Name your practice."})
    refused(
        owner_client,
        url,
        form,
        other,
        {"secrets_policy_text": "s" * 4001},
        {"secrets_policy_text": "Keep it under 4,000 characters."},
    )
    refused(
        owner_client,
        url,
        form,
        other,
        {"invite_link_days": "0"},
        {"invite_link_days": "Choose between 1 and 90 days."},
    )
    refused(owner_client, url, form, other, {"name": "Tab\there"}, {"name": SINGLE_LINE_MESSAGE})
    back = form_with(get(owner_client, url), "name").data()
    assert {name: back.get(name) for name in typed} == as_stored(typed)


def test_a_team_invitation_keeps_the_name_and_email_typed(owner_client, practice_a):
    form = form_with(get(owner_client, "/settings/team"), "name", "email")
    action = form.action
    assert action.endswith("/settings/team/invite")
    typed = {"name": f" {NAME} ", "email": "zoe.obrien@example.com"}

    refused(owner_client, action, form, typed, {"email": "zoë at example"}, {"email": None})
    refused(owner_client, action, form, typed, {"name": ""}, {"name": "Enter their name."})
    refused(owner_client, action, form, typed, {"name": "N" * 121}, {"name": None})
    refused(
        owner_client, action, form, typed, {"name": f"Zoë{BELL}"}, {"name": SINGLE_LINE_MESSAGE}
    )

    sent = owner_client.post_form(action, {**form.data(), **typed})
    assert sent.status_code == 302, text_of(sent.get_data(as_text=True))[:400]
    html = get(owner_client, "/settings/team")
    shows_exactly(html, typed["name"])
    assert typed["email"] in text_of(html)
