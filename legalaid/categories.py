"""Matter categories (事项类别): what a veteran's problem is about. Used for lawyers' specialties
and, later, for consultations and statistics. The codes are stored; the labels are translated."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from legalaid.i18n import label_of

MATTER_CATEGORIES: dict[str, object] = {
    "resettlement": _l("Resettlement"),
    "employment": _l("Employment and business"),
    "pensions": _l("Pensions and preferential treatment"),
    "social_insurance": _l("Social insurance"),
    "disability": _l("Disability rating"),
    "labour": _l("Labour dispute"),
    "family": _l("Marriage and family"),
    "housing": _l("Housing and land"),
    "contracts": _l("Contracts and debts"),
    "injury": _l("Personal injury"),
    "petitions": _l("Petitions"),
    "other": _l("Other"),
}


def category_choices() -> list[tuple[str, object]]:
    """The categories as (code, translated label) pairs, in the order above."""
    return list(MATTER_CATEGORIES.items())


def category_label(code: str) -> str:
    """The translated label of a category code."""
    return label_of(MATTER_CATEGORIES, code)
