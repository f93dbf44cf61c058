"""Imports every feature's models so the metadata (and Alembic) sees all tables."""

from legalaid.api.models import ApiKey, ApiRateWindow
from legalaid.audit.models import AuditEntry
from legalaid.auth.models import RecoveryCode, ThrottleCount, User, UserSession
from legalaid.bookings.models import Booking, BookingEvent, DailyCounter, ShiftQuota, Slot, Veteran, WalkIn
from legalaid.consultations.models import (
    Consultation,
    ConsultationOutcome,
    ConsultationVersion,
    Matter,
    MatterNote,
)
from legalaid.kiosk.models import KioskDevice, PublicCounter
from legalaid.lawyers.models import LawFirm, Lawyer, Unavailability
from legalaid.ratings.models import Rating
from legalaid.reminders.models import OutboxEvent, OutboxMessage
from legalaid.reports import summaries  # noqa: F401  (keeps the summary tables right on every session)
from legalaid.reports.models import (
    MonthlyReview,
    ReportCategoryMonth,
    ReportCloseDays,
    ReportLawyerMonth,
    ReportMonth,
    ReportVisitMonth,
    ReportYear,
)
from legalaid.roster.models import Closure, DutyShift, HolidayYear, ShiftChange
from legalaid.scheduler import JobRun
from legalaid.stations.models import Station, StationSession
from legalaid.swaps.models import SwapRequest
from legalaid.webhooks.models import WebhookEndpoint

__all__ = [
    "ApiKey",
    "ApiRateWindow",
    "AuditEntry",
    "Booking",
    "BookingEvent",
    "DailyCounter",
    "ShiftQuota",
    "Slot",
    "Veteran",
    "WalkIn",
    "Closure",
    "Consultation",
    "ConsultationOutcome",
    "MonthlyReview",
    "ReportCategoryMonth",
    "ReportCloseDays",
    "ReportLawyerMonth",
    "ReportMonth",
    "ReportVisitMonth",
    "ReportYear",
    "ConsultationVersion",
    "Matter",
    "OutboxMessage",
    "OutboxEvent",
    "MatterNote",
    "DutyShift",
    "HolidayYear",
    "LawFirm",
    "Lawyer",
    "RecoveryCode",
    "ThrottleCount",
    "JobRun",
    "KioskDevice",
    "PublicCounter",
    "Rating",
    "ShiftChange",
    "Station",
    "StationSession",
    "SwapRequest",
    "Unavailability",
    "User",
    "UserSession",
    "WebhookEndpoint",
]
