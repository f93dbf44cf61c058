"""Small helpers shared by the forms of every feature."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any, NamedTuple

from flask import flash
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import Field, SelectField
from wtforms.validators import ValidationError

from legalaid.errors import DomainError, FieldErrors
from legalaid.extensions import db


def show_error(form: FlaskForm, error: DomainError, beside_others: bool = True) -> None:
    """Put a service's error (or each of several, `FieldErrors`) next to the field it concerns, or
    at the top of the form when it concerns no field of this form.

    `beside_others=False` leaves out messages for fields that already show one (the form's own check
    found that field wrong first: one message per mistake is enough).
    """
    pairs = error.errors if isinstance(error, FieldErrors) else [(error.field, error.message)]
    already = {name for name, field in form._fields.items() if field.errors}
    for name, message in pairs:
        field = form._fields.get(name) if name else None
        if field is None:
            if message not in form.form_errors:
                form.form_errors.append(message)
        elif (beside_others or name not in already) and message not in field.errors:
            field.errors = [*field.errors, message]


def validate_all(form: FlaskForm, check: Callable[[], object]) -> bool:
    """Validate a submitted form, and run the service's own check of the values as well, so that every
    wrong field is told in one go: those the form finds and those only the service can find.

    `check` must only read (it runs on values the form may have refused); the service checks again when
    it saves. Returns whether the form was submitted and nothing is wrong.
    """
    if not form.is_submitted():
        return False
    valid = form.validate()
    try:
        check()
    except DomainError as error:
        show_error(form, error, beside_others=False)
        return False
    return valid


class Rule:
    """A service's check of one value, run as a field validator: the form then reports it with the other
    fields' problems, all at once (the service checks it again when it saves)."""

    def __init__(self, check: Callable[[Any], object]) -> None:
        self.check = check

    def __call__(self, form: FlaskForm, field: Field) -> None:
        """Refuse the value with the service's own message."""
        try:
            self.check(field.data)
        except DomainError as error:
            raise ValidationError(error.message) from None


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
        for _field, message in error.errors if isinstance(error, FieldErrors) else [(None, error.message)]:
            flash(message, "danger")
        return False
    return True


def options(choices: Iterable[tuple[Any, Any]], current: Any) -> Markup:
    """A select's `<option>` list, the current value selected: for the selects of a province (a hundred
    stations, a thousand lawyers), where the template's loop cost five milliseconds a page.

    Choices given as a tuple are plain names kept between requests (`cache.memo`): their list is made
    once per choice selected, not once per page."""
    chosen = "" if current is None else str(current)
    if isinstance(choices, tuple):
        return _kept_options(choices, chosen)
    return _options(choices, chosen)


def _options(choices: Iterable[tuple[Any, Any]], chosen: str) -> Markup:
    picked = {True: "selected ", False: ""}
    return Markup(  # noqa: S704  (every value is escaped here)
        "".join(
            f'<option {picked[str(value) == chosen]}value="{escape(value)}">{escape(text)}</option>'
            for value, text in choices
        )
    )


@functools.lru_cache(maxsize=64)
def _kept_options(choices: tuple[tuple[Any, Any], ...], chosen: str) -> Markup:
    return _options(choices, chosen)


class FilterChoiceField(SelectField):
    """An optional filter's select (with `Optional()`): one left empty or out of the address filters
    nothing and is not looked for among the options. SelectField refuses it first (a translated
    message made, for Optional to clear): five such filters cost a log page over a millisecond."""

    def pre_validate(self, form: FlaskForm) -> None:
        """Refuse a value given that is not one of the options."""
        if self.data not in (None, ""):
            self.check_choice(form)

    def check_choice(self, form: FlaskForm) -> None:
        """Refuse the value if it is not one of the options (SelectField's own check)."""
        super().pre_validate(form)


class ManyChoicesField(FilterChoiceField):
    """A select of many options (a province's thousand lawyers): the value is looked up in a set, where
    SelectField compares it with each option in turn (3 ms a request)."""

    def check_choice(self, form: FlaskForm) -> None:
        """Refuse a value that is not one of the options."""
        if self.validate_choice and self.data not in {str(value) for value, *_rest in self.choices or ()}:
            raise ValidationError(self.gettext("Not a valid choice."))
