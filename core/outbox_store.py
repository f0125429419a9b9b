"""Persistence of the outbox: events, webhook endpoints, deliveries; and ``record_event``, which
every package calls inside the transaction that writes the fact an event reports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.clock import utc_now
from core.db import Base, UtcDateTime, keyset_page
from core.outbox import (
    DELIVERED,
    EVENT_KINDS,
    PENDING,
    Attempt,
    Delivery,
    Endpoint,
    EventPayload,
    OutboxEvent,
)


class OutboxEventRow(Base):
    """One fact to announce; ``fanned_out_at`` is set once its deliveries exist."""

    __tablename__ = "outbox_events"
    __table_args__ = (
        Index("ix_outbox_events_fanned_out_at", "fanned_out_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    fanned_out_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    def to_event(self) -> OutboxEvent:
        return OutboxEvent(self.id, self.event_id, self.kind, self.payload, self.created_at)


class WebhookEndpointRow(Base):
    __tablename__ = "webhook_endpoints"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(200))
    kinds: Mapped[list[str]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    def to_endpoint(self) -> Endpoint:
        return Endpoint(self.id, self.url, tuple(self.kinds), self.active, self.created_at)


class WebhookDeliveryRow(Base):
    """One event to one endpoint. A claimed attempt pushes ``next_attempt_at`` a lease ahead,
    so a dispatcher that dies mid-attempt leaves the delivery due again (at least once)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("outbox_event_id", "endpoint_id"),
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="known_status"),
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outbox_event_id: Mapped[int] = mapped_column(ForeignKey("outbox_events.id"))
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class WebhookAttemptRow(Base):
    """The answer to one attempt of a delivery (an append-only log)."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (
        Index("ix_webhook_attempts_delivery_id", "delivery_id", "attempt"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE")
    )
    attempt: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    attempted_at: Mapped[datetime] = mapped_column(UtcDateTime())

    def to_attempt(self) -> Attempt:
        return Attempt(
            self.attempt, self.status_code, self.error, self.next_attempt_at, self.attempted_at
        )


def record_event(
    session: Session,
    kind: str,
    payload: EventPayload,
    event_id: str,
    *,
    now: datetime | None = None,
) -> None:
    """Add an outbox event in ``session``'s open transaction, once per ``event_id``: a replay of
    the fact (same id) adds nothing. ``payload`` holds JSON values only."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown outbox event kind {kind!r}")
    values = {
        "event_id": event_id,
        "kind": kind,
        "payload": payload,
        "created_at": now or utc_now(),
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(OutboxEventRow).values(**values).on_conflict_do_nothing(index_elements=["event_id"])
    )
    session.execute(stmt)


class OutboxRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # --- endpoints --------------------------------------------------------------------------

    def add_endpoint(self, row: WebhookEndpointRow) -> WebhookEndpointRow:
        self.session.add(row)
        self.session.flush()
        return row

    def endpoint(self, endpoint_id: int) -> WebhookEndpointRow | None:
        return self.session.get(WebhookEndpointRow, endpoint_id)

    def endpoints(self) -> Sequence[WebhookEndpointRow]:
        return self.session.scalars(
            select(WebhookEndpointRow).order_by(WebhookEndpointRow.id)
        ).all()

    def delete_endpoint(self, row: WebhookEndpointRow) -> None:
        self.session.delete(row)

    # --- fan-out ----------------------------------------------------------------------------

    def lock_unfanned(self, limit: int) -> Sequence[OutboxEventRow]:
        """Events without deliveries yet, oldest first, locked (skipping rows another
        dispatcher holds, on PostgreSQL)."""
        stmt = (
            select(OutboxEventRow)
            .where(OutboxEventRow.fanned_out_at.is_(None))
            .order_by(OutboxEventRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return self.session.scalars(stmt).all()

    def add_deliveries(self, rows: Sequence[WebhookDeliveryRow]) -> None:
        self.session.add_all(rows)

    # --- attempts ---------------------------------------------------------------------------

    def lock_due(self, now: datetime, limit: int) -> Sequence[WebhookDeliveryRow]:
        """Pending deliveries due at ``now``, earliest first, locked (skip locked)."""
        stmt = (
            select(WebhookDeliveryRow)
            .where(WebhookDeliveryRow.status == PENDING, WebhookDeliveryRow.next_attempt_at <= now)
            .order_by(WebhookDeliveryRow.next_attempt_at, WebhookDeliveryRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return self.session.scalars(stmt).all()

    def event_by_row(self, outbox_event_id: int) -> OutboxEventRow:
        row = self.session.get(OutboxEventRow, outbox_event_id)
        if row is None:
            raise LookupError(f"no outbox event {outbox_event_id}")
        return row

    def finish_attempt(
        self,
        delivery_id: int,
        attempt: int,
        *,
        status: str,
        status_code: int | None,
        error: str | None,
        next_attempt_at: datetime | None,
        now: datetime,
    ) -> bool:
        """Record the answer to attempt ``attempt``; False when the delivery has moved on (its
        lease ran out and another attempt was claimed), which leaves it untouched."""
        result = self.session.execute(
            update(WebhookDeliveryRow)
            .where(
                WebhookDeliveryRow.id == delivery_id,
                WebhookDeliveryRow.attempts == attempt,
                WebhookDeliveryRow.status == PENDING,
            )
            .values(
                status=status,
                last_status_code=status_code,
                last_error=None if error is None else error[:500],
                next_attempt_at=next_attempt_at,
                delivered_at=now if status == DELIVERED else None,
                updated_at=now,
            )
        )
        if not getattr(result, "rowcount", 0):
            return False
        self.session.add(
            WebhookAttemptRow(
                delivery_id=delivery_id,
                attempt=attempt,
                status_code=status_code,
                error=None if error is None else error[:500],
                next_attempt_at=next_attempt_at,
                attempted_at=now,
            )
        )
        return True

    def attempts(self, delivery_id: int) -> list[Attempt]:
        stmt = (
            select(WebhookAttemptRow)
            .where(WebhookAttemptRow.delivery_id == delivery_id)
            .order_by(WebhookAttemptRow.id)
        )
        return [row.to_attempt() for row in self.session.scalars(stmt)]

    def delivery(self, delivery_id: int, *, lock: bool = False) -> WebhookDeliveryRow | None:
        stmt = select(WebhookDeliveryRow).where(WebhookDeliveryRow.id == delivery_id)
        if lock:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).one_or_none()

    def deliveries(
        self, *, status: str | None, after: int | None, limit: int
    ) -> tuple[list[Delivery], int | None]:
        """A page of deliveries, newest first, with ``status`` if given."""
        stmt = select(WebhookDeliveryRow)
        if status is not None:
            stmt = stmt.where(WebhookDeliveryRow.status == status)
        rows, last = keyset_page(
            self.session, stmt, key=WebhookDeliveryRow.id, after=after, limit=limit, descending=True
        )
        return [self.to_delivery(row) for row in rows], last

    def to_delivery(self, row: WebhookDeliveryRow) -> Delivery:
        event = self.event_by_row(row.outbox_event_id)
        endpoint = self.session.get(WebhookEndpointRow, row.endpoint_id)
        return Delivery(
            id=row.id,
            event_id=event.event_id,
            kind=event.kind,
            endpoint_id=row.endpoint_id,
            url="" if endpoint is None else endpoint.url,
            status=row.status,
            attempts=row.attempts,
            last_status_code=row.last_status_code,
            last_error=row.last_error,
            next_attempt_at=row.next_attempt_at,
            delivered_at=row.delivered_at,
            updated_at=row.updated_at,
        )

    def events(self) -> Sequence[OutboxEventRow]:
        return self.session.scalars(select(OutboxEventRow).order_by(OutboxEventRow.id)).all()


def lease_until(now: datetime, seconds: float) -> datetime:
    """When a claimed attempt's lease runs out."""
    return now + timedelta(seconds=seconds)

