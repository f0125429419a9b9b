"""``Idempotency-Key`` for every authenticated POST.

The first response to a (user, key) is stored; a replay with the same request gets it back
(with ``Idempotent-Replayed: true``) and runs nothing; the same key with a different request
gets 409 naming what differs; a replay that arrives while the first is still running waits
for it (up to ``idempotency_wait_seconds``, then 409 in progress). Server errors (5xx) are not
stored, so the client may retry. A record whose process died mid-request is taken over once
its lock lapses. Requests without a valid bearer token are passed through untouched: keys
belong to users.

The stored response is written before the client sees it, so an acknowledged request is
always replayable. The write itself is a separate transaction from the route's work; the
services that move value are idempotent by ids derived from the key (an order's client order
id, the operation id of a check-in, task completion or redemption, ledger transfer ids),
committed with their effect, which closes the window where a crash lands between the two: the
retry runs again and answers with what the first run made.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl

import anyio
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.middleware import header, send_problem
from api.http.security import bearer_token, kept_token_user, token_user
from api.http.store import COMPLETED, PENDING, IdempotencyStore, StoredRequest, StoredResponse
from core.clock import utc_now
from core.config import Settings
from core.users.model import User
from core.users.principals import PrincipalCache

HEADER = b"idempotency-key"
MAX_KEY_LENGTH = 255
LOCK_SECONDS = 60
POLL_SECONDS = 0.05


@dataclass(frozen=True, slots=True)
class _Execute:
    pass


@dataclass(frozen=True, slots=True)
class _Replay:
    response: StoredResponse


@dataclass(frozen=True, slots=True)
class _Mismatch:
    differences: list[str]


@dataclass(frozen=True, slots=True)
class _Busy:
    pass


@dataclass(frozen=True, slots=True)
class _Bypass:
    pass


_Decision = _Execute | _Replay | _Mismatch | _Busy | _Bypass


def valid_key(key: str) -> bool:
    return 1 <= len(key) <= MAX_KEY_LENGTH and all(33 <= ord(c) <= 126 for c in key)


def describe_request(
    method: str, target: str, content_type: str | None, body: bytes, *, pepper: bytes
) -> StoredRequest:
    """Keyed digests of the request and of each top-level body field (no plaintext is kept)."""

    def digest(data: bytes) -> str:
        return hmac.new(pepper, data, hashlib.sha256).hexdigest()

    fields = {name: digest(value) for name, value in _body_fields(content_type, body).items()}
    whole = json.dumps([method, target, sorted(fields.items())]).encode()
    return StoredRequest(method, target, digest(whole), fields)


def differences(first: StoredRequest, again: StoredRequest) -> list[str]:
    """Names of what differs between two requests: ``method``, ``path`` or body fields."""
    named = [name for name in ("method", "path") if getattr(first, name) != getattr(again, name)]
    fields = set(first.field_digests) | set(again.field_digests)
    named += sorted(f for f in fields if first.field_digests.get(f) != again.field_digests.get(f))
    return named


def _body_fields(content_type: str | None, body: bytes) -> dict[str, bytes]:
    """Canonical bytes per top-level field, so key order and whitespace do not matter."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind == "application/json" or kind.endswith("+json"):
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            return {"body": body}
        if isinstance(parsed, dict):
            return {k: _canonical(v) for k, v in parsed.items()}
        return {"body": _canonical(parsed)}
    if kind == "application/x-www-form-urlencoded":
        pairs: dict[str, list[str]] = {}
        for name, value in parse_qsl(body.decode("latin-1"), keep_blank_values=True):
            pairs.setdefault(name, []).append(value)
        return {k: _canonical(v) for k, v in pairs.items()}
    return {"body": body} if body else {}


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


class IdempotencyMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        store: IdempotencyStore,
        settings: Settings,
        sessions: sessionmaker[Session],
        principals: PrincipalCache | None = None,
    ) -> None:
        self.app = app
        self.store = store
        self.sessions = sessions
        self.principals = principals
        self.settings = settings
        secret = settings.signing_secret().encode()
        self.pepper = hashlib.sha256(b"paperleague-idempotency:" + secret).digest()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = header(scope, HEADER) if scope["type"] == "http" else None
        if key is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        if not valid_key(key):
            await send_problem(
                send,
                422,
                "Validation error",
                f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} visible ASCII characters",
                slug="validation-error",
                scope=scope,
                field="header.idempotency-key",
                rule="key_format",
            )
            return
        token = bearer_token(header(scope, b"authorization"))
        # The user the token authenticates now: a revoked token replays nothing of theirs.
        user = None if token is None else await self._token_user(token)
        if user is None:
            await self.app(scope, receive, send)
            return
        user_id = user.id
        body = await _read_body(receive)
        query = scope.get("query_string", b"").decode("latin-1")
        target = scope["path"] + (f"?{query}" if query else "")
        request = describe_request(
            scope["method"], target, header(scope, b"content-type"), body, pepper=self.pepper
        )
        decision = await self._decide(user_id, key, request)
        if isinstance(decision, _Execute):
            await self._execute(scope, receive, send, body, user_id, key)
        elif isinstance(decision, _Bypass):
            await self.app(scope, _replaying(body, receive), send)
        elif isinstance(decision, _Replay):
            await _send_stored(send, decision.response)
        elif isinstance(decision, _Mismatch):
            await send_problem(
                send,
                409,
                "Idempotency key reused",
                f"Idempotency-Key {key!r} was first used with a different request; "
                f"differs in: {', '.join(decision.differences)}",
                slug="idempotency-key-reused",
                scope=scope,
                conflicting=decision.differences,
            )
        else:
            await send_problem(
                send,
                409,
                "Idempotency key in use",
                f"a request with Idempotency-Key {key!r} is still being processed; retry shortly",
                slug="idempotency-key-in-progress",
                scope=scope,
            )

    async def _token_user(self, token: str) -> User | None:
        """From the principal cache on the event loop when it keeps the user, else read in the
        thread pool (as ``token_user`` does it)."""
        kept = (
            None
            if self.principals is None
            else kept_token_user(token, self.settings, self.principals)
        )
        if kept is not None:
            return kept[0]
        return await run_in_threadpool(
            token_user, token, self.settings, self.sessions, self.principals
        )

    async def _decide(self, user_id: int, key: str, request: StoredRequest) -> _Decision:
        deadline = time.monotonic() + self.settings.idempotency_wait_seconds
        retention = timedelta(hours=self.settings.idempotency_retention_hours)
        vanished = 0
        while True:
            now = utc_now()
            lock_until = now + timedelta(seconds=LOCK_SECONDS)
            if await self.store.claim_async(user_id, key, request, now=now, lock_until=lock_until):
                return _Execute()
            record = await run_in_threadpool(self.store.get, user_id, key)
            if record is None:  # released meanwhile, or the token's user no longer exists
                vanished += 1
                if vanished > 3:
                    return _Bypass()
                continue
            abandoned = record.status == PENDING and record.locked_until < now
            if abandoned or record.created_at < now - retention:
                taken = await run_in_threadpool(
                    self.store.take_over,
                    user_id,
                    key,
                    request,
                    stale_before=now - retention,
                    now=now,
                    lock_until=lock_until,
                )
                if taken:
                    return _Execute()
                continue
            named = differences(record.request, request)
            if named:
                return _Mismatch(named)
            if record.status == COMPLETED and record.response is not None:
                return _Replay(record.response)
            if time.monotonic() >= deadline:
                return _Busy()
            await anyio.sleep(POLL_SECONDS)

    async def _execute(
        self, scope: Scope, receive: Receive, send: Send, body: bytes, user_id: int, key: str
    ) -> None:
        messages: list[Message] = []

        async def buffer(message: Message) -> None:
            messages.append(message)

        try:
            await self.app(scope, _replaying(body, receive), buffer)
        except BaseException:
            await run_in_threadpool(self.store.release, user_id, key)
            raise
        start = next((m for m in messages if m["type"] == "http.response.start"), None)
        if start is None or start["status"] >= 500:
            await run_in_threadpool(self.store.release, user_id, key)
        else:
            headers = [[k.decode("latin-1"), v.decode("latin-1")] for k, v in start["headers"]]
            chunks = b"".join(
                m.get("body", b"") for m in messages if m["type"] == "http.response.body"
            )
            stored = StoredResponse(start["status"], headers, chunks)
            await self.store.complete_async(user_id, key, stored)
        for message in messages:
            await send(message)


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _send_stored(send: Send, response: StoredResponse) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
    headers.append((b"idempotent-replayed", b"true"))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})
