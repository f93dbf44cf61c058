"""Domain errors raised by services; routes turn them into messages on the same page."""

from __future__ import annotations


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
