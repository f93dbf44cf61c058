"""Forms of the roster pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, IntegerField, RadioField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional


class GenerateForm(FlaskForm):
    """Which station and which weeks to generate."""

    station_id = SelectField(_l("Station"), coerce=int)
    start = DateField(_l("From"), validators=[DataRequired(message=_l("Enter a date."))])
    weeks = IntegerField(
        _l("Weeks"),
        default=26,
        validators=[InputRequired(message=_l("Enter a number.")), NumberRange(min=1, max=104)],
    )
    preview = SubmitField(_l("Preview"))
    save = SubmitField(_l("Generate and save"))


class ClosureForm(FlaskForm):
    """Close a date, or re-open a holiday."""

    closed_on = DateField(_l("Date"), validators=[DataRequired(message=_l("Enter a date."))])
    kind = RadioField(
        _l("What"),
        choices=[("close", _l("Closed (no duty)")), ("open", _l("Open after all (a holiday kept open)"))],
        default="close",
    )
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=200)])
    # Set by the page that listed who a closure affects: the administrator has read it.
    confirmed = HiddenField()
    submit = SubmitField(_l("Save"))


class ConfirmYearForm(FlaskForm):
    """Confirm that an uncovered year's closures have been entered."""

    year = IntegerField(validators=[InputRequired(), NumberRange(min=2000, max=2100)])
    submit = SubmitField(_l("Closures entered: confirm this year"))


class ShiftForm(FlaskForm):
    """Set a day's lawyer by hand."""

    lawyer_id = SelectField(
        _l("Lawyer"), coerce=int, validators=[DataRequired(message=_l("Choose a lawyer."))]
    )
    reason = StringField(
        _l("Reason"), validators=[DataRequired(message=_l("Give a reason for the change.")), Length(max=200)]
    )
    submit = SubmitField(_l("Save"))


CHANGE_LABELS = {
    "add": _l("new"),
    "change": _l("other lawyer"),
    "remove": _l("removed"),
    "unfilled": _l("nobody available"),
}


def change_label(kind: str) -> str:
    """The translated name of a preview line's kind."""
    return str(CHANGE_LABELS.get(kind, kind))
