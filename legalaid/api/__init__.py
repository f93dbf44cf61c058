"""The JSON API (/api/v1/) for the 12345 hotline, mini-programs and hall screens, and the
administrator's page of API keys (/admin/api-keys). See docs/notes/issue-16-api-design.md."""

from __future__ import annotations

from flask import Flask

from legalaid.extensions import csrf


def register_api(app: Flask) -> None:
    """Mount the API and its key pages: no CSRF and no session under /api/ (keys only)."""
    from legalaid.api import admin, routes
    from legalaid.api.auth import ApiAwareSessions

    csrf.exempt(routes.bp)
    app.register_blueprint(routes.bp)
    app.register_blueprint(admin.bp)
    app.session_interface = ApiAwareSessions()
