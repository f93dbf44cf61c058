"""legalaid: the system that runs a veterans' legal-aid station."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Flask
from flask_babel import lazy_gettext as _l

from config import BASE_DIR, INSTANCE_DIR, Config, config_from_env
from legalaid.db import ping_when_idle
from legalaid.extensions import csrf, db, login_manager, migrate
from legalaid.transaction import LegalAidFlask


def create_app(config: type[Config] | None = None, **overrides: object) -> Flask:
    """Build the web application from a settings class (and optional overrides)."""
    config = config or config_from_env()
    app = LegalAidFlask(
        __name__,
        instance_path=str(INSTANCE_DIR),
        template_folder=str(BASE_DIR / "templates"),
        static_folder=str(BASE_DIR / "static"),
    )
    from legalaid.security import DatabaseIdConverter

    app.url_map.converters["int"] = DatabaseIdConverter
    app.config.from_object(config)
    app.config.update(overrides)
    from legalaid import crypto

    crypto.configure(app.config, INSTANCE_DIR)
    config.check(app.config)
    register_extensions(app)
    register_blueprints(app)
    register_hooks(app)
    register_events()
    from legalaid.cli import register_cli

    register_cli(app)
    return app


def register_extensions(app: Flask) -> None:
    """Bind the database, migrations, sign-in, CSRF and translations to the app."""
    from legalaid import models  # noqa: F401  (every model must be known to the metadata)
    from legalaid.i18n import register_i18n

    db.init_app(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"))
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "warning"
    csrf.init_app(app)
    register_i18n(app)
    with app.app_context():
        _tune_sqlite(db.engine, app.config["SQLITE_SYNCHRONOUS"])
        ping_when_idle(db.engine, app.config["POOL_PING_AFTER_IDLE_SECONDS"])


def register_blueprints(app: Flask) -> None:
    """Mount every feature's pages, and the labels their templates share."""
    from legalaid.audit.labels import target_label
    from legalaid.audit.routes import bp as audit_bp
    from legalaid.auth.forms import role_label
    from legalaid.auth.routes import bp as auth_bp
    from legalaid.bookings.forms import booking_state
    from legalaid.bookings.routes import bp as bookings_bp
    from legalaid.categories import category_label
    from legalaid.consultations.forms import label as consultation_label
    from legalaid.consultations.forms import outcome_words
    from legalaid.consultations.routes import bp as consultations_bp
    from legalaid.core.routes import bp as core_bp
    from legalaid.forms import options
    from legalaid.kiosk import handwriting, lookup  # noqa: F401  (their pages join kiosk_bp)
    from legalaid.kiosk.admin import bp as kiosks_bp
    from legalaid.kiosk.routes import bp as kiosk_bp
    from legalaid.lawyers.routes import bp as lawyers_bp
    from legalaid.privacy import mask_mobile, mask_name, mask_text
    from legalaid.privacy.routes import bp as privacy_bp
    from legalaid.privacy.services import FIELDS, REASONS
    from legalaid.ratings import kiosk as kiosk_rating  # noqa: F401  (rating at the kiosk joins kiosk_bp)
    from legalaid.ratings.forms import rating_label
    from legalaid.ratings.routes import bp as ratings_bp
    from legalaid.ratings.services import booking_can_be_rated
    from legalaid.reminders.forms import outbox_detail, outbox_label
    from legalaid.reminders.routes import bp as outbox_bp
    from legalaid.reports.forms import label as report_label
    from legalaid.reports.routes import bp as reports_bp
    from legalaid.roster.forms import change_label
    from legalaid.roster.routes import bp as roster_bp
    from legalaid.stations.forms import weekday_names
    from legalaid.stations.routes import bp as stations_bp
    from legalaid.swaps.forms import swap_state
    from legalaid.swaps.routes import bp as swaps_bp

    for blueprint in (
        core_bp,
        auth_bp,
        stations_bp,
        audit_bp,
        lawyers_bp,
        roster_bp,
        swaps_bp,
        bookings_bp,
        consultations_bp,
        outbox_bp,
        privacy_bp,
        reports_bp,
        kiosks_bp,
        ratings_bp,
    ):
        app.register_blueprint(blueprint)
    # The same booking flow twice: the hall's touch screen and a phone-sized site.
    app.register_blueprint(kiosk_bp, url_prefix="/kiosk", name="kiosk")
    app.register_blueprint(kiosk_bp, url_prefix="/book", name="book")
    from legalaid.api import register_api

    register_api(app)  # /api/v1 (keys, no session, no CSRF) and /admin/api-keys
    from legalaid.webhooks.routes import bp as webhooks_bp

    app.register_blueprint(webhooks_bp)  # /admin/webhooks
    app.jinja_env.globals.update(
        role_label=role_label,
        weekday_names=weekday_names,
        category_label=category_label,
        change_label=change_label,
        swap_state=swap_state,
        booking_state=booking_state,
        consultation_label=consultation_label,
        outcome_words=outcome_words,
        outbox_label=outbox_label,
        outbox_detail=outbox_detail,
        reveal_reasons=REASONS,
        reveal_fields=FIELDS,
        report_label=report_label,
        target_label=target_label,
        rating_label=rating_label,
        can_rate_booking=booking_can_be_rated,
        options=options,
    )
    app.jinja_env.filters["masked"] = mask_mobile
    app.jinja_env.filters["masked_text"] = mask_text
    app.jinja_env.filters["name_mask"] = mask_name


def register_hooks(app: Flask) -> None:
    """Deny by default, security headers, error pages, logging."""
    from legalaid.access import register_access
    from legalaid.core.routes import register_error_pages
    from legalaid.security import register_security

    register_access(app)
    register_security(app)
    register_error_pages(app)
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO)


def register_events() -> None:
    """Connect features that cannot import each other: a shift the roster makes gets its slots, a
    change of a station's sessions or capacity re-plans its coming days, and a booking's change or a
    matter's closing is queued for the webhooks.

    The hooks are module lists, shared by every app built in this process: each is added once.
    """
    from legalaid.bookings import planning
    from legalaid.bookings import services as bookings
    from legalaid.consultations import services as consultations
    from legalaid.roster import services as roster
    from legalaid.stations import services as stations
    from legalaid.webhooks import services as webhooks

    if planning.plan_shifts not in roster.on_shifts_made:
        roster.on_shifts_made.append(planning.plan_shifts)
    if planning.replan_coming_days not in stations.on_plan_changed:
        stations.on_plan_changed.append(planning.replan_coming_days)
    if webhooks.booking_announced not in bookings.on_announced:
        bookings.on_announced.append(webhooks.booking_announced)
    if webhooks.matter_closed not in consultations.on_matter_closed:
        consultations.on_matter_closed.append(webhooks.matter_closed)


def _tune_sqlite(engine: sa.Engine, synchronous: str = "FULL") -> None:
    """SQLite: enforce foreign keys, wait for locks instead of failing, allow readers during writes, and
    sync to disk as configured (`SQLITE_SYNCHRONOUS`: FULL, but for the test suite)."""
    if engine.dialect.name != "sqlite":
        return
    if synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):
        raise ValueError(f"SQLITE_SYNCHRONOUS must be OFF, NORMAL, FULL or EXTRA, not {synchronous!r}")

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # noqa: ANN001
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.close()
