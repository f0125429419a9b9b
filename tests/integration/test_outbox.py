"""The outbox on SQLite and PostgreSQL: an event exists iff its fact committed, once however
often the fact is replayed; the dispatcher delivers signed POSTs to a real local server at least
once, backs off, gives up after N attempts, and two dispatchers never send the same attempt."""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.db import Database
from core.outbox import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    NewEvent,
    RetryPolicy,
    verify_signature,
)
from core.outbox_store import record_event
from core.users.model import Role, User
from core.webhooks import (
    WebhooksUnitOfWork,
    create_endpoint,
    delivery_attempts,
    dispatch_once,
    list_deliveries,
    outbox_events,
    retry_delivery,
)
from ledger import engagement
from ledger import services as ledger
from ledger.earning import Award
from ledger.engagement import OutOfStock
from ledger.levels import Level
from ledger.model import InsufficientFunds, TransferRequest, points_account
from ledger.services import LedgerUnitOfWork
from tests.concurrency import race
from tests.webhook_receiver import receiver

T0 = datetime(2026, 3, 1, 15, 0, tzinfo=UTC)
SECRET = "s3cret-s3cret-s3cret"
IMMEDIATE = RetryPolicy(max_attempts=3, base_seconds=0.0, cap_seconds=0.0)


@pytest.fixture
def uow(database: Database) -> WebhooksUnitOfWork:
    return WebhooksUnitOfWork(database.sessions)


def kinds_of(uow: WebhooksUnitOfWork) -> Counter[str]:
    return Counter(event.kind for event in outbox_events(uow))


# --- written iff the fact commits ------------------------------------------------------------


def test_an_event_recorded_in_a_rolled_back_transaction_is_gone(uow: WebhooksUnitOfWork) -> None:
    with uow:
        record_event(uow.session, "level.up", {"n": 1}, "level.up:rolled-back")
        # no commit: the unit of work rolls back
    with uow:
        record_event(uow.session, "level.up", {"n": 2}, "level.up:kept")
        uow.commit()
    assert [e.event_id for e in outbox_events(uow)] == ["level.up:kept"]


def test_an_award_records_its_events_iff_it_is_paid(
    ledger_uow: LedgerUnitOfWork, uow: WebhooksUnitOfWork, make_user: Callable[..., User]
) -> None:
    member = make_user(Role.MEMBER)
    engagement.create_item(ledger_uow, key="mug", name="Mug", cost_points=1, stock=0)
    event = NewEvent("prize.paid", {"award_id": "prize:9:1:0"}, "prize.paid:prize:9:1:0")
    with pytest.raises(OutOfStock):
        engagement.award(
            ledger_uow,
            member.id,
            Award(5, 0),
            award_id="a1",
            reason="prize",
            item_key="mug",
            events=[event],
        )
    assert kinds_of(uow) == Counter()
    for _ in range(3):  # paid, then replayed twice
        engagement.award(
            ledger_uow, member.id, Award(5, 0), award_id="a2", reason="prize", events=[event]
        )
    assert [e.event_id for e in outbox_events(uow)] == ["prize.paid:prize:9:1:0"]


def test_level_ups_and_redemptions_are_announced_once_and_refusals_not_at_all(
    ledger_uow: LedgerUnitOfWork, uow: WebhooksUnitOfWork, make_user: Callable[..., User]
) -> None:
    operator, member = make_user(Role.OPERATOR), make_user(Role.MEMBER)
    engagement.set_levels(
        ledger_uow,
        [Level(1, "New", 0), Level(2, "Pro", 10), Level(3, "Ace", 20)],
        operator_id=operator.id,
    )
    for _ in range(2):  # the replay posts nothing, so announces nothing
        engagement.award(ledger_uow, member.id, Award(0, 25), award_id="xp1", reason="grant")
    levels = [e for e in outbox_events(uow) if e.kind == "level.up"]
    assert [(e.payload["member_id"], e.payload["level"]) for e in levels] == [
        (member.id, 2),
        (member.id, 3),
    ]
    item = engagement.create_item(ledger_uow, key="pen", name="Pen", cost_points=30, stock=5)
    with pytest.raises(InsufficientFunds):
        engagement.redeem(ledger_uow, member.id, item.id, redemption_id="r-poor", now=T0)
    assert kinds_of(uow)["redemption.created"] == 0
    ledger.transfer(
        ledger_uow,
        TransferRequest("g1", "system:issuance", points_account(member.id), "POINTS", 100, "grant"),
    )
    for _ in range(2):
        engagement.redeem(ledger_uow, member.id, item.id, redemption_id="r-ok", now=T0)
    created = [e for e in outbox_events(uow) if e.kind == "redemption.created"]
    assert [(e.event_id, e.payload["cost_points"]) for e in created] == [
        ("redemption.created:r-ok", 30)
    ]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ids=st.lists(st.integers(min_value=0, max_value=6), min_size=1, max_size=15))
def test_replayed_event_ids_never_duplicate(uow: WebhooksUnitOfWork, ids: list[int]) -> None:
    run = uuid.uuid4().hex  # the database outlives the examples
    for number in ids:  # one transaction per record, as each fact has its own
        with uow:
            record_event(uow.session, "pk.result", {"n": number}, f"pk.result:{run}:{number}")
            uow.commit()
    mine = [e for e in outbox_events(uow) if e.event_id.startswith(f"pk.result:{run}:")]
    assert sorted(e.event_id for e in mine) == sorted({f"pk.result:{run}:{n}" for n in ids})
    assert all(e.payload == {"n": int(e.event_id.rsplit(":", 1)[1])} for e in mine)


