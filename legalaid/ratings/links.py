"""The phone rating link: the consultation's id signed with the site's key, valid for `RATING_DAYS`."""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from legalaid.consultations.models import Consultation
from legalaid.db import get_by_id
from legalaid.errors import NotAllowed

# How long after the consultation it may be rated, and how long the phone link works.
RATING_DAYS = 30
LINK_SALT = "legalaid.ratings.link"


class BadLink(NotAllowed):
    """The rating link is not one the station made, or it has expired."""


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=LINK_SALT)


def link_token(consultation: Consultation) -> str:
    """The unguessable part of the rating link: the consultation's id, signed with the site's key."""
    return str(_serializer().dumps(consultation.id))


def consultation_of_token(token: str) -> Consultation:
    """The consultation a rating link is for; BadLink when it was not made here or has expired."""
    try:
        consultation_id = _serializer().loads(token, max_age=RATING_DAYS * 86400)
    except SignatureExpired:
        raise BadLink(_("This rating link has expired.")) from None
    except BadSignature:
        raise BadLink(_("This rating link is not valid. Please check that it was copied whole.")) from None
    consultation = get_by_id(Consultation, consultation_id)
    if consultation is None:
        raise BadLink(_("This rating link is not valid. Please check that it was copied whole."))
    return consultation
