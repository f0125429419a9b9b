"""Pure ASGI middleware: request ids, the request body size limit and security headers."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from collections.abc import Collection, Iterable
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


def forwarded_last(value: str | None) -> str | None:
    """The last entry of a comma-separated forwarding header: the one our own proxy added."""
    last = (value or "").rsplit(",", 1)[-1].strip()
    return last or None


# The web UI loads only its own files: no inline script or style (the DOM helpers set text,
# Chart.js styles its canvas through the CSSOM, which CSP allows).
UI_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# JSON (and problem+json) needs nothing at all.
API_POLICY = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
# The docs pages (FastAPI's Swagger UI and ReDoc) load from jsDelivr and start with an inline
# script, allowed by its hash; both style elements inline and ReDoc runs a blob: worker.
DOCS_POLICY = (
    "default-src 'none'; script-src https://cdn.jsdelivr.net {scripts}; "
    "style-src https://cdn.jsdelivr.net https://fonts.googleapis.com 'unsafe-inline'; "
    "font-src https://fonts.gstatic.com; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "connect-src 'self'; worker-src blob:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"
INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script>", re.DOTALL | re.I)


def inline_script_hashes(html: bytes) -> list[str]:
    """CSP source expressions (``'sha256-…'``) of the page's inline scripts."""
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode() + "'"
        for script in INLINE_SCRIPT.findall(html)
    ]


class SecurityHeadersMiddleware:
    """Hardening headers on every response: a Content-Security-Policy fitting the UI, the API
    or the docs, no MIME sniffing, no framing, no referrer, HSTS behind TLS, and ``no-store``
    for API answers that set no caching of their own (tokens, members' data)."""

    def __init__(
        self, app: ASGIApp, *, docs_paths: Collection[str], trust_proxy_headers: bool
    ) -> None:
        self.app = app
        self.docs_paths = frozenset(docs_paths)
        self.trust_proxy_headers = trust_proxy_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        fixed = self._headers(scope, path)
        if path in self.docs_paths:
            await self._docs(scope, receive, send, fixed)
            return

        async def send_hardened(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _with_defaults(message.get("headers", []), fixed)
            await send(message)

        await self.app(scope, receive, send_hardened)

    def _headers(self, scope: Scope, path: str) -> list[tuple[bytes, bytes]]:
        fixed = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        if path == "/" or path == "/web" or path.startswith("/web/"):
            fixed.append((b"content-security-policy", UI_POLICY.encode()))
        elif path not in self.docs_paths:
            fixed.append((b"content-security-policy", API_POLICY.encode()))
            if path.startswith("/v1/"):
                fixed.append((b"cache-control", b"no-store"))
        if self._behind_tls(scope):
            fixed.append((b"strict-transport-security", HSTS.encode()))
        return fixed

    def _behind_tls(self, scope: Scope) -> bool:
        if scope.get("scheme") == "https":
            return True
        if not self.trust_proxy_headers:
            return False
        return (forwarded_last(header(scope, b"x-forwarded-proto")) or "").lower() == "https"

    async def _docs(
        self, scope: Scope, receive: Receive, send: Send, fixed: list[tuple[bytes, bytes]]
    ) -> None:
        """The docs page's policy names its inline scripts' hashes: the page is held until
        its body is complete (a few kilobytes)."""
        start: Message | None = None
        chunks: list[bytes] = []

        async def hold(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            policy = DOCS_POLICY.format(scripts=" ".join(inline_script_hashes(body)))
            headers = [*fixed, (b"content-security-policy", policy.encode())]
            start["headers"] = _with_defaults(start.get("headers", []), headers)
            await send(start)
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, hold)


def _with_defaults(
    headers: Iterable[tuple[bytes, bytes]], defaults: Iterable[tuple[bytes, bytes]]
) -> list[tuple[bytes, bytes]]:
    """``headers`` plus each default the response does not set itself."""
    present = list(headers)
    names = {name.lower() for name, _ in present}
    return present + [(name, value) for name, value in defaults if name not in names]
