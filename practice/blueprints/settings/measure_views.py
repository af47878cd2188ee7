"""The practice's questionnaires: which scored measures therapists may send, and each one's
default schedule (owner only)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from practice.blueprints.auth.forms import ConfirmForm
from practice.blueprints.settings import bp
from practice.blueprints.settings.views import owner_required
from practice.blueprints.transaction import discard_writes
from practice.services import DomainError, measures

NUMBER_MESSAGE = "Enter a whole number of weeks."


def _typed(choices) -> tuple[dict, dict[str, str]]:
    """What was posted, per measure: (enabled, every weeks, for weeks), and any field errors."""
    wanted, errors = {}, {}
    for choice in choices:
        key = choice.instrument.key
        numbers = []
        for name in ("every_weeks", "for_weeks"):
            raw = request.form.get(f"{key}-{name}", "").strip()
            try:
                numbers.append(int(raw))
            except ValueError:
                errors[f"{key}-{name}"] = NUMBER_MESSAGE
                numbers.append(0)
        wanted[key] = (request.form.get(f"{key}-enabled") == "y", *numbers)
    return wanted, errors


@bp.route("/measures", methods=["GET", "POST"])
@owner_required
def measure_settings():
    choices = measures.choices()
    values = {
        c.instrument.key: {
            "enabled": "y" if c.enabled else "",
            "every_weeks": str(c.every_weeks),
            "for_weeks": str(c.for_weeks),
        }
        for c in choices
    }
    errors: dict[str, str] = {}
    if request.method == "POST":
        if not ConfirmForm().validate_on_submit():
            abort(400)
        wanted, errors = _typed(choices)
        if not errors:
            try:
                measures.update_settings(current_user, current_user.practice, wanted)
            except DomainError as error:
                discard_writes()
                errors[error.field or "form"] = error.message
            else:
                flash("Questionnaire settings saved.", "success")
                return redirect(url_for("settings.measure_settings"))
        values = {
            key: {
                name: request.form.get(f"{key}-{name}", "")
                for name in ("enabled", "every_weeks", "for_weeks")
            }
            for key in values
        }
    return render_template(
        "settings/measures.html",
        choices=choices,
        values=values,
        errors=errors,
        form=ConfirmForm(),
    ), 422 if errors else 200
