"""The audit log's words for the hall's kiosks (registered in legalaid.audit.labels)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from legalaid.audit.labels import Detail, register, register_target, text

KIOSK_NAME = {"name": Detail(_l("Kiosk"), text)}

register_target("kiosk_devices", _l("Kiosk"))
register("kiosk.enrol", _l("Kiosk enrolled"), KIOSK_NAME)
register("kiosk.revoke", _l("Kiosk revoked"), KIOSK_NAME)
