"""What every form shares: its base class, which refuses control characters in whatever is
typed, and showing a service's DomainError beside the field it names."""

from __future__ import annotations

import re
from collections.abc import Callable

import wtforms
from flask_wtf import FlaskForm
from wtforms import Field, PasswordField, StringField, TextAreaField
from wtforms.validators import ValidationError

from practice.services import (
    MULTI_LINE_MESSAGE,
    MULTI_LINE_REFUSED,
    SINGLE_LINE_MESSAGE,
    SINGLE_LINE_REFUSED,
    DomainError,
)


def _refuse(pattern: re.Pattern, message: str) -> Callable[[object, Field], None]:
    def check(form, field: Field) -> None:
        if isinstance(field.data, str) and pattern.search(field.data):
            raise ValidationError(message)

    return check


refuse_control_characters = _refuse(SINGLE_LINE_REFUSED, SINGLE_LINE_MESSAGE)
refuse_control_characters_but_line_breaks = _refuse(MULTI_LINE_REFUSED, MULTI_LINE_MESSAGE)


def text_check(field: Field) -> Callable[[object, Field], None] | None:
    """The control-character check a field gets: every text field is one line (names, emails,
    labels, a typed signature) unless it is a text area, which keeps line breaks and tabs.
    A password is never shown nor sent anywhere, only hashed: whatever is typed is the password."""
    if isinstance(field, PasswordField):
        return None
    if isinstance(field, TextAreaField):
        return refuse_control_characters_but_line_breaks
    if isinstance(field, StringField):  # EmailField, SearchField, HiddenField… too
        return refuse_control_characters
    return None


class _RefusesControlCharacters:
    """Adds `text_check` to every field at validation, so no field of a form can forget it."""

    def validate(self, extra_validators=None) -> bool:
        extra = {name: list(checks) for name, checks in (extra_validators or {}).items()}
        for name, field in self._fields.items():  # type: ignore[attr-defined]
            check = text_check(field)
            if check is not None:
                extra.setdefault(name, []).append(check)
        return super().validate(extra_validators=extra)  # type: ignore[misc]


class Form(_RefusesControlCharacters, FlaskForm):
    """The base of every form: CSRF (Flask-WTF), and no control characters in typed text."""


class SubForm(_RefusesControlCharacters, wtforms.Form):
    """A group of fields inside a Form (`FormField`), checked the same way."""


def show_error(form: FlaskForm, error: DomainError) -> None:
    """Attach the error to its field, or to the form as a whole."""
    field = None
    if error.field:
        # "partner2.email" names a field of a sub-form.
        field = form
        for part in error.field.split("."):
            field = getattr(field, part, None)
            if field is None:
                break
    if field is not None and isinstance(getattr(field, "errors", None), list | tuple):
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)
