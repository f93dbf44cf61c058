"""The cursors of the API's lists: a signed keyset position (the last item's sort value and id).

Keyset, not offset: a page never repeats or skips an item when rows are added before it. Signed
(itsdangerous, with SECRET_KEY): a client can only hand back what the server gave. A cursor that does
not verify or does not fit the list answers 400 `invalid_cursor`. The signed empty position `[]` is
the first page, like an absent cursor.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer

from legalaid.api.problems import ApiProblem

SALT = "legalaid-api-cursor"
T = TypeVar("T")


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(str(current_app.config["SECRET_KEY"]), salt=SALT)


def encode(value: str, item_id: int) -> str:
    """The cursor of the page after the item with this sort value and id."""
    return str(_serializer().dumps([value, item_id]))


def _invalid() -> ApiProblem:
    return ApiProblem(
        400,
        "invalid_cursor",
        _("The cursor is not one this list gave; start again from the first page."),
        errors=[{"field": "cursor", "code": "invalid_cursor", "reason": "not a cursor of this list"}],
    )


def decode(text: str, read: Callable[[Any], T]) -> tuple[T, int] | None:
    """The position a cursor names (None: the first page); `read` turns its sort value back into one."""
    if not text:
        return None
    try:
        payload = _serializer().loads(text)
    except BadSignature:
        raise _invalid() from None
    if payload == []:
        return None
    if not (isinstance(payload, list) and len(payload) == 2) or type(payload[1]) is not int:
        raise _invalid()
    try:
        return read(payload[0]), payload[1]
    except (TypeError, ValueError):
        raise _invalid() from None


def read_text(value: Any) -> str:
    """A sort value that is text."""
    if not isinstance(value, str):
        raise TypeError("not text")
    return value


def read_day(value: Any) -> date:
    """A sort value that is a date (YYYY-MM-DD)."""
    return date.fromisoformat(read_text(value))


def read_instant(value: Any) -> datetime:
    """A sort value that is an aware instant."""
    instant = datetime.fromisoformat(read_text(value))
    if instant.tzinfo is None:
        raise ValueError("naive")
    return instant
