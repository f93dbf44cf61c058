"""The outbox page's filter and the labels of kinds, statuses and channels."""

from __future__ import annotations

import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, SubmitField
from wtforms.validators import Optional

from legalaid.audit.forms import EARLIEST, LATEST
from legalaid.forms import DateRange
from legalaid.reminders.models import BOOKING_CHANGED, LAWYER_CHANGED, LOST_CLAIM, STALE
from legalaid.reminders.queueing import OVER_CAP

KIND_LABELS: dict[str, object] = {
    "booking_confirmed": _l("Booking confirmed"),
    "booking_moved": _l("Booking moved"),
    "booking_cancelled": _l("Booking cancelled"),
    "booking_closed": _l("Booking cancelled: station closed"),
    "shift_conflict": _l("Duty lawyer needs replacing"),
    "duty_cancelled": _l("Duty day off: station closed"),
    "booking_eve": _l("Veteran: the day before"),
    "booking_day": _l("Veteran: on the day"),
    "lawyer_changed": _l("Veteran: lawyer changed"),
    "duty_week": _l("Duty lawyer: a week before"),
    "duty_soon": _l("Duty lawyer: a few days before (shift given later)"),
    "duty_eve": _l("Duty lawyer: the working day before"),
    "duty_morning": _l("Duty lawyer: on the morning"),
    "matter_due": _l("Follow-up falls due"),
    "matter_overdue": _l("Follow-up overdue"),
    "matter_assigned": _l("Follow-up handed over"),
    "matter_leader": _l("Follow-up: leader attached"),
    "contract_ending": _l("Contract ending"),
    "monthly_review": _l("Monthly review"),
    "swap_asked": _l("Swap: the colleague asked"),
    "swap_offered": _l("Swap: offered to colleagues"),
    "swap_accepted": _l("Swap: waits for approval"),
    "swap_approved": _l("Swap: approved"),
    "swap_rejected": _l("Swap: not approved"),
    "swap_refused": _l("Swap: refused, the shift changed hands"),
    "swap_declined": _l("Swap: declined by the colleague"),
    "swap_withdrawn": _l("Swap: withdrawn"),
    "test": _l("Test message"),
}
STATUS_LABELS: dict[str, object] = {
    "pending": _l("Waiting"),
    "sending": _l("Sending"),
    "sent": _l("Sent"),
    "failed": _l("Failed"),
    "expired": _l("Expired"),
    "unknown": _l("Unknown: check"),
}
CHANNEL_LABELS: dict[str, object] = {"log": _l("Log file"), "email": _l("E-mail"), "sms": _l("SMS")}


_NOTES: dict[str, object] = {
    LOST_CLAIM: _l("Claimed but never confirmed: check whether it arrived."),
    STALE: _l("No longer worth sending."),
    BOOKING_CHANGED: _l("The booking changed before it was sent."),
    LAWYER_CHANGED: _l("The shift's lawyer changed before it was sent."),
    OVER_CAP: _l("Not sent: this recipient has had as many messages today as allowed."),
}
_ATTEMPT = re.compile(r"^attempt (\d+)(?:: (.*))?$", re.DOTALL)
_AGAIN = re.compile(r"^sent again by (.*)$")


def outbox_detail(text: str | None) -> str:
    """A message's note or history entry in the reader's language (senders' errors stay as they are)."""
    text = text or ""
    if text in _NOTES:
        return str(_NOTES[text])
    if match := _ATTEMPT.match(text):
        number, error = match.groups()
        said = _("Attempt %(n)s", n=number)
        return f"{said}: {error}" if error else said
    if match := _AGAIN.match(text):
        return _("Sent again by %(name)s", name=match.group(1))
    return text


def outbox_label(kind: str, code: str | None) -> str:
    """The translated label of a message kind, status or channel code."""
    table = {"kind": KIND_LABELS, "status": STATUS_LABELS, "channel": CHANNEL_LABELS}[kind]
    return str(table.get(code or "", code or ""))


class OutboxFilterForm(FlaskForm):
    """Which messages: by status, kind, channel and due date (GET, so no CSRF token)."""

    class Meta:
        csrf = False

    status = SelectField(
        _l("Status"), choices=lambda: [("", "—"), *STATUS_LABELS.items()], validators=[Optional()]
    )
    kind = SelectField(_l("Kind"), choices=lambda: [("", "—"), *KIND_LABELS.items()], validators=[Optional()])
    channel = SelectField(
        _l("Channel"), choices=lambda: [("", "—"), *CHANNEL_LABELS.items()], validators=[Optional()]
    )
    start_on = DateField(_l("Due from"), validators=[Optional(), DateRange(min=EARLIEST, max=LATEST)])
    end_on = DateField(_l("Due until"), validators=[Optional(), DateRange(min=EARLIEST, max=LATEST)])
    submit = SubmitField(_l("Filter"))


class ResendForm(FlaskForm):
    """Send a failed or unknown message again."""

    submit = SubmitField(_l("Send again"))
