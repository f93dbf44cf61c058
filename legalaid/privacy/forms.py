"""The form that asks why a number is needed before it is shown in full."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
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
