"""The station settings form."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    Form,
    FormField,
    IntegerField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.fields import FieldList, TimeField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from legalaid.dates import DEFAULT_TIMEZONE, is_valid_timezone
from legalaid.errors import DomainError
from legalaid.forms import show_error
from legalaid.i18n import series
from legalaid.stations.models import Station
from legalaid.stations.services import StationSettings, check_sessions, shift_capacity

MAX_SESSIONS = 3
WEEKDAYS = [
    (1, _l("Monday")),
    (2, _l("Tuesday")),
    (3, _l("Wednesday")),
    (4, _l("Thursday")),
    (5, _l("Friday")),
    (6, _l("Saturday")),
    (7, _l("Sunday")),
]


def weekday_names(days: list[int]) -> str:
    """Translated weekday names joined for display: 星期二、星期四 (Tuesday, Thursday)."""
    names = dict(WEEKDAYS)
    return series(names[d] for d in days if d in names)


class SessionForm(Form):
    """One session: start and end (local wall-clock time); both empty means unused."""

    start = TimeField(_l("From"), validators=[Optional()], format="%H:%M")
    end = TimeField(_l("To"), validators=[Optional()], format="%H:%M")

    def validate(self, extra_validators: dict | None = None) -> bool:
        """A session needs both ends (checked here: Optional() stops the per-field chain)."""
        valid = super().validate(extra_validators)
        if (self.start.data is None) != (self.end.data is None):
            empty = self.end if self.end.data is None else self.start
            empty.errors = [*empty.errors, _l("Enter both the start and the end, or neither.")]
            return False
        return valid


def _known_timezone(form: FlaskForm, field: Field) -> None:
    """An IANA time zone such as Asia/Shanghai (the service checks again)."""
    name = (field.data or "").strip()
    if name and ("/" not in name or not is_valid_timezone(name)):
        raise ValidationError(_("Unknown time zone: %(tz)s.", tz=name))


def _whole(low: int, high: int) -> list:
    message = _l("Enter a whole number from %(min)d to %(max)d.")
    return [InputRequired(message=_l("Enter a number.")), NumberRange(min=low, max=high, message=message)]


class StationForm(FlaskForm):
    """Name, place, duty days, sessions, capacity and booking rules of a station."""

    name = StringField(_l("Station name"), validators=[DataRequired(), Length(max=100)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=200)])
    timezone = StringField(
        _l("Time zone"),
        default=DEFAULT_TIMEZONE,
        validators=[DataRequired(), Length(max=64), _known_timezone],
    )
    duty_weekdays = SelectMultipleField(
        _l("Duty days"),
        choices=WEEKDAYS,
        coerce=int,
        default=[2],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validators=[DataRequired(message=_l("Choose at least one duty weekday."))],
    )
    sessions = FieldList(FormField(SessionForm), min_entries=MAX_SESSIONS, max_entries=MAX_SESSIONS)
    slot_minutes = IntegerField(_l("Slot length (minutes)"), default=30, validators=_whole(5, 240))
    places_per_slot = IntegerField(_l("Places per slot"), default=1, validators=_whole(1, 50))
    walkin_reserve = IntegerField(
        _l("Places kept for walk-ins per shift"), default=2, validators=_whole(0, 500)
    )
    booking_window_days = IntegerField(
        _l("Booking opens (days ahead)"), default=28, validators=_whole(1, 366)
    )
    booking_cutoff_hours = IntegerField(
        _l("Booking closes (hours before)"), default=2, validators=_whole(0, 168)
    )
    retention_years = IntegerField(_l("Keep personal data (years)"), default=3, validators=_whole(1, 30))
    queue_opens_minutes = IntegerField(
        _l("Queue numbers from (minutes before the first session)"), default=60, validators=_whole(0, 720)
    )
    swap_auto_approve = BooleanField(_l("Approve swaps automatically once the colleague accepts"))
    submit = SubmitField(_l("Save"))

    def validate(self, extra_validators: dict | None = None) -> bool:
        """Each field alone, then the sessions against the slot length and the walk-in places against the
        shift's, so that every wrong field is told at once (the service checks all again)."""
        valid = super().validate(extra_validators)
        if self.sessions.errors or self.slot_minutes.errors:
            return valid
        settings = self.to_settings()
        try:
            check_sessions(settings.sessions, settings.slot_minutes)
        except DomainError as error:
            show_error(self, error, beside_others=False)
            return False
        if not (self.places_per_slot.errors or self.walkin_reserve.errors):
            capacity = shift_capacity(settings.sessions, settings.slot_minutes, settings.places_per_slot)
            if settings.walkin_reserve > capacity:
                self.walkin_reserve.errors.append(
                    _("A shift has only %(n)d places; fewer can be kept for walk-ins.", n=capacity)
                )
                return False
        return valid

    def fill_from(self, station: Station) -> None:
        """Show a station's current settings."""
        settings = StationSettings.of(station)
        for name in (
            "name",
            "address",
            "timezone",
            "duty_weekdays",
            "slot_minutes",
            "places_per_slot",
            "walkin_reserve",
            "booking_window_days",
            "booking_cutoff_hours",
            "retention_years",
            "queue_opens_minutes",
            "swap_auto_approve",
        ):
            getattr(self, name).data = getattr(settings, name)
        self.fill_sessions(settings.sessions)

    def fill_sessions(self, sessions: list) -> None:
        """Put sessions into the fixed number of rows."""
        for entry, (start, end) in zip(self.sessions.entries, sessions, strict=False):
            entry.form.start.data = start
            entry.form.end.data = end

    def to_settings(self) -> StationSettings:
        """The values typed, as plain settings for the service."""
        return StationSettings(
            name=self.name.data or "",
            address=self.address.data or "",
            timezone=(self.timezone.data or "").strip(),
            duty_weekdays=list(self.duty_weekdays.data or []),
            sessions=[
                (entry.form.start.data, entry.form.end.data)
                for entry in self.sessions.entries
                if entry.form.start.data is not None and entry.form.end.data is not None
            ],
            slot_minutes=self.slot_minutes.data,
            places_per_slot=self.places_per_slot.data,
            walkin_reserve=self.walkin_reserve.data,
            booking_window_days=self.booking_window_days.data,
            booking_cutoff_hours=self.booking_cutoff_hours.data,
            retention_years=self.retention_years.data,
            queue_opens_minutes=self.queue_opens_minutes.data,
            swap_auto_approve=bool(self.swap_auto_approve.data),
        )


class ReplanForm(FlaskForm):
    """The button that gives booked days the new plan, each booking kept at its time."""

    submit = SubmitField(_l("Re-plan these days, keeping every booking at its time"))
