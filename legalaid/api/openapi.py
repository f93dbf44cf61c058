"""The API's operations, each declared once with `@operation(...)`: its path and method, the scope a
key needs, the pydantic models of its query and answer. The same declaration installs the view (which
authenticates, then validates, then answers JSON) and describes it in the OpenAPI 3.1 document
(`build_document`, served at /api/v1/openapi.json): the document is made from the code that runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, Literal

from flask import Blueprint, current_app, request
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import JsonSchemaMode, models_json_schema
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers.response import Response

from legalaid.access import API_KEY
from legalaid.api import auth
from legalaid.api.problems import PROBLEM_JSON, ApiProblem
from legalaid.api.schemas import Problem
from legalaid.db import MAX_ID

OPENAPI_VERSION = "3.1.0"
API_VERSION = "1.0.0"
# What every operation may answer besides its success; each as problem+json (RFC 9457). An operation
# that takes a body may also answer 409 (the state forbids it), 413 and 415.
ERROR_STATUSES = (400, 401, 403, 404, 405, 422, 429, 500)
BODY_STATUSES = (409, 413, 415)
_PATH_ARG = re.compile(r"<(?:(int):)?([a-z_]+)>")
# The schema of each path parameter that is not a number (the converter `int` is one).
PATH_SCHEMAS: dict[str, dict[str, Any]] = {}

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]


@dataclass(frozen=True)
class Operation:
    """One operation of the API, as declared."""

    endpoint: str
    method: str
    path: str  # the OpenAPI path: /api/v1/stations/{station_id}/roster
    scope: str | None  # None: any valid key
    summary: str
    description: str
    tag: str
    query: type[BaseModel] | None
    body: type[BaseModel] | None
    response: type[BaseModel]
    status: int
    path_params: tuple[tuple[str, bool], ...]  # (name, is a number)
    headers: tuple[dict[str, Any], ...]  # request headers it reads, as OpenAPI parameters
    response_headers: tuple[tuple[str, str], ...]  # (name, description) of optional answer headers


# Every declared operation, by endpoint; filled when the routes module is imported.
REGISTRY: dict[str, Operation] = {}


def _field_errors(error: ValidationError) -> list[dict[str, str]]:
    """pydantic's errors as {field, code, reason}, without the value sent (it may be personal data)."""
    return [
        {
            "field": ".".join(str(part) for part in item["loc"]),
            "code": item["type"],
            "reason": item["msg"],
        }
        for item in error.errors(include_url=False, include_input=False, include_context=False)
    ]


def parse_query(model: type[BaseModel]) -> BaseModel:
    """The query string, validated by the model (422 with each wrong parameter, all at once)."""
    repeated = sorted(name for name in request.args if len(request.args.getlist(name)) > 1)
    if repeated:
        raise ApiProblem(
            422,
            errors=[{"field": n, "code": "repeated", "reason": "given more than once"} for n in repeated],
        )
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as error:
        raise ApiProblem(422, errors=_field_errors(error)) from None


def parse_body(model: type[BaseModel]) -> BaseModel:
    """The JSON body, validated by the model: 415 when it is not JSON, 400 when it cannot be read, 422
    with each wrong field."""
    if request.mimetype != "application/json":
        reason = "send application/json"
        raise ApiProblem(415, errors=[{"field": "Content-Type", "code": "media_type", "reason": reason}])
    data = request.get_json(silent=True)
    if data is None:
        reason = "not a JSON document"
        raise ApiProblem(400, "invalid_json", errors=[{"field": "", "code": "json", "reason": reason}])
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ApiProblem(422, errors=_field_errors(error)) from None


def json_response(answer: BaseModel, status: int = 200) -> Response:
    """A model as the JSON answer (times keep their offset, Chinese stays readable)."""
    return current_app.response_class(answer.model_dump_json(), status=status, mimetype="application/json")


def operation(
    bp: Blueprint,
    method: Method,
    rule: str,
    *,
    scope: str | None,
    summary: str,
    response: type[BaseModel],
    query: type[BaseModel] | None = None,
    body: type[BaseModel] | None = None,
    status: int = 200,
    tag: str = "",
    headers: tuple[dict[str, Any], ...] = (),
    response_headers: tuple[tuple[str, str], ...] = (),
) -> Callable[[Callable[..., BaseModel | Response]], Callable[..., Response]]:
    """Declare an operation: install the view on the blueprint and describe it in the document.

    The view receives the path's arguments and, when there is a query model, `query`, and when there
    is a body model, `body` (both validated); it returns an instance of `response` (or a Response it
    made, for its own status or headers). The key is checked before anything else (a refused key never
    learns whether its input was valid), then the input.
    """

    def decorate(view: Callable[..., BaseModel | Response]) -> Callable[..., Response]:
        @wraps(view)
        def run(**path_args: Any) -> Response:
            auth.authenticate(scope)
            if query is not None:
                path_args["query"] = parse_query(query)
            if body is not None:
                path_args["body"] = parse_body(body)
            answer = view(**path_args)
            return answer if isinstance(answer, Response) else json_response(answer, status)

        run._access = API_KEY  # type: ignore[attr-defined]  # legalaid.access: the key is checked above
        bp.add_url_rule(rule, view_func=run, methods=[method])
        endpoint = f"{bp.name}.{view.__name__}"
        REGISTRY[endpoint] = Operation(
            endpoint=endpoint,
            method=method,
            path=_PATH_ARG.sub(r"{\2}", (bp.url_prefix or "") + rule),
            scope=scope,
            summary=summary,
            description=(view.__doc__ or "").strip(),
            tag=tag,
            query=query,
            body=body,
            response=response,
            status=status,
            path_params=tuple((name, converter == "int") for converter, name in _PATH_ARG.findall(rule)),
            headers=headers,
            response_headers=response_headers,
        )
        return run

    return decorate


