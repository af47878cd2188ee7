from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, Length

from practice.blueprints.forms import Form


class ContinueForm(Form):
    """The button behind a link: a GET never changes anything, the POST does."""


class AcknowledgeForm(Form):
    understood = BooleanField(
        "I have read this and understand who sees what I write.",
        validators=[DataRequired("Please tick the box to continue.")],
    )


class NewLinkForm(Form):
    email = EmailField(
        "Your email",
        validators=[
            DataRequired("Enter your email."),
            Email("Enter a valid email."),
            Length(max=254),
        ],
    )


class SignForm(Form):
    typed_name = StringField(
        "Type your full name to sign",
        validators=[DataRequired("Type your name to sign."), Length(max=120)],
    )


def _pin_field(label: str) -> PasswordField:
    # Length caps what is hashed; the rule (4 to 8 digits) is the service's, with its message.
    return PasswordField(
        label,
        validators=[Length(max=64, message="Use 4 to 8 digits, numbers only.")],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )


class UnlockForm(Form):
    pin = _pin_field("Your PIN")


class SetPinForm(Form):
    current_pin = _pin_field("Your current PIN")
    new_pin = _pin_field("New PIN (4 to 8 digits)")
    confirm_pin = _pin_field("The new PIN again")


class RemovePinForm(Form):
    current_pin = _pin_field("Your current PIN")
