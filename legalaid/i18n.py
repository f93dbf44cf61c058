"""Languages: Simplified Chinese by default, Traditional Chinese and English on request.

The visitor's choice is kept in a cookie, so it also works at the kiosk without an account.
Dates are written the Chinese way (2026年3月3日 星期二) through Babel.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from babel import support
from babel.dates import format_date, format_datetime
from flask import Blueprint, Flask, current_app, g, has_request_context, redirect, request
from flask_babel import get_locale, pgettext
from werkzeug.wrappers.response import Response
from wtforms.i18n import messages_path

from legalaid.access import public
from legalaid.dates import to_local
from legalaid.extensions import babel
from legalaid.security import local_target

LANG_COOKIE = "lang"
# Each language is named in its own script, as a language menu should.
LANGUAGE_NAMES = {
    "zh_Hans_CN": "简体中文",
    "zh_Hant_TW": "繁體中文",
    "en": "English",
}
_DAY_PATTERNS = {"zh": "y年M月d日 EEEE", "en": "EEEE d MMMM y"}
_MONTH_PATTERNS = {"zh": "y年M月", "en": "MMMM y"}
_DATETIME_PATTERNS = {"zh": "y年M月d日 HH:mm", "en": "d MMM y HH:mm"}

bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    """The language for this request: the cookie's choice, else Simplified Chinese."""
    if not has_request_context():  # CLI and jobs speak the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGE_NAMES:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def series(words: Iterable[object]) -> str:
    """Words one after another as the reader's language lists them (甲、乙、丙 / a, b, c), without the
    "and" of a sentence: the outcomes of a consultation, the weekdays of a station."""
    return pgettext("list separator", ", ").join(str(w) for w in words)


def label_of(table: Mapping[str, Any], code: str | None) -> str:
    """The translated label of `code` in a table of lazy strings, or the code itself if it has none.

    Translated once per request and label: a page of fifty rows asks for the same few labels hundreds
    of times, and each lazy string looks its translation up again (about 10 µs).
    """
    text = table.get(code or "")
    if text is None:
        return code or ""
    if not has_request_context():
        return str(text)
    made: dict[tuple[int, str], str] = g.setdefault("labels", {})
    key = (id(table), code or "")
    if key not in made:
        made[key] = str(text)
    return made[key]


def _pattern(patterns: dict[str, str]) -> tuple[str, str]:
    locale = get_locale()
    language = locale.language if locale else "zh"
    return patterns.get(language, patterns["en"]), str(locale or "zh_Hans_CN")


def format_day(day: date | None) -> str:
    """A local date in the reader's language: 2026年3月3日 星期二 / Tuesday 3 March 2026."""
    if day is None:
        return ""
    pattern, locale = _pattern(_DAY_PATTERNS)
    return format_date(day, pattern, locale=locale)


def format_month(day: date | None) -> str:
    """A month in the reader's language: 2026年3月 / March 2026."""
    if day is None:
        return ""
    pattern, locale = _pattern(_MONTH_PATTERNS)
    return format_date(day, pattern, locale=locale)


def format_clock(instant: datetime | None, tz_name: str | None = None) -> str:
    """The wall-clock time of an instant in the station's zone: 09:30."""
    return f"{to_local(instant, tz_name):%H:%M}" if instant else ""


def format_instant(instant: datetime | None, tz_name: str | None = None) -> str:
    """An aware instant as wall-clock time in the station's zone: 2026年3月3日 09:30."""
    if instant is None:
        return ""
    pattern, locale = _pattern(_DATETIME_PATTERNS)
    return format_datetime(to_local(instant, tz_name), pattern, locale=locale)


@bp.get("/language/<code>")
@public
def set_language(code: str) -> Response:
    """Remember the visitor's language in a cookie and go back where they were."""
    response = redirect(local_target(request.args.get("next")))
    if code in LANGUAGE_NAMES:
        response.set_cookie(
            LANG_COOKIE,
            code,
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="Lax",
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
    return response


# WTForms names its catalogues by territory: ours by script too, which gettext does not match
# (zh_Hant_TW would fall back to zh, the Simplified one).
_WTFORMS_CATALOGUES = {"zh_Hans_CN": "zh", "zh_Hant_TW": "zh_TW"}


@functools.lru_cache(maxsize=8)
def _wtforms_catalogue(locale: str) -> support.NullTranslations:
    name = _WTFORMS_CATALOGUES.get(locale, locale)
    return support.Translations.load(messages_path(), [name], domain="wtforms")


class _FormMessages:
    """WTForms' own messages ("Not a valid choice") in the request's language, read from its catalogue
    once per process and language. Flask-WTF reads `request.wtforms_translations` and, when it is
    missing, loads and parses the catalogue again on every request that shows or checks a form (half a
    millisecond each, on every confirm of a booking rush)."""

    def ugettext(self, string: str) -> str:
        """The message in the request's language."""
        return _wtforms_catalogue(str(get_locale())).ugettext(string)

    def ungettext(self, singular: str, plural: str, n: int) -> str:
        """The message for `n` in the request's language."""
        return _wtforms_catalogue(str(get_locale())).ungettext(singular, plural, n)


_FORM_MESSAGES = _FormMessages()


def _form_messages() -> None:
    request.wtforms_translations = _FORM_MESSAGES  # type: ignore[attr-defined]


def register_i18n(app: Flask) -> None:
    """Bind Babel, the language route and the date filters."""
    babel.init_app(app, locale_selector=select_locale)
    app.before_request(_form_messages)
    app.register_blueprint(bp)
    app.jinja_env.filters["day"] = format_day
    app.jinja_env.filters["instant"] = format_instant
    app.jinja_env.filters["month_title"] = format_month
    app.jinja_env.filters["clock"] = format_clock
    app.jinja_env.globals["LANGUAGE_NAMES"] = LANGUAGE_NAMES
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale())
