"""Pure ASGI middleware: request ids and the request body size limit."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.problems import PROBLEM_MEDIA_TYPE, check_rule_codes


async def send_problem(
    send: Send,
    status: int,
    title: str,
    detail: str,
    *,
    slug: str,
    scope: Scope,
    **extensions: Any,
) -> None:
    """Send a complete problem+json response straight from middleware."""
    problem = {"type": f"/problems/{slug}", "title": title, "status": status, "detail": detail}
    if status == 422 and "errors" not in extensions:  # like every 422: the list of field errors
        field, rule = extensions.get("field"), extensions.get("rule")
        extensions["errors"] = [{"field": field, "rule": rule, "message": detail}]
    check_rule_codes(extensions, scope.get("app"))
    body = json.dumps(problem | {"instance": scope.get("path")} | extensions).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


class RequestIdMiddleware:
    """Gives every request an ``X-Request-ID`` (the caller's, if sane) and echoes it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = header(scope, b"x-request-id")
        request_id = given if given and len(given) <= 128 and given.isprintable() else None
        request_id = request_id or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        await self.app(scope, receive, send_with_id)


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once a streamed body passes the limit.

    An HTTPException, so that FastAPI's body parsing re-raises it and the problem handler
    answers 413 instead of FastAPI's generic 400.
    """

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"request body exceeds the limit of {max_bytes} bytes")


class BodySizeLimitMiddleware:
    """Refuses request bodies over ``max_bytes`` with 413, by header or while streaming."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = header(scope, b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await send_problem(
                    send,
                    400,
                    "Bad request",
                    "Content-Length is not a number",
                    slug="bad-request",
                    scope=scope,
                    field="header.content-length",
                    rule="integer",
                )
                return
            if int(declared) > self.max_bytes:
                await self._refuse(scope, send)
                return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        await send_problem(
            send,
            413,
            "Content too large",
            f"request body exceeds the limit of {self.max_bytes} bytes",
            slug="content-too-large",
            scope=scope,
            limit=self.max_bytes,
        )
