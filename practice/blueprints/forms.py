"""What every form shares: showing a service's DomainError beside the field it names."""

from __future__ import annotations

from flask_wtf import FlaskForm

from practice.services import DomainError


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
