"""The booking steps' form: one form whose fields travel as hidden inputs from step to step,
so nothing a visitor typed is kept on the server or in a cookie before the booking is made."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, StringField, SubmitField
from wtforms.validators import Optional, ValidationError

from legalaid.bookings.forms import BookingFieldsForm

STEPS = ("details", "about", "consent", "confirm")


class VisitForm(BookingFieldsForm):
    """Everything the veteran gives, filled in over several screens."""

    step = HiddenField(default="details")
    category = HiddenField()
    name = StringField(_l("Your name"))
    consent = BooleanField(_l("I agree"))
    back = SubmitField(_l("Back"))
    submit = SubmitField(_l("Next"))


class LookupForm(FlaskForm):
    """Find a booking again: its code and the last four digits of the mobile."""

    code = StringField(_l("Booking code"))
    last4 = StringField(_l("Last 4 digits of your mobile"))
    submit = SubmitField(_l("Find my booking"))


class CancelForm(FlaskForm):
    """Cancel with a reason."""

    reason = StringField(_l("Why do you cancel?"))
    submit = SubmitField(_l("Cancel the booking"))


class MoveForm(FlaskForm):
    """Move to another slot."""

    slot_id = IntegerField(validators=[Optional()])
    submit = SubmitField(_l("Move here"))


# The kiosk's cancellation reasons: tapped, never typed (the kiosk has no keyboard). The code travels in
# the form; the booking keeps the words (see `kiosk.lookup.reason_words`).
CANCEL_REASONS = {
    "clash": _l("The time clashes with something else"),
    "solved": _l("My problem is solved"),
    "health": _l("Health reasons"),
    "wrong_time": _l("I booked the wrong time"),
    "other": _l("Another reason"),
}


def _known_reason(form: FlaskForm, field: HiddenField) -> None:
    if field.data not in CANCEL_REASONS:
        raise ValidationError(_l("Choose a reason from the list."))


class KioskCancelForm(FlaskForm):
    """Cancel at the kiosk, with a reason chosen from a short list."""

    reason = HiddenField(validators=[_known_reason])
    submit = SubmitField(_l("Yes, cancel it"))


class EnrolForm(FlaskForm):
    """Enrol the browser this page is open in as a station's kiosk."""

    name = StringField(_l("Name of this kiosk"))
    station_id = SelectField(_l("Station"), coerce=int, validate_choice=False)
    submit = SubmitField(_l("Enrol this device"))


class RevokeForm(FlaskForm):
    """Stop a kiosk being the hall's kiosk."""

    submit = SubmitField(_l("Revoke"))
