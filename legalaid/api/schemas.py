"""What the API reads and answers, as pydantic models: they validate the requests and, through
`legalaid.api.openapi`, are the OpenAPI document's schemas — so the document cannot drift from the code.

Two traps of pydantic's lax mode are closed here (see docs/notes/issue-16-api-design.md): it takes a
number for a date (0 → 1970-01-01) and a string for a JSON integer ("1"). `IsoDate`, `AwareDt` and
`JsonInt` accept only what their JSON Schema says.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Generic, Literal, TypeAlias, TypeVar

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

from legalaid.bookings.models import BOOKING_STATES, CHANNELS
from legalaid.categories import MATTER_CATEGORIES
from legalaid.db import MAX_ID

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})", re.ASCII)


def _iso_date(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DAY.fullmatch(value):
        return value
    raise ValueError("must be a date written YYYY-MM-DD")


def _iso_instant(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _INSTANT.fullmatch(value):
        return value
    raise ValueError("must be a date and time with its offset, e.g. 2026-03-10T09:00:00+08:00")


def _json_int(value: Any) -> Any:
    if isinstance(value, bool | str):
        raise ValueError("must be a whole number, not text")
    return value


def _json_bool(value: Any) -> Any:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)  # an optional query parameter: absent, not null


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
AwareDt = Annotated[AwareDatetime, BeforeValidator(_iso_instant)]
JsonInt = Annotated[int, BeforeValidator(_json_int)]
JsonTrue = Annotated[Literal[True], BeforeValidator(_json_bool)]

MAX_PAGE = 100
DEFAULT_PAGE = 50
NO_NUL = r"^[^\x00]*$"  # the site refuses a NUL character anywhere in a request (400)
CODE_PATTERN = r"^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{6}$"  # legalaid.bookings.services.CODE_ALPHABET
if TYPE_CHECKING:  # the enums below are built from the codes the app keeps; for mypy, plain text
    Category: TypeAlias = str
    Status: TypeAlias = str
    Channel: TypeAlias = str
else:
    Category = Literal[tuple(MATTER_CATEGORIES)]
    Status = Literal[BOOKING_STATES]
    Channel = Literal[CHANNELS]
Id = Annotated[JsonInt, Field(ge=1, le=MAX_ID)]
Last4 = Annotated[str, Field(pattern=r"^[0-9]{4}$", description="The last four digits of the mobile number.")]


class ApiModel(BaseModel):
    """Every API model: unknown fields refused (`additionalProperties: false` in the document)."""

    model_config = ConfigDict(extra="forbid", json_schema_serialization_defaults_required=True)


# -- requests -------------------------------------------------------------------------------------------


class PageQuery(ApiModel):
    """The paging of every list: how many items, and where the previous page ended."""

    cursor: str = Field(
        "",
        max_length=500,
        description="The `next_cursor` of the previous page; empty or absent for the first page.",
        json_schema_extra={"format": "cursor"},
    )
    limit: int = Field(DEFAULT_PAGE, ge=1, le=MAX_PAGE, description="Items per page.")


class RosterQuery(PageQuery):
    """A date range of the duty roster (both days included)."""

    start: IsoDate = Field(alias="from", description="The first day, YYYY-MM-DD (station time).")
    end: IsoDate = Field(alias="to", description="The last day, YYYY-MM-DD (station time).")


class SlotsQuery(PageQuery):
    """One day's free slots."""

    day: IsoDate = Field(alias="date", description="The day, YYYY-MM-DD (station time).")


class NewBooking(ApiModel):
    """A booking made for a caller: the station's rules apply as at the kiosk (no place twice, one
    booking per mobile number a day, the booking window and cutoff, the places kept for walk-ins)."""

    slot_id: Id = Field(description="A slot from the free slots of a day.")
    name: str = Field(min_length=2, max_length=30, description="The caller's name, as they give it.")
    mobile: str = Field(pattern=r"^1[3-9][0-9]{9}$", description="The caller's mainland mobile number.")
    category: Category = Field(description="What the matter is about.")
    description: str = Field("", max_length=500, description="The matter in a few words (optional).")
    consent: JsonTrue = Field(
        description="The notice on the use of their details was read to the caller and they agreed "
        "(recorded as consent given by telephone)."
    )
    external_ref: str | None = Field(
        None,
        max_length=64,
        pattern=NO_NUL,
        description="Your own reference, such as the hotline's work-order number.",
    )


class BookingKey(ApiModel):
    """What finds a booking again: its code and the last four digits of its mobile number."""

    last4: Last4


class CancelBooking(BookingKey):
    """A cancellation, with the caller's reason."""

    reason: str = Field(min_length=1, max_length=200, description="Why the caller cancels.")


class MoveBooking(BookingKey):
    """A move to another free slot of the same station."""

    slot_id: Id = Field(description="The slot to move to.")


class BookingsQuery(PageQuery):
    """The bookings made with your reference."""

    external_ref: str = Field(
        min_length=1, max_length=64, pattern=NO_NUL, description="Your reference, as given when booking."
    )


