"""Imports every feature's models so the metadata (and Alembic) sees all tables."""

from legalaid.audit.models import AuditEntry
from legalaid.auth.models import LoginAttempt, User, UserSession
from legalaid.scheduler import SchedulerLease
from legalaid.stations.models import Station, StationSession

__all__ = ["AuditEntry", "LoginAttempt", "SchedulerLease", "Station", "StationSession", "User", "UserSession"]
