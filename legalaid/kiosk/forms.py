"""The booking steps' form: one form whose fields travel as hidden inputs from step to step,
so nothing a visitor typed is kept on the server or in a cookie before the booking is made."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, StringField, SubmitField, TextAreaField
from wtforms.validators import Optional

from legalaid.bookings.services import BookingRequest

STEPS = ("details", "about", "consent", "confirm")


class VisitForm(FlaskForm):
    """Everything the veteran gives, filled in over several screens."""

    step = HiddenField(default="details")
    slot_id = IntegerField(validators=[Optional()])
    category = HiddenField()
    name = StringField(_l("Your name"))
    mobile = StringField(_l("Mobile number"))
    id_number = StringField(_l("ID number (optional)"))
    veteran_card_no = StringField(_l("Veteran card number (optional)"))
    description = TextAreaField(_l("What is it about? (optional, at most 500 characters)"))
    consent = BooleanField(_l("I agree"))
    key = HiddenField()
    back = SubmitField(_l("Back"))
    submit = SubmitField(_l("Next"))

    def to_request(self, channel: str) -> BookingRequest:
        """The values gathered so far, as a booking request."""
        return BookingRequest(
            slot_id=self.slot_id.data or 0,
            name=self.name.data or "",
            mobile=self.mobile.data or "",
            category=self.category.data or "",
            channel=channel,
            idempotency_key=self.key.data or "",
            consent=bool(self.consent.data),
            description=self.description.data or "",
            id_number=self.id_number.data or None,
            veteran_card_no=self.veteran_card_no.data or None,
        )


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