# -- the document ----------------------------------------------------------------------------------------


def _ref_name(ref: dict[str, Any]) -> str:
    return str(ref["$ref"]).rsplit("/", 1)[1]


def _parameter_schema(schema: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in schema.items() if k not in ("title", "description")}


def _query_parameters(schema: dict[str, Any]) -> list[dict[str, Any]]:
    required = set(schema.get("required", []))
    return [
        {
            "name": name,
            "in": "query",
            "required": name in required,
            "description": prop.get("description", ""),
            "schema": _parameter_schema(prop),
        }
        for name, prop in schema.get("properties", {}).items()
    ]


def _problem_responses(problem_ref: dict[str, Any]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status in sorted(ERROR_STATUSES + BODY_STATUSES):
        answer: dict[str, Any] = {
            "description": HTTP_STATUS_CODES[status],
            "content": {PROBLEM_JSON: {"schema": problem_ref}},
        }
        if status == 401:
            answer["headers"] = {
                "WWW-Authenticate": {
                    "description": 'Bearer realm="legalaid-api", with error="invalid_token" for a wrong key.',
                    "required": True,
                    "schema": {"type": "string"},
                }
            }
        if status == 429:
            answer["headers"] = {
                "Retry-After": {
                    "description": "Seconds until the key may call again (its calls are counted per minute).",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 1},
                }
            }
        if status == 405:
            answer["headers"] = {
                "Allow": {
                    "description": "The methods this path takes.",
                    "required": True,
                    "schema": {"type": "string"},
                }
            }
        responses[f"Problem{status}"] = answer
    return responses


def build_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of every declared operation."""
    operations = sorted(REGISTRY.values(), key=lambda o: (o.path, o.method))
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [(Problem, "serialization")]
    for op in operations:
        wanted.append((op.response, "serialization"))
        if op.query is not None:
            wanted.append((op.query, "validation"))
        if op.body is not None:
            wanted.append((op.body, "validation"))
    refs, definitions = models_json_schema(
        list(dict.fromkeys(wanted)), ref_template="#/components/schemas/{model}"
    )
    schemas: dict[str, Any] = dict(definitions.get("$defs", {}))
    query_names = {_ref_name(refs[(op.query, "validation")]) for op in operations if op.query is not None}
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        parameters = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}
                if number
                else PATH_SCHEMAS.get(name, {"type": "string"}),
            }
            for name, number in op.path_params
        ]
        if op.query is not None:
            parameters += _query_parameters(schemas[_ref_name(refs[(op.query, "validation")])])
        parameters += list(op.headers)
        success: dict[str, Any] = {
            "description": HTTP_STATUS_CODES.get(op.status, "Success"),
            "content": {"application/json": {"schema": refs[(op.response, "serialization")]}},
        }
        if op.response_headers:
            success["headers"] = {
                name: {"description": text, "required": False, "schema": {"type": "string"}}
                for name, text in op.response_headers
            }
        responses: dict[str, Any] = {str(op.status): success}
        for status in sorted(ERROR_STATUSES + (BODY_STATUSES if op.body is not None else ())):
            responses[str(status)] = {"$ref": f"#/components/responses/Problem{status}"}
        scope_text = f"Needs the scope `{op.scope}`." if op.scope else "Any valid key."
        described: dict[str, Any] = {
            "operationId": op.endpoint.rsplit(".", 1)[1],
            "summary": op.summary,
            "description": f"{op.description}\n\n{scope_text}".strip(),
            "tags": [op.tag] if op.tag else [],
            "security": [{"apiKey": []}],
            "parameters": parameters,
            "responses": responses,
        }
        if op.body is not None:
            described["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
            }
        paths.setdefault(op.path, {})[op.method.lower()] = described
    for name in query_names:  # the query models became parameters; they are no body's schema
        schemas.pop(name, None)
    return {
        "openapi": OPENAPI_VERSION,
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "legalaid API",
            "version": API_VERSION,
            "description": (
                "The veterans' legal-aid station's API for the 12345 hotline, mini-programs and hall "
                "screens. Every call needs an API key an administrator made (`Authorization: Bearer "
                "la_…`); every error is `application/problem+json` (RFC 9457) with a machine-readable "
                "`code`; every list is paged with `cursor` and `limit`; times carry the station's offset."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": _problem_responses(refs[(Problem, "serialization")]),
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key from the page “API keys”: `la_<prefix>_<secret>`.",
                }
            },
        },
    }
