from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    FormField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget, TextInput

from practice.blueprints.forms import Form, SubForm
from practice.homework import KINDS
from practice.local_time import WEEKDAYS, time_zone_choices
from practice.models.couple import PRESENTING_CONCERNS, REPAIR_ROLES
from practice.models.report import ATTENDANCE
from practice.services.appointments import MINUTES_RANGE, NOTES_MAX
from practice.services.couples import SORTS, STATUS_FILTERS

STATUS_FILTER_LABELS = {
    "open": "Active and paused",
    "active": "Active",
    "paused": "Paused",
    "closed": "Closed",
    "all": "All",
}
SORT_LABELS = {
    "label": "Name",
    "recent": "Recent portal activity",
    "start": "Newest first",
    "status": "Status",
}


WEEKDAY_NAMES = dict(enumerate(WEEKDAYS))
WEEKDAY_CHOICES = list(WEEKDAY_NAMES.items())
HOUR_CHOICES = [(hour, f"{hour:02d}:00") for hour in range(24)]
PRACTICE_DEFAULT = "The practice's default"
DAY_MESSAGE = "Choose a day from the list, or the practice's default."
HOUR_MESSAGE = "Choose an hour from the list, or the practice's default."


def number_or_default(value) -> int | None:
    """A check-in select's value: "" is the practice's default (None), anything else a whole
    number (ValueError otherwise: the field says so beside itself)."""
    if value is None or isinstance(value, int):
        return value
    text = value.strip()
    return int(text) if text else None


class CheckboxListField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class PartnerForm(SubForm):
    display_name = StringField("Name", validators=[DataRequired("Enter a name."), Length(max=80)])
    email = EmailField(
        "Email (optional)",
        validators=[Optional(), Email("Enter a valid email, or leave it empty."), Length(max=254)],
    )
    repair_role = SelectField("Role in the repair", choices=list(REPAIR_ROLES.items()))
    time_zone = SelectField("Time zone", choices=time_zone_choices)


class CoupleForm(Form):
    label = StringField(
        "Label",
        validators=[DataRequired("Give the couple a label."), Length(max=120)],
        description="How the couple appears in your caseload, e.g. their first names.",
    )
    presenting_concern = SelectField(
        "Presenting concern", choices=list(PRESENTING_CONCERNS.items())
    )
    start_date = DateField(
        "Start date", validators=[DataRequired("Enter a date, e.g. 2026-11-28.")]
    )
    time_zone = SelectField("Couple's time zone", choices=time_zone_choices)
    therapist_notes = TextAreaField(
        "Private notes",
        validators=[Length(max=20000, message="Keep notes under 20,000 characters.")],
        description="Only therapists of this practice see these. Partners never do.",
    )
    checkin_weekday = SelectField(
        "Check-in day",
        choices=[("", PRACTICE_DEFAULT), *WEEKDAY_CHOICES],
        coerce=number_or_default,
        invalid_value_message=DAY_MESSAGE,
        invalid_choice_message=DAY_MESSAGE,
    )
    checkin_hour = SelectField(
        "Check-in hour",
        choices=[("", PRACTICE_DEFAULT), *HOUR_CHOICES],
        coerce=number_or_default,
        invalid_value_message=HOUR_MESSAGE,
        invalid_choice_message=HOUR_MESSAGE,
    )
    partner1 = FormField(PartnerForm, label="First partner")
    partner2 = FormField(PartnerForm, label="Second partner")
    therapist_ids = CheckboxListField("Therapists", coerce=int, validate_choice=False)

    def word_practice_default(self, weekday: int, hour: int) -> None:
        """Name the practice's own day and hour in the check-in selects' first choice."""
        self.checkin_weekday.choices = [
            ("", f"{PRACTICE_DEFAULT} ({WEEKDAY_NAMES[weekday]} at {hour:02d}:00)"),
            *WEEKDAY_CHOICES,
        ]
        self.checkin_hour.choices = [("", f"{PRACTICE_DEFAULT} ({hour:02d}:00)"), *HOUR_CHOICES]


