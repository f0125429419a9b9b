"""Webhooks: operators' endpoints, and the dispatcher that delivers outbox events to them.

``dispatch_once`` runs one pass: fan new events out to the endpoints subscribed to their kind
(one delivery row per event and endpoint), claim the due deliveries, POST each and record the
answer. A claim takes the rows with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite's single
writer serialises claims) and moves ``next_attempt_at`` a lease ahead before the lock is let go,
so two dispatchers never send the same attempt, and a dispatcher that dies mid-attempt leaves
the delivery due again once the lease runs out: delivery is at least once. A 2xx answer
delivers; anything else (another status, a timeout, a refused connection) is retried after
``RetryPolicy.delay_seconds`` until ``max_attempts``, then the delivery is failed; an operator
may retry a failed one.
"""

from __future__ import annotations

import json
import logging
import random
import secrets
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from core.clock import utc_now
from core.errors import Conflict, NotFound, RuleViolation
from core.outbox import (
    DELIVERED,
    EVENT_ID_HEADER,
    FAILED,
    PENDING,
    SIGNATURE_HEADER,
    Attempt,
    Claimed,
    Delivery,
    Endpoint,
    OutboxEvent,
    RetryPolicy,
    check_kinds,
    check_url,
    signature,
)
from core.outbox_store import (
    OutboxRepository,
    WebhookDeliveryRow,
    WebhookEndpointRow,
    lease_until,
)
from core.rule_codes import Rule
from core.uow import UnitOfWork

logger = logging.getLogger(__name__)

MIN_SECRET_LENGTH = 16

# (url, body, headers, timeout seconds) -> HTTP status code; raises OSError when no answer.
Sender = Callable[[str, bytes, Mapping[str, str], float], int]


class WebhooksUnitOfWork(UnitOfWork):
    outbox: OutboxRepository

    def _bind(self, session: Session) -> None:
        self.outbox = OutboxRepository(session)


@dataclass(frozen=True, slots=True)
class CreatedEndpoint:
    """A new endpoint and its signing secret (shown this once)."""

    endpoint: Endpoint
    secret: str


@dataclass(frozen=True, slots=True)
class DispatchReport:
    """One pass: deliveries created by fan-out, attempts made, and how they ended."""

    fanned_out: int
    attempted: int
    delivered: int
    retrying: int
    failed: int


# --- endpoints --------------------------------------------------------------------------------


def create_endpoint(
    uow: WebhooksUnitOfWork,
    url: str,
    *,
    kinds: list[str],
    secret: str | None = None,
    now: datetime | None = None,
) -> CreatedEndpoint:
    """Register an endpoint for ``kinds``; ``secret`` (≥ 16 characters) is generated if not
    given. 422 ``webhook_url`` / ``event_kind`` / ``max_length`` for bad input."""
    row = WebhookEndpointRow(
        url=check_url(url),
        kinds=list(check_kinds(kinds)),
        secret=_checked_secret(secret),
        active=True,
        created_at=now or utc_now(),
    )
    with uow:
        uow.outbox.add_endpoint(row)
        created = CreatedEndpoint(row.to_endpoint(), row.secret)
        uow.commit()
    return created


def update_endpoint(
    uow: WebhooksUnitOfWork,
    endpoint_id: int,
    *,
    url: str | None = None,
    kinds: list[str] | None = None,
    active: bool | None = None,
) -> Endpoint:
    """Change an endpoint's URL, kinds or whether it is active (fields left ``None`` stay)."""
    with uow:
        row = _require_endpoint(uow, endpoint_id)
        if url is not None:
            row.url = check_url(url)
        if kinds is not None:
            row.kinds = list(check_kinds(kinds))
        if active is not None:
            row.active = active
        endpoint = row.to_endpoint()
        uow.commit()
    return endpoint


def delete_endpoint(uow: WebhooksUnitOfWork, endpoint_id: int) -> None:
    """Remove an endpoint and its deliveries."""
    with uow:
        uow.outbox.delete_endpoint(_require_endpoint(uow, endpoint_id))
        uow.commit()


def get_endpoint(uow: WebhooksUnitOfWork, endpoint_id: int) -> Endpoint:
    with uow.reading():
        return _require_endpoint(uow, endpoint_id).to_endpoint()


def list_endpoints(uow: WebhooksUnitOfWork) -> list[Endpoint]:
    with uow.reading():
        return [row.to_endpoint() for row in uow.outbox.endpoints()]


