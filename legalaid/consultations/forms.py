"""Forms of the consultation record and the follow-up pages, and the labels they show."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from legalaid.categories import category_choices
from legalaid.consultations.services import Record
from legalaid.i18n import label_of, series

OUTCOME_LABELS = {
    "advice": _l("Legal advice"),
    "legal_aid": _l("Legal-aid referral"),
    "mediation": _l("Mediation"),
    "counselling": _l("Psychological counselling"),
    "drafting": _l("Document drafting"),
    "referral": _l("Referral to another body"),
    "petition": _l("Petition guidance"),
}
RESULT_LABELS = {
    "resolved": _l("Resolved"),
    "legal_aid_granted": _l("Legal aid granted"),
    "mediation_agreement": _l("Mediation agreement reached"),
    "referred": _l("Referred"),
    "withdrawn": _l("Withdrawn"),
    "unresolved": _l("Unresolved"),
}
MILESTONE_LABELS = {
    "submitted": _l("Submitted to the legal-aid centre"),
    "accepted": _l("Accepted"),
    "lawyer_assigned": _l("Lawyer assigned"),
    "concluded": _l("Concluded"),
}
STAGE_LABELS = {
    "done": _l("Advice given; nothing more to follow"),
    "open": _l("Being followed up"),
    "in_progress": _l("Being handled"),
    "closed": _l("Matter closed"),
}


def label(kind: str, code: str | None) -> str:
    """The translated label of an outcome, result, milestone or stage code."""
    table = {
        "outcome": OUTCOME_LABELS,
        "result": RESULT_LABELS,
        "milestone": MILESTONE_LABELS,
        "stage": STAGE_LABELS,
    }
    return label_of(table[kind], code)


def outcome_words(codes: Iterable[str]) -> str:
    """A consultation's outcomes in words, listed as the reader's language does."""
    return series(label_of(OUTCOME_LABELS, code) for code in codes)


class RecordForm(FlaskForm):
    """The consultation record."""

    category = SelectField(_l("Matter"), choices=category_choices)
    summary = TextAreaField(
        _l("The problem"), validators=[DataRequired(message=_l("Write what the problem is."))]
    )
    advice = TextAreaField(_l("Advice given"))
    outcomes = SelectMultipleField(
        _l("Outcomes"),
        choices=lambda: list(OUTCOME_LABELS.items()),
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validators=[DataRequired(message=_l("Choose at least one outcome."))],
    )
    counselling_notes = TextAreaField(_l("Counselling notes (seen only by you and administrators)"))
    follow_up = BooleanField(_l("Needs follow-up"))
    due_on = DateField(_l("Follow up by"), validators=[Optional()])
    # Asked of someone without a booking or a number given with consent (the service decides).
    consent = BooleanField(_l("I read the notice and the person agreed"))
    submit = SubmitField(_l("Save the record"))

    def validate(self, extra_validators: dict | None = None) -> bool:
        """Each field, and a due date for a follow-up, all told at once (the service checks again, and
        that the date is not past: today is the station's)."""
        valid = super().validate(extra_validators)
        if self.follow_up.data and self.due_on.data is None and not self.due_on.errors:
            self.due_on.errors.append(_l("Give the follow-up a due date from today on."))
            return False
        return valid

    def to_record(self) -> Record:
        """The values typed, for the service."""
        return Record(
            category=self.category.data or "",
            summary=self.summary.data or "",
            advice=self.advice.data or "",
            outcomes=list(self.outcomes.data or []),
            counselling_notes=self.counselling_notes.data or "",
            follow_up=bool(self.follow_up.data),
            due_on=self.due_on.data,
        )


class NoteForm(FlaskForm):
    """A note on a matter's timeline, or a legal-aid milestone."""

    text = TextAreaField(_l("Note"))
    milestone = SelectField(_l("Legal-aid step"), choices=lambda: [("", "—"), *MILESTONE_LABELS.items()])
    milestone_on = DateField(_l("Date of the step"), validators=[Optional()])
    submit = SubmitField(_l("Add"))

    def validate(self, extra_validators: dict | None = None) -> bool:
        """A note's text, or a step with its date, each told at once (the service checks again)."""
        valid = super().validate(extra_validators)
        if self.milestone.data and self.milestone_on.data is None and not self.milestone_on.errors:
            self.milestone.errors.append(_l("Choose the step and its date."))
            valid = False
        if not self.milestone.data and not (self.text.data or "").strip():
            self.text.errors.append(_l("Write the note."))
            valid = False
        return valid


class CloseForm(FlaskForm):
    """Close a matter with its result."""

    result = SelectField(
        _l("Result"),
        choices=lambda: [("", "—"), *RESULT_LABELS.items()],
        validators=[DataRequired(message=_l("Choose the result."))],
    )
    money_saved = IntegerField(
        _l("Money recovered or saved (yuan)"),
        validators=[Optional(), NumberRange(min=0, max=10**9)],
    )
    submit = SubmitField(_l("Close the matter"))


class ReassignForm(FlaskForm):
    """Give a matter to another lawyer, or take it."""

    owner_id = SelectField(_l("Owner"), coerce=int)
    submit = SubmitField(_l("Reassign"))


class LeadForm(FlaskForm):
    """领导包案: attach an administrator as the matter's leader."""

    leader_id = SelectField(_l("Leader"), coerce=int)
    submit = SubmitField(_l("Attach as leader"))


class UnleadForm(FlaskForm):
    """End the 包案: the matter has no leader any more."""

    submit = SubmitField(_l("Detach the leader"))
