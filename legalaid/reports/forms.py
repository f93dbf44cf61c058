"""Filters of the log and the figures (GET, no CSRF), the full-number export and the review record."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from legalaid.bookings.models import CHANNELS
from legalaid.categories import category_choices
from legalaid.consultations.forms import OUTCOME_LABELS
from legalaid.forms import DateRange, FilterChoiceField, ManyChoicesField
from legalaid.i18n import label_of
from legalaid.privacy.services import REASONS
from legalaid.reports.services import STAGES

EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)
STAGE_LABELS = {
    "none": _l("No follow-up"),
    "open": _l("Open"),
    "in_progress": _l("In progress"),
    "overdue": _l("Overdue"),
    "closed": _l("Matter closed"),
}
CHANNEL_LABELS = {
    "kiosk": _l("Kiosk"),
    "online": _l("Online"),
    "walkin": _l("Walk-in"),
    "hotline": _l("12345 hotline"),
    "phone": _l("Telephone"),
    "staff": _l("At the desk"),
    "desk": _l("Desk (telephone and counter)"),
}
SORT_LABELS = {
    "-date": _l("Newest first"),
    "date": _l("Oldest first"),
    "station": _l("Station"),
    "lawyer": _l("Lawyer"),
    "category": _l("Matter category"),
    "channel": _l("Channel"),
}


def label(kind: str, code: str | None) -> str:
    """The translated label of a stage or channel code."""
    return label_of({"stage": STAGE_LABELS, "channel": CHANNEL_LABELS}[kind], code)


def _optional(choices: list) -> list:
    return [("", "—"), *choices]


class _Dates:
    """A range's end may not come before its start."""

    def __call__(self, form: FlaskForm, field: DateField) -> None:
        """Refuse an end date before the start date."""
        start = form.start_on.data
        if field.data and start and field.data < start:
            raise ValidationError(_l("The end date is before the start date."))


class PeriodForm(FlaskForm):
    """A station (or all) and a date range."""

    class Meta:
        csrf = False

    station = FilterChoiceField(_l("Station"), validators=[Optional()])
    start_on = DateField(_l("From"), validators=[Optional(), DateRange(min=EARLIEST, max=LATEST)])
    end_on = DateField(_l("To"), validators=[Optional(), DateRange(min=EARLIEST, max=LATEST), _Dates()])
    submit = SubmitField(_l("Show"))


class LogFilterForm(PeriodForm):
    """The consultation log's filters; they stay in the address, so a view can be bookmarked."""

    lawyer = ManyChoicesField(_l("Lawyer"), validators=[Optional()])
    category = FilterChoiceField(
        _l("Matter category"), choices=_optional(category_choices()), validators=[Optional()]
    )
    outcome = FilterChoiceField(
        _l("Outcome"), choices=_optional(list(OUTCOME_LABELS.items())), validators=[Optional()]
    )
    stage = FilterChoiceField(
        _l("Follow-up"), choices=_optional([(s, STAGE_LABELS[s]) for s in STAGES]), validators=[Optional()]
    )
    channel = FilterChoiceField(
        _l("Channel"), choices=_optional([(c, CHANNEL_LABELS[c]) for c in CHANNELS]), validators=[Optional()]
    )
    q = StringField(_l("Words in the problem"), validators=[Optional(), Length(max=100)])
    sort = FilterChoiceField(
        _l("Order"), choices=list(SORT_LABELS.items()), default="-date", validators=[Optional()]
    )
    submit = SubmitField(_l("Filter"))


class ExportForm(FlaskForm):
    """An export with full numbers: the reason is asked first and goes into the audit log."""

    format = SelectField(_l("Format"), choices=[("xlsx", "Excel (XLSX)"), ("csv", "CSV")], default="xlsx")
    reason = SelectField(
        _l("Why do you need the full numbers?"),
        choices=_optional(list(REASONS.items())),
        validators=[InputRequired(message=_l("Choose why you need the full numbers."))],
    )
    # No Optional() here: it would stop the check below when the note is empty.
    note = StringField(_l("Note"), validators=[Length(max=200)])
    submit = SubmitField(_l("Export with full numbers"))

    def validate_note(self, field: StringField) -> None:
        """ "Other" needs a few words."""
        if self.reason.data == "other" and not (field.data or "").strip():
            raise ValidationError(_l("Say why you need the full numbers."))


class ReviewForm(FlaskForm):
    """The record of the monthly review meeting."""

    held_on = DateField(
        _l("Date of the meeting"),
        validators=[InputRequired(message=_l("Enter the date.")), DateRange(min=EARLIEST, max=LATEST)],
    )
    attendees = StringField(
        _l("Who attended"), validators=[DataRequired(message=_l("Write who attended.")), Length(max=500)]
    )
    conclusions = TextAreaField(
        _l("Conclusions"),
        validators=[DataRequired(message=_l("Write what the meeting concluded.")), Length(max=4000)],
    )
    actions = TextAreaField(_l("Actions (who does what by when)"), validators=[Optional(), Length(max=4000)])
    submit = SubmitField(_l("Save the record"))
