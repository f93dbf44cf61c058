"""Deny-by-default access.

Every endpoint must say who may use it: `@public` (the short list a visitor may reach without
signing in) or `@roles(...)`; an API operation declares `API_KEY` through `legalaid.api.openapi.operation`,
which checks the key and its scope itself (no session is read under /api/). An endpoint that says
nothing is refused to everybody, so a view that forgets its decorator fails closed and the url_map walk
in the tests points at it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Flask, abort, current_app, has_request_context, redirect, request, url_for
from flask_login import current_user

from legalaid.extensions import login_manager

F = TypeVar("F", bound=Callable)

PUBLIC = "public"
ADMIN = "admin"
STAFF = "staff"
LAWYER = "lawyer"
ALL_ROLES = frozenset({ADMIN, STAFF, LAWYER})
# An API operation: a key with the operation's scope, checked by the operation (legalaid.api.auth).
API_KEY = "api_key"

# Endpoints added by Flask itself that must stay reachable.
BUILTIN_PUBLIC_ENDPOINTS = frozenset({"static"})
# What an administrator without a second factor may still reach: enrolling one, and signing out.
ENROLMENT_ENDPOINTS = frozenset({"auth.two_step", "auth.two_step_confirm", "auth.logout"})


def public(view: F) -> F:
    """Let anybody, signed in or not, reach this view."""
    view._access = PUBLIC  # type: ignore[attr-defined]
    return view


def roles(*names: str) -> Callable[[F], F]:
    """Let only signed-in users with one of these roles reach this view."""
    unknown = set(names) - ALL_ROLES
    if unknown or not names:
        raise ValueError(f"unknown roles: {unknown or names}")

    def decorate(view: F) -> F:
        view._access = frozenset(names)  # type: ignore[attr-defined]
        return view

    return decorate


def access_of(app: Flask, endpoint: str) -> str | frozenset[str] | None:
    """What an endpoint declared: PUBLIC, API_KEY, a set of roles, or None (nobody)."""
    if endpoint in BUILTIN_PUBLIC_ENDPOINTS:
        return PUBLIC
    view = app.view_functions.get(endpoint)
    return getattr(view, "_access", None)


def enforce_access():
    """Refuse the request unless the endpoint allows this visitor (before every request)."""
    if request.endpoint is None:  # no such URL: let the 404 page answer
        return None
    if request.endpoint in BUILTIN_PUBLIC_ENDPOINTS:  # static files: no page, no user to look up
        return None
    allowed = access_of(current_app, request.endpoint)
    if allowed == API_KEY:  # a key, never a session: the operation checks it before anything else
        return None
    # Load the signed-in user now, before the view writes anything: the loader commits its own
    # small session-row update, which must never carry a view's half-done changes with it.
    signed_in = current_user.is_authenticated
    if allowed == PUBLIC:
        return None
    if not signed_in:
        return login_manager.unauthorized()
    if allowed is None or current_user.role not in allowed:
        abort(403)
    if must_enrol_first() and request.endpoint not in ENROLMENT_ENDPOINTS:
        return redirect(url_for("auth.two_step"))
    return None


def must_enrol_first() -> bool:
    """Whether the signed-in user is an administrator who has no second factor yet (and must)."""
    return bool(
        current_app.config.get("TOTP_REQUIRED_FOR_ADMINS", True)
        and current_user.role == ADMIN
        and not getattr(current_user, "has_totp", True)
    )


def current_user_id() -> int | None:
    """The signed-in user's id inside a request, else None (CLI, jobs): who made a change."""
    if has_request_context() and current_user.is_authenticated:
        return current_user.id
    return None


def register_access(app: Flask) -> None:
    """Install the deny-by-default check in front of every view."""
    app.before_request(enforce_access)
