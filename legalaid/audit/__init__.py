"""The audit log feature."""

from legalaid.audit.services import record

__all__ = ["record"]
