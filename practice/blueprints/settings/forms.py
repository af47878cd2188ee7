from wtforms import (
    EmailField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional

from practice.blueprints.forms import Form
from practice.local_time import time_zone_choices
from practice.models.practice import SECRETS_POLICIES


class PracticeSettingsForm(Form):
    name = StringField(
        "Practice name", validators=[DataRequired("Name your practice."), Length(max=200)]
    )
    time_zone = SelectField("Time zone", choices=time_zone_choices)
    secrets_policy = RadioField("Secrets policy", choices=list(SECRETS_POLICIES.items()))
    secrets_policy_text = TextAreaField(
        "How you explain it to clients",
        validators=[
            DataRequired("Explain your policy in a few sentences."),
            Length(max=4000, message="Keep it under 4,000 characters."),
        ],
    )
    invite_link_days = IntegerField(
        "Personal links work for (days)",
        validators=[
            Optional(),
            NumberRange(min=1, max=90, message="Choose between 1 and 90 days."),
        ],
    )
    portal_idle_days = IntegerField(
        "Partners stay signed in while active within (days)",
        validators=[
            Optional(),
            NumberRange(min=1, max=365, message="Choose between 1 and 365 days."),
        ],
    )


class InviteTherapistForm(Form):
    name = StringField("Name", validators=[DataRequired("Enter their name."), Length(max=120)])
    email = EmailField(
        "Email",
        validators=[
            DataRequired("Enter their email."),
            Email("Enter a valid email."),
            Length(max=254),
        ],
    )
