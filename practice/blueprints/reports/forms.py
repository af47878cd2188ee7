from __future__ import annotations

from wtforms import DateField, HiddenField, RadioField
from wtforms.validators import DataRequired, Optional

from practice.blueprints.forms import Form
from practice.models.report import REPORT_AUDIENCES

AUDIENCE_CHOICES = [
    ("therapist", "Therapist copy: everything, with your notes and safety information"),
    ("couple", "Couple copy: only what both partners see; you preview it before sharing it"),
]
assert {key for key, _ in AUDIENCE_CHOICES} == set(REPORT_AUDIENCES)


class PrepareForm(Form):
    """A summary of one session (its id) or of a period (two days), for one audience."""

    audience = RadioField(
        "Whose copy", choices=AUDIENCE_CHOICES, default="therapist", validators=[DataRequired()]
    )
    appointment_id = HiddenField()
    start = DateField("First day", validators=[Optional()])
    end = DateField("Last day", validators=[Optional()])


class WeekForm(Form):
    audience = RadioField(
        "Whose copies", choices=AUDIENCE_CHOICES, default="therapist", validators=[DataRequired()]
    )
