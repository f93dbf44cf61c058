"""A list's cursor hands back only what the server gave: a signed position of the right shape and kind
(text, a day, an aware instant); anything else is 400 `invalid_cursor`, never a 500."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from itsdangerous import URLSafeSerializer

from legalaid.api import cursors
from legalaid.api.problems import ApiProblem


def _signed(app, payload) -> str:
    return URLSafeSerializer(app.config["SECRET_KEY"], salt=cursors.SALT).dumps(payload)


def test_a_cursor_gives_back_the_position_it_was_made_from(app):
    assert cursors.decode(cursors.encode("甲站", 7), cursors.read_text) == ("甲站", 7)
    assert cursors.decode(cursors.encode("2026-03-17", 3), cursors.read_day) == (date(2026, 3, 17), 3)
    instant = datetime(2026, 3, 17, 1, 0, tzinfo=UTC)
    assert cursors.decode(cursors.encode(instant.isoformat(), 9), cursors.read_instant) == (instant, 9)
    assert cursors.decode("", cursors.read_text) is None
    assert cursors.decode(_signed(app, []), cursors.read_text) is None  # the first page


@pytest.mark.parametrize(
    ("payload", "read"),
    [
        ({"a": 1}, cursors.read_text),  # not a position
        (["x", "1"], cursors.read_text),  # an id that is not a number
        (["x", 1, 2], cursors.read_text),  # the wrong length
        ([5, 1], cursors.read_text),  # a number where text was kept
        (["17 March", 1], cursors.read_day),  # not a day
        (["2026-03-17T09:00:00", 1], cursors.read_instant),  # an instant without its offset
    ],
)
def test_a_signed_cursor_of_another_shape_is_refused(app, payload, read):
    with pytest.raises(ApiProblem) as refused:
        cursors.decode(_signed(app, payload), read)
    assert (refused.value.status, refused.value.code) == (400, "invalid_cursor")


def test_a_cursor_signed_with_another_secret_is_refused(app):
    forged = URLSafeSerializer("not the site's secret", salt=cursors.SALT).dumps(["甲站", 1])
    with pytest.raises(ApiProblem) as refused:
        cursors.decode(forged, cursors.read_text)
    assert refused.value.code == "invalid_cursor"
