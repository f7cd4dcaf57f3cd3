"""Sign-in and user administration forms (shape of input only; rules live in operations)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from riskreg.auth.passwords import MAX_LENGTH, MIN_LENGTH
from riskreg.models import Role
from riskreg.validation import no_control_chars

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class LoginForm(FlaskForm):
    # no_control_chars: the e-mail is looked up before anything else, and PostgreSQL refuses NUL in text.
    email = EmailField("Email", validators=[DataRequired(), Length(max=254), no_control_chars])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=MAX_LENGTH)])


class UserForm(FlaskForm):
    email = EmailField(
        "Email",
        validators=[
            DataRequired(),
            Length(max=254),
            Regexp(EMAIL_PATTERN, message="Enter an email address like name@example.org."),
            no_control_chars,
        ],
    )
    name = StringField("Name", validators=[DataRequired(), Length(max=200), no_control_chars])
    title = StringField(
        "Functional title",
        description="Shown in Council exports instead of the name, e.g. 'Chief, Financial Resources'.",
        validators=[DataRequired(), Length(max=200), no_control_chars],
    )
    # Choices as {value: label}: WTForms 3.3 deprecates tuples, and a warning must not become an error page.
    role = SelectField("Role", choices={r.value: r.label for r in Role}, validators=[DataRequired()])
    unit = SelectField("Unit", choices={}, validators=[Optional()])
    is_active = BooleanField("Active", default=True)
    password = PasswordField(
        "Password",
        description=f"At least {MIN_LENGTH} characters. Leave empty to keep the current password.",
        validators=[Optional(), Length(min=MIN_LENGTH, max=MAX_LENGTH)],
    )
