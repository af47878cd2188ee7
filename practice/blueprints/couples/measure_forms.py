from wtforms import DateField, IntegerField, RadioField
from wtforms.validators import NumberRange, Optional

from practice.blueprints.forms import Form
from practice.services.measures import MAX_EVERY_WEEKS, MAX_FOR_WEEKS

WHEN = {"schedule": "On a schedule", "now": "Once, now"}


class SendMeasureForm(Form):
    """Send a questionnaire to both partners, now or every few weeks; the service checks the
    instrument is enabled and the days make sense."""

    instrument = RadioField("Questionnaire", invalid_choice_message="Choose a questionnaire.")
    when = RadioField("When", choices=list(WHEN.items()), default="schedule")
    starts_on = DateField(
        "First due on",
        validators=[Optional()],
        invalid_value_message="Enter a day, e.g. 2026-03-02.",
    )
    every_weeks = IntegerField(
        "Every how many weeks",
        validators=[
            Optional(),
            NumberRange(1, MAX_EVERY_WEEKS, f"Choose every 1 to {MAX_EVERY_WEEKS} weeks."),
        ],
        invalid_value_message="Enter a whole number of weeks.",
        render_kw={"min": 1, "max": MAX_EVERY_WEEKS, "inputmode": "numeric"},
    )
    for_weeks = IntegerField(
        "For how many weeks",
        validators=[
            Optional(),
            NumberRange(1, MAX_FOR_WEEKS, f"Choose 1 to {MAX_FOR_WEEKS} weeks."),
        ],
        invalid_value_message="Enter a whole number of weeks.",
        render_kw={"min": 1, "max": MAX_FOR_WEEKS, "inputmode": "numeric"},
    )
