"""Webhook endpoints and deliveries (operators)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from core.outbox import EVENT_KINDS, MAX_URL_LENGTH, Attempt, Delivery, Endpoint

DeliveryStatus = Literal["pending", "delivered", "failed"]


class EndpointIn(BaseModel):
    """A new endpoint: where to POST, which kinds, and (optionally) the signing secret."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=MAX_URL_LENGTH, description="An absolute http(s) URL")
    kinds: list[str] = Field(max_length=len(EVENT_KINDS), description=", ".join(EVENT_KINDS))
    secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=200,
        description="16-200 characters; generated when left out",
    )


class EndpointPatch(BaseModel):
    """Fields to change; absent ones stay."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, max_length=MAX_URL_LENGTH)
    kinds: list[str] | None = Field(default=None, max_length=len(EVENT_KINDS))
    active: bool | None = None


class EndpointOut(BaseModel):
    id: int
    url: str
    kinds: list[str]
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, endpoint: Endpoint) -> EndpointOut:
        return cls(
            id=endpoint.id,
            url=endpoint.url,
            kinds=list(endpoint.kinds),
            active=endpoint.active,
            created_at=endpoint.created_at,
        )


class CreatedEndpointOut(EndpointOut):
    secret: str = Field(description="The signing secret: shown on creation only")


class DeliveryOut(BaseModel):
    id: int
    event_id: str
    kind: str
    endpoint_id: int
    url: str
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    updated_at: datetime

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryOut:
        return cls(
            id=delivery.id,
            event_id=delivery.event_id,
            kind=delivery.kind,
            endpoint_id=delivery.endpoint_id,
            url=delivery.url,
            status=delivery.status,  # type: ignore[arg-type]
            attempts=delivery.attempts,
            last_status_code=delivery.last_status_code,
            last_error=delivery.last_error,
            next_attempt_at=delivery.next_attempt_at,
            delivered_at=delivery.delivered_at,
            updated_at=delivery.updated_at,
        )


class AttemptOut(BaseModel):
    attempt: int
    status_code: int | None
    error: str | None
    next_attempt_at: datetime | None
    attempted_at: datetime

    @classmethod
    def of(cls, attempt: Attempt) -> AttemptOut:
        return cls(
            attempt=attempt.attempt,
            status_code=attempt.status_code,
            error=attempt.error,
            next_attempt_at=attempt.next_attempt_at,
            attempted_at=attempt.attempted_at,
        )
