"""The messages of the ratings: the veteran's completion message with the rating link, and the
administrators' notice of a poor rating.

Both are queued in the outbox in the transaction of the step that causes them, with a de-duplication key
that names the consultation (or the rating): a consultation tells its person once, however often its
record is corrected; a poor rating tells each administrator once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app

from legalaid.bookings.models import Veteran
from legalaid.consultations.models import Consultation
from legalaid.dates import local_today
from legalaid.extensions import db
from legalaid.ratings.links import RATING_DAYS, link_token
from legalaid.ratings.models import Rating
from legalaid.reminders.queueing import Contact, Planned, admin_contacts, queue
from legalaid.stations.models import Station

# Message kinds (each is also its template in reminders.senders.TEMPLATES).
DONE = "consultation_done"
POOR = "rating_poor"
# A thank-you read days later is still worth it; one read after the link expired is not.
DONE_EXPIRES = timedelta(days=3)


def rating_link(consultation: Consultation) -> str:
    """The full address of the consultation's phone rating page."""
    # PUBLIC_URL, not the request's host: the message is also queued by jobs and commands.
    return current_app.config.get("PUBLIC_URL", "").rstrip("/") + f"/rate/{link_token(consultation)}"


def on_consultation_recorded(consultation: Consultation, now: datetime) -> int:
    """Queue the completion message with the rating link for a person with a mobile number; returns
    how many were queued (0 or 1)."""
    if consultation.veteran_id is None:
        return 0
    station = db.session.get(Station, consultation.station_id)
    today = local_today(station.timezone if station else None)
    if consultation.held_on < today - timedelta(days=RATING_DAYS):
        return 0  # recorded late (or loaded as history): its link would no longer work
    veteran = db.session.get(Veteran, consultation.veteran_id)
    if veteran is None or veteran.erased_at is not None or not veteran.mobile:
        return 0
    lawyer = consultation.lawyer
    planned = Planned(
        kind=DONE,
        recipient=Contact("veteran", veteran.id, "sms", veteran.mobile),
        template=DONE,
        params={
            "station": station.name if station else "",
            "day": f"{consultation.held_on:%Y-%m-%d}",
            "lawyer": lawyer.name if lawyer else "",
            "days": RATING_DAYS,
            "link": rating_link(consultation),
        },
        due_at=now,
        expires_at=now + DONE_EXPIRES,
        dedupe_key=f"consultation-done:{consultation.id}",
        tz=station.timezone if station else None,
    )
    return queue([planned], now)


def on_poor_rating(rating: Rating, now: datetime) -> int:
    """Tell every administrator that a poor rating waits for a reply; returns how many were queued."""
    consultation = rating.consultation
    station = db.session.get(Station, consultation.station_id)
    base = current_app.config.get("PUBLIC_URL", "").rstrip("/")
    planned = [
        Planned(
            kind=POOR,
            recipient=contact,
            template=POOR,
            params={
                "station": station.name if station else "",
                "day": f"{consultation.held_on:%Y-%m-%d}",
                "lawyer": consultation.lawyer.name if consultation.lawyer else "",
                "link": f"{base}/admin/ratings/{rating.id}",
            },
            due_at=now,
            expires_at=None,  # a poor rating waits for its reply: late is still worth reading
            dedupe_key=f"rating-poor:{rating.id}:{contact.recipient_type}:{contact.recipient_id}",
            tz=station.timezone if station else None,
        )
        for contact in admin_contacts()
    ]
    return queue(planned, now)
