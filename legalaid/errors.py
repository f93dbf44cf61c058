"""Domain errors raised by services; routes turn them into messages on the same page."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, overload

T = TypeVar("T")
U = TypeVar("U")


class DomainError(Exception):
    """A rule of the domain was broken; the message is already translated for the user."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotAllowed(DomainError):
    """The rule forbids this change (for example: an administrator deactivating themself)."""


class InvalidInput(DomainError):
    """The values given break a rule that a form could not check alone."""


class FieldErrors(InvalidInput):
    """Several values are wrong at once: `errors` lists (field, message) pairs, in the form's order.

    Its own `message` and `field` are the first pair's, so code that shows one error still works.
    """

    def __init__(self, errors: list[tuple[str | None, str]]) -> None:
        super().__init__(errors[0][1], field=errors[0][0])
        self.errors = errors


class Problems:
    """Collects what a form's independent checks find, so a service reports every wrong field at once.

    problems = Problems()
    name = problems.check(lambda: check_name(name))
    mobile = problems.check(lambda: check_mobile(mobile))
    problems.raise_any()
    """

    def __init__(self) -> None:
        self.errors: list[tuple[str | None, str]] = []

    def add(self, message: str, field: str | None = None) -> None:
        """Note one problem (on a field, or about the whole form when `field` is None)."""
        self.errors.append((field, message))

    @overload
    def check(self, check: Callable[[], T]) -> T | None: ...

    @overload
    def check(self, check: Callable[[], T], default: U) -> T | U: ...

    def check(self, check: Callable[[], T], default: object = None) -> object:
        """Run one check; when it refuses, note why and give `default` instead of its result."""
        try:
            return check()
        except FieldErrors as error:
            self.errors.extend(error.errors)
        except InvalidInput as error:
            self.add(error.message, error.field)
        return default

    def has(self, field: str) -> bool:
        """Whether a problem was already noted on this field (a later check may depend on it)."""
        return any(name == field for name, _message in self.errors)

    def raise_any(self) -> None:
        """Raise FieldErrors with everything noted, if anything was."""
        if self.errors:
            raise FieldErrors(list(self.errors))


class TooManyAttempts(DomainError):
    """Sign-in is paused for this account or address; try again after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class YearNotCovered(DomainError):
    """The holiday data does not cover these years, and nobody has confirmed their closures yet."""

    def __init__(self, message: str, years: list[int]) -> None:
        super().__init__(message)
        self.years = years


class SlotFull(DomainError):
    """The last place was taken (perhaps a moment ago by someone else)."""


class AlreadyBooked(DomainError):
    """This person already has an active booking that day; `booking` is it."""

    def __init__(self, message: str, booking: object) -> None:
        super().__init__(message)
        self.booking = booking
