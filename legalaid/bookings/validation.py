"""The rules for what a veteran types: name, mainland mobile, ID number (GB 11643), description."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta

from flask_babel import gettext as _
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from legalaid.categories import MATTER_CATEGORIES
from legalaid.dates import now_utc
from legalaid.errors import InvalidInput, Problems

# ASCII digits only: \d would also accept Arabic-Indic and other scripts' digits.
MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
ID_NUMBER = re.compile(r"^[0-9]{17}[0-9X]$")
ASCII_DIGITS = frozenset("0123456789")
EARLIEST_BIRTH = date(1900, 1, 1)


def clean_text(value: str | None) -> str:
    """For codes typed by people (a booking code, a card number): trim, normalise full-width forms
    (ｌ２３ → l23) and drop control characters. Never for prose: it rewrites Chinese punctuation."""
    text = unicodedata.normalize("NFKC", value or "")
    return "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch in "\n").strip()


def clean_prose(value: str | None) -> str:
    """Trim and drop control characters, keeping the text as typed (Chinese punctuation included)."""
    text = value or ""
    return "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch in "\n").strip()


def has_foreign_digits(value: str | None) -> bool:
    """Whether the text has digits other than 0–9: full-width (１２３), Arabic-Indic (١٢٣) and the like."""
    return any(unicodedata.category(ch) == "Nd" and ch not in ASCII_DIGITS for ch in value or "")


def check_ascii_digits(value: str | None, field: str) -> None:
    """Refuse a number typed with other digits than 0–9, saying so (they look right but are not)."""
    if has_foreign_digits(value):
        raise InvalidInput(
            _("Type the number with the digits 0–9 (not full-width or other digits)."), field=field
        )


def id_check_digit(first17: str) -> str:
    """The GB 11643 check character of the first 17 digits of a resident ID number."""
    return ric.calc_check_digit(first17 + "0")


def valid_id_number(value: str, today: date | None = None) -> bool:
    """Whether an 18-character resident ID number has a valid check character and a real birth date
    (GB 11643; not the birthplace: retired area codes stay on people's cards)."""
    if not ID_NUMBER.match(value) or ric.calc_check_digit(value) != value[17]:
        return False
    try:
        born = ric.get_birth_date(value)
    except ValidationError:
        return False
    return EARLIEST_BIRTH <= born <= (today or date.max)


def check_name(name: str, field: str = "name") -> str:
    """A name of 2 to 30 characters, kept as typed (a middle dot or an ethnic name's spelling included)."""
    name = clean_prose(name)
    if not 2 <= len(name) <= 30:
        raise InvalidInput(_("Enter a name of 2 to 30 characters."), field=field)
    return name


def check_mobile(mobile: str | None, field: str = "mobile") -> str:
    """A mainland mobile number: 11 digits 0–9 starting 13–19 (spaces and dashes are dropped)."""
    text = clean_prose(mobile)
    check_ascii_digits(text, field)
    digits = re.sub(r"[\s-]", "", text)
    if not MOBILE.match(digits):
        raise InvalidInput(_("Enter an 11-digit mobile number starting with 1."), field=field)
    return digits


def check_id_number(value: str | None) -> str | None:
    """An optional resident ID number: 18 characters, a valid check digit and a real birth date."""
    value = re.sub(r"\s", "", clean_prose(value)).upper()
    if not value:
        return None
    check_ascii_digits(value, "id_number")
    # A birth date after tomorrow (UTC) is a mistake on any clock of the world.
    if not valid_id_number(value, today=(now_utc() + timedelta(days=1)).date()):
        raise InvalidInput(_("This ID number is not valid; check it or leave it empty."), field="id_number")
    return value


def check_card_number(value: str | None) -> str | None:
    """An optional veteran-card number (letters and digits 0–9, up to 30; full-width letters are
    read as the letters they show)."""
    check_ascii_digits(value, "veteran_card_no")
    value = clean_text(value).upper()
    if not value:
        return None
    if len(value) > 30 or not re.fullmatch(r"[0-9A-Z-]+", value):
        raise InvalidInput(
            _("Enter the card number as printed (letters and digits)."), field="veteran_card_no"
        )
    return value


def check_description(value: str | None) -> str:
    """An optional description of at most 500 characters, kept as typed."""
    value = clean_prose(value)
    if len(value) > 500:
        raise InvalidInput(_("Write at most 500 characters."), field="description")
    return value


def check_category(value: str | None) -> str:
    """One of the matter categories."""
    if value not in MATTER_CATEGORIES:
        raise InvalidInput(_("Choose what your matter is about."), field="category")
    return value


def check_walkin(name: str | None, mobile: str | None, category: str | None) -> tuple[str, str | None, str]:
    """What the desk may give with a walk-in number, every problem at once: (name, mobile, category).

    All are optional; a mobile number needs the name it belongs to (the person is then remembered).
    """
    problems = Problems()
    typed_name, typed_mobile = clean_prose(name), clean_prose(mobile)
    given = problems.check(lambda: check_name(typed_name), typed_name) if typed_name or typed_mobile else ""
    number = problems.check(lambda: check_mobile(typed_mobile)) if typed_mobile else None
    matter = problems.check(lambda: check_category(category), "") if category else ""
    problems.raise_any()
    return given, number, matter
