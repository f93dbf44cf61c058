"""Forms of the swap flow."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import Length, Optional


class SwapRequestForm(FlaskForm):
    """Hand a shift to a colleague (0 = any colleague)."""

    to_lawyer_id = SelectField(_l("Colleague"), coerce=int)
    note = StringField(_l("Note"), validators=[Optional(), Length(max=200)])
    submit = SubmitField(_l("Ask for the swap"))


class DecisionForm(FlaskForm):
    """A decision button with an optional note."""

    note = StringField(_l("Note"), validators=[Optional(), Length(max=200)])
    submit = SubmitField(_l("Confirm"))


SWAP_STATE_LABELS = {
    "requested": _l("waiting for the colleague"),
    "accepted": _l("waiting for approval"),
    "approved": _l("approved"),
    "declined": _l("declined"),
    "rejected": _l("rejected"),
    "cancelled": _l("withdrawn"),
}


def swap_state(status: str) -> str:
    """The translated name of a swap's state."""
    return str(SWAP_STATE_LABELS.get(status, status))