def _require_endpoint(uow: WebhooksUnitOfWork, endpoint_id: int) -> WebhookEndpointRow:
    row = uow.outbox.endpoint(endpoint_id)
    if row is None:
        raise NotFound(f"no webhook endpoint {endpoint_id}", field="endpoint_id")
    return row


def _checked_secret(secret: str | None) -> str:
    if secret is None:
        return "whsec_" + secrets.token_urlsafe(32)
    if not MIN_SECRET_LENGTH <= len(secret) <= 200:
        raise RuleViolation(
            f"a webhook secret is {MIN_SECRET_LENGTH} to 200 characters",
            field="secret",
            rule=Rule.MAX_LENGTH if len(secret) > 200 else "string_too_short",
        )
    return secret


# --- deliveries -------------------------------------------------------------------------------


def list_deliveries(
    uow: WebhooksUnitOfWork, *, status: str | None = None, after: int | None = None, limit: int = 50
) -> tuple[list[Delivery], int | None]:
    """A page of deliveries, newest first; the id to continue after, if more follow."""
    with uow.reading():
        return uow.outbox.deliveries(status=status, after=after, limit=limit)


def retry_delivery(
    uow: WebhooksUnitOfWork, delivery_id: int, *, now: datetime | None = None
) -> Delivery:
    """Make a failed delivery due now with a fresh set of attempts; 409 ``failed_only``
    for one that is pending or delivered."""
    moment = now or utc_now()
    with uow:
        row = uow.outbox.delivery(delivery_id, lock=True)
        if row is None:
            raise NotFound(f"no webhook delivery {delivery_id}", field="delivery_id")
        if row.status != FAILED:
            raise Conflict(
                f"delivery {delivery_id} is {row.status}; only a failed one is retried",
                field="delivery_id",
                rule=Rule.FAILED_ONLY,
            )
        row.status, row.attempts, row.next_attempt_at, row.updated_at = PENDING, 0, moment, moment
        delivery = uow.outbox.to_delivery(row)
        uow.commit()
    return delivery


def get_delivery(uow: WebhooksUnitOfWork, delivery_id: int) -> Delivery:
    """One delivery; ``NotFound`` for an unknown id."""
    with uow.reading():
        row = uow.outbox.delivery(delivery_id)
        if row is None:
            raise NotFound(f"no webhook delivery {delivery_id}", field="delivery_id")
        return uow.outbox.to_delivery(row)


def delivery_attempts(uow: WebhooksUnitOfWork, delivery_id: int) -> list[Attempt]:
    """The attempts of one delivery, oldest first (a retried delivery numbers anew from 1)."""
    with uow.reading():
        if uow.outbox.delivery(delivery_id) is None:
            raise NotFound(f"no webhook delivery {delivery_id}", field="delivery_id")
        return uow.outbox.attempts(delivery_id)


def outbox_events(uow: WebhooksUnitOfWork) -> list[OutboxEvent]:
    """Every recorded event, oldest first (tests and operators' checks)."""
    with uow.reading():
        return [row.to_event() for row in uow.outbox.events()]


# --- the dispatcher ---------------------------------------------------------------------------


