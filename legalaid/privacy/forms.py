"""The form that asks why a number is needed before it is shown in full."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from legalaid.privacy.services import FIELDS, REASONS


class RevealForm(FlaskForm):
    """Which number, and why (the reason goes into the audit log)."""

    field = SelectField(_l("Number"), choices=list(FIELDS.items()), default="mobile")
    reason = SelectField(
        _l("Why do you need it?"),
        choices=[("", "—")] + list(REASONS.items()),
        validators=[InputRequired(message=_l("Choose why you need the full number."))],
    )
    note = StringField(_l("Note"), validators=[Optional(), Length(max=200)])
    next = HiddenField()


class PersonSearchForm(FlaskForm):
    """Find a person by their mobile or ID number (sent by POST: numbers never go into a URL)."""

    by = SelectField(
        _l("Search by"),
        choices=[("mobile", _l("Mobile number")), ("id_number", _l("ID number"))],
        default="mobile",
    )
    value = StringField(
        _l("Number"), validators=[InputRequired(message=_l("Enter the number.")), Length(max=40)]
    )
    submit = SubmitField(_l("Find"))


class PersonCorrectForm(FlaskForm):
    """Correct a person's name and numbers (checked by the booking forms' rules in the service)."""

    name = StringField(_l("Name"), validators=[Length(max=60)])
    mobile = StringField(_l("Mobile number"), validators=[Length(max=40)])
    id_number = StringField(_l("ID number"), validators=[Length(max=40)])
    veteran_card_no = StringField(_l("Veteran card number"), validators=[Length(max=60)])
    submit = SubmitField(_l("Save the correction"))


class PersonEraseForm(FlaskForm):
    """Erase a person: a reason typed, and a confirmation ticked."""

    reason = TextAreaField(
        _l("Why is the data erased?"),
        validators=[InputRequired(message=_l("Say why the data is erased.")), Length(max=200)],
    )
    confirm = BooleanField(
        _l("I understand that the erased data cannot be brought back."),
        validators=[InputRequired(message=_l("Tick the box to confirm."))],
    )
    submit = SubmitField(_l("Erase this person's data"))


class ExportForm(FlaskForm):
    """The button that downloads a person's copy of their data."""

    submit = SubmitField(_l("Download their data (JSON)"))
