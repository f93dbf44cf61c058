"""Masking of personal data (PIPL): mobile, ID and other long numbers are shown masked by default."""

from __future__ import annotations

import re

# A run of digits, possibly written in groups ("138 1234 5678", "+86 138-1234-5678") and ending in
# the X of an ID number. Letters glued to it (licence "A123…") stop the match; Chinese text does not.
_NUMBER_RUN = re.compile(r"(?<![0-9A-Za-z])\+?\d(?:[\d \t-]*[\dXx])?")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{2})?$")  # a date, or a date and an hour
_MIN_DIGITS = 7  # shorter numbers (counts, years, room numbers) are not personal
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def is_email(text: str) -> bool:
    """Whether the text looks like one e-mail address (the mail server has the last word)."""
    return bool(_EMAIL.match(text.strip()))


def mask_name(name: str) -> str:
    """王芳 → 王*, 欧阳娜娜 → 欧***: enough for a person to recognise themself on the hall display."""
    return name[:1] + "*" * max(1, len(name) - 1) if name else ""


def mask_mobile(number: str | None) -> str:
    """Show a mobile number as 138****5678."""
    if not number:
        return ""
    digits = re.sub(r"\D", "", number)
    if len(digits) < _MIN_DIGITS:
        return "*" * len(digits)
    return f"{digits[:3]}****{digits[-4:]}"


def _mask_run(match: re.Match[str]) -> str:
    run = match.group(0)
    digits = re.sub(r"[^\dXx]", "", run)
    if len(digits) < _MIN_DIGITS or _ISO_DATE.match(run):
        return run
    if len(digits) >= 15:  # resident ID numbers: region code and last four stay readable
        head, tail = 6, 4
    elif len(digits) >= 11:  # mobile numbers, with or without +86
        head, tail = 3, 4
    else:
        head, tail = 2, 2
    return digits[:head] + "*" * (len(digits) - head - tail) + digits[-tail:]


def mask_text(text: str) -> str:
    """Mask every mobile, ID or other long number inside free text (dates are left alone)."""
    return _NUMBER_RUN.sub(_mask_run, text)
