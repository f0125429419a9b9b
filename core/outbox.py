"""The transactional outbox and its webhooks: the pure parts (event kinds, signatures, backoff).

A fact (a prize paid, a level reached, a PK board judged, a redemption, a content batch gone
final) writes one ``outbox_events`` row in the transaction that writes the fact
(``core.outbox_store.record_event``), so an event exists iff its fact committed. A dispatcher
(``core.webhooks``) later POSTs each event to every endpoint subscribed to its kind, at least
once, signed Stripe-style:

``X-PaperLeague-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from core.errors import RuleViolation
from core.rule_codes import Rule

PRIZE_PAID = "prize.paid"
LEVEL_UP = "level.up"
PK_RESULT = "pk.result"
REDEMPTION_CREATED = "redemption.created"
CERTIFICATE_FINAL = "certificate.final"
EVENT_KINDS: tuple[str, ...] = (
    PRIZE_PAID,
    LEVEL_UP,
    PK_RESULT,
    REDEMPTION_CREATED,
    CERTIFICATE_FINAL,
)

EVENT_ID_HEADER = "X-PaperLeague-Event-Id"
SIGNATURE_HEADER = "X-PaperLeague-Signature"
MAX_URL_LENGTH = 2000

# Delivery statuses.
PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"
DELIVERY_STATUSES = (PENDING, DELIVERED, FAILED)

EventPayload = dict[str, Any]
DEFAULT_MAX_ATTEMPTS = 8


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    """One recorded fact: ``event_id`` is derived from the fact (``prize.paid:<award id>``)."""

    id: int
    event_id: str
    kind: str
    payload: EventPayload
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event for a use case to record with the fact it hands to another package's service
    (e.g. settlement's ``prize.paid``, recorded by the ledger's award transaction)."""

    kind: str
    payload: EventPayload
    event_id: str


@dataclass(frozen=True, slots=True)
class Endpoint:
    """An operator's webhook endpoint and the event kinds it receives (the secret stays in the
    store: it is shown once, on creation)."""

    id: int
    url: str
    kinds: tuple[str, ...]
    active: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event to one endpoint: ``attempts`` made so far, the last answer (HTTP status code
    or transport error), and when the next attempt is due (``None`` once delivered or failed)."""

    id: int
    event_id: str
    kind: str
    endpoint_id: int
    url: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Attempt:
    """One attempt's answer: HTTP status code, or the transport error; when the next is due."""

    attempt: int
    status_code: int | None
    error: str | None
    next_attempt_at: datetime | None
    attempted_at: datetime


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery claimed for attempt number ``attempt``: what the dispatcher sends."""

    delivery_id: int
    attempt: int
    event_id: str
    url: str
    secret: str
    body: bytes


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter: attempt ``n`` (1-based) that failed waits a uniform
    random time in ``[d/2, d]`` seconds, ``d = min(cap, base · 2^(n-1))``; after
    ``max_attempts`` failed attempts the delivery is failed."""

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    base_seconds: float = 10.0
    cap_seconds: float = 3600.0

    def delay_seconds(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait after failed attempt ``attempt`` (≥ 1)."""
        if attempt < 1:
            raise ValueError("attempts are numbered from 1")
        ceiling = min(self.cap_seconds, self.base_seconds * 2.0 ** min(attempt - 1, 60))
        return rng.uniform(ceiling / 2, ceiling)


def signature(secret: str, body: bytes, *, timestamp: int) -> str:
    """The ``X-PaperLeague-Signature`` value of ``body`` sent at ``timestamp`` (unix seconds)."""
    signed = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_signature(
    secret: str, body: bytes, header: str, *, now: int, tolerance_seconds: int = 300
) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` and its ``t`` is within
    ``tolerance_seconds`` of ``now`` (unix seconds): what a receiver checks."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance_seconds:
        return False
    expected = signature(secret, body, timestamp=timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def check_url(url: str) -> str:
    """``url`` if it is an absolute http(s) URL with a host, else ``RuleViolation``
    (``webhook_url``)."""
    try:
        parts = urlsplit(url)
        usable = parts.scheme in ("http", "https") and bool(parts.hostname)
        _ = parts.port  # refuses a port that is not 0-65535
    except ValueError:  # e.g. an unclosed "[" of an IPv6 host
        usable = False
    if len(url) > MAX_URL_LENGTH or not usable or any(c.isspace() for c in url):
        raise RuleViolation(
            "a webhook URL is an absolute http:// or https:// URL with a host",
            field="url",
            rule=Rule.WEBHOOK_URL,
        )
    return url


def check_kinds(kinds: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The distinct ``kinds`` in order, refusing an empty list or an unknown kind
    (``event_kind``)."""
    unknown = [kind for kind in kinds if kind not in EVENT_KINDS]
    if unknown or not kinds:
        raise RuleViolation(
            f"event kinds are one or more of {', '.join(EVENT_KINDS)}"
            + (f"; unknown: {', '.join(unknown)}" if unknown else ""),
            field="kinds",
            rule=Rule.EVENT_KIND,
        )
    return tuple(dict.fromkeys(kinds))