def event_body(event: OutboxEvent) -> bytes:
    """The JSON body POSTed for ``event`` (compact, keys sorted)."""
    document = {
        "id": event.event_id,
        "kind": event.kind,
        "created_at": event.created_at.isoformat(),
        "data": event.payload,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def fan_out(uow: WebhooksUnitOfWork, *, now: datetime, batch: int = 100) -> int:
    """Create the deliveries of events not yet fanned out; returns how many were created."""
    with uow:
        events = uow.outbox.lock_unfanned(batch)
        if not events:
            return 0
        endpoints = [row for row in uow.outbox.endpoints() if row.active]
        rows = [
            WebhookDeliveryRow(
                outbox_event_id=event.id,
                endpoint_id=endpoint.id,
                status=PENDING,
                attempts=0,
                next_attempt_at=now,
                updated_at=now,
            )
            for event in events
            for endpoint in endpoints
            if event.kind in endpoint.kinds
        ]
        uow.outbox.add_deliveries(rows)
        for event in events:
            event.fanned_out_at = now
        uow.commit()
    return len(rows)


def claim_due(
    uow: WebhooksUnitOfWork, *, now: datetime, lease_seconds: float, batch: int = 50
) -> list[Claimed]:
    """Claim the due deliveries for one attempt each (see the module on concurrency)."""
    with uow:
        claimed: list[Claimed] = []
        for row in uow.outbox.lock_due(now, batch):
            endpoint = uow.outbox.endpoint(row.endpoint_id)
            if endpoint is None:  # pragma: no cover - deleted with its deliveries (cascade)
                continue
            row.attempts += 1
            row.next_attempt_at = lease_until(now, lease_seconds)
            row.updated_at = now
            event = uow.outbox.event_by_row(row.outbox_event_id).to_event()
            claimed.append(
                Claimed(
                    row.id,
                    row.attempts,
                    event_id=event.event_id,
                    url=endpoint.url,
                    secret=endpoint.secret,
                    body=event_body(event),
                )
            )
        uow.commit()
    return claimed


def send(
    claimed: Claimed, sender: Sender, *, now: datetime, timeout: float
) -> tuple[int | None, str | None]:
    """POST one claimed attempt; (status code, None) or (None, transport error)."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "PaperLeague-Webhooks/1",
        EVENT_ID_HEADER: claimed.event_id,
        SIGNATURE_HEADER: signature(claimed.secret, claimed.body, timestamp=int(now.timestamp())),
    }
    try:
        return sender(claimed.url, claimed.body, headers, timeout), None
    except OSError as error:
        return None, f"{type(error).__name__}: {error}"


def record_answer(
    uow: WebhooksUnitOfWork,
    claimed: Claimed,
    answer: tuple[int | None, str | None],
    *,
    policy: RetryPolicy,
    rng: random.Random,
    now: datetime,
) -> str:
    """Store how an attempt ended; returns ``delivered``, ``pending`` (to retry) or
    ``failed``."""
    code, error = answer
    if code is not None and 200 <= code < 300:
        status, next_at = DELIVERED, None
    elif claimed.attempt >= policy.max_attempts:
        status, next_at = FAILED, None
    else:
        delay = policy.delay_seconds(claimed.attempt, rng)
        status, next_at = PENDING, now + timedelta(seconds=delay)
    if code is not None and error is None and status != DELIVERED:
        error = f"HTTP {code}"
    with uow:
        uow.outbox.finish_attempt(
            claimed.delivery_id,
            claimed.attempt,
            status=status,
            status_code=code,
            error=error,
            next_attempt_at=next_at,
            now=now,
        )
        uow.commit()
    return status


def dispatch_once(
    uow: WebhooksUnitOfWork,
    *,
    sender: Sender | None = None,
    policy: RetryPolicy | None = None,
    rng: random.Random | None = None,
    clock: Callable[[], datetime] = utc_now,
    timeout: float = 10.0,
    lease_seconds: float = 60.0,
) -> DispatchReport:
    """One pass of the dispatcher: fan out, claim what is due, send, record."""
    policy = policy or RetryPolicy()
    rng = rng or random.Random()
    post = sender or http_post
    fanned = fan_out(uow, now=clock())
    claimed = claim_due(uow, now=clock(), lease_seconds=max(lease_seconds, timeout * 2))
    outcomes = [
        record_answer(
            uow,
            attempt,
            send(attempt, post, now=clock(), timeout=timeout),
            policy=policy,
            rng=rng,
            now=clock(),
        )
        for attempt in claimed
    ]
    return DispatchReport(
        fanned_out=fanned,
        attempted=len(claimed),
        delivered=outcomes.count(DELIVERED),
        retrying=outcomes.count(PENDING),
        failed=outcomes.count(FAILED),
    )


def run_dispatcher(
    uow: WebhooksUnitOfWork,
    stop: threading.Event,
    *,
    interval_seconds: float = 5.0,
    sender: Sender | None = None,
    policy: RetryPolicy | None = None,
    timeout: float = 10.0,
) -> None:
    """Dispatch until ``stop`` is set, pausing ``interval_seconds`` after a pass that found
    nothing to send (for a worker thread or the app's lifespan)."""
    while not stop.is_set():
        try:
            report = dispatch_once(uow, sender=sender, policy=policy, timeout=timeout)
        except Exception:  # a database hiccup must not end the loop
            logger.exception("webhook dispatch pass failed")
            report = DispatchReport(0, 0, 0, 0, 0)
        if report.attempted == 0:
            stop.wait(interval_seconds)


def http_post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
    """POST ``body`` with urllib; the status code (an HTTP error status is an answer too)."""
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
