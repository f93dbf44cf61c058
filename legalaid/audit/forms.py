"""The audit log's filter form (GET, so no CSRF token)."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField, SubmitField
from wtforms.validators import Length, NumberRange, Optional

from legalaid.db import MAX_ID
from legalaid.forms import DateRange

EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)


class AuditFilterForm(FlaskForm):
    """Who, what, which record, which days."""

    class Meta:
        csrf = False

    actor = StringField(_l("User"), validators=[Optional(), Length(max=64)])
    action = SelectField(_l("Action"), validators=[Optional()])
    target_type = SelectField(_l("Record type"), validators=[Optional()])
    target_id = IntegerField(_l("Record id"), validators=[Optional(), NumberRange(min=1, max=MAX_ID)])
    start_on = DateField(_l("First day"), validators=[Optional(), DateRange(min=EARLIEST, max=LATEST)])
    end_on = DateField(_l("Last day"), validators=[Optional(), DateRange(min=EARLIEST, max=LATEST)])
    submit = SubmitField(_l("Filter"))
