from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, StringField
from wtforms.validators import DataRequired, Email, Length


class ContinueForm(FlaskForm):
    """The button behind a link: a GET never changes anything, the POST does."""


class AcknowledgeForm(FlaskForm):
    understood = BooleanField(
        "I have read this and understand who sees what I write.",
        validators=[DataRequired("Please tick the box to continue.")],
    )


class NewLinkForm(FlaskForm):
    email = EmailField(
        "Your email",
        validators=[
            DataRequired("Enter your email."),
            Email("Enter a valid email."),
            Length(max=254),
        ],
    )


class SignForm(FlaskForm):
    typed_name = StringField(
        "Type your full name to sign",
        validators=[DataRequired("Type your name to sign."), Length(max=120)],
    )
