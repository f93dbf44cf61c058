"""Paging a long list without counting or skipping millions of rows.

A log of millions of rows cannot be counted on every view, nor paged to its end with OFFSET: the list
pages count at most `COUNT_CAP` rows ("more than 10,000") and page through that many, newest first. An
older entry is found by narrowing the filter (dates, action, person), which every list offers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import url_for

from legalaid.extensions import db

COUNT_CAP = 10_000


@dataclass
class CappedPage:
    """One page of a list, with a count that stops at the cap (`capped` when there are more)."""

    items: Sequence[Any]
    page: int
    per_page: int
    total: int
    capped: bool
    # What was read with the page (its rows' related records), held here: the session keeps loaded
    # objects only while something refers to them, and the page's rows find them there when it renders.
    related: list[Any] = field(default_factory=list)

    @property
    def pages(self) -> int:
        """How many pages can be opened (at most the cap's worth)."""
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        """Whether a newer page exists."""
        return self.page > 1

    @property
    def has_next(self) -> bool:
        """Whether an older page can be opened."""
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        """The previous page's number."""
        return self.page - 1

    @property
    def next_num(self) -> int:
        """The next page's number."""
        return self.page + 1


def fixed(n: int) -> sa.ColumnElement[int]:
    """A LIMIT or OFFSET written into the statement: as a parameter, PostgreSQL's generic plan for a
    prepared statement guesses a tenth of the table and sorts it all instead of reading an index."""
    return sa.literal_column(str(int(n)))


def capped_count(query: sa.Select, cap: int = COUNT_CAP) -> int:
    """How many rows the query gives, counting no further than cap + 1."""
    # Only a constant is selected, so an index that covers the filter answers without reading rows.
    ones: sa.Select = query.with_only_columns(sa.literal_column("1"), maintain_column_froms=True)
    limited = ones.order_by(None).limit(fixed(cap + 1)).subquery()
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(limited)) or 0)


def capped_page(query: sa.Select, page: int, per_page: int = 50, cap: int = COUNT_CAP) -> CappedPage:
    """A page of the (ordered) query: two statements, however long the list; pages past the cap are
    empty."""
    found = capped_count(query, cap)
    total, capped = min(found, cap), found > cap
    items: list[Any] = []
    if (page - 1) * per_page < total:
        page_rows = query.limit(fixed(per_page)).offset(fixed((page - 1) * per_page))
        items = list(db.session.scalars(page_rows))
    return CappedPage(items, page, per_page, total, capped)


_SOME_ID = 987_654_321_098_765  # stands in for a row's id while the address is made


def id_url(endpoint: str, key: str) -> Callable[[int], str]:
    """A maker of an endpoint's address for any row's id: `url_for` once, each id put in as text (a list
    of fifty rows, each with its links, spent a tenth of its rendering in `url_for`)."""
    values: dict[str, Any] = {key: _SOME_ID}
    head, tail = url_for(endpoint, **values).split(str(_SOME_ID), 1)
    return lambda record_id: f"{head}{int(record_id)}{tail}"