class EditCoupleForm(CoupleForm):
    status = SelectField("Status", choices=[("active", "Active"), ("paused", "Paused")])


class AssignTherapistsForm(Form):
    therapist_ids = CheckboxListField("Therapists", coerce=int, validate_choice=False)


class InviteForm(Form):
    email_it = BooleanField("Also email the link to this partner")


class CaseloadFilterForm(Form):
    class Meta:
        csrf = False  # a GET search form changes nothing

    status = SelectField("Status", choices=list(STATUS_FILTER_LABELS.items()), default="open")
    # Validated against the practice's therapists: the view turns the value into an int.
    therapist = SelectField("Therapist", coerce=str, default="")
    q = StringField("Search", validators=[Optional(), Length(max=100, message="Shorter, please.")])
    sort = SelectField("Sort by", choices=list(SORT_LABELS.items()), default="label")
    page = IntegerField("Page", default=1, validators=[Optional(), NumberRange(min=1, max=100000)])


DAY_MESSAGE_SESSION = "Enter the day of the session, e.g. 2026-11-28."
START_MESSAGE = "Enter the start time as HH:MM, e.g. 14:30."
MINUTES_MESSAGE = "A session lasts between {} and {} minutes.".format(*MINUTES_RANGE)
NOTES_MESSAGE = f"Keep this under {NOTES_MAX:,} characters."
PARTNER_MESSAGE = "Choose which partner came."


class AppointmentForm(Form):
    """A therapy session: recorded after it, or corrected later. The start time is typed in
    the couple's time zone (the view names it in the label); the service checks the rest."""

    day = DateField(
        "Day",
        validators=[DataRequired(DAY_MESSAGE_SESSION)],
        invalid_value_message=DAY_MESSAGE_SESSION,
    )
    # A text box, not the browser's time picker: typed the same on every device, HH:MM.
    start = TimeField(
        "Start time (HH:MM)",
        format="%H:%M",
        widget=TextInput(),
        validators=[DataRequired(START_MESSAGE)],
        invalid_value_message=START_MESSAGE,
        render_kw={"placeholder": "HH:MM", "autocomplete": "off", "maxlength": 5},
    )
    minutes = IntegerField(
        "Length in minutes",
        default=50,
        validators=[NumberRange(*MINUTES_RANGE, message=MINUTES_MESSAGE)],
        invalid_value_message="Enter the length in whole minutes, e.g. 50.",
        render_kw={"min": MINUTES_RANGE[0], "max": MINUTES_RANGE[1]},
    )
    attendance = RadioField(
        "Who came",
        choices=list(ATTENDANCE.items()),
        default="both",
        invalid_choice_message="Choose who came to the session.",
    )
    # The couple's partners, set by the view; the service checks the one chosen is theirs.
    partner_id = RadioField(
        "Which partner came",
        coerce=number_or_default,
        validate_choice=False,
        invalid_value_message=PARTNER_MESSAGE,
    )
    notes = TextAreaField(
        "Private notes",
        validators=[Length(max=NOTES_MAX, message=NOTES_MESSAGE)],
        description="Only in your copy of a summary. The partners never see these.",
    )
    next_steps = TextAreaField(
        "Next steps",
        validators=[Length(max=NOTES_MAX, message=NOTES_MESSAGE)],
        description="In both copies of a summary: the couple reads these.",
    )
    next_homework = CheckboxListField(
        "Homework to assign next",
        choices=lambda: [(key, kind.label) for key, kind in KINDS.items()],
        validate_choice=False,  # the service names an unknown kind beside the list
    )

    def validate_partner_id(self, field) -> None:
        """Said with the other fields' errors, not after them (the service checks it too,
        with whether the partner is the couple's)."""
        if self.attendance.data == "one" and field.data is None and not field.errors:
            raise ValidationError(PARTNER_MESSAGE)


assert set(STATUS_FILTER_LABELS) == set(STATUS_FILTERS)
assert set(SORT_LABELS) == set(SORTS)


class CloseCoupleForm(Form):
    """Closing a case; the owner may also schedule its record's deletion."""

    schedule_deletion = BooleanField("Schedule deletion of this record")
