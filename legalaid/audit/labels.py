"""The audit log's words: one registry of the labels of actions, record types and details, filled by each
feature beside its code (`legalaid/<feature>/labels.py`), and the helpers that say a detail's value in
the reader's language (dates as dates, codes as their names, yes/no as words — never a Python value).

Every label is a lazy string, so an entry reads in whatever language the page is shown in; the details
themselves stay plain values in the database (codes, ISO dates, ids), written once in no language.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from babel.lists import format_list
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from legalaid.i18n import format_day, format_instant, format_month

Show = Callable[[Any], str]


@dataclass(frozen=True)
class Detail:
    """How one detail of an entry reads: its label (None: the value is a sentence of its own), how its
    value is said (None: as plain words), and what to say when it is empty (None: nothing)."""

    label: object | None
    show: Show | None = None
    empty: object | None = None


@dataclass(frozen=True)
class Line:
    """One detail as the page shows it: a label and its value, or (no label) a sentence."""

    label: str
    value: str


# Kept as plain dicts: older code adds to them directly (`legalaid.audit.services.ACTION_LABELS`).
ACTIONS: dict[str, object] = {}
ACTION_DETAILS: dict[str, dict[str, Detail]] = {}
DETAILS: dict[str, Detail] = {}
TARGETS: dict[str, tuple[object, str, str]] = {}  # table: (label, endpoint of its page, id argument)


def _as_detail(spec: Detail | object) -> Detail:
    return spec if isinstance(spec, Detail) else Detail(spec)


def register(action: str, label: object, details: Mapping[str, Detail | object] | None = None) -> None:
    """Name an action, and the details it records where they read differently from the shared ones."""
    ACTIONS[action] = label
    if details:
        ACTION_DETAILS.setdefault(action, {}).update({k: _as_detail(v) for k, v in details.items()})


def register_detail(key: str, label: object | None, show: Show | None = None, empty: object = None) -> None:
    """Name a detail key shared by several actions (`date`, `reason`, …)."""
    DETAILS[key] = Detail(label, show, empty)


def register_target(table: str, label: object, endpoint: str = "", arg: str = "") -> None:
    """Name a record type (a table), and the page that shows one record of it, if there is one."""
    TARGETS[table] = (label, endpoint, arg)


# -- saying values --------------------------------------------------------------------------------------


def _is_chinese() -> bool:
    locale = get_locale()
    return locale is None or locale.language == "zh"


def pair(label: object, value: object) -> str:
    """`label: value` with the reader's punctuation (标签：值 in Chinese)."""
    return _("%(label)s: %(value)s", label=label, value=value)


def listing(values: list[str]) -> str:
    """Words joined as the reader's language joins a list (甲、乙和丙 / a, b, and c)."""
    words = [str(v) for v in values if str(v)]
    if not words:
        return ""
    return format_list(words, locale=str(get_locale() or "zh_Hans_CN"))


def joined(parts: list[str]) -> str:
    """Label–value pairs in one line, separated as the reader's language does (；or ;)."""
    return ("；" if _is_chinese() else "; ").join(p for p in parts if p)


def yes_no(value: object) -> str:
    """A true/false value as a word."""
    return _("yes") if value else _("no")


def number(value: object) -> str:
    """A count or amount, as digits."""
    return str(value)


def text(value: object) -> str:
    """Words as they were recorded."""
    return str(value)


_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_MOMENT = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?(?:[+-]\d{2}:\d{2}|Z)?$")
_ISO_MONTH = re.compile(r"^\d{4}-\d{2}$")


def day(value: object) -> str:
    """An ISO date (2026-03-10) as the reader writes a date: 2026年3月10日 星期二."""
    try:
        return format_day(value if isinstance(value, date) else date.fromisoformat(str(value)))
    except ValueError:
        return str(value)


def moment(value: object) -> str:
    """A local date and time (2026-03-10 09:30) as 2026年3月10日 星期二 09:30; an instant with its zone
    is shown in the station's time."""
    if not _ISO_MOMENT.match(str(value)):
        return str(value)
    at = datetime.fromisoformat(str(value))
    if at.tzinfo is not None:
        return format_instant(at)
    return f"{day(at.date())} {at:%H:%M}"


def month(value: object) -> str:
    """A month (2026-03) as 2026年3月."""
    try:
        return format_month(date.fromisoformat(f"{value}-01"))
    except ValueError:
        return str(value)


