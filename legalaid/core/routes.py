"""The home page, the health check and the error pages."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import (
    Blueprint,
    Flask,
    current_app,
    has_request_context,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from markupsafe import Markup
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.wrappers.response import Response

from legalaid.access import ALL_ROLES, public, roles
from legalaid.api.problems import from_http_error, is_api_request, problem
from legalaid.extensions import db
from legalaid.kiosk.routes import kiosk_blueprint, kiosk_context

bp = Blueprint("core", __name__)
log = logging.getLogger(__name__)
MENUS = "legalaid.admin_menus"


@bp.app_template_global()
def admin_menu(flagged: int) -> Markup:
    """The administrators' menu (_admin_menu.html), written once per language, page and badge and kept by
    the app: its thirty links and labels were a tenth of a list page's rendering, the same every time."""
    made: dict[tuple, Markup] = current_app.extensions.setdefault(MENUS, {})
    key = (str(get_locale()), request.endpoint, request.blueprint, request.script_root, flagged)
    menu = made.get(key)
    if menu is None:
        if len(made) >= 1000:  # a few languages × the admin pages × badge counts: far fewer in use
            made.clear()
        # A template with autoescape on wrote it: every value in it is already escaped.
        menu = made[key] = Markup(render_template("_admin_menu.html", flagged=flagged))  # noqa: S704
    return menu

# What each error page says, in plain words; never a traceback.
ERROR_TEXT = {
    400: (_l("The request could not be understood"), _l("Please go back, reload the page and try again.")),
    403: (_l("No access"), _l("Your account may not open this page.")),
    404: (_l("Page not found"), _l("The page does not exist or has moved.")),
    405: (_l("Not allowed"), _l("This page cannot be used that way.")),
    409: (
        _l("Saved at the same moment"),
        _l("Someone saved the same thing just now. Reload the page and check."),
    ),
    413: (_l("File too large"), _l("Files may be at most 5 MB.")),
    429: (_l("Too many tries"), _l("Please wait a few minutes and try again.")),
    500: (_l("Something went wrong"), _l("The error has been logged. Please try again later.")),
}


@bp.get("/")
@roles(*ALL_ROLES)
def home() -> str:
    """The signed-in user's start page: today's duty, and what waits for them."""
    from legalaid.auth.forms import ConfirmForm
    from legalaid.dates import local_today
    from legalaid.lawyers.services import lawyer_for_user
    from legalaid.reports.services import key_figures
    from legalaid.roster import services as roster
    from legalaid.stations.services import station_for

    station = station_for(current_user)
    today = local_today(station.timezone if station else None)
    lawyer = lawyer_for_user(current_user) if current_user.role == "lawyer" else None
    return render_template(
        "core/home.html",
        today=today,
        station=station,
        today_shift=roster.shift_on(station, today) if station else None,
        next_shift=next(iter(roster.lawyer_shifts(lawyer, start=today)), None) if lawyer else None,
        lawyer=lawyer,
        confirm=ConfirmForm(),
        figures=key_figures(today) if current_user.role == "admin" else None,
    )


@bp.get("/healthz")
@public
def healthz() -> tuple[Response, int]:
    """200 when the database answers, 503 when it does not (for load balancers and monitors)."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except Exception:  # any failure to reach the database means "not healthy"
        log.exception("health check: database unreachable")
        db.session.rollback()
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok"), 200


def _error_page(code: int, detail: str | None = None) -> tuple[str, int]:
    title, text = ERROR_TEXT.get(code, ERROR_TEXT[500])
    # Under /kiosk and /book an error stays in the kiosk's look, with its idle reset and "start again" —
    # also for an address that matched no route (a 404, or a GET from the history of a POST-only one).
    if has_request_context() and kiosk_blueprint() is not None:
        return render_template(
            "kiosk/error.html", code=code, title=title, text=detail or text, **kiosk_context()
        ), code
    return render_template("core/error.html", code=code, title=title, text=detail or text), code


def handle_http_error(error: HTTPException) -> tuple[str, int] | Response:
    """Show an HTTP error in the site's look; at the kiosk, an address used the wrong way (a POST-only
    step opened from the history) simply starts again. Under /api/ it is a problem document (routing
    errors never reach the API blueprint's own handlers)."""
    if is_api_request():
        db.session.rollback()
        return from_http_error(error)
    if error.code == 405 and kiosk_blueprint() == "kiosk":
        return redirect(url_for("kiosk.start"))
    return _error_page(error.code or 500)


def handle_csrf_error(error: CSRFError) -> tuple[str, int] | Response:
    """A form without a valid token: most often a page left open too long.

    On the kiosk it is also an old step resubmitted from the history after "start again": the
    visitor simply starts again, and sees nothing of anybody else's. (The API is exempt; a refusal
    under /api/ would still be a problem document.)
    """
    if is_api_request():
        return problem(400, "csrf")
    blueprint = kiosk_blueprint()
    if blueprint is not None:
        return redirect(url_for(f"{blueprint}.start"))
    return _error_page(
        400, str(_l("The form has expired or was not sent from this site. Reload the page and try again."))
    )


def handle_conflict(error: IntegrityError) -> tuple[str, int] | Response:
    """A unique rule the service checked was broken by a concurrent request: say so plainly."""
    db.session.rollback()
    log.warning("integrity conflict: %s", type(error.orig).__name__)
    if is_api_request():
        return problem(409)
    return _error_page(409)


def handle_server_error(error: Exception) -> tuple[str, int] | Response:
    """Log the failure and show a plain page (under /api/ a problem document), never a traceback."""
    original = getattr(error, "original_exception", error)
    if not isinstance(original, HTTPException):
        log.error("unhandled error", exc_info=original)
    db.session.rollback()
    if is_api_request():
        return problem(500)
    return _error_page(500)


def register_error_pages(app: Flask) -> None:
    """Answer every error with a page in the site's look."""
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(IntegrityError, handle_conflict)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(InternalServerError, handle_server_error)
    app.register_error_handler(Exception, handle_server_error)