class AnnualQuery(ApiModel):
    """A year's figures, of one station or of every station the key may see."""

    year: int = Field(ge=2000, le=2100)
    station_id: int = Field(
        None,  # type: ignore[assignment]  # absent: every station the key may see
        ge=1,
        le=MAX_ID,
        description="One station (absent: every station the key may see).",
        json_schema_extra=_no_default,
    )


class MonthlyQuery(AnnualQuery):
    """A month's figures."""

    month: int = Field(ge=1, le=12)


# -- answers --------------------------------------------------------------------------------------------


class ReceptionSession(ApiModel):
    """A reception session of a station, in station time (HH:MM)."""

    start: str = Field(pattern=r"^\d{2}:\d{2}$")
    end: str = Field(pattern=r"^\d{2}:\d{2}$")


class Station(ApiModel):
    """A legal-aid station and how it takes bookings."""

    id: int
    name: str
    address: str
    timezone: str = Field(description="IANA time zone; every time of this station is given with its offset.")
    duty_weekdays: list[int] = Field(description="ISO weekdays (1 = Monday) of the regular duty days.")
    sessions: list[ReceptionSession]
    slot_minutes: int
    places_per_slot: int
    booking_window_days: int = Field(description="How many days ahead the public may book.")
    booking_cutoff_hours: int = Field(description="The public books up to this many hours before a slot.")


class Period(ApiModel):
    """A span of time, with the station's offset."""

    starts_at: AwareDt
    ends_at: AwareDt


class Lawyer(ApiModel):
    """The lawyer on duty."""

    id: int
    name: str


class RosterDay(ApiModel):
    """A duty day: the lawyer on duty and the reception hours."""

    id: int = Field(description="The duty shift's id.")
    station_id: int
    date: IsoDate
    lawyer: Lawyer
    closed: bool = Field(description="The station is closed that day (a holiday or a closure).")
    hours: list[Period]


class Slot(ApiModel):
    """A time that can still be booked, with its places left."""

    id: int
    starts_at: AwareDt
    ends_at: AwareDt
    places_left: int = Field(ge=1)


class Booking(ApiModel):
    """A booking, personal data masked as on the pages (王**, 138****5678)."""

    id: int
    code: str = Field(
        description="The booking code the caller is told: with their mobile's last four digits it finds "
        "the booking again."
    )
    station_id: int
    slot_id: int
    starts_at: AwareDt
    ends_at: AwareDt
    status: Status
    channel: Channel
    category: Category
    name: str = Field(description="Masked.")
    mobile: str = Field(description="Masked.")
    external_ref: str | None
    created_at: AwareDt


class Ratings(ApiModel):
    """好差评 of the period: counts per level (1 to 5), the share satisfied, the poor ones answered."""

    total: int
    levels: dict[str, int]
    satisfied: int
    satisfied_share: float | None
    poor: int
    poor_answered: int


class AnnualFigures(ApiModel):
    """The figures of the annual report (年度报告)."""

    year: int
    station_id: int | None
    as_of: IsoDate = Field(description="Figures that depend on the day (open, overdue) are as of this day.")
    duty_days_held: int
    duty_days_attended: int
    lawyers_on_roster: int
    consultations: int
    persons: int
    matters: int
    outcomes: dict[str, int]
    legal_aid_accepted: int
    legal_aid_concluded: int
    mediation_agreements: int
    follow_ups_opened: int
    problems_solved: int
    closed_otherwise: int
    still_open: int
    overdue: int
    money_saved: int
    bookings: int
    no_shows: int
    by_channel: dict[str, int]
    ratings: Ratings


class MonthlyFigures(ApiModel):
    """A month's figures: consultations by category, outcome and channel, bookings, follow-ups."""

    year: int
    month: int
    station_id: int | None
    consultations: int
    by_category: dict[str, int]
    by_outcome: dict[str, int]
    by_channel: dict[str, int]
    bookings: int
    no_shows: int
    walkins: int
    follow_ups_opened: int
    follow_ups_open: int
    follow_ups_overdue: int
    follow_ups_solved: int


T = TypeVar("T")


class Page(ApiModel, Generic[T]):
    """One page of a list, and the cursor of the next (null on the last page)."""

    items: list[T]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")


class StationPage(Page[Station]):
    """A page of stations."""


class RosterPage(Page[RosterDay]):
    """A page of duty days."""


class SlotPage(Page[Slot]):
    """A page of free slots."""


class BookingPage(Page[Booking]):
    """A page of bookings."""


class FieldError(ApiModel):
    """One invalid value: where it is, a machine-readable code and the reason in words."""

    field: str
    code: str
    reason: str


class Problem(ApiModel):
    """An error, as RFC 9457 problem details with a machine-readable `code`."""

    type: str
    title: str
    status: int
    code: str
    detail: str
    errors: list[FieldError] = Field(default_factory=list, description="For invalid input: each value.")

    model_config = ConfigDict(extra="forbid", json_schema_serialization_defaults_required=False)
