"""A veteran finding their own booking again (online and at the kiosk): by its code and the last four
digits of the mobile, with guessing throttled; and the allowance for changing it from a public page.

One place for these rules, so the online look-up (`bookings.routes`) and the kiosk's
(`kiosk.lookup`) cannot drift apart.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _

from legalaid.auth import throttle
from legalaid.auth.throttle import Bucket
from legalaid.bookings import services
from legalaid.bookings.models import BOOKED, ONLINE, Booking
from legalaid.bookings.planning import slot_is_open
from legalaid.dates import now_utc
from legalaid.errors import InvalidInput, TooManyAttempts
from legalaid.kiosk import limits

THROTTLE_KIND = "lookup"


class LookupPaused(TooManyAttempts):
    """Too many wrong look-ups from this client (or for this code): wait `retry_after` seconds."""


def find_booking(code: str | None, last4: str | None, client: str) -> Booking:
    """The booking with this code whose mobile ends in these digits, counted against the guesser;
    raises LookupPaused when the client must wait, InvalidInput when nothing matches (flushes)."""
    normal = services.normalize_code(code) or "-"
    # The guesser is throttled, not the code: 5 wrong tries for one code from one address, 20 from
    # an address (a hall's Wi-Fi, a carrier's gateway, the hall's kiosk), and only a high ceiling for
    # the code itself, so strangers guessing at a code never lock its owner out of it.
    buckets = [
        Bucket("pair", f"{normal}|{client}", 5),
        Bucket("address", client, 20),
        Bucket("code", normal, 100),
    ]
    wait = throttle.claim(THROTTLE_KIND, buckets)
    if wait:
        raise LookupPaused(_("Too many tries. Please wait %(n)d minutes.", n=max(1, wait // 60)), wait)
    booking = services.find_booking(code or "", last4 or "")
    if booking is None or booking.erased_at is not None:
        raise InvalidInput(_("No booking matches this code and number. Check both and try again."))
    throttle.forgive(THROTTLE_KIND, [buckets[0].key])  # the owner's own typos
    throttle.give_back(THROTTLE_KIND, [b.key for b in buckets[1:]])
    return booking


def can_change(booking: Booking, now: datetime | None = None) -> bool:
    """Whether the veteran may still move or cancel this booking from a public page (open, and before
    the station's cutoff: the same test `services.cancel` and `services.move` apply)."""
    return booking.status == BOOKED and slot_is_open(booking.slot, ONLINE, now or now_utc())


def count_change(booking: Booking, *, enrolled: bool) -> None:
    """Count a cancellation or move from a public page against the client's and the number's daily
    allowance, or raise limits.OverLimit (the caller rolls back); the hall's enrolled kiosk is not
    counted per address."""
    limits.allow_change(booking.veteran.mobile, booking.shift.station.timezone, enrolled=enrolled)
