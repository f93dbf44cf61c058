"""Who calls the API: an API key in `Authorization: Bearer <key>` — never a session cookie.

Under /api/ the app's session is a null one: a signed-in browser's cookie is not read (the call is
anonymous) and no cookie is ever set, so a page elsewhere on the site can never be driven through the
API with a user's session, and CSRF does not apply (the blueprint is exempt). Refusals follow RFC 6750:
401 with `WWW-Authenticate` for a missing, unknown or revoked key, 403 `insufficient_scope`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import Flask, Request, Response, g
from flask import request as current_request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from flask_babel import gettext as _

from legalaid.api import services
from legalaid.api.problems import ApiProblem, is_api_request
from legalaid.transaction import unit_of_work

REALM = 'Bearer realm="legalaid-api"'
# "Bearer", then the key: la_<hex prefix>_<urlsafe secret>; anything longer is nobody's key.
_BEARER = re.compile(r"Bearer +(la_[0-9a-f]{1,16}_[A-Za-z0-9_-]{20,100})", re.IGNORECASE | re.ASCII)


@dataclass(frozen=True)
class ApiCaller:
    """The key a request came with, as plain values (they outlive the request's transaction)."""

    key_id: int
    prefix: str
    name: str
    scopes: frozenset[str]
    station_id: int | None
    channel: str  # how the bookings it makes are recorded


def current_caller() -> ApiCaller | None:
    """The key of this request, once it was authenticated."""
    return g.get("api_caller")


def caller() -> ApiCaller:
    """The key of this request (an operation's view runs only after it was authenticated)."""
    found = current_caller()
    if found is None:  # a view reached without `authenticate`: refuse rather than guess
        raise ApiProblem(401, "invalid_token", headers={"WWW-Authenticate": REALM})
    return found


def bearer_token(header: str | None) -> str | None:
    """The key in an Authorization header, or None when there is none that could be one."""
    match = _BEARER.fullmatch((header or "").strip())
    return match.group(1) if match else None


def authenticate(scope: str | None) -> ApiCaller:
    """Check the request's key and that it holds `scope` (None: any valid key); remember it in `g`."""
    g.pop("api_caller", None)  # nothing of an earlier request in the same context counts
    header = current_request.headers.get("Authorization")
    token = bearer_token(header)
    if token is None:
        headers = {"WWW-Authenticate": REALM if not header else f'{REALM}, error="invalid_token"'}
        raise ApiProblem(401, "missing_token" if not header else "invalid_token", headers=headers)
    key = services.key_for(token)
    if key is None:
        raise ApiProblem(
            401, "invalid_token", headers={"WWW-Authenticate": f'{REALM}, error="invalid_token"'}
        )
    found = ApiCaller(
        key_id=key.id,
        prefix=key.prefix,
        name=key.name,
        scopes=frozenset(key.scope_list),
        station_id=key.station_id,
        channel=key.channel,
    )
    g.api_caller = found
    g.audit_actor_name = services.ACTOR_PREFIX + key.prefix  # what the call changes is audited as the key's
    # The count is a unit of work of its own, kept whatever the call does next (a refused or failed call
    # counts too); committed now, it holds the counter's row only for this moment, not the whole call.
    with unit_of_work():
        wait = services.take_call(key.id, key.rate_per_minute)
    if wait:
        raise ApiProblem(429, "rate_limited", headers={"Retry-After": str(wait)})
    if scope is not None and scope not in found.scopes:
        raise ApiProblem(
            403,
            "insufficient_scope",
            _("This API key lacks the permission “%(scope)s”.", scope=scope),
            headers={"WWW-Authenticate": f'{REALM}, error="insufficient_scope", scope="{scope}"'},
        )
    return found


def require_station(station_id: int) -> None:
    """Refuse a key limited to another station (403 `station_not_allowed`)."""
    found = caller()
    if found.station_id is not None and found.station_id != station_id:
        raise ApiProblem(403, "station_not_allowed", _("This API key is for another station."))


class ApiAwareSessions(SecureCookieSessionInterface):
    """The app's signed-cookie sessions, except under /api/: there, no session is read or saved."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """A null session for the API (writing to it fails loudly), the cookie's elsewhere."""
        if is_api_request(request):
            return self.make_null_session(app)
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        """Never a Set-Cookie under /api/."""
        if is_api_request(current_request):
            return
        super().save_session(app, session, response)
