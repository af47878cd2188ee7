from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from practice.blueprints.forms import Form
from practice.local_time import time_zone_choices
from practice.security import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH

_password_length = Length(
    min=PASSWORD_MIN_LENGTH,
    max=PASSWORD_MAX_LENGTH,
    message=f"Use {PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters.",
)


class SignUpForm(Form):
    """Sign-up, first step: the address, to which a link to go on is emailed."""

    email = EmailField(
        "Email",
        validators=[
            DataRequired("Enter your email."),
            Email("Enter a valid email."),
            Length(max=254),
        ],
    )


class CreatePracticeForm(Form):
    """Sign-up, second step (from the emailed link): the practice and its owner."""

    practice_name = StringField(
        "Practice name", validators=[DataRequired("Name your practice."), Length(max=200)]
    )
    name = StringField(
        "Your name", validators=[DataRequired("Tell us your name."), Length(max=120)]
    )
    password = PasswordField(
        "Password", validators=[DataRequired("Choose a password."), _password_length]
    )
    time_zone = SelectField("Time zone", choices=time_zone_choices, default="UTC")


class LoginForm(Form):
    email = StringField("Email", validators=[DataRequired("Enter your email."), Length(max=254)])
    password = PasswordField(
        "Password", validators=[DataRequired("Enter your password."), Length(max=1024)]
    )


class ForgotPasswordForm(Form):
    email = EmailField(
        "Email",
        validators=[
            DataRequired("Enter your email."),
            Email("Enter a valid email."),
            Length(max=254),
        ],
    )


class ResetPasswordForm(Form):
    password = PasswordField(
        "New password", validators=[DataRequired("Choose a password."), _password_length]
    )
    confirm = PasswordField(
        "Repeat the new password",
        validators=[DataRequired("Repeat the password."), EqualTo("password", "The two differ.")],
    )


class AcceptInvitationForm(Form):
    name = StringField(
        "Your name", validators=[DataRequired("Tell us your name."), Length(max=120)]
    )
    password = PasswordField(
        "Password", validators=[DataRequired("Choose a password."), _password_length]
    )


class ChangePasswordForm(Form):
    current_password = PasswordField(
        "Current password", validators=[DataRequired("Enter your current password.")]
    )
    new_password = PasswordField(
        "New password", validators=[DataRequired("Choose a password."), _password_length]
    )


class ConfirmForm(Form):
    """A button that changes something: CSRF only."""


class CodeForm(Form):
    """The second step of a sign-in: a code from the authenticator, or a recovery code."""

    code = StringField(
        "Code",
        validators=[DataRequired("Type the code from your app."), Length(max=40)],
    )
    remember = BooleanField("Don't ask again on this device for 30 days")


class EnrolForm(Form):
    code = StringField(
        "Code from your app",
        validators=[DataRequired("Type the 6-digit code your app shows."), Length(max=20)],
    )