def money(value: object) -> str:
    """An amount in yuan."""
    return _("%(amount)s yuan", amount=value)


class Choice:
    """Says a code by its label (`labels` maps each code, or True/False, to a lazy string); a code it does
    not know is said as it is."""

    def __init__(self, labels: Mapping[Any, object]) -> None:
        self.labels = dict(labels)

    def __call__(self, value: object) -> str:
        """The label of a code."""
        label = self.labels.get(value) if isinstance(value, str | bool | int) else None
        return str(label) if label is not None else plain(value)


def each(show: Show) -> Show:
    """Says every item of a list, joined as a list."""

    def say(values: object) -> str:
        if not isinstance(values, list | tuple):
            return show(values)
        return listing([show(v) for v in values])

    return say


def change(show: Show) -> Show:
    """Says an [old, new] pair: old → new."""

    def say(values: object) -> str:
        if not (isinstance(values, list | tuple) and len(values) == 2):
            return show(values)
        old, new = (show(v) if v not in (None, "", []) else "—" for v in values)
        return f"{old} → {new}"

    return say


class Nested:
    """Says a dict of details (a report's filter) as label–value pairs in one line; `details` names its
    keys as `register` does."""

    def __init__(self, details: Mapping[str, Detail | object]) -> None:
        self.details = {k: _as_detail(v) for k, v in details.items()}

    def __call__(self, values: object) -> str:
        """The pairs in one line."""
        if not isinstance(values, dict):
            return plain(values)
        return joined([line_text(line) for line in _lines(values, self.details)]) or _("none")


def plain(value: object) -> str:
    """Any recorded value in words, for a detail no feature says better: never a Python value."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple | set):
        return listing([plain(v) for v in value])
    if isinstance(value, dict):
        return joined([line_text(line) for line in _lines(value, {})])
    words = str(value)
    if _ISO_DAY.match(words):
        return day(words)
    if _ISO_MOMENT.match(words):
        return moment(words)
    if _ISO_MONTH.match(words):
        return month(words)
    return words


def line_text(line: Line) -> str:
    """A line as one piece of text."""
    return pair(line.label, line.value) if line.label else line.value


# -- reading an entry -----------------------------------------------------------------------------------


def detail_label(action: str, key: str) -> object | None:
    """The label of a detail of an action, if there is one (the action's own, else the shared one)."""
    spec = ACTION_DETAILS.get(action, {}).get(key) or DETAILS.get(key)
    return spec.label if spec else None


def _lines(details: Mapping[str, Any], own: Mapping[str, Detail]) -> list[Line]:
    lines = []
    for key, value in details.items():
        spec = own.get(key) or DETAILS.get(key)
        label = str(spec.label) if spec and spec.label is not None else ("" if spec else key)
        if value is None or value == "" or value == [] or value == {}:
            if spec and spec.empty is not None:
                lines.append(Line(label, str(spec.empty)))
            continue
        show = spec.show if spec and spec.show else plain
        lines.append(Line(label, show(value)))
    return lines


def detail_lines(action: str, details: Mapping[str, Any] | None) -> list[Line]:
    """An entry's details, each as a label and its value in words, or as a sentence."""
    return _lines(details or {}, ACTION_DETAILS.get(action, {}))


def action_label(action: str) -> str:
    """The name of an action in the reader's language (the code only for one nobody named)."""
    label = ACTIONS.get(action)
    return str(label) if label is not None else action


def target_label(target_type: str | None) -> str:
    """The name of a record type in the reader's language."""
    if not target_type:
        return ""
    known = TARGETS.get(target_type)
    return str(known[0]) if known else _("Record")


def target_page(target_type: str | None) -> tuple[str, str] | None:
    """(endpoint, id argument) of the page that shows a record of this type, if there is one."""
    known = TARGETS.get(target_type or "")
    if not known or not known[1]:
        return None
    return known[1], known[2]


# Details nearly every feature records, said the same way everywhere.
register_detail("date", _l("Date"), day)
register_detail("name", _l("Name"), text)
register_detail("reason", _l("Reason"), text)
register_detail("note", _l("Note"), text)
register_detail("mobile", _l("Mobile number"), text)
register_detail("year", _l("Year"), number)
register_detail("month", _l("Month"), month)
