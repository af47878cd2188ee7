from wtforms import DateField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from practice.blueprints.forms import Form
from practice.homework.boundaries import DOMAINS
from practice.models.homework import MODES


class AssignForm(Form):
    kind = SelectField("Kind")
    mode = RadioField("Who writes it", choices=list(MODES.items()))
    partner_id = RadioField("For", coerce=int, validate_choice=False)
    instructions = TextAreaField(
        "Instructions",
        validators=[Length(max=5000, message="Keep instructions under 5,000 characters.")],
    )
    due_date = DateField("Due date (optional)", validators=[Optional()])


class CommentForm(Form):
    comment = TextAreaField(
        "What to revise",
        validators=[
            DataRequired("Say what to revise: the partner sees this comment."),
            Length(max=5000, message="Keep it under 5,000 characters."),
        ],
    )


class AgreementForm(Form):
    domain = SelectField(
        "Domain",
        choices=list(DOMAINS.items()),
        validate_choice=True,
    )
    text = TextAreaField(
        "Agreement",
        validators=[
            DataRequired("Write the agreement."),
            Length(max=1000, message="Keep the agreement under 1,000 characters."),
        ],
    )
    time_frame = StringField(
        "Time frame",
        validators=[
            Optional(),
            Length(max=200, message="Keep the time frame under 200 characters."),
        ],
    )
    review_date = DateField("Review date", validators=[Optional()], format="%Y-%m-%d")
    # The proposals the agreement is made from ("<response id>:<index>,…"), set by "Use";
    # the service checks that each is one of this couple's.
    merged_from = HiddenField(validators=[Length(max=300)])


class InstructionsForm(Form):
    instructions = TextAreaField("Default instructions", validators=[Length(max=5000)])
