"""Idempotency-Key over HTTP with claims and completes group-committed: concurrent requests
(real threads) with distinct keys each run once and replay their own stored response; with one
key, one runs and the others get its replay or the documented 409 in progress."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.http.idempotency import IdempotencyMiddleware
from api.http.store import IdempotencyStore
from core.users.model import User
from tests.concurrency import race
from tests.e2e.test_idempotency import SideEffects, _app, _headers


@pytest.fixture
def member(make_user: Callable[..., User]) -> User:
    return make_user()


@pytest.fixture
def served(db_url: str) -> Iterator[tuple[TestClient, SideEffects, IdempotencyStore]]:
    effects = SideEffects()
    app, database = _app(db_url, effects)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, effects, _store(app)
    database.dispose()


def _store(app: FastAPI) -> IdempotencyStore:
    (middleware,) = [m for m in app.user_middleware if m.cls is IdempotencyMiddleware]
    store: IdempotencyStore = middleware.kwargs["store"]
    return store


def _batch_sizes(store: IdempotencyStore) -> tuple[list[int], list[int]]:
    """The sizes of the claim batches and of the complete batches the store runs from now."""
    claims: list[int] = []
    completes: list[int] = []
    for combiner, sizes in ((store.claims, claims), (store.completions, completes)):
        original = combiner.run_batch

        def counted(key: Any, items: Any, original: Any = original, sizes: Any = sizes) -> Any:
            sizes.append(len(items))
            return original(key, items)

        combiner.run_batch = counted
    return claims, completes


def test_concurrent_requests_with_distinct_keys_run_once_each_and_replay(
    served: tuple[TestClient, SideEffects, IdempotencyStore], member: User
) -> None:
    client, effects, store = served
    headers = [_headers(client, member, f"wave-{i}") for i in range(8)]
    claims, completes = _batch_sizes(store)
    answers = race(8, lambda i: client.post("/v1/test/effects", json={"n": i}, headers=headers[i]))
    assert [a.status_code for a in answers] == [201] * 8, [a.text for a in answers]
    assert effects.runs == 8
    assert sorted(a.json()["run"] for a in answers) == list(range(1, 9))
    assert sum(claims) == sum(completes) == 8
    for i, answer in enumerate(answers):
        again = client.post("/v1/test/effects", json={"n": i}, headers=headers[i])
        assert again.headers["idempotent-replayed"] == "true"
        assert again.status_code == 201 and again.json() == answer.json() == {
            "run": answer.json()["run"],
            "echo": {"n": i},
        }
    assert effects.runs == 8


def test_concurrent_requests_with_one_key_run_once(
    served: tuple[TestClient, SideEffects, IdempotencyStore], member: User
) -> None:
    client, effects, _ = served
    headers = _headers(client, member, "one")
    answers = race(6, lambda _: client.post("/v1/test/effects", json={}, headers=headers))
    assert effects.runs == 1
    ran = [a for a in answers if a.status_code == 201 and "idempotent-replayed" not in a.headers]
    assert len(ran) == 1
    for answer in answers:
        if answer.status_code == 201:
            assert answer.json() == ran[0].json()
        else:
            assert answer.status_code == 409
            assert answer.json()["type"] == "/problems/idempotency-key-in-progress"


def test_without_group_commit_the_store_runs_every_call_alone(db_url: str) -> None:
    effects = SideEffects()
    app, database = _app(db_url, effects, group_commit=False)
    store = _store(app)
    database.dispose()
    assert not store.claims.enabled and not store.completions.enabled
