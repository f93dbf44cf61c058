"""Forms for firms, lawyers, imports and dates off."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import DateField, SelectField, SelectMultipleField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from legalaid.categories import category_choices
from legalaid.lawyers.services import LawyerData


class FirmForm(FlaskForm):
    """A law firm."""

    name = StringField(_l("Firm name"), validators=[DataRequired(), Length(max=120)])
    contact_person = StringField(_l("Contact person"), validators=[Optional(), Length(max=60)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=30)])
    submit = SubmitField(_l("Save"))


class LawyerForm(FlaskForm):
    """A lawyer's record."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=60)])
    firm_id = SelectField(
        _l("Law firm"), coerce=int, validators=[DataRequired(message=_l("Choose the law firm."))]
    )
    licence_no = StringField(
        _l("Practising-licence number (17 digits)"), validators=[DataRequired(), Length(max=17)]
    )
    mobile = StringField(_l("Mobile"), validators=[Optional(), Length(max=20)])
    email = StringField(_l("E-mail"), validators=[Optional(), Length(max=120)])
    specialties = SelectMultipleField(
        _l("Specialties"),
        choices=category_choices,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validators=[Optional()],
    )
    contract_start = DateField(_l("Contract start"), validators=[DataRequired(message=_l("Enter a date."))])
    contract_end = DateField(_l("Contract end"), validators=[Optional()])
    user_id = SelectField(_l("Sign-in account"), coerce=int, validators=[Optional()])
    submit = SubmitField(_l("Save"))

    def to_data(self) -> LawyerData:
        """The values typed, as plain data for the service."""
        return LawyerData(
            name=self.name.data or "",
            firm_id=self.firm_id.data or 0,
            licence_no=(self.licence_no.data or "").strip(),
            contract_start=self.contract_start.data,
            contract_end=self.contract_end.data,
            mobile=(self.mobile.data or "").strip(),
            email=(self.email.data or "").strip(),
            specialties=list(self.specialties.data or []),
            user_id=self.user_id.data or None,
        )


class ImportForm(FlaskForm):
    """A spreadsheet of lawyers from the firm."""

    station_id = SelectField(_l("Station"), coerce=int)
    file = FileField(
        _l("CSV or XLSX file"),
        validators=[
            FileRequired(message=_l("Choose a file.")),
            FileAllowed(["csv", "xlsx"], message=_l("Upload a .csv or .xlsx file.")),
        ],
    )
    submit = SubmitField(_l("Import"))


class LeaveForm(FlaskForm):
    """Dates off."""

    start_on = DateField(_l("First day"), validators=[DataRequired(message=_l("Enter a date."))])
    end_on = DateField(_l("Last day"), validators=[DataRequired(message=_l("Enter a date."))])
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=200)])
    submit = SubmitField(_l("Add dates off"))
