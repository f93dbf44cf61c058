"""Small helpers shared by the forms of every feature."""

from __future__ import annotations

from flask_wtf import FlaskForm

from legalaid.errors import DomainError


def show_error(form: FlaskForm, error: DomainError) -> None:
    """Put a service's error next to the field it concerns (or at the top of the form)."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)
