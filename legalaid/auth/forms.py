"""Sign-in and account forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp

from legalaid.access import ADMIN, LAWYER, STAFF


def role_choices() -> list[tuple[str, str]]:
    """The roles as (value, translated label) pairs."""
    return [(ADMIN, _l("Administrator")), (STAFF, _l("Hall staff")), (LAWYER, _l("Lawyer"))]


def role_label(role: str) -> str:
    """The translated name of a role."""
    return str(dict(role_choices()).get(role, role))


class LoginForm(FlaskForm):
    """Username and password."""

    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("Sign in"))


class UserCreateForm(FlaskForm):
    """A new account."""

    username = StringField(
        _l("Username"),
        validators=[
            DataRequired(),
            Length(min=2, max=64),
            Regexp(r"^[A-Za-z0-9_.-]+$", message=_l("Use letters, digits, dot, dash or underscore.")),
        ],
    )
    display_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=100)])
    email = StringField(_l("E-mail for notices"), validators=[Optional(), Length(max=120)])
    role = SelectField(_l("Role"), choices=role_choices, validators=[DataRequired()])
    station_id = SelectField(_l("Station"), coerce=int)
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The two passwords differ."))],
    )
    submit = SubmitField(_l("Create account"))


class RoleForm(FlaskForm):
    """Change an account's role."""

    role = SelectField(_l("Role"), choices=role_choices, validators=[DataRequired()])
    submit = SubmitField(_l("Change role"))


class PasswordResetForm(FlaskForm):
    """Set a new password for an account."""

    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The two passwords differ."))],
    )
    submit = SubmitField(_l("Set password"))


class ConfirmForm(FlaskForm):
    """A button that only carries the CSRF token (deactivate, sign out …)."""

    submit = SubmitField(_l("Confirm"))


class OwnPasswordForm(PasswordResetForm):
    """Change one's own password: the current one is asked first."""

    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
