from wtforms import (
    DateField,
    EmailField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import HiddenInput

from practice.blueprints.forms import Form
from practice.local_time import WEEKDAYS, time_zone_choices
from practice.models.base import MAX_ID
from practice.models.practice import RETENTION_CHOICES, SECRETS_POLICIES
from practice.services.audit import AREAS


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


WEEKDAY_CHOICES = list(enumerate(WEEKDAYS))


class CheckinSafetySettingsForm(Form):
    checkin_weekday = SelectField("Check-ins open on", choices=WEEKDAY_CHOICES, coerce=int)
    checkin_hour = IntegerField(
        "At (hour, 0–23, in each couple's own time zone)",
        validators=[
            InputRequired("Choose an hour from 0 to 23."),
            NumberRange(min=0, max=23, message="Choose an hour from 0 to 23."),
        ],
    )
    safety_instrument = RadioField("Safety questions")
    crisis_resources = TextAreaField(
        "Where to find help now",
        validators=[Length(max=2000, message="Keep it under 2,000 characters.")],
    )
    quick_exit_url = StringField(
        "Quick exit leaves for",
        validators=[
            DataRequired("Enter the address the quick exit goes to."),
            Length(max=300, message="Keep the address under 300 characters."),
        ],
    )


class AuditFilterForm(Form):
    """The access log's filters: a GET form that changes nothing."""

    class Meta:
        csrf = False

    area = SelectField("Area", choices=[("", "Everything"), *AREAS.items()], default="")
    # Checked against the practice's people: the view turns the value into an int.
    therapist = SelectField("Who", coerce=str, default="")
    since = DateField("From", validators=[Optional()])
    until = DateField("To", validators=[Optional()])
    couple = IntegerField(
        "Couple", validators=[Optional(), NumberRange(min=1, max=MAX_ID)], widget=HiddenInput()
    )
    page = IntegerField("Page", default=1, validators=[Optional(), NumberRange(min=1, max=100000)])

    def validate_until(self, field) -> None:
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError("The last day comes before the first.")


RETENTION_FIELD_CHOICES = [
    ("keep" if days is None else str(days), label) for days, label in RETENTION_CHOICES.items()
]
RETENTION_MESSAGE = "Choose how long to keep closed records from the list."


class RetentionForm(Form):
    """How long the practice keeps a closed couple's record before it may be deleted."""

    retention = RadioField(
        "Keep a closed couple's record for",
        choices=RETENTION_FIELD_CHOICES,
        validate_choice=False,
    )

    def validate_retention(self, field) -> None:
        if field.data not in dict(RETENTION_FIELD_CHOICES):
            raise ValidationError(RETENTION_MESSAGE)

    @property
    def days(self) -> int | None:
        return None if self.retention.data == "keep" else int(self.retention.data)
