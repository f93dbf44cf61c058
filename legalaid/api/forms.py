"""The administrator's forms for API keys."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, SelectMultipleField, StringField, SubmitField
from wtforms.widgets import CheckboxInput, ListWidget

from legalaid.api.models import BOOKINGS_WRITE, REPORTS_READ, ROSTER_READ, SLOTS_READ

# How the bookings a key makes are recorded (legalaid.api.models.KEY_CHANNELS).
CHANNEL_LABELS = {
    "hotline": _l("By the 12345 hotline (the caller agreed on the telephone)"),
    "online": _l("Online, by the veteran themself (a mini-program)"),
}

# What each scope lets a key do, in words (the page and the audit log).
SCOPE_LABELS = {
    ROSTER_READ: _l("Read the duty roster"),
    SLOTS_READ: _l("Read the free slots"),
    BOOKINGS_WRITE: _l("Book, look up, move and cancel for a veteran"),
    REPORTS_READ: _l("Read the annual and monthly figures"),
}


class ApiKeyForm(FlaskForm):
    """A new key: its name, what it may do and, optionally, the one station it is for."""

    name = StringField(_l("Key name"))
    scopes = SelectMultipleField(
        _l("Permissions"),
        choices=lambda: [(scope, f"{label} ({scope})") for scope, label in SCOPE_LABELS.items()],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validate_choice=False,  # the service says which are wrong, beside the field
    )
    station_id = SelectField(_l("Station"), coerce=int, validate_choice=False)
    channel = SelectField(
        _l("Its bookings are made"), choices=lambda: list(CHANNEL_LABELS.items()), validate_choice=False
    )
    # Checked by the service (1 to 6000), beside the field; a word instead of a number is said here.
    rate_per_minute = IntegerField(
        _l("Calls a minute"), default=60, render_kw={"inputmode": "numeric", "min": 1, "max": 6000}
    )
    submit = SubmitField(_l("Create the key"))


class RevokeKeyForm(FlaskForm):
    """Stop a key working."""

    submit = SubmitField(_l("Revoke"))
