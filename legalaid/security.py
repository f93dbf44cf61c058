"""Security headers on every response, and the real client address behind a proxy."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import unicodedata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, abort, current_app, has_request_context, request
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, Map

from legalaid.db import MAX_ID

# No inline script or style anywhere: every script and stylesheet is a vendored or own static file.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


# Longer than any address of this site: a redirect target beyond it is not one of ours.
MAX_TARGET_LENGTH = 2000
# Control and formatting characters (CR/LF, NUL, bidi overrides, line separators) never belong in a path;
# a CR/LF would even break the Location header.
_UNSAFE_CATEGORIES = {"Cc", "Cf", "Zl", "Zp"}


def _has_unsafe_characters(text: str) -> bool:
    return any(unicodedata.category(char) in _UNSAFE_CATEGORIES for char in text)


def local_target(target: str | None, default: str = "/") -> str:
    """A redirect target from the request, kept only if it is a path on this site (no open redirect)
    and a plain one: no control characters, not absurdly long."""
    if not target or len(target) > MAX_TARGET_LENGTH or _has_unsafe_characters(target):
        return default
    try:
        parts = urlsplit(target)
    except ValueError:  # e.g. an unbalanced "[" read as an IPv6 host
        return default
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
    ):
        return default
    return target


def set_security_headers(response: Response) -> Response:
    """Add the headers every page and file carries; HTML is never cached."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    # Pages, exports, a person's copy of their data: nothing but the static files may be kept by a browser
    # or a proxy, unless a route says "private" itself (the calendar feed, for the calendar apps).
    private = "private" in headers.get("Cache-Control", "")
    if response.mimetype == "text/html" or (request.endpoint != "static" and not private):
        headers["Cache-Control"] = "no-store"
    # Only over HTTPS (behind a proxy, as its X-Forwarded-Proto says when PROXY_COUNT trusts it): a
    # browser ignores the header on plain HTTP, and development and tests stay on plain HTTP.
    seconds = current_app.config.get("HSTS_SECONDS", 0)
    if seconds and request.is_secure:
        headers.setdefault("Strict-Transport-Security", f"max-age={seconds}; includeSubDomains")
    return response


OWNER_ONLY = 0o600


def create_owner_only(path: Path) -> None:
    """Make sure a file exists and only its owner may read or write it (created so, or narrowed)."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, OWNER_ONLY))
    os.chmod(path, OWNER_ONLY)


def protect_sqlite_files(database: str | None) -> None:
    """Create the SQLite database file for its owner only before SQLite does (SQLite gives its -wal and
    -shm files the database file's mode), and narrow the files of an existing one."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.parent.is_dir():  # SQLite cannot open it either; the health check says so
        return
    create_owner_only(path)
    for suffix in ("-wal", "-shm", "-journal"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            os.chmod(companion, OWNER_ONLY)


class DatabaseIdConverter(IntegerConverter):
    """`<int:…>` in URLs, limited to what a database integer column holds (else 404, not 500)."""

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


def refuse_nul_bytes() -> None:
    """No person types a NUL byte; PostgreSQL cannot store one. Refuse such requests plainly."""
    if "\x00" in request.path or any("\x00" in v for v in request.values.values()):
        abort(400)


def register_security(app: Flask) -> None:
    """Install the header hook and, when configured, trust the proxy's X-Forwarded-For."""
    app.after_request(set_security_headers)
    app.before_request(refuse_nul_bytes)
    from legalaid.extensions import db

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            protect_sqlite_files(db.engine.url.database)
    proxies = app.config.get("PROXY_COUNT", 0)
    if proxies:
        # Flask's documented way to wrap the WSGI app.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )


def client_address() -> str:
    """The visitor's address, as the proxy settings (`PROXY_COUNT`) let the app see it; an IPv6 client
    is its /64 network, since one home or phone is given a whole /64 to pick addresses from."""
    address = (request.remote_addr if has_request_context() else None) or "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    return str(ipaddress.ip_network(f"{ip}/64", strict=False)) if ip.version == 6 else str(ip)


def hashed(value: str) -> str:
    """A keyed hash of an address, a number or a name: counters can be compared, never read back."""
    key = str(current_app.config.get("SECRET_KEY") or "").encode()
    return hmac.new(key, value.strip().lower().encode(), hashlib.sha256).hexdigest()
