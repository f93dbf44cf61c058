"""The rules for what a veteran types: name, mainland mobile, ID number (GB 11643), description."""

from __future__ import annotations

import re
import unicodedata

from flask_babel import gettext as _

from legalaid.categories import MATTER_CATEGORIES
from legalaid.errors import InvalidInput

# ASCII digits only: \d would also accept Arabic-Indic and other scripts' digits.
MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
ID_NUMBER = re.compile(r"^[0-9]{17}[0-9X]$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def clean_text(value: str | None) -> str:
    """Trim, normalise full-width forms (ｌ２３ → l23) and drop control characters."""
    text = unicodedata.normalize("NFKC", value or "")
    return "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch in "\n").strip()


def clean_prose(value: str | None) -> str:
    """Trim and drop control characters, keeping the text as typed (Chinese punctuation included)."""
    text = value or ""
    return "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch in "\n").strip()


def id_check_digit(first17: str) -> str:
    """The GB 11643 check character of the first 17 digits of a resident ID number."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def valid_id_number(value: str) -> bool:
    """Whether an 18-character resident ID number has a valid check character."""
    return bool(ID_NUMBER.match(value)) and id_check_digit(value[:17]) == value[17]


def check_name(name: str) -> str:
    """A name of 2 to 30 characters."""
    name = clean_text(name)
    if not 2 <= len(name) <= 30:
        raise InvalidInput(_("Enter a name of 2 to 30 characters."), field="name")
    return name


def check_mobile(mobile: str) -> str:
    """A mainland mobile number: 11 digits starting 13–19."""
    digits = re.sub(r"[\s-]", "", clean_text(mobile))
    if not MOBILE.match(digits):
        raise InvalidInput(_("Enter an 11-digit mobile number starting with 1."), field="mobile")
    return digits


def check_id_number(value: str | None) -> str | None:
    """An optional resident ID number: 18 characters with a valid check digit."""
    value = clean_text(value).upper()
    if not value:
        return None
    if not valid_id_number(value):
        raise InvalidInput(_("This ID number is not valid; check it or leave it empty."), field="id_number")
    return value


def check_card_number(value: str | None) -> str | None:
    """An optional veteran-card number (letters and digits, up to 30)."""
    value = clean_text(value).upper()
    if not value:
        return None
    if len(value) > 30 or not re.fullmatch(r"[0-9A-Z-]+", value):
        raise InvalidInput(
            _("Enter the card number as printed (letters and digits)."), field="veteran_card_no"
        )
    return value


def check_description(value: str | None) -> str:
    """An optional description of at most 500 characters."""
    value = clean_text(value)
    if len(value) > 500:
        raise InvalidInput(_("Write at most 500 characters."), field="description")
    return value


def check_category(value: str | None) -> str:
    """One of the matter categories."""
    if value not in MATTER_CATEGORIES:
        raise InvalidInput(_("Choose what your matter is about."), field="category")
    return value
