"""The idempotency record store: claims, takeover of abandoned or expired keys, purge."""

from collections.abc import Callable
from datetime import timedelta

from api.http.store import COMPLETED, PENDING, IdempotencyStore, StoredRequest, StoredResponse
from core.clock import utc_now
from core.db import Database
from core.users.model import User

REQUEST = StoredRequest("POST", "/v1/x", "d" * 64, {"a": "1"})


def test_claim_once_then_complete(database: Database, make_user: Callable[..., User]) -> None:
    store, user = IdempotencyStore(database.sessions), make_user()
    now = utc_now()
    assert store.claim(user.id, "k", REQUEST, now=now, lock_until=now + timedelta(seconds=60))
    assert not store.claim(user.id, "k", REQUEST, now=now, lock_until=now + timedelta(seconds=60))
    assert store.get(user.id, "k").status == PENDING
    store.complete(user.id, "k", StoredResponse(201, [["content-type", "application/json"]], b"{}"))
    record = store.get(user.id, "k")
    assert record.status == COMPLETED and record.response.body == b"{}"


def test_only_abandoned_or_expired_records_are_taken_over(
    database: Database, make_user: Callable[..., User]
) -> None:
    store, user = IdempotencyStore(database.sessions), make_user()
    now = utc_now()
    store.claim(user.id, "live", REQUEST, now=now, lock_until=now + timedelta(seconds=60))
    store.claim(user.id, "dead", REQUEST, now=now, lock_until=now - timedelta(seconds=1))
    stale_before = now - timedelta(hours=24)
    kwargs = {"stale_before": stale_before, "now": now, "lock_until": now + timedelta(seconds=60)}
    assert not store.take_over(user.id, "live", REQUEST, **kwargs)
    assert store.take_over(user.id, "dead", REQUEST, **kwargs)
    assert not store.take_over(user.id, "dead", REQUEST, **kwargs)  # exactly one winner

    later = now + timedelta(hours=25)
    store.complete(user.id, "live", StoredResponse(200, [], b"old"))
    assert store.take_over(
        user.id,
        "live",
        REQUEST,
        stale_before=later - timedelta(hours=24),
        now=later,
        lock_until=later + timedelta(seconds=60),
    )
    assert store.get(user.id, "live").response is None


def test_released_keys_and_purged_records_disappear(
    database: Database, make_user: Callable[..., User]
) -> None:
    store, user = IdempotencyStore(database.sessions), make_user()
    now = utc_now()
    for key in ("a", "b", "c"):
        store.claim(user.id, key, REQUEST, now=now, lock_until=now + timedelta(seconds=60))
    store.release(user.id, "a")
    store.complete(user.id, "b", StoredResponse(200, [], b""))
    store.release(user.id, "b")  # completed records are not released
    assert store.purge(created_before=now + timedelta(seconds=1)) == 1
    assert store.keys_of(user.id) == ["c"]