# --- delivery --------------------------------------------------------------------------------


def _events(uow: WebhooksUnitOfWork, count: int, kind: str = "level.up") -> None:
    with uow:
        for i in range(count):
            record_event(uow.session, kind, {"i": i}, f"{kind}:test:{i}")
        uow.commit()


def test_deliveries_are_signed_posts_of_subscribed_kinds_only(uow: WebhooksUnitOfWork) -> None:
    with receiver() as server:
        create_endpoint(uow, server.url, kinds=["level.up"], secret=SECRET)
        _events(uow, 2, "level.up")
        _events(uow, 1, "pk.result")  # nobody subscribed
        report = dispatch_once(uow, policy=IMMEDIATE)
        again = dispatch_once(uow, policy=IMMEDIATE)
    assert (report.fanned_out, report.attempted, report.delivered) == (2, 2, 2)
    assert again.attempted == 0
    assert len(server.received) == 2
    for got in server.received:
        headers = got.headers
        body = json.loads(got.body)
        assert headers[EVENT_ID_HEADER.lower()] == body["id"]
        assert body["kind"] == "level.up" and body["data"]["i"] in (0, 1)
        stamp = int(headers[SIGNATURE_HEADER.lower()].split(",")[0].removeprefix("t="))
        assert verify_signature(SECRET, got.body, headers[SIGNATURE_HEADER.lower()], now=stamp)
        assert not verify_signature(
            "another-secret-xx", got.body, headers[SIGNATURE_HEADER.lower()], now=stamp
        )
    delivered, _ = list_deliveries(uow, status="delivered")
    assert {(d.attempts, d.last_status_code) for d in delivered} == {(1, 200)}


def test_a_failing_endpoint_is_retried_with_backoff_then_failed_then_retried_by_an_operator(
    uow: WebhooksUnitOfWork,
) -> None:
    now = [T0]
    policy = RetryPolicy(max_attempts=3, base_seconds=10, cap_seconds=100)
    with receiver(status=500) as server:
        create_endpoint(uow, server.url, kinds=["pk.result"], secret=SECRET)
        _events(uow, 1, "pk.result")
        first = dispatch_once(uow, policy=policy, clock=lambda: now[0], rng=random.Random(3))
        assert (first.attempted, first.retrying) == (1, 1)
        [pending], _ = list_deliveries(uow, status="pending")
        assert pending.next_attempt_at is not None
        wait = pending.next_attempt_at - T0
        assert timedelta(seconds=5) <= wait <= timedelta(seconds=10)
        assert dispatch_once(uow, policy=policy, clock=lambda: now[0]).attempted == 0  # not due
        for _ in range(2):
            now[0] += timedelta(seconds=200)
            dispatch_once(uow, policy=policy, clock=lambda: now[0])
        assert len(server.received) == 3
        [failed], _ = list_deliveries(uow, status="failed")
        assert (failed.attempts, failed.last_status_code, failed.last_error) == (3, 500, "HTTP 500")
        assert failed.next_attempt_at is None
        log = delivery_attempts(uow, failed.id)
        assert [(a.attempt, a.status_code) for a in log] == [(1, 500), (2, 500), (3, 500)]
        assert log[0].next_attempt_at == pending.next_attempt_at and log[-1].next_attempt_at is None
        now[0] += timedelta(days=1)
        assert dispatch_once(uow, policy=policy, clock=lambda: now[0]).attempted == 0

        server.status = 204
        retried = retry_delivery(uow, failed.id, now=now[0])
        assert (retried.status, retried.attempts) == ("pending", 0)
        assert dispatch_once(uow, policy=policy, clock=lambda: now[0]).delivered == 1
    assert list_deliveries(uow, status="failed")[0] == []


def test_an_unreachable_endpoint_records_the_transport_error(uow: WebhooksUnitOfWork) -> None:
    with receiver() as server:
        url = server.url  # closed when the block ends: nothing listens there any more
    create_endpoint(uow, url, kinds=["level.up"], secret=SECRET)
    _events(uow, 1)
    dispatch_once(uow, policy=RetryPolicy(max_attempts=1), timeout=2)
    [failed], _ = list_deliveries(uow, status="failed")
    assert failed.last_status_code is None and failed.last_error


@pytest.mark.postgres_only
def test_two_dispatchers_send_each_event_exactly_once(pg_url: str) -> None:
    database = Database.connect(pg_url)
    try:
        uow = WebhooksUnitOfWork(database.sessions)
        with receiver() as server:
            create_endpoint(uow, server.url, kinds=["level.up"], secret=SECRET)
            _events(uow, 60)
            results = race(
                2,
                lambda _: [
                    dispatch_once(WebhooksUnitOfWork(database.sessions), policy=IMMEDIATE)
                    for _ in range(4)
                ],
            )
            assert not [r for r in results if isinstance(r, Exception)], results
        sent = Counter(got.headers[EVENT_ID_HEADER.lower()] for got in server.received)
        assert len(sent) == 60 and set(sent.values()) == {1}
        delivered, _ = list_deliveries(uow, status="delivered", limit=100)
        assert len(delivered) == 60 and {d.attempts for d in delivered} == {1}
        fanned = sum(r.fanned_out for run in results for r in run)
        attempted = sum(r.attempted for run in results for r in run)
        assert fanned == attempted == 60
    finally:
        database.dispose()
