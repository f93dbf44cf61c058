"""Small helpers shared by the forms of every feature."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, NamedTuple

from flask import flash
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field
from wtforms.validators import ValidationError

from legalaid.errors import DomainError
from legalaid.extensions import db


def show_error(form: FlaskForm, error: DomainError) -> None:
    """Put a service's error next to the field it concerns (or at the top of the form)."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)


# WTForms' own messages, listed here so `make extract-messages` puts them into our catalogs:
# Flask-WTF translates them through Flask-Babel, so a Chinese page never shows them in English.
WTFORMS_MESSAGES = (
    _l("This field is required."),
    _l("Not a valid choice."),
    _l("Invalid Choice: could not coerce."),
    _l("Invalid choice(s): one or more data inputs could not be coerced."),
    _l("Not a valid integer value."),
    _l("Not a valid date value."),
    _l("Not a valid time value."),
    _l("Number must be at least %(min)s."),
    _l("Number must be at most %(max)s."),
    _l("Number must be between %(min)s and %(max)s."),
    _l("Field must be between %(min)d and %(max)d characters long."),
    _l("Field must be equal to %(other_name)s."),
    _l("Invalid input."),
    _l("Invalid email address."),
    _l("The CSRF token is missing."),
    _l("The CSRF token has expired."),
    _l("The CSRF token is invalid."),
    _l("This field is required."),
)


class DateRange:
    """A date must lie between two dates (WTForms' own check says it in English only)."""

    def __init__(self, min: date, max: date) -> None:  # noqa: A002  (mirrors WTForms' NumberRange)
        self.min, self.max = min, max

    def __call__(self, form: FlaskForm, field: Field) -> None:
        """Refuse dates outside the range with a translated message."""
        if field.data is not None and not self.min <= field.data <= self.max:
            raise ValidationError(
                _l(
                    "Enter a date between %(min)s and %(max)s.",
                    min=self.min.isoformat(),
                    max=self.max.isoformat(),
                )
            )


class Outcome(NamedTuple):
    """What a service call for a form gave: whether it succeeded, and its return value."""

    ok: bool
    value: Any = None


def attempt(form: FlaskForm, action: Callable[[], Any]) -> Outcome:
    """Run a service for a submitted form; when it refuses, undo what it did and show why on the form.

    Nothing is committed here: the request commits once, after the view (`legalaid.transaction`).
    """
    try:
        value = action()
    except DomainError as error:
        db.session.rollback()
        show_error(form, error)
        return Outcome(False)
    return Outcome(True, value)


def attempt_or_flash(action: Callable[[], Any]) -> bool:
    """The same for a plain button: on a refusal, undo and flash the reason."""
    try:
        action()
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "danger")
        return False
    return True
