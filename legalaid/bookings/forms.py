"""The desk's forms: a booking taken by telephone, and a walk-in registered at the counter."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import Optional

from legalaid.bookings.models import HOTLINE, PHONE, STAFF
from legalaid.bookings.services import BookingRequest
from legalaid.categories import category_choices


class BookingFieldsForm(FlaskForm):
    """What any booking asks of a person; the kiosk's steps and the desk's form add their own parts."""

    slot_id = IntegerField(_l("Time"), validators=[Optional()])
    name = StringField(_l("Name"))
    mobile = StringField(_l("Mobile number"))
    id_number = StringField(_l("ID number (optional)"))
    veteran_card_no = StringField(_l("Veteran card number (optional)"))
    description = TextAreaField(_l("What is it about? (optional, at most 500 characters)"))
    key = HiddenField()

    def to_request(self, channel: str) -> BookingRequest:
        """The values typed, as a booking request for the service."""
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


class DeskBookingForm(BookingFieldsForm):
    """A booking the desk takes for a caller (telephone, the 12345 hotline) or in person."""

    channel = SelectField(
        _l("Came through"),
        choices=[(PHONE, _l("Telephone")), (HOTLINE, _l("12345 hotline")), (STAFF, _l("At the desk"))],
    )
    category = SelectField(_l("Matter"), choices=category_choices)
    consent = BooleanField(_l("I read the notice and the person agreed"))
    submit = SubmitField(_l("Book"))


class WalkInForm(FlaskForm):
    """A walk-in number, with a name and matter if the person gives them."""

    name = StringField(_l("Name (optional)"))
    mobile = StringField(_l("Mobile number (optional)"))
    category = SelectField(_l("Matter"), choices=lambda: [("", "—"), *category_choices()], default="")
    # Needed with a mobile number (the person is then remembered); a name alone for the queue needs none.
    consent = BooleanField(_l("I read the notice and the person agreed"))
    submit = SubmitField(_l("Give a number"))


class ReasonForm(FlaskForm):
    """A reason, for a cancellation by the desk."""

    reason = StringField(_l("Reason"))
    submit = SubmitField(_l("Cancel the booking"))


BOOKING_STATE_LABELS = {
    "booked": _l("booked"),
    "checked_in": _l("arrived"),
    # The consultation took place; the matter itself may still be followed up, so not "closed".
    "completed": _l("consulted"),
    "cancelled": _l("cancelled"),
    "no_show": _l("did not come"),
}


def booking_state(status: str) -> str:
    """The translated name of a booking's state."""
    return str(BOOKING_STATE_LABELS.get(status, status))
