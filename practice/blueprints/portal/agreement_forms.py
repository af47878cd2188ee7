"""The partner's answer to an agreement: accept it, or ask to talk about it, with a note."""

from wtforms import TextAreaField
from wtforms.validators import Length

from practice.blueprints.forms import Form
from practice.services.agreements import NOTE_LIMIT


class AgreementAnswerForm(Form):
    note = TextAreaField(
        "A note for your therapist (optional)",
        validators=[
            Length(max=NOTE_LIMIT, message=f"Keep the note under {NOTE_LIMIT:,} characters.")
        ],
    )
