"""Errors under /api/ as RFC 9457 problem details (`application/problem+json`).

Every refusal carries a machine-readable `code` (`invalid_token`, `insufficient_scope`, `not_found`,
…) and, for invalid input, `errors: [{field, code, reason}]` — never the value that was sent, which may
be personal data. The app's own error handlers (legalaid/core/routes.py) answer with these for every
address under /api/, routing errors (404, 405 with its `Allow`) and failures (500) included.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from flask import Request, current_app, has_request_context, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers.response import Response

from legalaid.errors import AlreadyBooked, DomainError, FieldErrors, NotAllowed, SlotFull

PROBLEM_JSON = "application/problem+json"
API_PREFIX = "/api/"
# Problem types are tag URIs (RFC 4151): stable names that need no web page to exist.
TYPE_PREFIX = "tag:legalaid,2026:problem:"

# The code of each HTTP status the API answers without a more precise one.
STATUS_CODES = {
    400: "bad_request",
    401: "invalid_token",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "rate_limited",
    500: "server_error",
}


def is_api_request(req: Request | None = None) -> bool:
    """Whether this request is addressed to the API (whatever route it matched, if any)."""
    if req is None:
        if not has_request_context():
            return False
        req = request
    return req.path == API_PREFIX.rstrip("/") or req.path.startswith(API_PREFIX)


def _default_detail(status: int) -> str:
    texts = {
        400: _("The request could not be understood."),
        401: _("A valid API key is required: send it as “Authorization: Bearer <key>”."),
        403: _("This API key may not do this."),
        404: _("There is no such resource."),
        405: _("This resource cannot be used with this method."),
        409: _("The request conflicts with the current state; read it again and retry."),
        413: _("The request is too large."),
        422: _("Some values are not valid; see errors."),
        429: _("Too many requests; try again later."),
        500: _("Something went wrong. The error has been logged."),
    }
    return texts.get(status, texts[500] if status >= 500 else texts[400])


class ApiProblem(Exception):
    """A refusal an API view raises; answered as a problem document."""

    def __init__(
        self,
        status: int,
        code: str | None = None,
        detail: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(code or STATUS_CODES.get(status, "error"))
        self.status = status
        self.code = code or STATUS_CODES.get(status, "error")
        self.detail = detail
        self.errors = errors
        self.headers = dict(headers or {})


def problem(
    status: int,
    code: str | None = None,
    detail: str | None = None,
    errors: list[dict[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A problem+json response."""
    code = code or STATUS_CODES.get(status, "error")
    body: dict[str, object] = {
        "type": TYPE_PREFIX + code,
        "title": HTTP_STATUS_CODES.get(status, "Error"),
        "status": status,
        "code": code,
        "detail": detail or _default_detail(status),
    }
    if errors is not None:
        body["errors"] = errors
    # Chinese stays readable in the document (UTF-8), as in every answer of the API.
    response = current_app.response_class(
        json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_JSON
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def from_problem(error: ApiProblem) -> Response:
    """The response for a refusal raised by an API view."""
    return problem(error.status, error.code, error.detail, error.errors, error.headers)


def from_http_error(error: HTTPException) -> Response:
    """An HTTP error (routing, abort) under /api/, as a problem; a 405 keeps its `Allow` (RFC 9110)."""
    status = error.code or 500
    headers = {}
    valid = getattr(error, "valid_methods", None)
    if status == 405 and valid:
        headers["Allow"] = ", ".join(sorted(valid))
    retry = getattr(error, "retry_after", None)
    if status == 429 and retry is not None:
        headers["Retry-After"] = str(retry)
    code = STATUS_CODES.get(status) or ("server_error" if status >= 500 else "bad_request")
    return problem(status, code, headers=headers)


# A service's refusal (legalaid.errors) as an API status and code; the service's message is the detail.
def from_domain_error(error: DomainError) -> Response:
    """A rule a service enforced, as a problem: 409 for a conflict with the current state, 422 else."""
    if isinstance(error, SlotFull):
        return problem(409, "slot_full", error.message)
    if isinstance(error, AlreadyBooked):
        return problem(409, "already_booked", error.message)
    if isinstance(error, NotAllowed):
        return problem(409, "not_allowed", error.message)
    pairs = error.errors if isinstance(error, FieldErrors) else [(error.field, error.message)]
    fields = [{"field": f or "", "code": "rule", "reason": m} for f, m in pairs]
    return problem(422, "invalid_input", error.message, errors=fields)
