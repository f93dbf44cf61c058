"""Webhooks for other systems (the 12345 hotline's): an administrator registers a URL at /admin/webhooks,
and bookings made, moved, cancelled or completed and matters closed are delivered to it, signed, through
the outbox. See docs/notes/issue-16-api-design.md."""
