"""The administrator's forms for webhooks."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField, SubmitField
from wtforms.widgets import CheckboxInput, ListWidget

from legalaid.webhooks.labels import EVENT_LABELS


class WebhookForm(FlaskForm):
    """A new endpoint: its name, its address, the events it is told of and, optionally, its one station."""

    name = StringField(_l("Webhook name"))
    url = StringField(_l("Address (URL)"))
    events = SelectMultipleField(
        _l("Events"),
        choices=lambda: [(event, f"{label} ({event})") for event, label in EVENT_LABELS.items()],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validate_choice=False,  # the service says which are wrong, beside the field
    )
    station_id = SelectField(_l("Station"), coerce=int, validate_choice=False)
    submit = SubmitField(_l("Register the webhook"))


class DeactivateWebhookForm(FlaskForm):
    """Stop telling an endpoint anything."""

    submit = SubmitField(_l("Deactivate"))
