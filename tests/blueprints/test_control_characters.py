"""Control characters: refused in every one-line field of every form, and beside the field.

A practice name with a line break in it was stored, and then every email naming the practice
failed (a mail header is one line) while the page said "emailed". Every form class of the app
is found here by walking WTForms' subclasses, so a new form or field is checked the day it is
added: a one-line text field refuses line breaks, tabs and other control characters; a text
area keeps line breaks and tabs and refuses the rest; a password is only hashed and is free.
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest
import wtforms
from werkzeug.datastructures import MultiDict
from wtforms import FormField, PasswordField, SelectFieldBase, StringField, TextAreaField

import practice.blueprints
from practice.extensions import db
from practice.models import Practice
from practice.services import MULTI_LINE_MESSAGE, SINGLE_LINE_MESSAGE, accounts
from practice.tenancy import unscoped
from tests.blueprints.conftest import page

ONE_LINE_REFUSED = {
    "CR LF": "Harbour\r\nBcc: everyone@example.com",
    "LF": "Ann\nSmith",
    "tab": "Ann\tSmith",
    "escape": "Ann \x1b[31mSmith",
    "C1 next line": "Ann\x85Smith",
    "line separator": "Ann\u2028Smith",
}
MULTI_LINE_KEPT = "First line,\r\nsecond line\n\tindented."
MULTI_LINE_REFUSED = {"bell": "a bell\x07", "escape": "\x1b[2J cleared", "C1": "a\x9bb"}


def all_form_classes() -> list[type[wtforms.Form]]:
    for module in pkgutil.walk_packages(practice.blueprints.__path__, "practice.blueprints."):
        if module.name.endswith(".forms"):
            importlib.import_module(module.name)
    found, todo = set(), [wtforms.Form]
    while todo:
        for subclass in todo.pop().__subclasses__():
            todo.append(subclass)
            if subclass.__module__.startswith("practice."):
                found.add(subclass)
    return sorted(found, key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


def all_fields(form):
    for field in form:
        if isinstance(field, FormField):
            yield from all_fields(field.form)
        else:
            yield field


def validated(form_class, data: dict[str, str]):
    """The form bound to `data` and validated, as a POST would be (without its CSRF token)."""
    form = form_class(formdata=MultiDict(data), meta={"csrf": False})
    for field in all_fields(form):
        if isinstance(field, SelectFieldBase) and field.choices is None:
            field.choices = []  # filled in by the view; empty is enough for this check
    form.validate()
    return form


def field_named(form, name: str):
    return next(field for field in all_fields(form) if field.name == name)


def text_fields(kind) -> list[tuple[str, str]]:
    """(form class name, field name) for every field of `kind` in every form."""
    found = []
    for form_class in all_form_classes():
        form = form_class(formdata=None, meta={"csrf": False})
        found.extend(
            (f"{form_class.__module__}.{form_class.__qualname__}", field.name)
            for field in all_fields(form)
            if kind(field)
        )
    return found


def one_line(field) -> bool:
    return isinstance(field, StringField) and not isinstance(
        field, TextAreaField | PasswordField | wtforms.HiddenField
    )


def multi_line(field) -> bool:
    return isinstance(field, TextAreaField)


def form_class_named(qualified: str):
    return next(c for c in all_form_classes() if f"{c.__module__}.{c.__qualname__}" == qualified)


@pytest.fixture
def request_context(app):
    with app.test_request_context():
        yield


def test_the_sweep_finds_the_forms_and_fields_that_matter(request_context):
    names = {cls.__qualname__ for cls in all_form_classes()}
    assert {"SignUpForm", "CreatePracticeForm", "PracticeSettingsForm", "CoupleForm"} <= names
    assert {"PartnerForm", "SignForm"} <= names
    fields = {name for _, name in text_fields(one_line)}
    assert {"practice_name", "name", "email", "label", "typed_name", "time_frame"} <= fields
    assert "partner1-display_name" in fields  # fields of sub-forms too
    assert {name for _, name in text_fields(multi_line)} >= {"therapist_notes", "instructions"}


@pytest.mark.parametrize("kind", sorted(ONE_LINE_REFUSED))
def test_every_one_line_field_refuses_control_characters(request_context, kind):
    missed = []
    for qualified, name in text_fields(one_line):
        form = validated(form_class_named(qualified), {name: ONE_LINE_REFUSED[kind]})
        if SINGLE_LINE_MESSAGE not in field_named(form, name).errors:
            missed.append(f"{qualified}.{name}")
    assert not missed, f"these fields took a value with a {kind} in it: {missed}"


def test_one_line_fields_take_ordinary_text(request_context):
    for qualified, name in text_fields(one_line):
        form = validated(form_class_named(qualified), {name: "Zoë O'Brien-Ngũgĩ 💔 עִבְרִית"})
        assert SINGLE_LINE_MESSAGE not in field_named(form, name).errors, (qualified, name)


def test_text_areas_keep_line_breaks_and_tabs_but_refuse_other_control_characters(
    request_context,
):
    for qualified, name in text_fields(multi_line):
        kept = validated(form_class_named(qualified), {name: MULTI_LINE_KEPT})
        assert MULTI_LINE_MESSAGE not in field_named(kept, name).errors, (qualified, name)
        for kind, value in MULTI_LINE_REFUSED.items():
            refused = validated(form_class_named(qualified), {name: value})
            assert MULTI_LINE_MESSAGE in field_named(refused, name).errors, (qualified, name, kind)


def test_a_practice_name_with_a_line_break_is_refused_and_shown_as_typed(owner_client, practice_a):
    typed = "Harbour\r\nBcc: everyone@example.com"
    form = page(owner_client.get("/settings/practice"))

    response = owner_client.post_form(
        "/settings/practice",
        {
            "name": typed,
            "time_zone": form.selected["time_zone"],
            "secrets_policy": form.checked["secrets_policy"],
            "secrets_policy_text": form.values["secrets_policy_text"],
            "invite_link_days": "14",
            "portal_idle_days": "30",
        },
    )

    assert response.status_code == 422
    shown = page(response)
    assert shown.errors["name"] == SINGLE_LINE_MESSAGE
    # A browser shows an input's value on one line; what matters is that nothing was lost.
    assert shown.values["name"] == typed
    db.session.expire_all()
    with unscoped():
        assert db.session.get(Practice, practice_a.practice_id).name == practice_a.practice_name


def test_sign_up_refuses_a_practice_name_with_a_line_break(client):
    link = f"/signup/confirm/{accounts.sign_up_link_token('cy@example.com')}"
    response = client.post_form(
        link,
        {
            "practice_name": "Harbour\nCounselling",
            "name": "Cy",
            "password": "a long enough passphrase",
            "time_zone": "UTC",
        },
    )
    assert response.status_code == 422
    shown = page(response)
    assert shown.errors["practice_name"] == SINGLE_LINE_MESSAGE
    assert shown.values["practice_name"] == "Harbour\nCounselling"
    assert shown.values["name"] == "Cy"
    with unscoped():
        assert db.session.query(Practice).count() == 0


def test_sign_up_refuses_an_email_with_a_line_break(client, inbox):
    typed = "cy@example.com\r\nBcc: everyone@example.com"
    response = client.post_form("/signup", {"email": typed})
    assert response.status_code == 422
    shown = page(response)
    assert SINGLE_LINE_MESSAGE in shown.errors["email"]
    assert shown.values["email"] == typed
    response.close()
    assert inbox.messages == []
