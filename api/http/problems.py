"""RFC 9457 problem details: every error the API returns has this shape.

``type`` is a relative URI naming the problem kind, ``title`` is stable per kind, ``detail`` is
specific to the occurrence, ``instance`` is the request path. Validation problems (422) carry
``errors``: a list of ``{field, rule, message}``, and the first of them as ``field`` and ``rule``.
Every rule code is one that ``core/rule_codes.py`` registers; in the test environment a problem
naming any other is an error (``UnregisteredRule``), elsewhere it is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import (
    Conflict,
    DomainError,
    NotFound,
    PermissionDenied,
    RuleViolation,
    TooManyRequests,
    Unauthenticated,
    Unavailable,
)
from core.rule_codes import Rule, is_registered

PROBLEM_MEDIA_TYPE = "application/problem+json"
logger = logging.getLogger("paperleague.api")

STATUS_OF: dict[type[DomainError], int] = {
    NotFound: 404,
    Conflict: 409,
    RuleViolation: 422,
    Unauthenticated: 401,
    PermissionDenied: 403,
    TooManyRequests: 429,
    Unavailable: 503,
    DomainError: 400,
}

HTTP_TITLES = {
    400: ("bad-request", "Bad request"),
    401: ("unauthenticated", "Not authenticated"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    413: ("content-too-large", "Content too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation-error", "Validation error"),
    429: ("too-many-requests", "Too many requests"),
    500: ("internal-error", "Internal server error"),
    503: ("unavailable", "Service unavailable"),
}


class UnregisteredRule(AssertionError):
    """A problem would name a rule code that ``core/rule_codes.py`` does not register."""


def check_rule_codes(body: Mapping[str, Any], app: Any) -> None:
    """Refuse (test environment) or log (elsewhere) the unregistered codes in a problem body:
    its ``rule`` and every ``errors[].rule``. ``app`` is the FastAPI app, for its settings."""
    errors = body.get("errors") or ()
    codes = [body.get("rule"), *(e.get("rule") for e in errors if isinstance(e, Mapping))]
    unknown = sorted({str(c) for c in codes if c is not None and not is_registered(str(c))})
    if not unknown:
        return
    settings = getattr(getattr(app, "state", None), "settings", None)
    if getattr(settings, "environment", None) == "test":
        raise UnregisteredRule(f"rule codes not in core/rule_codes.py: {unknown}")
    logger.warning("problem names unregistered rule codes %s", unknown)


class FieldError(BaseModel):
    field: str
    rule: str
    message: str


class Problem(BaseModel):
    """Problem details (RFC 9457), as documented in the OpenAPI schema."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    field: str | None = None
    rule: str | None = None
    errors: list[FieldError] | None = None


def problem_response(
    status: int,
    detail: str | None = None,
    *,
    slug: str | None = None,
    title: str | None = None,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    default_slug, default_title = HTTP_TITLES.get(status, ("error", "Error"))
    body: dict[str, Any] = {
        "type": f"/problems/{slug or default_slug}",
        "title": title or default_title,
        "status": status,
    }
    if detail is not None:
        body["detail"] = detail
    if instance is not None:
        body["instance"] = instance
    body.update({k: v for k, v in extensions.items() if v is not None})
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def problem_doc(description: str) -> dict[str, Any]:
    """An OpenAPI ``responses`` entry for a problem+json answer."""
    return {
        "description": description,
        "model": Problem,
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def too_many_doc(description: str) -> dict[str, Any]:
    """A 429 answer, with its ``Retry-After`` header."""
    retry_after = {"description": "Seconds to wait", "schema": {"type": "integer", "minimum": 1}}
    return problem_doc(description) | {"headers": {"Retry-After": retry_after}}


COMMON_PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: problem_doc("Malformed request: a body that cannot be parsed, or a bad Content-Length"),
    413: problem_doc("Request body larger than the configured limit"),
    422: problem_doc("Invalid input: names each field and the rule it breaks"),
    500: problem_doc("Unexpected server error (no internals disclosed)"),
}


def field_path(loc: tuple[int | str, ...], rule: str = "") -> str:
    """``("body", "username")`` → ``username``; other locations keep their prefix."""
    if rule == "json_invalid":  # pydantic's loc is then the byte offset, not a field
        return "body"
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(parts) or "body"


def _status_for(exc: DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return 400


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    status = _status_for(exc)
    reserved = {"type", "title", "status", "detail", "instance"}
    extensions = {k: v for k, v in exc.extensions.items() if k not in reserved}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if isinstance(exc, TooManyRequests):
        headers = {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, RuleViolation):  # one entry, unless the error lists several fields
        extensions.setdefault(
            "errors", [{"field": exc.field, "rule": exc.rule, "message": exc.detail}]
        )
    check_rule_codes(extensions, request.app)
    return problem_response(
        status,
        exc.detail,
        slug=exc.slug,
        title=exc.title,
        instance=request.url.path,
        headers=headers,
        **extensions,
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "field": field_path(tuple(e.get("loc", ())), e["type"]),
            "rule": e["type"],
            "message": e["msg"],
        }
        for e in exc.errors()
    ]
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    first = errors[0] if errors else {"field": "body", "rule": Rule.INVALID}
    check_rule_codes({"errors": errors, "rule": first["rule"]}, request.app)
    return problem_response(
        422,
        summary or "invalid request",
        instance=request.url.path,
        field=first["field"],
        rule=first["rule"],
        errors=errors,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    # The framework's 400s all mean a body it could not parse (not UTF-8, broken multipart).
    names = {"field": "body", "rule": Rule.MALFORMED} if exc.status_code == 400 else {}
    return problem_response(
        exc.status_code, detail, instance=request.url.path, headers=exc.headers, **names
    )


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    request_id = request.headers.get("x-request-id") or getattr(request.state, "request_id", None)
    logger.exception(
        "unhandled error on %s %s (request %s)", request.method, request.url.path, request_id
    )
    return problem_response(
        500,
        "An unexpected error occurred. It has been logged"
        + (f" with request id {request_id}." if request_id else "."),
        instance=request.url.path,
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
