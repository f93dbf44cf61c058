"""Masking of personal data (PIPL): mobile numbers and ID numbers are shown masked by default."""

from __future__ import annotations

import re

# Mainland mobile numbers (11 digits starting 1[3-9]) and resident ID numbers (17 digits + digit/X).
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
_ID_NUMBER = re.compile(r"(?<![\dXx])(\d{6})(\d{8})(\d{3}[\dXx])(?![\dXx])")
# Any other long run of digits (veteran-card numbers, landlines with area code …).
_LONG_DIGITS = re.compile(r"(?<!\d)(\d{2})(\d{4,})(\d{2})(?!\d)")


def mask_mobile(number: str | None) -> str:
    """Show a mobile number as 138****5678."""
    if not number:
        return ""
    digits = re.sub(r"\D", "", number)
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}****{digits[-4:]}"


def mask_text(text: str) -> str:
    """Mask every mobile, ID or other long number inside free text."""
    text = _ID_NUMBER.sub(lambda m: f"{m.group(1)}{'*' * 8}{m.group(3)}", text)
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    return _LONG_DIGITS.sub(lambda m: f"{m.group(1)}{'*' * len(m.group(2))}{m.group(3)}", text)
