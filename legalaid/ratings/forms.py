"""The rating form (kiosk and phone), the reply form, and the words for levels, reasons and channels."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectMultipleField, SubmitField, TextAreaField
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput, ListWidget

from legalaid.ratings.models import GOOD_REASONS, LEVELS, POOR_REASONS, REASONS

# The government 好差评 wording of the five levels.
LEVEL_LABELS: dict[int, object] = {
    5: _l("Very satisfied"),
    4: _l("Satisfied"),
    3: _l("Fairly satisfied"),
    2: _l("Dissatisfied"),
    1: _l("Very dissatisfied"),
}
REASON_LABELS: dict[str, object] = {
    "warm": _l("Warm and friendly"),
    "expert": _l("Expert answers"),
    "short_wait": _l("Short wait"),
    "efficient": _l("Quick and efficient"),
    "long_wait": _l("Long wait"),
    "attitude": _l("Unfriendly attitude"),
    "unclear": _l("Answers not clear"),
    "unsolved": _l("Problem not solved"),
    "other": _l("Something else"),
}
CHANNEL_LABELS: dict[str, object] = {"kiosk": _l("Kiosk"), "phone": _l("Phone link")}


def rating_label(kind: str, code: object) -> str:
    """The words for a level, a reason or a channel (`rating_label('level', 5)` → 非常满意)."""
    if kind == "level":
        text = str(code)
        return str(LEVEL_LABELS.get(int(text), text)) if text.isdigit() else text
    table: dict[str, object] = REASON_LABELS if kind == "reason" else CHANNEL_LABELS
    return str(table.get(str(code), code))


class MultiCheckboxField(SelectMultipleField):
    """Several choices as checkboxes (the reasons, shown as big toggle buttons)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class RatingForm(FlaskForm):
    """How satisfied the veteran is, why, and (optionally) a comment."""

    level = RadioField(
        _l("How satisfied are you with this consultation?"),
        choices=[(str(level), LEVEL_LABELS[level]) for level in LEVELS],
        validators=[Optional()],
    )
    reasons = MultiCheckboxField(
        _l("Why? (tick any)"),
        choices=[(code, REASON_LABELS[code]) for code in REASONS],
        validators=[Optional()],
    )
    comment = TextAreaField(_l("Anything else you want to tell us (optional)"), validators=[Optional()])
    submit = SubmitField(_l("Send my rating"))

    def good_reasons(self) -> tuple[str, ...]:
        """The reasons shown with a good rating."""
        return GOOD_REASONS

    def poor_reasons(self) -> tuple[str, ...]:
        """The reasons shown with a poor rating."""
        return POOR_REASONS


class ReplyForm(FlaskForm):
    """The administrator's reply to a poor rating: what was done about it."""

    reply = TextAreaField(_l("Reply (what was done about it)"), validators=[Optional()])
    submit = SubmitField(_l("Record the reply"))
