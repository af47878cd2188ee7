"""What every form shares: showing a service's DomainError beside the field it names."""

from __future__ import annotations

from flask_wtf import FlaskForm

from practice.services import DomainError


def show_error(form: FlaskForm, error: DomainError) -> None:
    """Attach the error to its field, or to the form as a whole."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)
