"""Sign-in and account forms."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.security import check_password_hash
from wtforms import Field, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp, ValidationError

from legalaid.access import ADMIN, LAWYER, STAFF
from legalaid.auth import services
from legalaid.forms import Rule
from legalaid.privacy import is_email


def role_choices() -> list[tuple[str, str]]:
    """The roles as (value, translated label) pairs."""
    return [(ADMIN, _l("Administrator")), (STAFF, _l("Hall staff")), (LAWYER, _l("Lawyer"))]


def role_label(role: str) -> str:
    """The translated name of a role."""
    return str(dict(role_choices()).get(role, role))


def _username_free(form: FlaskForm, field: Field) -> None:
    """A new account's username is not taken (the service checks again when it saves)."""
    if field.data and services.find_by_username(field.data) is not None:
        name = services.normalize_username(field.data)
        raise ValidationError(_("The username %(name)s is already taken.", name=name))


def _email(form: FlaskForm, field: Field) -> None:
    """An e-mail address, if one is given."""
    if (field.data or "").strip() and not is_email(field.data.strip()):
        raise ValidationError(_("Enter a valid e-mail address."))


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
            _username_free,
        ],
    )
    display_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=100)])
    email = StringField(_l("E-mail for notices"), validators=[Optional(), Length(max=120), _email])
    role = SelectField(_l("Role"), choices=role_choices, validators=[DataRequired()])
    station_id = SelectField(_l("Station"), coerce=int)
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(), Length(max=200), Rule(services.check_password_rules)],
    )
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

    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(max=200), Rule(services.check_password_rules)],
    )
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

    def validate_current_password(self, field: Field) -> None:
        """The signed-in person's password, checked with the new one's rules, so both are told at once."""
        if not check_password_hash(current_user.password_hash, field.data or ""):
            raise ValidationError(_("The current password is wrong."))


class CodeForm(FlaskForm):
    """The code asked after the password: six digits from the app, or a recovery code."""

    code = StringField(
        _l("Verification code"),
        validators=[DataRequired(), Length(max=20)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True},
    )
    submit = SubmitField(_l("Continue"))


def _is_own_password(form: FlaskForm, field: Field) -> None:
    """The signed-in person's own password (asked again before the second factor changes)."""
    if not check_password_hash(current_user.password_hash, field.data or ""):
        raise ValidationError(_("The current password is wrong."))


class TotpEnrolForm(FlaskForm):
    """The first code from the authenticator app, which switches the second factor on; replacing a phone
    already enrolled asks for the password too (a session left open must not move the factor)."""

    current_password = PasswordField(_l("Current password"), validators=[Length(max=200)])
    code = StringField(
        _l("Code shown by the app"),
        validators=[DataRequired(), Length(max=20)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )
    submit = SubmitField(_l("Switch on two-step sign-in"))

    def validate_current_password(self, field: Field) -> None:
        """Asked only when a phone is enrolled already."""
        if current_user.has_totp:
            _is_own_password(self, field)


class RenewCodesForm(FlaskForm):
    """New recovery codes (the old ones stop working): the password is asked again."""

    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("Make new recovery codes"))

    validate_current_password = _is_own_password


class TotpOffForm(FlaskForm):
    """Switch the second factor off: the password is asked again."""

    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("Switch off two-step sign-in"))

    validate_current_password = _is_own_password
