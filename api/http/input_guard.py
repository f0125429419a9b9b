"""Refuse NUL (U+0000) in request text: PostgreSQL text cannot hold it, so a NUL in a name or a
lookup key would reach the database as a 500 there (and be stored on SQLite). One app-wide
dependency answers 422 naming the field on every backend, before any query runs.

Multipart bodies are left to their routes (a file may hold any byte; parsing the form here
would bypass the routes' own part limits).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from core.errors import RuleViolation

NUL = "\x00"


def _refuse(field: str) -> RuleViolation:
    return RuleViolation(f"{field} contains a NUL character", field=field, rule="no_nul")


def _nul_path(value: Any, path: str) -> str | None:
    """Where in a parsed JSON value a string (or key) holds NUL, as a dotted path."""
    if isinstance(value, str):
        return path if NUL in value else None
    if isinstance(value, dict):
        items: list[tuple[Any, Any]] = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    else:
        return None
    for key, item in items:
        inner = f"{path}.{key}" if path else str(key)
        if isinstance(key, str) and NUL in key:
            return inner
        found = _nul_path(item, inner)
        if found is not None:
            return found
    return None


async def refuse_nul_characters(request: Request) -> None:
    """422 ``no_nul`` for a NUL in a path parameter, a query parameter, or JSON or form text."""
    for name, value in request.path_params.items():
        if NUL in str(value):
            raise _refuse(f"path.{name}")
    for name, value in request.query_params.multi_items():
        if NUL in name or NUL in value:
            raise _refuse(f"query.{name}")
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type == "application/json":
        body = await request.body()
        if b"\\u0000" in body:  # the cheap test; the parse only runs when it hits
            try:
                found = _nul_path(json.loads(body), "")
            except ValueError:
                return  # not JSON: the route's own parsing answers that
            if found is not None:
                raise _refuse(found or "body")
    elif content_type == "application/x-www-form-urlencoded":
        form = await request.form()  # parsed once: FastAPI's form fields reuse it
        for name, value in form.multi_items():
            if NUL in name or (isinstance(value, str) and NUL in value):
                raise _refuse(name)
